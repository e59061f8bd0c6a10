"""The per-row algebra of the missing-value E-step, compiled.

Each (row, component) pair with missing values needs the Cholesky factor of
the component's precision block over the row's missing columns, two
triangular solves of a few numbers, and its share of the moments. These are
a handful of flops each on blocks of a few rows and columns: in numpy every
step is a pass over all pairs, in compiled code they stay in registers.
:func:`missing_row_sums` runs them row by row, with the notation of
:mod:`gaussmix.core.missing_moments`: ``x~`` the row filled at the centre
(zero where missing), ``q_c`` its quadratic form and ``g`` its
precision-weighted gradient over the missing columns (both from one small
GEMM per block of rows), ``P_mm`` the precision's missing block,
``e = -P_mm^-1 g`` the completion.

Rows arrive ordered by their pattern of missing values
(:func:`gaussmix.core.missing_pairs.pattern_order`): consecutive rows of one
pattern share every component's factor, and the conditional covariances
``P_mm^-1`` of such a run are added once, weighted by the run's summed
responsibilities. The order of every sum follows from the rows' order
alone, so the same rows give the same bits wherever they were stored.
"""

from __future__ import annotations

import numba
import numpy as np

from gaussmix.core.blas_threads import one_blas_thread
from gaussmix.core.covariance.base import LOG_2PI

#: Compiled once and kept on disk; ``nogil`` lets the E-step's threads run
#: chunks side by side; numpy's error model (a division by zero gives inf,
#: as in numpy) spares a test before every division, which kept the
#: reciprocals' loops from being vectorised.
_compiled = numba.njit(cache=True, nogil=True, error_model="numpy")


@_compiled
def _flush_run(
    missing: np.ndarray,
    n_missing: int,
    run: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    covariances: np.ndarray,
    covariances_by_k: np.ndarray,
) -> None:
    """Add ``run_resp[k] * P_k,mm^-1`` to every component's missing block,
    ``P_mm^-1 = L^-T L^-1``, and clear ``run_resp``; ``run`` holds the
    run's ``factor``, ``reciprocal``, ``run_resp`` and room for ``inverse``
    and one entry of it. A run without missing values adds nothing.

    Where a quarter of the components or fewer carry weight (most runs once
    the components have separated) each of them is worked out alone, into
    ``covariances`` (K, D, D); otherwise every component at once, as one
    vector operation over them (from a broad start, twice as fast as one
    by one), into ``covariances_by_k`` (D, D, K).
    """
    if n_missing <= 0:
        return
    factor, reciprocal, run_resp, inverse, total = run
    n_weighted = 0
    for weight in run_resp:
        n_weighted += weight != 0.0
    if 4 * n_weighted <= run_resp.size:
        _flush_weighted(
            missing, n_missing, factor, reciprocal, run_resp, inverse, covariances
        )
    else:
        _flush_every(
            missing,
            n_missing,
            factor,
            reciprocal,
            run_resp,
            inverse,
            total,
            covariances_by_k,
        )


@_compiled
def _flush_weighted(
    missing: np.ndarray,
    n_missing: int,
    factor: np.ndarray,
    reciprocal: np.ndarray,
    run_resp: np.ndarray,
    inverse: np.ndarray,
    covariances: np.ndarray,
) -> None:
    """:func:`_flush_run` one weighted component at a time, ``L^-1`` in the
    lower triangle of ``inverse[:, :, 0]``."""
    for k in range(run_resp.size):
        weight = run_resp[k]
        if weight == 0.0:
            continue
        run_resp[k] = 0.0
        for a in range(n_missing):
            inverse[a, a, 0] = reciprocal[a, k]
            for b in range(a):
                value = 0.0
                for c in range(b, a):
                    value -= factor[a, c, k] * inverse[c, b, 0]
                inverse[a, b, 0] = value * reciprocal[a, k]
        for a in range(n_missing):
            for b in range(a + 1):
                value = inverse[a, a, 0] * inverse[a, b, 0]
                for c in range(a + 1, n_missing):
                    value += inverse[c, a, 0] * inverse[c, b, 0]
                covariances[k, missing[a], missing[b]] += weight * value


