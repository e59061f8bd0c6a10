"""EM's E-step with missing values as GEMMs over rows filled at a centre.

Fill every missing value with a common centre ``c`` (the average of the
means) and write ``x~`` for the filled row minus ``c`` (zero where values
are missing), ``mu'`` for a component's mean minus ``c``. With the
component's precision ``P``, the filled row's quadratic form
``q_c = (x~ - mu')^T P (x~ - mu')`` and half its gradient over the missing
columns, ``g = (P (x~ - mu'))_m``, give everything by minimising over the
missing values:

    (x_o - mu_o)^T S_oo^-1 (x_o - mu_o) = q_c - g^T P_mm^-1 g
    E[x_m | x_o, k] - c_m               = -P_mm^-1 g
    Cov[x_m | x_o, k]                   =  P_mm^-1
    log |S_oo|                          =  log |S| + log |P_mm|

``x~`` is the same for every component, so the costly parts are GEMMs
shared by all pairs: ``q_c`` and the responsibility-weighted moments of
``x~`` come from the quadratic features of the complete-data kernel
(:class:`~gaussmix.core.kernels.full_moments.QuadraticForms`), ``g`` from
``[x~, 1] @ [P_1 ... P_K; -P_k mu'_k]``. Only the r × r algebra of each
pair's missing block is left per pair (closed forms for r <= 2,
:class:`~gaussmix.core.small_spd.Factored`). The completions ``e`` (zero
where observed) enter the second moments as

    sum r (x~ + e)(x~ + e)^T = sum r x~ x~^T + M^T x~ + x~^T M + sum r e e^T

with ``M`` the responsibility-weighted completions, one (n, D) matrix per
component: one more batched GEMM; ``r (e_m e_m^T + P_mm^-1)`` is added
pair by pair. The expansion about ``c`` rounds like the complete-data
kernel's, and the same bound (:meth:`QuadraticForms.accurate`) sends the
chunks where it would round visibly worse to the pair-by-pair algebra.
"""

from __future__ import annotations

import numpy as np

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.kernels.full_moments import QuadraticForms
from gaussmix.core.missing_blocks import (
    NEGLIGIBLE_RESPONSIBILITY,
    Precisions,
    as_stats,
    log_sum_exp,
    shift_of,
)
from gaussmix.core.small_spd import Factored
from gaussmix.core.stats import Stats

#: Numbers a group of rows may hold in its per-pair arrays.
_GROUP_ELEMENTS = 1 << 21


class _Centred:
    """The mixture about the centre ``c``, for the rows' GEMMs."""

    def __init__(self, components: Precisions):
        n_components, n_features = components.means.shape
        self.components = components
        self.centre = components.means.mean(axis=0)
        centred_means = components.means - self.centre
        self.centred_means = centred_means
        constant = (
            components.log_weights
            + 0.5 * components.log_det_precisions
            - 0.5 * n_features * LOG_2PI
        )
        self.forms = QuadraticForms(
            components.precisions, centred_means, constant, np.dtype(np.float64)
        )
        # columns j * K + k: row j of P_k, and -(P_k mu'_k)_j against the 1
        gains = np.empty((n_features + 1, n_features, n_components))
        gains[:n_features] = components.precisions.transpose(2, 1, 0)
        gains[n_features] = -np.einsum(
            "kde,ke->dk", components.precisions, centred_means
        )
        self.gains = gains.reshape(n_features + 1, n_features * n_components)
        # (D * D, K): entry (a, b) of every precision in one contiguous row
        self.entries = components.precisions.reshape(n_components, -1).T.copy()


def _missing_columns(hidden: np.ndarray, n_missing: int) -> np.ndarray:
    """The missing columns of rows that each miss ``n_missing``, ascending."""
    return np.nonzero(hidden)[1].reshape(-1, n_missing)


class _Group:
    """Rows missing the same number of values, and their pairs' algebra.

    Pairs are ``(i, k)``, row ``i`` of the group and component ``k``, at
    index ``i * K + k`` of the batch axis.
    """

    def __init__(self, mixture: _Centred, block: np.ndarray, rows, hidden):
        n_features = mixture.centred_means.shape[1]
        n_components = mixture.centred_means.shape[0]
        self.rows = rows
        missing = _missing_columns(hidden[rows], int(hidden[rows[0]].sum()))
        self.missing = missing
        n_rows, n_missing = missing.shape
        # (n, D * K): (P_k x~ - P_k mu'_k)_j at column j * K + k
        gradient = block[: n_features + 1, rows].T @ mixture.gains
        within = np.arange(n_rows) * n_features + missing.T  # (r, n)
        g = gradient.reshape(-1, n_components).take(within, axis=0)  # (r, n, K)
        g = g.reshape(n_missing, -1)
        place = missing.T[:, None, :] * n_features + missing.T[None, :, :]
        blocks = mixture.entries.take(place, axis=0)  # (r, r, n, K)
        self.factored = Factored(blocks.reshape(n_missing, n_missing, -1))
        solution, form = self.factored.solve(g)
        self.completion = solution
        self.completion *= -1.0  # E[x_m | x_o, k] - c_m, (r, n * K)
        # log p(x_o) minus what the filled row's quadratic form gave
        correction = form - self.factored.log_determinant()
        correction += n_missing * LOG_2PI
        correction *= 0.5
        self.correction = correction.reshape(n_rows, n_components)


