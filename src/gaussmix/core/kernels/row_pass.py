"""Normalising a chunk's log-densities in two compiled passes.

A dense chunk's E-step after its log-density GEMM is a dozen numpy passes
over the (K, n) block and its (n,) rows: the peak, the shift, the floor, the
column sums, the logarithm, the reciprocal, the scaling, the weights, the
log-likelihood, the worst row and, on the quadratic-feature path, the
rounding bound. Each pass reads the block again and each call costs a few
microseconds; at a few thousand rows per chunk that was a third of a dense
chunk's time beside its two GEMMs. Here they are two compiled loops around
numpy's vectorised ``exp``, column sums and ``log`` (numba's ``exp`` and
``log`` would be scalar calls). The responsibilities and log-normalisers
are the same numbers as numpy's passes give, bit for bit; the chunk's
log-likelihood is summed in another order.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

_compiled = numba.njit(cache=True, nogil=True, error_model="numpy")


class NormalisedRows(NamedTuple):
    """What :func:`normalise_rows` leaves besides the responsibilities."""

    log_norm: np.ndarray
    log_likelihood: float
    worst: int
    within_bound: bool


@_compiled
def _shift_to_peak(log_prob: np.ndarray, floor: float) -> tuple[np.ndarray, bool]:
    """Each column's largest value subtracted from it, floored; False (and
    the block untouched) where a column's largest value is not finite."""
    n_components, n_rows = log_prob.shape
    peak = log_prob[0].copy()
    # along the rows of the block: the columns are its strided direction
    for k in range(1, n_components):
        row = log_prob[k]
        for i in range(n_rows):
            if row[i] > peak[i] or math.isnan(row[i]):
                peak[i] = row[i]
    for i in range(n_rows):
        if not math.isfinite(peak[i]):
            return peak, False
    for k in range(n_components):
        row = log_prob[k]
        for i in range(n_rows):
            value = row[i] - peak[i]
            row[i] = value if value > floor else floor
    return peak, True


@_compiled
def _scale_and_summarise(
    resp: np.ndarray,
    total: np.ndarray,
    log_norm: np.ndarray,
    scale: np.ndarray,
    weights: np.ndarray,
    squared_norms: np.ndarray,
    bound: np.ndarray,
) -> tuple[float, int, bool]:
    n_components, n_rows = resp.shape
    # in the block's dtype, as numpy's reciprocal: a float64 quotient
    # rounded to float32 would round twice
    one = np.ones(1, resp.dtype)[0]
    for i in range(n_rows):
        total[i] = one / total[i]
    weighted = scale.size > 0
    for k in range(n_components):
        row = resp[k]
        for i in range(n_rows):
            row[i] *= total[i]
        if weighted:
            for i in range(n_rows):
                row[i] *= scale[i]
    log_likelihood = 0.0
    worst = -1
    worst_value = np.inf
    for i in range(n_rows):
        weight = weights[i] if weighted else 1.0
        log_likelihood += log_norm[i] * weight if weighted else log_norm[i]
        if weight > 0.0 and log_norm[i] < worst_value:
            worst, worst_value = i, log_norm[i]
    within = bound.size == 0 or within_bound(log_norm, squared_norms, bound)
    return log_likelihood, worst, within


@_compiled
def within_bound(
    log_norm: np.ndarray, squared_norms: np.ndarray, bound: np.ndarray
) -> bool:
    """Whether every row passes the quadratic-feature path's rounding bound.

    ``bound`` is ``QuadraticForms.row_bound``: the limit, log K, D and the
    linear, constant and quadratic sizes. A row passes where the bound on
    the absolute values of its terms, ``sqrt(|y|^2) linear + constant +
    |y|^2 quadratic``, stays within ``limit (D + max(|log p(x)| - log K,
    0))``. Rows of NaN fail; infinite log-densities are the caller's to
    refuse.
    """
    limit, log_components, n_features = bound[0], bound[1], bound[2]
    linear, constant, quadratic = bound[3], bound[4], bound[5]
    for i in range(log_norm.size):
        magnitude = max(abs(log_norm[i]) - log_components, 0.0)
        magnitude = (magnitude + n_features) * limit
        norm = np.float64(squared_norms[i])
        terms = math.sqrt(norm) * linear + constant + norm * quadratic
        # NaN compares False
        if not terms <= magnitude:
            return False
    return True


def normalise_rows(
    log_prob: np.ndarray,
    floor: float,
    sample_weight: np.ndarray | None = None,
    squared_norms: np.ndarray | None = None,
    bound: np.ndarray | None = None,
) -> NormalisedRows | None:
    """Turn a (K, n) block of log-densities into weighted responsibilities.

    In place, as ``normalize_components`` then ``weigh`` do; also the rows'
    float64 log-normalisers, the chunk's log-likelihood (weighted), the
    index of its worst-explained row of positive weight (-1 if none) and,
    given ``squared_norms`` and ``bound``, whether every row passes the
    quadratic-feature path's rounding bound (``QuadraticForms.row_bound``).

    Returns None, with the block untouched, where some row has no finite
    largest log-density: the general path handles such rows.
    """
    peak, finite = _shift_to_peak(log_prob, log_prob.dtype.type(floor))
    if not finite:
        return None
    # numpy's vectorised exp and log: numba's are scalar calls
    np.exp(log_prob, out=log_prob)
    total = log_prob.sum(axis=0)
    log_norm = np.log(total.astype(np.float64, copy=False))
    log_norm += peak
    if sample_weight is None:
        scale = weights = np.empty(0, log_prob.dtype)
    else:
        scale = np.asarray(sample_weight, dtype=log_prob.dtype)
        weights = np.asarray(sample_weight, dtype=np.float64)
    if bound is None or squared_norms is None:
        squared_norms, bound = np.empty(0, log_prob.dtype), np.empty(0)
    log_likelihood, worst, within = _scale_and_summarise(
        log_prob, total, log_norm, scale, weights, squared_norms, bound
    )
    return NormalisedRows(log_norm, float(log_likelihood), int(worst), bool(within))