@_compiled
def _flush_every(
    missing: np.ndarray,
    n_missing: int,
    factor: np.ndarray,
    reciprocal: np.ndarray,
    run_resp: np.ndarray,
    inverse: np.ndarray,
    total: np.ndarray,
    covariances_by_k: np.ndarray,
) -> None:
    """:func:`_flush_run` for every component at once: ``L^-1`` into the
    lower triangle of ``inverse`` (r, r, K), then the product; ``total``
    (K,) is room for one entry of it."""
    n_components = run_resp.size
    for a in range(n_missing):
        for k in range(n_components):
            inverse[a, a, k] = reciprocal[a, k]
        for b in range(a):
            for k in range(n_components):
                inverse[a, b, k] = 0.0
            for c in range(b, a):
                for k in range(n_components):
                    inverse[a, b, k] -= factor[a, c, k] * inverse[c, b, k]
            for k in range(n_components):
                inverse[a, b, k] *= reciprocal[a, k]
    for a in range(n_missing):
        for b in range(a + 1):
            # (L^-T L^-1)_ab = sum over c >= a of (L^-1)_ca (L^-1)_cb, into
            # the upper triangle; the diagonal last, its (L^-1)_aa read first
            for k in range(n_components):
                total[k] = inverse[a, a, k] * inverse[a, b, k]
            for c in range(a + 1, n_missing):
                for k in range(n_components):
                    total[k] += inverse[c, a, k] * inverse[c, b, k]
            for k in range(n_components):
                inverse[b, a, k] = total[k]
    for a in range(n_missing):
        for b in range(a + 1):
            for k in range(n_components):
                covariances_by_k[missing[a], missing[b], k] += (
                    run_resp[k] * inverse[b, a, k]
                )
    run_resp[:] = 0.0


@_compiled
def _factor_blocks(
    missing: np.ndarray,
    n_missing: int,
    entries: np.ndarray,
    factor: np.ndarray,
    reciprocal: np.ndarray,
    log_det: np.ndarray,
    determinant: np.ndarray,
) -> None:
    """Every component's Cholesky factor of its precision's missing block,
    (r, r, K) with the components innermost, the reciprocals of its
    diagonal and its log-determinant; ``entries`` (D, D, K) are the
    precisions with the components innermost, ``determinant`` (K,) room
    for the blocks' determinants."""
    n_components = log_det.size
    determinant[:] = 1.0
    for a in range(n_missing):
        for b in range(a + 1):
            # views of the (K,) vectors: their addresses are worked out once
            # per loop over the components, not once per component
            target = factor[a, b]
            source = entries[missing[a], missing[b]]
            for k in range(n_components):
                target[k] = source[k]
            for c in range(b):
                left = factor[a, c]
                right = factor[b, c]
                for k in range(n_components):
                    target[k] -= left[k] * right[k]
            if a == b:
                for k in range(n_components):
                    determinant[k] *= factor[a, a, k]
                    factor[a, a, k] = np.sqrt(factor[a, a, k])
                    reciprocal[a, k] = 1.0 / factor[a, a, k]
            else:
                for k in range(n_components):
                    factor[a, b, k] *= reciprocal[b, k]
    for k in range(n_components):
        if 1e-300 < determinant[k] < 1e300:
            log_det[k] = np.log(determinant[k])
        else:  # the product left the floats' range: sum the logs
            log_det[k] = 0.0
            for a in range(n_missing):
                log_det[k] += 2.0 * np.log(factor[a, a, k])


#: A pair this far below its row's best (log-density) has a share under
#: e^-40 (4e-18): it is left out of the normaliser and the moments, as the
#: complete-data kernels leave out the pairs their bounds rule out.
_NEGLIGIBLE_GAP = -40.0

#: Rows per GEMM of the gradients: its product (rows, D * K) stays in the
#: cache (64, 128 and 256 measured; 128 fastest at D = K = 16).
_GRADIENT_ROWS = 128


