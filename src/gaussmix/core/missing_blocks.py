"""The pair-by-pair algebra of rows with missing values.

Rows are taken in blocks of equal missing count; each (component, row) pair
gets its row minus the component's mean (zero where missing), ``a = P d``
with one GEMM per component, and the Cholesky factor of the precision block
over its missing columns (:mod:`gaussmix.core.small_spd`, batched). See
:mod:`gaussmix.core.missing` for the algebra. Scores and imputations use
these blocks; so does the E-step where the expansion about a common centre
(:mod:`gaussmix.core.missing_moments`) would round worse, since here every
difference is taken from the component's own mean.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from gaussmix.core import small_spd
from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats

#: Numbers a block of rows may hold in its per-component arrays.
_BLOCK_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class Precisions:
    """A mixture's components in the form the conditional algebra wants."""

    means: np.ndarray  # (K, D)
    precisions: np.ndarray  # (K, D, D)
    log_det_precisions: np.ndarray  # (K,)
    log_weights: np.ndarray  # (K,)
    variance_range: np.ndarray  # (2, K): each covariance's extreme eigenvalues
    covariances: np.ndarray  # (K, D, D)

    @classmethod
    def of(cls, params: MixtureParams) -> Precisions:
        n_components, n_features = params.means.shape
        covariances = params.family.full_covariances(
            np.asarray(params.covariances, dtype=np.float64),
            n_components,
            n_features,
        )
        factors = np.linalg.cholesky(covariances)
        eye = np.broadcast_to(np.eye(n_features), covariances.shape)
        inverse_factors = np.linalg.solve(factors, eye)
        precisions = np.swapaxes(inverse_factors, 1, 2) @ inverse_factors
        log_det = -2.0 * np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
        # each extreme eigenvalue from the matrix where it is the largest:
        # the smallest eigenvalue of an ill-conditioned covariance (columns
        # in units 1e8 apart) comes out of eigvalsh as rounding noise about
        # zero, even negative, while its precision's largest is accurate
        largest = np.linalg.eigvalsh(covariances)[:, -1]
        smallest = 1.0 / np.linalg.eigvalsh(precisions)[:, -1]
        return cls(
            np.asarray(params.means, dtype=np.float64),
            precisions,
            log_det,
            log_weights,
            np.stack([smallest, largest]),
            covariances,
        )


@dataclass(frozen=True)
class Block:
    """Rows with the same number of missing values, and their conditionals.

    ``pairs`` lists the (component, row) pairs worked out, as ``k * n + i``
    (ascending); the others are provably negligible and have log-density
    -inf. For pair ``p = (k, i)``, ``deviations[p]`` is row ``i`` completed by
    its conditional mean under component ``k``, minus that component's mean,
    and ``factors[:, :, p]`` the Cholesky factor of the component's precision
    block over the row's missing columns (None for complete rows).
    """

    rows: np.ndarray  # (n,)
    missing: np.ndarray  # (n, r) missing columns, ascending
    log_density: np.ndarray  # (K, n)
    distances: np.ndarray  # (K, n) squared Mahalanobis over the observed columns
    deviations: np.ndarray  # (P, D)
    pairs: np.ndarray  # (P,)
    factors: np.ndarray | None  # (r, r, P)


def refuse_empty_rows(observed: np.ndarray) -> None:
    empty = np.flatnonzero(~observed.any(axis=1))
    if empty.size:
        raise ValueError(
            f"row {int(empty[0])} of X has every value missing (NaN); remove "
            "rows without any observed value."
        )


#: Pairs whose log-density is provably this far below the row's best
#: component's carry a responsibility under e^-40 (4e-18) and are skipped
#: when accumulating statistics.
_PRUNING_MARGIN = 40.0


