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
from scipy import sparse

from gaussmix.core.missing_blocks import (
    NEGLIGIBLE_RESPONSIBILITY,
    Precisions,
    as_stats,
    log_sum_exp,
    noise_share_sum,
    normalise,
    shift_of,
)
from gaussmix.core.missing_pairs import CentredMixture, Group, groups
from gaussmix.core.stats import Stats

#: Above this share of pairs carrying weight, the completions' moments are
#: formed for every pair by GEMMs rather than gathered pair by pair.
_DENSE_SHARE = 0.3


def _dense_completed_moments(
    groups: list[Group], resp: np.ndarray, filled: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What every pair's completion adds to ``sum r x~`` and
    ``sum r x~ x~^T`` (and the conditional covariances), (K, D), (K, D, D).

    With ``e`` the completions (K, D, n) and ``M = r e``: ``sum M``,
    ``M x~ + (M x~)^T + M e^T`` by batched GEMMs; ``sum r P_mm^-1`` by
    (pattern, component).
    """
    n_rows, n_features = filled.shape
    n_components = resp.shape[1]
    completed = np.zeros((n_components, n_features, n_rows))
    places, inverses = [], []
    for group in groups:
        columns = group.missing.T  # (r, n)
        completed[:, columns, group.rows] = group.all_completions().transpose(2, 0, 1)
        pattern_resp = np.add.reduceat(resp[group.rows], group.starts, axis=0)
        weighted = group.pattern_inverses() * pattern_resp  # (T, p, K)
        a, b = np.tril_indices(columns.shape[0])
        at_pattern = columns[:, group.starts]
        places.append((at_pattern[a] * n_features + at_pattern[b]).reshape(-1))
        inverses.append(weighted.reshape(-1, n_components))
    second = _symmetric(_placed_sums(places, inverses, n_features, n_components))
    weighted = completed * resp.T[:, None, :]  # M, (K, D, n)
    cross = weighted @ filled
    second += cross
    second += cross.transpose(0, 2, 1)
    second += weighted @ completed.transpose(0, 2, 1)
    return weighted.sum(axis=2), second


def _placed_sums(
    places: list[np.ndarray],
    values: list[np.ndarray],
    n_features: int,
    n_components: int,
) -> np.ndarray:
    """``sum`` of the rows of ``values`` (m, K) at their flat (row, column)
    ``places`` of a D × D matrix, one matrix per component, (K, D, D).

    One sparse product adds all K columns at once, which a bincount per
    flat (component, place) index would do over K times as many indices.
    """
    square = n_features * n_features
    if not places:
        return np.zeros((n_components, n_features, n_features))
    place = np.concatenate(places)
    value = np.concatenate(values)
    where = sparse.csr_matrix(
        (np.ones(place.size), (place, np.arange(place.size))),
        shape=(square, place.size),
    )
    total = where @ value  # (D * D, K)
    return np.ascontiguousarray(total.T).reshape(n_components, n_features, n_features)


def _symmetric(lower: np.ndarray) -> np.ndarray:
    """Symmetric matrices (K, D, D) from sums over their lower triangles."""
    out = lower + lower.transpose(0, 2, 1)
    diagonal = np.arange(lower.shape[1])
    out[:, diagonal, diagonal] -= lower[:, diagonal, diagonal]
    return out


def _completed_moments(
    groups: list[Group], resp: np.ndarray, shares: np.ndarray, filled: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sum r``, ``sum r y`` and ``sum r (y y^T + Cov)`` over the groups'
    pairs, ``y`` each row completed by its conditional mean, about ``c``.

    (K,), (K, D) and (K, D, D). Pairs of negligible share are left out:
    where the components are apart, most of them. The kept pairs' rows are
    gathered component by component, so each component's sums are one GEMM.
    """
    n_features = filled.shape[1]
    n_components = resp.shape[1]
    kept = []
    for group in groups:
        # component-major within the group
        component, row = np.nonzero(shares[group.rows].T > NEGLIGIBLE_RESPONSIBILITY)
        kept.append((component, row))
    counts = np.array(
        [np.bincount(component, minlength=n_components) for component, _ in kept]
    ).reshape(len(groups), n_components)
    # where each (group, component) segment goes in the component-major order
    begins = np.cumsum(counts.T.reshape(-1)) - counts.T.reshape(-1)
    begins = begins.reshape(n_components, len(groups)).T
    total = int(counts.sum())
    completed = np.empty((total, n_features))
    pair_resp = np.empty(total)
    square = n_features * n_features
    lower = np.zeros(n_components * square)  # sum r P_mm^-1, lower triangles
    for g, (group, (component, row)) in enumerate(zip(groups, kept, strict=True)):
        if row.size == 0:
            continue
        starts_here = np.cumsum(counts[g]) - counts[g]
        at = begins[g, component] + np.arange(row.size) - starts_here[component]
        rows, missing = group.rows[row], group.missing[row]
        completed[at] = filled[rows]
        completed[at[None, :], missing.T] = group.completions(row, component)
        pair_resp[at] = resp[rows, component]
        # sum over each pattern's rows of r, times its P_mm^-1
        pattern_resp = np.add.reduceat(resp[group.rows], group.starts, axis=0)
        pattern_kept = np.zeros(pattern_resp.shape, dtype=bool)
        pattern_kept[group.pattern[row], component] = True
        pattern, component = np.nonzero(pattern_kept)
        weighted = group.inverses(pattern, component)  # (T, kept)
        weighted *= pattern_resp[pattern, component]
        columns = group.missing[group.starts[pattern]].T  # (r, kept)
        a, b = np.tril_indices(columns.shape[0])
        place = (component * square) + columns[a] * n_features + columns[b]
        lower += np.bincount(
            place.reshape(-1), weights=weighted.reshape(-1), minlength=lower.size
        )
    second = _symmetric(lower.reshape(n_components, n_features, n_features))
    weighted = completed * pair_resp[:, None]
    edges = np.concatenate([[0], np.cumsum(counts.sum(axis=0))])
    first = np.zeros((n_components, n_features))
    sums = np.zeros(n_components)
    for k in range(n_components):
        part = slice(edges[k], edges[k + 1])
        if edges[k + 1] > edges[k]:
            sums[k] = pair_resp[part].sum()
            first[k] = weighted[part].sum(axis=0)
            second[k] += weighted[part].T @ completed[part]
    return sums, first, second


def gemm_chunk_stats(
    values: np.ndarray,
    hidden: np.ndarray,
    weights: np.ndarray,
    components: Precisions | CentredMixture,
    kind: str,
    log_noise: np.ndarray | None = None,
) -> Stats | tuple[Stats, float] | None:
    """The E-step of rows with missing values by GEMMs about a centre.

    ``values`` (n, D) float64 with NaN where ``hidden``; every row has an
    observed value. None where the expansion about the centre would round
    visibly worse than working pair by pair. With ``log_noise`` (n,), a
    noise component's column of each row, the Stats (whose log-likelihood
    then includes the noise) and the noise's weighted responsibility sum.
    """
    n_rows, n_features = values.shape
    if isinstance(components, CentredMixture):
        mixture, components = components, components.components
    else:
        mixture = CentredMixture(components)
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
    worked = list(groups(mixture, block, joint, hidden))
    for group in worked:
        joint[group.rows] = group.log_density
    if log_noise is None:
        log_norm = log_sum_exp(joint)
        with np.errstate(invalid="ignore"):
            shares = np.exp(joint - log_norm[:, None])
    else:
        log_norm, shares = normalise(joint, log_noise)
    resp = shares * weights[:, None]
    incomplete = hidden.any(axis=1)
    kept = shares[incomplete] > NEGLIGIBLE_RESPONSIBILITY
    if kept.size and kept.mean() > _DENSE_SHARE:
        # every row by its quadratic features, plus every pair's completion
        resp_sum, first, second = forms.moments(features, resp.T)
        more_first, more_second = _dense_completed_moments(worked, resp, filled)
        first += more_first
        second += more_second
    else:
        # complete rows by their quadratic features, the others pair by pair
        complete = (resp * ~incomplete[:, None]).T
        resp_sum, first, second = forms.moments(features, complete)
        more = _completed_moments(worked, resp, shares, filled)
        resp_sum += more[0]
        first += more[1]
        second += more[2]
    # moments about c moved to each shift
    shift = shift_of(components, kind)
    offsets = shift - mixture.centre
    centred = first - resp_sum[:, None] * offsets
    cross = centred[:, :, None] * offsets[:, None, :]
    second -= cross
    second -= cross.transpose(0, 2, 1)
    second -= resp_sum[:, None, None] * offsets[:, :, None] * offsets[:, None, :]
    stats = as_stats(
        (resp_sum, centred, second),
        shift,
        kind,
        float(weights @ log_norm),
        float(weights.sum()),
        _worst(values, hidden, weights, log_norm, resp, mixture),
    )
    if log_noise is None:
        return stats
    return stats, noise_share_sum(log_noise, log_norm, weights)


def _worst(
    values: np.ndarray,
    hidden: np.ndarray,
    weights: np.ndarray,
    log_norm: np.ndarray,
    resp: np.ndarray,
    mixture: CentredMixture,
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
