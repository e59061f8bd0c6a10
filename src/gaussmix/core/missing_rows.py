"""The per-row algebra of the missing-value E-step, compiled.

Each (row, component) pair with missing values needs the Cholesky factor of
the component's precision block over the row's missing columns, two
triangular solves of a few numbers, and its share of the moments. These are
a handful of flops each on blocks of a few rows and columns: in numpy every
step is a pass over all pairs, in compiled code they stay in registers.
:func:`missing_row_sums` runs them row by row, with the notation of
:mod:`gaussmix.core.missing_moments`: ``x~`` the row filled at the centre
(zero where missing), ``g`` the filled row's precision-weighted gradient
over the missing columns (formed here from the row's observed values),
``P_mm`` the precision's missing block, ``e = -P_mm^-1 g`` the completion.

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
    factor: np.ndarray,
    reciprocal: np.ndarray,
    run_resp: np.ndarray,
    inverse: np.ndarray,
    total: np.ndarray,
    covariances: np.ndarray,
) -> None:
    """Add ``run_resp[k] * P_k,mm^-1`` to every component's missing block.

    ``P_mm^-1 = L^-T L^-1``: first ``L^-1`` into the lower triangle of
    ``inverse`` (r, r, K), then the product, every component at once;
    ``total`` (K,) is room for one entry of it.
    """
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
    for k in range(n_components):
        weight = run_resp[k]
        if weight == 0.0:
            continue
        for a in range(n_missing):
            for b in range(a + 1):
                covariances[k, missing[a], missing[b]] += weight * inverse[b, a, k]
        run_resp[k] = 0.0


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
            for k in range(n_components):
                factor[a, b, k] = entries[missing[a], missing[b], k]
            for c in range(b):
                for k in range(n_components):
                    factor[a, b, k] -= factor[a, c, k] * factor[b, c, k]
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


@_compiled
def _missing_row_sums(
    rows: np.ndarray,
    hidden: np.ndarray,
    filled: np.ndarray,
    gains: np.ndarray,
    precisions: np.ndarray,
    log_noise: np.ndarray,
    weights: np.ndarray,
    negligible: float,
    joint: np.ndarray,
    log_norm: np.ndarray,
    shares: np.ndarray,
    first: np.ndarray,
    cross: np.ndarray,
    covariances: np.ndarray,
) -> None:
    n_components = joint.shape[1]
    n_features = filled.shape[1]
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
    missing = np.empty(n_features, dtype=np.int64)
    pattern = np.empty(n_features, dtype=np.int64)
    n_pattern = -1
    run_resp = np.zeros(n_components)
    inverse = np.empty((n_features, n_features, n_components))
    entry = np.empty(n_components)
    for position in range(rows.size):
        i = rows[position]
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
            if n_pattern > 0:
                _flush_run(
                    pattern,
                    n_pattern,
                    factor,
                    reciprocal,
                    run_resp,
                    inverse,
                    entry,
                    covariances,
                )
            for a in range(n_missing):
                pattern[a] = missing[a]
            n_pattern = n_missing
            _factor_blocks(
                missing, n_missing, entries, factor, reciprocal, log_det, determinant
            )
        # g = [x~, 1] @ gains over the missing columns, observed terms only
        for a in range(n_missing):
            start = missing[a] * n_components
            for k in range(n_components):
                gradient[a, k] = gains[n_features, start + k]
            for j in range(n_features):
                value = filled[i, j]
                if value == 0.0:
                    continue
                for k in range(n_components):
                    gradient[a, k] += value * gains[j, start + k]
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
            density = joint[i, k] + 0.5 * (form[k] - log_det[k] + n_missing * LOG_2PI)
            joint[i, k] = density
            peak = max(peak, density)
        total = 0.0
        for k in range(n_components):
            gap = joint[i, k] - peak
            scaled = np.exp(gap) if gap > _NEGLIGIBLE_GAP else 0.0
            shares[i, k] = scaled
            total += scaled
        if log_noise[i] - peak > _NEGLIGIBLE_GAP:
            total += np.exp(log_noise[i] - peak)
        log_norm[i] = peak + np.log(total)
        for k in range(n_components):
            share = shares[i, k] / total
            shares[i, k] = share
            if not share > negligible:
                continue
            resp = share * weights[i]
            run_resp[k] += resp
            for a in range(n_missing):
                column = missing[a]
                weighted = resp * completion[a, k]
                first[k, column] += weighted
                for b in range(n_features):
                    cross[k, column, b] += weighted * filled[i, b]
                for b in range(a + 1):
                    covariances[k, column, missing[b]] += weighted * completion[b, k]
    if n_pattern > 0:
        _flush_run(
            pattern,
            n_pattern,
            factor,
            reciprocal,
            run_resp,
            inverse,
            entry,
            covariances,
        )


def missing_row_sums(
    rows: np.ndarray,
    hidden: np.ndarray,
    filled: np.ndarray,
    gains: np.ndarray,
    precisions: np.ndarray,
    log_noise: np.ndarray,
    weights: np.ndarray,
    negligible: float,
    out: tuple[np.ndarray, ...],
) -> None:
    """Marginal log-densities, responsibilities and moment terms of the
    rows ``rows`` (each with a missing value), in place.

    Parameters
    ----------
    rows : ndarray of int64, shape (m,)
        The rows worked on, ordered by pattern of missing values.
    hidden : ndarray of bool, shape (n, D)
    filled : ndarray of shape (n, D)
        ``x~``: the rows minus the centre, zero where missing.
    gains : ndarray of shape (D + 1, D * K)
        Column ``j * K + k``: row ``j`` of ``P_k`` over ``-(P_k mu'_k)_j``,
        so that ``[x~, 1] @ gains`` holds ``(P_k (x~ - mu'_k))_j``.
    precisions : ndarray of shape (K, D, D)
    log_noise : ndarray of shape (n,)
        A noise component's log-density column; -inf without one.
    weights : ndarray of shape (n,)
    negligible : float
        Pairs of this share or less add nothing to the moments.
    out : (joint, log_norm, shares, first, cross, covariances)
        ``joint`` (n, K) holds the filled rows' ``log w_k + log p_k(x~)``
        and is corrected to ``log w_k + log p_k(x_o)``; ``log_norm`` (n,)
        and ``shares`` (n, K) get each row's normaliser (the noise
        included) and responsibilities; to ``first`` (K, D), ``cross``
        (K, D, D) and ``covariances`` (K, D, D) are added ``sum r e``,
        ``sum r e x~^T`` and the lower triangle of ``sum r (e e^T +
        P_mm^-1)`` (a row's missing columns ascend, so its block lands
        there).
    """
    _missing_row_sums(
        rows,
        hidden,
        filled,
        gains,
        precisions,
        log_noise,
        weights,
        negligible,
        *out,
    )