def worth_working_out(
    filled: np.ndarray,
    seen: np.ndarray,
    n_seen: int | np.ndarray,
    components: Precisions,
) -> np.ndarray:
    """Which (component, row) pairs may matter, (K, n) booleans.

    ``n_seen`` is the rows' number of observed values, one for all or (n,).

    The observed block of a covariance has its eigenvalues between the
    covariance's extreme ones, which bounds both the quadratic form and the
    log-determinant of the marginal density from both sides; a pair whose
    upper bound falls ``_PRUNING_MARGIN`` below the best lower bound of its
    row cannot carry any weight. The squared distances over the observed
    columns come from GEMMs about the components' average mean (which keeps
    their rounding small), never from a (K, n, D) array.
    """
    centre = components.means.mean(axis=0)
    mask = seen.astype(np.float64)
    rows = (filled - centre) * mask
    means = components.means - centre
    distance = means @ rows.T
    distance *= -2.0
    distance += (rows * rows).sum(axis=1)
    distance += (means * means) @ mask.T
    np.maximum(distance, 0.0, out=distance)
    smallest, largest = components.variance_range
    log_weights = components.log_weights[:, None]
    upper = log_weights - 0.5 * (
        n_seen * np.log(smallest)[:, None] + distance / largest[:, None]
    )
    lower = log_weights - 0.5 * (
        n_seen * np.log(largest)[:, None] + distance / smallest[:, None]
    )
    return upper >= lower.max(axis=0) - _PRUNING_MARGIN


def _segments(component: np.ndarray, n_components: int) -> np.ndarray:
    """Where each component's pairs start and end in ``component`` (sorted)."""
    return np.searchsorted(component, np.arange(n_components + 1))


def _block(
    values: np.ndarray,
    hidden: np.ndarray,
    rows: np.ndarray,
    n_missing: int,
    components: Precisions,
    prune: bool,
) -> Block:
    n_components, n_features = components.means.shape
    n_rows = rows.size
    holes = hidden[rows]
    seen = ~holes
    filled = np.where(holes, 0.0, values[rows])
    n_seen = n_features - n_missing
    if prune:
        pairs = np.flatnonzero(worth_working_out(filled, seen, n_seen, components))
    else:
        pairs = np.arange(n_components * n_rows)
    component, row = np.divmod(pairs, n_rows)  # sorted by component
    # each pair's row minus its component's mean, zero where missing
    deviations = filled[row] - components.means[component] * seen[row]
    projected = np.empty_like(deviations)  # a = P d, P symmetric
    edges = _segments(component, n_components)
    for k in range(n_components):
        part = slice(edges[k], edges[k + 1])
        np.matmul(deviations[part], components.precisions[k], out=projected[part])
    with np.errstate(over="ignore"):
        quadratic = (deviations * projected).sum(axis=1)
    missing = np.argsort(holes, axis=1, kind="stable")[:, n_seen:]
    log_det_blocks = 0.0
    factors = None
    if n_missing:
        column = missing[row].T  # (r, P)
        # flat indices: one take is much cheaper than indexing by three arrays
        square = n_features * n_features
        offsets = (component * square)[None, None, :] + column[:, None] * n_features
        blocks = components.precisions.reshape(-1).take(offsets + column[None, :])
        factors = small_spd.cholesky(blocks)
        in_pairs = np.arange(pairs.size) * n_features + column  # (r, P)
        whitened = small_spd.solve_lower(factors, projected.reshape(-1).take(in_pairs))
        with np.errstate(over="ignore", invalid="ignore"):
            quadratic -= (whitened**2).sum(axis=0)
        # a row so far from a component that its squares overflow is
        # infinitely far in float64 (inf - inf would make it NaN); its
        # responsibilities are worked out apart (gaussmix.core.missing)
        quadratic[np.isnan(quadratic)] = np.inf
        completion = -small_spd.solve_upper_transposed(factors, whitened)
        deviations.reshape(-1)[in_pairs] = completion
        log_det_blocks = small_spd.log_determinant(factors)
    distances = np.full((n_components, n_rows), np.inf)
    distances.reshape(-1)[pairs] = quadratic
    log_density = np.full((n_components, n_rows), -np.inf)
    log_density.reshape(-1)[pairs] = (
        -0.5 * (n_seen * LOG_2PI + quadratic)
        + 0.5 * components.log_det_precisions[component]
        - 0.5 * log_det_blocks
    )
    return Block(rows, missing, log_density, distances, deviations, pairs, factors)