@_compiled
def _add_filled_moments(
    i: int,
    filled: np.ndarray,
    row_resp: np.ndarray,
    sums: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Row ``i``'s ``r``, ``r x~`` and ``r x~ x~^T`` (lower triangle) for
    each component of weight, into (K,), (K, D) and (K, D, D) sums: for
    rows that weigh few components, whose share of the quadratic features'
    GEMM would cost several times more."""
    resp_sums, first, second = sums
    for k in range(row_resp.size):
        resp = row_resp[k]
        if resp == 0.0:
            continue
        resp_sums[k] += resp
        for a in range(filled.shape[1]):
            weighted = resp * filled[i, a]
            if weighted == 0.0:
                continue
            first[k, a] += weighted
            for b in range(a + 1):
                second[k, a, b] += weighted * filled[i, b]


@_compiled
def _add_weighted_moments(
    i: int,
    missing: np.ndarray,
    n_missing: int,
    filled: np.ndarray,
    completion: np.ndarray,
    row_resp: np.ndarray,
    moments: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Row ``i``'s terms of ``sum r e``, ``sum r e x~^T`` and ``sum r e e^T``
    (lower triangle) for each component of weight, into (K, D) and
    (K, D, D) sums: for rows that weigh few components."""
    first, cross, covariances = moments
    for k in range(row_resp.size):
        resp = row_resp[k]
        if resp == 0.0:
            continue
        for a in range(n_missing):
            column = missing[a]
            weighted = resp * completion[a, k]
            first[k, column] += weighted
            for b in range(filled.shape[1]):
                cross[k, column, b] += weighted * filled[i, b]
            for b in range(a + 1):
                covariances[k, column, missing[b]] += weighted * completion[b, k]


@_compiled
def _add_every_moment(
    i: int,
    missing: np.ndarray,
    n_missing: int,
    filled: np.ndarray,
    completion: np.ndarray,
    row_resp: np.ndarray,
    scaled: np.ndarray,
    moments_by_k: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """:func:`_add_weighted_moments` for every component at once, into
    (D, K) and (D, D, K) sums: one vector operation over the components per
    entry, for rows that weigh many of them; ``scaled`` (D, K) is room for
    the weighted completions."""
    first, cross, covariances = moments_by_k
    n_components = row_resp.size
    for a in range(n_missing):
        column = missing[a]
        weighted = scaled[a]
        for k in range(n_components):
            weighted[k] = row_resp[k] * completion[a, k]
            first[column, k] += weighted[k]
        for b in range(filled.shape[1]):
            value = filled[i, b]
            if value == 0.0:
                continue
            row = cross[column, b]
            for k in range(n_components):
                row[k] += value * weighted[k]
        for b in range(a + 1):
            row = covariances[column, missing[b]]
            for k in range(n_components):
                row[k] += weighted[k] * completion[b, k]


@_compiled
def _missing_row_sums(
    hidden: np.ndarray,
    filled: np.ndarray,
    gains: np.ndarray,
    constants: np.ndarray,
    precisions: np.ndarray,
    log_noise: np.ndarray,
    weights: np.ndarray,
    negligible: float,
    log_norm: np.ndarray,
    resp: np.ndarray,
    dense: np.ndarray,
    resp_sums: np.ndarray,
    first: np.ndarray,
    cross: np.ndarray,
    covariances: np.ndarray,
) -> None:
    n_rows, n_features = filled.shape
    n_components = constants.size
    # the components are the innermost axis: each step below is one
    # independent operation per component, which the compiler vectorises
    factor = np.zeros((n_features, n_features, n_components))
    reciprocal = np.zeros((n_features, n_components))
    log_det = np.zeros(n_components)
    determinant = np.empty(n_components)
    entries = np.empty((n_features, n_features, n_components))
    for k in range(n_components):
        for a in range(n_features):
            for b in range(n_features):
                entries[a, b, k] = precisions[k, a, b]
    gradient = np.empty((n_features, n_components))
    whitened = np.empty((n_features, n_components))
    completion = np.empty((n_features, n_components))
    form = np.empty(n_components)
    density = np.empty(n_components)
    missing = np.empty(n_features, dtype=np.int64)
    pattern = np.empty(n_features, dtype=np.int64)
    n_pattern = -1
    run_resp = np.zeros(n_components)
    inverse = np.empty((n_features, n_features, n_components))
    entry = np.empty(n_components)
    run = (factor, reciprocal, run_resp, inverse, entry)
    row_resp = np.empty(n_components)
    moments = (first, cross, covariances)
    # the same sums with the components innermost, for rows and runs that
    # weigh many components; added to the others at the end
    moments_by_k = (
        np.zeros((n_features, n_components)),
        np.zeros((n_features, n_features, n_components)),
        np.zeros((n_features, n_features, n_components)),
    )
    row_gains = np.ascontiguousarray(gains[:n_features])
    offsets = gains[n_features]
    block_rows = np.empty((_GRADIENT_ROWS, n_features))
    products = np.empty((_GRADIENT_ROWS, n_features * n_components))
    for i in range(n_rows):
        n_missing = 0
        for j in range(n_features):
            if hidden[i, j]:
                missing[n_missing] = j
                n_missing += 1
        same = n_missing == n_pattern
        for a in range(n_missing if same else 0):
            if missing[a] != pattern[a]:
                same = False
                break
        if not same:
            _flush_run(pattern, n_pattern, run, covariances, moments_by_k[2])
            for a in range(n_missing):
                pattern[a] = missing[a]
            n_pattern = n_missing
            _factor_blocks(
                missing, n_missing, entries, factor, reciprocal, log_det, determinant
            )
        # x~ @ gains, (P_k x~)_j for every column and component, for
        # _GRADIENT_ROWS rows at a time: one small GEMM, several times faster
        # than the terms added one by one
        within = i % _GRADIENT_ROWS
        if within == 0:
            for r in range(_GRADIENT_ROWS):
                if i + r < n_rows:
                    for j in range(n_features):
                        block_rows[r, j] = filled[i + r, j]
                else:
                    block_rows[r, :] = 0.0
            np.dot(block_rows, row_gains, products)
        row_products = products[within]
        # the filled row's log w_k p_k(x~): the constant minus
        # x~^T (P x~ / 2 - P mu'), over its observed columns
        density[:] = constants
        for j in range(n_features):
            value = filled[i, j]
            if value == 0.0:
                continue
            start = j * n_components
            for k in range(n_components):
                density[k] -= value * (
                    0.5 * row_products[start + k] + offsets[start + k]
                )
        # g = P (x~ - mu') over the missing columns
        for a in range(n_missing):
            start = missing[a] * n_components
            for k in range(n_components):
                gradient[a, k] = row_products[start + k] + offsets[start + k]
        # w = L^-1 g and its squared norm, then e = -L^-T w (built as
        # -(w + L_below^T e), the entries below already negated)
        form[:] = 0.0
        for a in range(n_missing):
            for k in range(n_components):
                whitened[a, k] = gradient[a, k]
            for b in range(a):
                for k in range(n_components):
                    whitened[a, k] -= factor[a, b, k] * whitened[b, k]
            for k in range(n_components):
                whitened[a, k] *= reciprocal[a, k]
                form[k] += whitened[a, k] * whitened[a, k]
        for a in range(n_missing - 1, -1, -1):
            for k in range(n_components):
                completion[a, k] = whitened[a, k]
            for b in range(a + 1, n_missing):
                for k in range(n_components):
                    completion[a, k] += factor[b, a, k] * completion[b, k]
            for k in range(n_components):
                completion[a, k] *= -reciprocal[a, k]
        peak = log_noise[i]
        for k in range(n_components):
            density[k] += 0.5 * (form[k] - log_det[k] + n_missing * LOG_2PI)
            peak = max(peak, density[k])
        total = 0.0
        for k in range(n_components):
            gap = density[k] - peak
            scaled = np.exp(gap) if gap > _NEGLIGIBLE_GAP else 0.0
            row_resp[k] = scaled
            total += scaled
        if log_noise[i] - peak > _NEGLIGIBLE_GAP:
            total += np.exp(log_noise[i] - peak)
        log_norm[i] = peak + np.log(total)
        n_weighted = 0
        for k in range(n_components):
            share = row_resp[k] / total
            row_resp[k] = share * weights[i] if share > negligible else 0.0
            resp[i, k] = row_resp[k]
            n_weighted += row_resp[k] != 0.0
        few = 4 * n_weighted <= n_components
        # the filled row's own moments here where it weighs few components,
        # else in the quadratic features' GEMM
        dense[i] = not few
        if few:
            _add_filled_moments(i, filled, row_resp, (resp_sums, first, covariances))
        if n_missing == 0:
            continue
        for k in range(n_components):
            run_resp[k] += row_resp[k]
        if few:
            _add_weighted_moments(
                i, missing, n_missing, filled, completion, row_resp, moments
            )
        else:
            _add_every_moment(
                i,
                missing,
                n_missing,
                filled,
                completion,
                row_resp,
                gradient,  # free again: room for the weighted completions
                moments_by_k,
            )
    _flush_run(pattern, n_pattern, run, covariances, moments_by_k[2])
    for k in range(n_components):
        for a in range(n_features):
            first[k, a] += moments_by_k[0][a, k]
            for b in range(n_features):
                cross[k, a, b] += moments_by_k[1][a, b, k]
                covariances[k, a, b] += moments_by_k[2][a, b, k]


def missing_row_sums(
    hidden: np.ndarray,
    filled: np.ndarray,
    gains: np.ndarray,
    constants: np.ndarray,
    precisions: np.ndarray,
    log_noise: np.ndarray,
    weights: np.ndarray,
    negligible: float,
    out: tuple[np.ndarray, ...],
) -> None:
    """Marginal log-densities, responsibilities and the missing values'
    moment terms of rows, in place.

    Parameters
    ----------
    hidden : ndarray of bool, shape (n, D)
        Where values are missing; rows of one pattern are best consecutive
        (:func:`gaussmix.core.missing_pairs.pattern_order`).
    filled : ndarray of shape (n, D)
        ``x~``: the rows minus the centre, zero where missing.
    gains : ndarray of shape (D + 1, D * K)
        Column ``j * K + k``: row ``j`` of ``P_k`` over ``-(P_k mu'_k)_j``,
        so that ``[x~, 1] @ gains`` holds ``(P_k (x~ - mu'_k))_j``.
    constants : ndarray of shape (K,)
        ``log w_k + log N(c | mu_k, S_k)``: the log-density at the centre
        (``x~ = 0``).
    precisions : ndarray of shape (K, D, D)
    log_noise : ndarray of shape (n,)
        A noise component's log-density column; -inf without one.
    weights : ndarray of shape (n,)
    negligible : float
        Responsibilities of this share or less are set to 0.
    out : (log_norm, resp, dense, resp_sums, first, cross, covariances)
        ``log_norm`` (n,) gets each row's ``log p(x_o)`` (the noise
        included), ``resp`` (n, K) its responsibilities times its weight
        and ``dense`` (n,) whether its own moments are left to the caller
        (rows that weigh more than a quarter of the components); to
        ``resp_sums`` (K,), ``first`` (K, D), ``cross`` (K, D, D) and
        ``covariances`` (K, D, D) are added ``sum r`` and ``sum r x~`` over
        the other rows, ``sum r e`` and ``sum r e x~^T`` over all, and the
        lower triangle of ``sum r (e e^T + P_mm^-1)`` over all plus
        ``sum r x~ x~^T`` over the other rows (a row's missing columns
        ascend, so its block lands there).
    """
    # the GEMMs of 128 rows are too small to share between threads: waking
    # a BLAS library's threads for each took longer than the product
    with one_blas_thread():
        _missing_row_sums(
            hidden,
            filled,
            gains,
            constants,
            precisions,
            log_noise,
            weights,
            negligible,
            *out,
        )