def _groups(mixture: _Centred, block: np.ndarray, hidden: np.ndarray):
    n_components, n_features = mixture.centred_means.shape
    counts = hidden.sum(axis=1)
    for n_missing in np.unique(counts):
        if n_missing == 0:
            continue
        rows = np.flatnonzero(counts == n_missing)
        r = int(n_missing)
        per_row = n_components * (2 * n_features + 3 * r * r + 4 * r)
        step = max(1, _GROUP_ELEMENTS // per_row)
        for start in range(0, rows.size, step):
            yield _Group(mixture, block, rows[start : start + step], hidden)


def _completed_moments(
    groups: list[_Group],
    resp: np.ndarray,
    shares: np.ndarray,
    filled: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """What the completions add to ``sum r x~`` and ``sum r x~ x~^T``.

    (K, D) and (K, D, D); pairs of negligible share are left out.
    """
    n_rows, n_features = filled.shape
    n_components = resp.shape[1]
    square = n_features * n_features
    weighted = np.zeros((n_components, n_rows, n_features))  # M, per component
    inner = np.zeros(n_components * square)
    for group in groups:
        rows, missing = group.rows, group.missing
        kept = np.flatnonzero(shares[rows].reshape(-1) > NEGLIGIBLE_RESPONSIBILITY)
        if kept.size == 0:
            continue
        row, component = np.divmod(kept, n_components)
        pair_resp = resp[rows[row], component]
        completion = group.completion[:, kept]  # (r, kept)
        columns = missing[row].T  # (r, kept)
        weighted.reshape(-1)[
            (component * n_rows + rows[row]) * n_features + columns
        ] = completion * pair_resp
        # r (e_m e_m^T + P_mm^-1) into each pair's missing block
        block = group.factored.take(kept).inverse()
        block += completion[:, None] * completion[None, :]
        block *= pair_resp
        place = (
            (component * square)[None, None, :]
            + (columns * n_features)[:, None, :]
            + columns[None, :, :]
        )
        inner += np.bincount(
            place.reshape(-1), weights=block.reshape(-1), minlength=inner.size
        )
    cross = weighted.transpose(0, 2, 1) @ filled  # (K, D, D): M_k^T x~
    second = inner.reshape(n_components, n_features, n_features)
    second += cross
    second += cross.transpose(0, 2, 1)
    return weighted.sum(axis=1), second


def gemm_chunk_stats(
    values: np.ndarray,
    hidden: np.ndarray,
    weights: np.ndarray,
    components: Precisions,
    kind: str,
) -> Stats | None:
    """The E-step of rows with missing values by GEMMs about a centre.

    ``values`` (n, D) float64 with NaN where ``hidden``; every row has an
    observed value. None where the expansion about the centre would round
    visibly worse than working pair by pair.
    """
    n_rows, n_features = values.shape
    mixture = _Centred(components)
    filled = np.where(hidden, 0.0, values - mixture.centre)
    block = np.empty((n_features + 2, n_rows))
    block[:n_features] = filled.T
    block[n_features] = 1.0
    block[n_features + 1] = np.einsum("nd,nd->n", filled, filled)
    forms = mixture.forms
    if not forms.accurate(block[n_features + 1]):
        return None
    features = forms.features(block)
    joint = forms.log_densities(features).T  # (n, K), of the filled rows
    groups = list(_groups(mixture, block, hidden))
    for group in groups:
        joint[group.rows] += group.correction
    log_norm = log_sum_exp(joint)
    with np.errstate(invalid="ignore"):
        shares = np.exp(joint - log_norm[:, None])
    resp = shares * weights[:, None]
    resp_sum, first, second = forms.moments(features, resp.T)
    more_first, more_second = _completed_moments(groups, resp, shares, filled)
    first += more_first
    second += more_second
    # moments about c moved to each shift
    shift = shift_of(components, kind)
    offsets = shift - mixture.centre
    centred = first - resp_sum[:, None] * offsets
    cross = centred[:, :, None] * offsets[:, None, :]
    second -= cross
    second -= cross.transpose(0, 2, 1)
    second -= resp_sum[:, None, None] * offsets[:, :, None] * offsets[:, None, :]
    return as_stats(
        (resp_sum, centred, second),
        shift,
        kind,
        float(weights @ log_norm),
        float(weights.sum()),
        _worst(values, hidden, weights, log_norm, resp, mixture),
    )


def _worst(
    values: np.ndarray,
    hidden: np.ndarray,
    weights: np.ndarray,
    log_norm: np.ndarray,
    resp: np.ndarray,
    mixture: _Centred,
) -> tuple[float, np.ndarray | None]:
    """The least likely row of positive weight, completed under its most
    responsible component: where a collapsed component is re-seeded."""
    candidates = np.where(weights > 0, log_norm, np.inf)
    if candidates.size == 0:
        return np.inf, None
    lowest = int(np.argmin(candidates))
    if not np.isfinite(candidates[lowest]) and candidates[lowest] > 0:
        return np.inf, None
    k = int(np.argmax(resp[lowest]))
    point = values[lowest].copy()
    missing = hidden[lowest]
    if missing.any():
        precision = mixture.components.precisions[k]
        deviation = np.where(missing, mixture.components.means[k], point)
        deviation -= mixture.components.means[k]
        gradient = precision[missing] @ deviation
        point[missing] = mixture.components.means[k, missing] - np.linalg.solve(
            precision[np.ix_(missing, missing)], gradient
        )
    return float(candidates[lowest]), point