def blocks(
    X: np.ndarray,
    components: Precisions,
    prune: bool = False,
    hidden: np.ndarray | None = None,
) -> Iterator[Block]:
    """The rows of X in blocks of equal missing count, ascending.

    With ``prune``, pairs of negligible weight are left out (the E-step's
    sums); without, every log-density is exact (scores). ``hidden`` is
    ``isnan(X)`` where the caller has it already.
    """
    if hidden is None:
        hidden = np.isnan(X)
    refuse_empty_rows(~hidden)
    n_components, n_features = components.means.shape
    counts = hidden.sum(axis=1)
    for n_missing in np.unique(counts):
        rows = np.flatnonzero(counts == n_missing)
        r = int(n_missing)
        per_row = n_components * (4 + 2 * n_features + 2 * r * r)
        step = max(1, _BLOCK_ELEMENTS // per_row)
        for start in range(0, rows.size, step):
            yield _block(X, hidden, rows[start : start + step], r, components, prune)


#: Responsibilities below this add less than rounding to a conditional covariance sum.
NEGLIGIBLE_RESPONSIBILITY = 1e-17


def _conditional_scatter(
    block: Block, resp: np.ndarray, shares: np.ndarray, n_features: int
) -> np.ndarray:
    """``sum_i r_ik Cov[x_m | x_o, k]`` placed in each missing block, (K, D, D).

    ``resp`` are the weighted responsibilities (n, K), ``shares`` the
    unweighted ones; pairs whose share is negligible are skipped, which
    spares most of the work where components are apart.
    """
    n_components = block.log_density.shape[0]
    n_rows = block.missing.shape[0]
    worked = shares.T.reshape(-1)[block.pairs]
    kept = np.flatnonzero(worked > NEGLIGIBLE_RESPONSIBILITY)
    covariances = small_spd.inverse(block.factors[:, :, kept])  # (r, r, kept)
    covariances *= resp.T.reshape(-1)[block.pairs[kept]]
    component, row = np.divmod(block.pairs[kept], n_rows)
    column = block.missing[row].T  # (r, kept)
    place = (
        (component * n_features * n_features)[None, None, :]
        + (column * n_features)[:, None, :]
        + column[None, :, :]
    )
    total = np.bincount(
        place.reshape(-1),
        weights=covariances.reshape(-1),
        minlength=n_components * n_features * n_features,
    )
    return total.reshape(n_components, n_features, n_features)


def log_sum_exp(joint: np.ndarray) -> np.ndarray:
    """``log sum_k exp(joint[:, k])`` of rows with at least one finite entry."""
    peak = joint.max(axis=1)
    return peak + np.log(np.exp(joint - peak[:, None]).sum(axis=1))


def normalise(
    joint: np.ndarray, log_noise: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows' ``log p(x_o)`` and the components' shares of them, (n,), (n, K).

    ``joint`` (n, K) holds ``log w_k p_k(x_o)``; ``log_noise`` (n,), a
    noise component's column, enters the normaliser, so that the shares
    then sum to one minus the noise's.
    """
    if log_noise is None:
        log_norm = log_sum_exp(joint)
    else:
        log_norm = log_sum_exp(np.column_stack([joint, log_noise]))
    with np.errstate(invalid="ignore"):
        shares = np.exp(joint - log_norm[:, None])
    return log_norm, shares


def noise_share_sum(
    log_noise: np.ndarray, log_norm: np.ndarray, weights: np.ndarray
) -> float:
    """``sum_i w_i r_i0``, the noise's weighted responsibilities."""
    return float(weights @ np.exp(log_noise - log_norm))


def shift_of(components: Precisions, kind: str) -> np.ndarray:
    """What the E-step's sums are taken about: the means, or for the pooled
    kind their average (one shift for all components)."""
    shift = components.means.copy()
    if kind == "pooled":
        shift[:] = components.means.mean(axis=0)
    return shift


def as_stats(
    sums: tuple[np.ndarray, np.ndarray, np.ndarray],
    shift: np.ndarray,
    kind: str,
    log_likelihood: float,
    total_weight: float,
    worst: tuple[float, np.ndarray | None],
) -> Stats:
    """Stats of ``kind`` from the full sums ``sum r``, ``sum r (x - shift)``
    and ``sum r (x - shift)(x - shift)^T``, (K,), (K, D), (K, D, D)."""
    resp_sum, centred, scatter = sums
    if kind == "diag":
        scatter = np.diagonal(scatter, axis1=1, axis2=2).copy()
    elif kind == "pooled":
        scatter = scatter.sum(axis=0)
    return Stats(
        resp_sum=resp_sum,
        centred_sum=centred,
        scatter=scatter,
        shift=shift,
        scatter_kind=kind,
        log_likelihood=log_likelihood,
        total_weight=total_weight,
        worst_log_density=worst[0],
        worst_point=worst[1],
    )


def worst_row(
    values: np.ndarray,
    hidden: np.ndarray,
    weights: np.ndarray,
    log_norm: np.ndarray,
    resp: np.ndarray,
    components: Precisions,
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
        precision = components.precisions[k]
        deviation = np.where(missing, components.means[k], point)
        deviation -= components.means[k]
        gradient = precision[missing] @ deviation
        point[missing] = components.means[k, missing] - np.linalg.solve(
            precision[np.ix_(missing, missing)], gradient
        )
    return float(candidates[lowest]), point


def whitened_chunk_stats(
    values: np.ndarray,
    hidden: np.ndarray,
    weights: np.ndarray,
    components: Precisions,
    kind: str,
    log_noise: np.ndarray | None = None,
) -> Stats | tuple[Stats, float]:
    """The E-step of rows with missing values (float64, NaN where
    ``hidden``), pair by pair: every difference is taken from a component's
    own mean, so nothing cancels however far apart the components are.

    With ``log_noise`` (n,), a noise component's column of each row, the
    Stats (whose log-likelihood then includes the noise) and the noise's
    weighted responsibility sum."""
    n_components, n_features = components.means.shape
    shift = shift_of(components, kind)
    offsets = components.means - shift
    resp_sum = np.zeros(n_components)
    centred = np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, n_features, n_features))
    log_likelihood = 0.0
    worst: tuple[float, np.ndarray | None] = (np.inf, None)
    noise_sum = 0.0
    for block in blocks(values, components, prune=True, hidden=hidden):
        joint = block.log_density.T + components.log_weights  # (n, K)
        row_weights = weights[block.rows]
        if log_noise is None:
            log_norm = log_sum_exp(joint)
            with np.errstate(invalid="ignore"):
                shares = np.exp(joint - log_norm[:, None])
        else:
            log_norm, shares = normalise(joint, log_noise[block.rows])
            noise_sum += noise_share_sum(log_noise[block.rows], log_norm, row_weights)
        resp = shares * row_weights[:, None]
        log_likelihood += float(row_weights @ log_norm)
        candidates = np.where(row_weights > 0, log_norm, np.inf)
        lowest = int(np.argmin(candidates))
        if candidates[lowest] < worst[0]:
            k = int(np.argmax(resp[lowest]))
            pair = np.searchsorted(block.pairs, k * block.rows.size + lowest)
            point = components.means[k] + block.deviations[pair]
            worst = (float(candidates[lowest]), point)
        component = block.pairs // block.rows.size
        pair_resp = resp.T.reshape(-1)[block.pairs]
        about_shift = block.deviations + offsets[component]
        weighted = about_shift * pair_resp[:, None]
        edges = _segments(component, n_components)
        for k in range(n_components):
            part = slice(edges[k], edges[k + 1])
            resp_sum[k] += pair_resp[part].sum()
            centred[k] += weighted[part].sum(axis=0)
            scatter[k] += weighted[part].T @ about_shift[part]
        if block.factors is not None:
            scatter += _conditional_scatter(block, resp, shares, n_features)
    stats = as_stats(
        (resp_sum, centred, scatter),
        shift,
        kind,
        log_likelihood,
        float(weights.sum()),
        worst,
    )
    return stats if log_noise is None else (stats, noise_sum)
