"""The E-step: log-densities, responsibilities, and Stats of a chunk of rows."""

from __future__ import annotations

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.covariance.base import expansion_cancels, mean_spread
from gaussmix.core.far_rows import (
    component_forms,
    exact_log_responsibilities,
    imprecise_rows,
)
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats, diagonal_moments_about, to_float64

#: Elements of the largest per-chunk temporary (about 16 MB in float64).
CHUNK_ELEMENTS = 1 << 21


def default_chunk_size(
    n_components: int, n_features: int, elements: int = CHUNK_ELEMENTS
) -> int:
    """Rows per chunk so the E-step's temporaries stay near ``elements``."""
    per_row = max(1, n_components * max(n_features, 1))
    return int(max(256, elements // per_row))


def weighted_log_prob(X: Array, params: MixtureParams) -> Array:
    """``log w_k + log N(x_i | mu_k, Sigma_k)``, shape (n_samples, n_components).

    ``params`` must live on ``X``'s backend and dtype (see MixtureParams.cast).
    """
    xp = get_backend(X)
    # rows far from every component may overflow here; the callers that
    # normalise find and recompute them (see gaussmix.core.far_rows)
    with np.errstate(over="ignore", invalid="ignore"):
        log_prob = params.family.log_prob(X, params.means, params.precisions_cholesky)
    with np.errstate(divide="ignore"):
        # a zero weight (a variational E-step's switched-off component) is -inf
        log_weights = xp.log(params.weights)
    return log_prob + log_weights[None, :]


def log_responsibilities(X: Array, params: MixtureParams) -> tuple[Array, Array]:
    """Per-row log-density ``log p(x_i)`` and log-responsibilities.

    The log-responsibilities are taken from the log-densities less their
    row's largest, so that they stay exact however large the log-densities;
    rows far from every component are recomputed (see
    :mod:`gaussmix.core.far_rows`).
    """
    xp = get_backend(X)
    log_prob = weighted_log_prob(X, params)
    peak = xp.amax(log_prob, axis=1)
    peak = xp.where(abs(peak) < np.inf, peak, 0.0)
    shifted = log_prob - peak[:, None]
    with np.errstate(invalid="ignore"):
        log_total = xp.logsumexp(shifted, axis=1)
        log_norm = peak + log_total
        log_resp = shifted - log_total[:, None]
    return _far_rows_redone(X, params, log_norm, log_resp, log=True)


def responsibilities(X: Array, params: MixtureParams) -> tuple[Array, Array]:
    """Per-row log-density ``log p(x_i)`` and responsibilities (rows sum to 1)."""
    xp = get_backend(X)
    with np.errstate(invalid="ignore"):
        log_norm, resp = xp.normalize_log_rows(weighted_log_prob(X, params))
    return _far_rows_redone(X, params, log_norm, resp, log=False)


def exp_without_subnormals(log_values: np.ndarray) -> np.ndarray:
    """``exp(log_values)`` with the results below the dtype's smallest
    normal number set to 0.

    Responsibilities between e^-745 and e^-708 (float64) are subnormal
    numbers, which the CPU handles many times slower: a tenth of them in a
    responsibility matrix made its moments' GEMM 25 times slower (8,192
    rows, 16 components, 154 moment columns). Such a responsibility adds
    less than rounding to any sum that holds a normal one.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.estep import exp_without_subnormals
    >>> exp_without_subnormals(np.array([0.0, -720.0, -np.inf]))
    array([1., 0., 0.])
    """
    values = np.exp(log_values)
    values[values < np.finfo(values.dtype).tiny] = 0.0
    return values


def likeliest_components(X: Array, params: MixtureParams) -> Array:
    """Each row's most likely component, shape (n_samples,)."""
    xp = get_backend(X)
    log_prob = weighted_log_prob(X, params)
    labels = xp.argmax(log_prob, axis=1)
    # the largest log-density decides whether a row can be trusted: no
    # normaliser is needed for the labels
    peak = np.asarray(xp.to_numpy(xp.amax(log_prob, axis=1)))
    rows = imprecise_rows(peak, peak.dtype)
    if rows.size:
        _, log_resp = _exact_rows(X, params, rows)
        labels[xp.asarray(rows, like=X)] = xp.asarray(
            np.argmax(log_resp, axis=1), dtype=labels.dtype, like=X
        )
    return labels


def _exact_rows(
    X: Array, params: MixtureParams, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    xp = get_backend(X)
    host = params.to_numpy()
    precisions = host.family.precisions(host.precisions_cholesky)
    forms = component_forms(
        host.weights, host.means, precisions, host.family.matrix_layout
    )
    chosen = xp.to_numpy(X[xp.asarray(rows, like=X)])
    return exact_log_responsibilities(np.asarray(chosen, np.float64), *forms)


def _far_rows_redone(
    X: Array, params: MixtureParams, log_norm: Array, per_component: Array, log: bool
) -> tuple[Array, Array]:
    """Rows whose log-density cannot be trusted, recomputed without overflow.

    Deciding costs one look at the log-densities already computed; only
    the rare rows far from every component pay for the exact computation.
    """
    xp = get_backend(X)
    host_norm = np.asarray(xp.to_numpy(log_norm))
    rows = imprecise_rows(host_norm, host_norm.dtype)
    if rows.size == 0:
        return log_norm, per_component
    exact_norm, exact_log_resp = _exact_rows(X, params, rows)
    values = exact_log_resp if log else np.exp(exact_log_resp)
    index = xp.asarray(rows, like=X)
    with np.errstate(over="ignore"):
        # a log-density beyond float32's range is -inf there, as it should be
        log_norm[index] = xp.asarray(exact_norm, dtype=log_norm.dtype, like=X)
        per_component[index] = xp.asarray(values, dtype=per_component.dtype, like=X)
    return log_norm, per_component


def chunk_stats(
    X: Array,
    sample_weight: Array | None,
    params: MixtureParams,
    shift: np.ndarray,
) -> Stats:
    """E-step on one chunk: its Stats under ``params``, about ``shift``."""
    xp = get_backend(X)
    log_norm, resp = responsibilities(X, params)
    if sample_weight is not None:
        resp = resp * sample_weight[:, None]
        row_log_lik = log_norm * sample_weight
        positive = sample_weight > 0
    else:
        row_log_lik = log_norm
        positive = None
    stats = responsibility_stats(
        X,
        resp,
        sample_weight,
        shift,
        params.family.scatter_kind,
        own_centres=means_far_apart(params, xp.dtype_eps(X)),
    )
    worst_value, worst_point = worst_row(X, log_norm, positive)
    return Stats(
        resp_sum=stats.resp_sum,
        centred_sum=stats.centred_sum,
        scatter=stats.scatter,
        shift=stats.shift,
        scatter_kind=stats.scatter_kind,
        log_likelihood=float(xp.to_numpy(xp.float64(row_log_lik).sum())),
        total_weight=stats.total_weight,
        worst_log_density=worst_value,
        worst_point=worst_point,
    )


def worst_row(
    X: Array, log_norm: Array, positive: Array | None
) -> tuple[float, np.ndarray | None]:
    """The lowest log-density among rows of positive weight, and that row.

    Found on ``X``'s device so that only one row travels to the host.
    """
    xp = get_backend(X)
    if X.shape[0] == 0:
        return np.inf, None
    candidates = log_norm if positive is None else xp.where(positive, log_norm, np.inf)
    worst = xp.argmin(candidates, axis=0)
    # the value and its row in one transfer: each is a wait on an accelerator
    packed = to_float64(
        xp,
        xp.concatenate([xp.float64(candidates[worst][None]), xp.float64(X[worst])], 0),
    )
    worst_value = float(packed[0])
    if not np.isfinite(worst_value):
        return worst_value, None
    return worst_value, packed[1:]


def means_far_apart(params: MixtureParams, eps: float) -> bool:
    """Whether a mean lies so far from the means' average, in its own
    deviations, that moments taken about that average would cancel.
    """
    xp = get_backend(params.means)
    spread = mean_spread(
        xp.to_numpy(params.means),
        xp.to_numpy(params.precisions_cholesky),
        params.family.matrix_layout,
    )
    return expansion_cancels(spread, eps)


def responsibility_stats(
    X: Array,
    weighted_resp: Array,
    sample_weight: Array | None,
    shift: np.ndarray,
    scatter_kind: str,
    own_centres: bool = False,
) -> Stats:
    """Stats of a chunk from given (sample-weighted) responsibilities.

    Products are formed in ``X``'s dtype; the chunk's sums are returned in
    float64 so that adding many chunks does not lose precision. With
    ``own_centres`` the first moments (and diagonal scatter) are taken about
    each component's own shift rather than moved there from a common centre:
    slower, but exact when the shifts lie far apart.
    """
    xp = get_backend(X)
    dtype = X.dtype
    if scatter_kind == "pooled":
        # one scatter shared by all components needs one shift
        shift = np.broadcast_to(np.mean(shift, axis=0), np.shape(shift))
    shift_x = xp.asarray(shift, dtype=dtype, like=X)
    # the shift actually used, exactly representable in float64
    shift_used = np.asarray(xp.to_numpy(shift_x), dtype=np.float64)

    resp_sum = to_float64(xp, weighted_resp.sum(0))
    if scatter_kind not in ("full", "diag", "pooled"):
        raise ValueError(f"unknown scatter kind {scatter_kind!r}")
    if own_centres and scatter_kind == "full":
        # float64 throughout: the shifts lie too far apart for X's dtype
        shift64 = xp.asarray(shift_used, dtype=np.float64, like=X)
        centred_sum, scatter = _full_moments(
            xp.float64(X), xp.float64(weighted_resp), shift64, xp
        )
    elif own_centres and scatter_kind == "diag":
        centred_sum, scatter = _own_centre_diagonal_moments(
            X, weighted_resp, shift_used, xp
        )
    elif scatter_kind == "diag":
        centred_sum, scatter = _diagonal_moments(
            X, weighted_resp, shift_used, resp_sum, xp
        )
        if _moves_cancel(shift_used, scatter, resp_sum):
            centred_sum, scatter = _own_centre_diagonal_moments(
                X, weighted_resp, shift_used, xp
            )
    elif scatter_kind == "full":
        centred_sum, scatter = _full_moments(X, weighted_resp, shift_x, xp)
    else:
        # one shift for all: first moments about it need no move
        centred_sum = to_float64(xp, weighted_resp.T @ (X - shift_x[0])) - resp_sum[
            :, None
        ] * (shift_used - shift_used[0])
        scatter = _pooled_scatter(X, weighted_resp, shift_x, xp)
    total = (
        float(to_float64(xp, sample_weight.sum()))
        if sample_weight is not None
        else X.shape[0]
    )
    return Stats(
        resp_sum=resp_sum,
        centred_sum=centred_sum,
        scatter=scatter,
        shift=shift_used,
        scatter_kind=scatter_kind,
        total_weight=float(total),
    )


def _pooled_scatter(X: Array, weighted_resp: Array, shift_x: Array, xp) -> np.ndarray:
    """Float64 scatter of the "pooled" kind about the common shift."""
    # sum_k r_ik is the row's weight in the E-step, but given
    # responsibilities (initialisation) may leave rows out
    diff = X - shift_x[0]
    pooled = (diff * weighted_resp.sum(1)[:, None]).T @ diff
    return to_float64(xp, pooled)


def _full_moments(
    X: Array, weighted_resp: Array, shift_x: Array, xp
) -> tuple[np.ndarray, np.ndarray]:
    """Float64 first moments and scatter about each component's own shift.

    Centring on each component's own shift keeps float32 accurate, and
    first moments about it need no move from a common centre (which would
    cancel where one shift lies far from the others: an outlier's
    component). On the host a loop of contiguous GEMMs beats one strided
    batched product; on an accelerator, where every operation is a launch,
    the components go through a few batched operations instead, at the
    cost of a second (K, n, D) temporary.
    """
    if xp.is_accelerator(X):
        firsts, parts = [], []
        for group in _component_groups(X, weighted_resp.shape[1], xp):
            diff = X[None, :, :] - shift_x[group, None, :]
            weighted = diff * xp.matrix_transpose(weighted_resp[:, group])[:, :, None]
            firsts.append(weighted.sum(1))
            parts.append(xp.matrix_transpose(weighted) @ diff)
        return (
            to_float64(xp, xp.concatenate(firsts, 0)),
            to_float64(xp, xp.concatenate(parts, 0)),
        )
    firsts, parts = [], []
    for k in range(weighted_resp.shape[1]):
        rows = _rows_of(weighted_resp[:, k], xp)
        if rows is None:
            chunk, weights = X, weighted_resp[:, k : k + 1]
        else:
            chunk, weights = X[rows], weighted_resp[rows, k : k + 1]
        diff = chunk - shift_x[k]
        weighted = diff * weights
        firsts.append(weighted.sum(0))
        parts.append(weighted.T @ diff)
    # one transfer for all components: each is a sync on an accelerator
    return (
        to_float64(xp, xp.stack(firsts, axis=0)),
        to_float64(xp, xp.stack(parts, axis=0)),
    )


def _component_groups(X: Array, n_components: int, xp) -> list[slice]:
    """Runs of components whose (g, n, D) block of X's rows, one per
    component, stays within the device's chunk budget.

    Chunks of variance layouts are sized for (n, K + D) numbers, so all K
    components at once could take many times the memory the chunk was cut
    for.
    """
    per_component = max(1, X.shape[0] * X.shape[1])
    size = max(1, xp.chunk_elements(X) // per_component)
    return [
        slice(start, min(start + size, n_components))
        for start in range(0, n_components, size)
    ]


def _rows_of(weights: Array, xp) -> Array | None:
    """Rows of non-zero weight when they are few (hard assignments), else None.

    Gathering them turns a component's scatter over every row into one over
    its own rows only.
    """
    if xp.name != "numpy":
        return None
    rows = np.flatnonzero(weights)
    return rows if rows.size < 0.5 * weights.shape[0] else None


def _own_centre_diagonal_moments(
    X: Array, weighted_resp: Array, shift: np.ndarray, xp
) -> tuple[np.ndarray, np.ndarray]:
    """First moments and diagonal scatter about each component's own shift,
    in float64 (K, D) each.
    """
    X64 = xp.float64(X)
    resp64 = xp.float64(weighted_resp)
    if xp.is_accelerator(X):
        # batched over the components, as the full moments on an accelerator
        shift64 = xp.asarray(shift, dtype=np.float64, like=X)
        first, scatter = [], []
        for group in _component_groups(X, shift.shape[0], xp):
            diff = X64[None, :, :] - shift64[group, None, :]
            weighted = diff * xp.matrix_transpose(resp64[:, group])[:, :, None]
            first.append(weighted.sum(1))
            scatter.append((weighted * diff).sum(1))
        return (
            to_float64(xp, xp.concatenate(first, 0)),
            to_float64(xp, xp.concatenate(scatter, 0)),
        )
    first, scatter = [], []
    for k in range(shift.shape[0]):
        diff = X64 - xp.asarray(shift[k], dtype=np.float64, like=X)
        weighted = diff * resp64[:, k : k + 1]
        first.append(to_float64(xp, weighted.sum(0)))
        scatter.append(to_float64(xp, (weighted * diff).sum(0)))
    return np.stack(first), np.stack(scatter)


def _moves_cancel(shift: np.ndarray, scatter: np.ndarray, resp_sum: np.ndarray) -> bool:
    """Whether diagonal moments moved from the shifts' average may have lost
    more than ``sqrt(eps)`` of a variance.

    Moving over a distance ``o`` costs about ``eps * o**2`` of a variance in
    float64; ``sqrt(eps)`` is as well as EM's likelihood determines the
    variances anyway. A component on one point (no variance) away from the
    average counts as cancelled. O(K D) on the moments already computed.
    """
    offsets = shift - shift.mean(0)
    kept = resp_sum > 0
    loss = np.finfo(np.float64).eps * resp_sum[kept, None] * offsets[kept] ** 2
    return bool(np.any(loss > np.sqrt(np.finfo(np.float64).eps) * scatter[kept]))


def _diagonal_moments(
    X: Array, weighted_resp: Array, shift: np.ndarray, resp_sum: np.ndarray, xp
) -> tuple[np.ndarray, np.ndarray]:
    """First moments and diagonal scatter about each component's shift.

    Two GEMMs about one common centre, in float64 whatever X's dtype: the
    move to each component's shift then loses nothing to cancellation, and a
    float64 copy of the chunk costs only O(n D) next to the O(n K D) work.
    """
    centre = shift.mean(0)
    centred = xp.float64(X) - xp.asarray(centre, dtype=np.float64, like=X)
    resp64 = xp.float64(weighted_resp)
    first = np.asarray(xp.to_numpy(xp.matrix_transpose(resp64) @ centred))
    second = np.asarray(xp.to_numpy(xp.matrix_transpose(resp64) @ (centred * centred)))
    return diagonal_moments_about(first, second, resp_sum, shift - centre)
