"""Pieces shared by the fused kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gaussmix.core.estep import worst_row
from gaussmix.core.kernels._contract import PartialStats
from gaussmix.core.kernels.row_pass import normalise_rows
from gaussmix.core.stats import Stats


def centred_rows(X: np.ndarray, centre: np.ndarray, extra_rows: int) -> np.ndarray:
    """``(X - centre)^T`` as a (D + extra_rows, n) block in X's dtype.

    The extra rows are left for the caller to fill (squares, a row of ones),
    so that one GEMM against the block evaluates a whole quadratic form.
    """
    n_samples, n_features = X.shape
    block = np.empty((n_features + extra_rows, n_samples), dtype=X.dtype)
    np.subtract(X.T, centre[:, None], out=block[:n_features])
    return block


#: Log-responsibilities below these are raised to them before ``exp``:
#: smaller ones would be subnormal, and arithmetic on subnormal numbers is
#: up to a hundred times slower on x86 CPUs. The change is below the dtype's
#: resolution of any sum it enters.
_LOG_FLOOR = {np.dtype(np.float32): -69.0, np.dtype(np.float64): -600.0}


#: Components whose log-responsibility stays below these for every row of a
#: chunk are left out of it: even summed over a million rows they stay far
#: below the resolution of any sum they would enter (e^-69 is 1e-30, e^-100
#: 4e-44).
_LOG_NEGLIGIBLE = {np.dtype(np.float32): -69.0, np.dtype(np.float64): -100.0}


def normalize_components(log_prob: np.ndarray) -> np.ndarray:
    """Turn (K, n) log-probabilities into responsibilities, in place.

    Returns the per-row log-normaliser ``log p(x_i)`` in float64; a row that
    no component can explain keeps ``-inf``.
    """
    peak, impossible = _subtract_peak(log_prob)
    return _exponentiate(log_prob, peak, impossible)


def normalize_active_components(
    log_prob: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """:func:`normalize_components` for chunks that few components explain.

    Components whose log-responsibility is negligible for every row are
    left out (their responsibilities would be below the dtype's resolution
    of any sum). Returns the kept components' responsibilities,
    their indices (None when all are kept) and the log-normaliser.
    ``log_prob`` is overwritten.
    """
    peak, impossible = _subtract_peak(log_prob)
    active = np.flatnonzero(log_prob.max(axis=1) > _LOG_NEGLIGIBLE[log_prob.dtype])
    if active.size == 0 or active.size == log_prob.shape[0]:
        return log_prob, None, _exponentiate(log_prob, peak, impossible)
    kept = log_prob[active]
    return kept, active, _exponentiate(kept, peak, impossible)


def grouping_pays(log_prob: np.ndarray, labels: np.ndarray) -> bool:
    """Whether putting rows in order of their likeliest component can leave
    components out of chunks, judged on one chunk.

    ``log_prob`` (K, n) are the chunk's log-densities (not overwritten) and
    ``labels`` (n,) each row's likeliest component. A grouped chunk leaves
    out only the components negligible for all its rows
    (:func:`normalize_active_components`); where, among these rows, the
    rows of each likeliest component need every component between them,
    grouped chunks would keep every component too, and grouping would cost
    a pass and each chunk's check for nothing.
    """
    if log_prob.shape[1] == 0:
        return False
    matters = log_prob - log_prob.max(axis=0)
    matters = matters > _LOG_NEGLIGIBLE[log_prob.dtype]
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return not np.logical_or.reduceat(matters[:, order], starts, axis=1).all()


def _subtract_peak(log_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    peak = log_prob.max(axis=0)
    impossible = None
    # one scalar test for the common case: every chunk pays for each numpy
    # call (a few per cent of a small chunk), and unexplained rows are rare
    if not math.isfinite(peak.sum()):
        impossible = ~np.isfinite(peak)
        peak[impossible] = 0.0
        if not impossible.any():  # the sum overflowed, not a row
            impossible = None
    log_prob -= peak
    return peak, impossible


def _exponentiate(
    log_prob: np.ndarray, peak: np.ndarray, impossible: np.ndarray | None
) -> np.ndarray:
    np.maximum(log_prob, _LOG_FLOOR[log_prob.dtype], out=log_prob)
    np.exp(log_prob, out=log_prob)
    total = log_prob.sum(axis=0)
    log_norm = np.log(total.astype(np.float64, copy=False))
    log_norm += peak
    np.reciprocal(total, out=total)
    log_prob *= total
    if impossible is not None:
        log_norm[impossible] = -np.inf
    return log_norm


def likeliest(scores: np.ndarray) -> np.ndarray:
    """Index of each column's largest score in a (K, n) block (last on ties).

    Returned as the smallest unsigned integer type that holds K, for which a
    stable sort is numpy's radix sort. Comparing with the column maxima is
    about 2.5 times faster than ``argmax`` along the first axis, which
    reduces every short column on its own.
    """
    index_type = np.min_scalar_type(max(scores.shape[0] - 1, 0))
    hits = scores >= scores.max(axis=0)
    hits = hits * np.arange(scores.shape[0], dtype=scores.dtype)[:, None]
    return hits.max(axis=0).astype(index_type)


def in_all_components(
    values: np.ndarray, active: np.ndarray, n_components: int
) -> np.ndarray:
    """Float64 sums of the ``active`` components in the rows of all, zeros elsewhere."""
    out = np.zeros((n_components, *values.shape[1:]))
    out[active] = values
    return out


def weigh(resp: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
    """Responsibilities times the rows' weights, in place."""
    if sample_weight is not None:
        resp *= np.asarray(sample_weight, dtype=resp.dtype)
    return resp


@dataclass(frozen=True)
class ChunkSummary:
    """The sums of a chunk that every kernel forms the same way."""

    log_likelihood: float
    total_weight: float
    worst_log_density: float
    worst_point: np.ndarray | None


def chunk_summary(
    X: np.ndarray, log_norm: np.ndarray, sample_weight: np.ndarray | None
) -> ChunkSummary:
    """The log-likelihood, total weight and worst-explained row of a chunk."""
    if sample_weight is None:
        log_likelihood = float(log_norm.sum())
        total_weight = float(X.shape[0])
        positive = None
    else:
        weights = np.asarray(sample_weight, dtype=np.float64)
        log_likelihood = float((log_norm * weights).sum())
        total_weight = float(weights.sum())
        positive = weights > 0
    worst_value, worst_point = worst_row(X, log_norm, positive)
    return ChunkSummary(log_likelihood, total_weight, worst_value, worst_point)


def weighted_responsibilities(
    log_prob: np.ndarray,
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    squared_norms: np.ndarray | None = None,
    bound: np.ndarray | None = None,
) -> tuple[ChunkSummary, bool]:
    """:func:`normalize_components`, :func:`weigh` and :func:`chunk_summary`
    of a dense (K, n) block, in place.

    Two compiled passes (:mod:`~gaussmix.core.kernels.row_pass`) where every
    row has a finite largest log-density, else the numpy passes. Returns the
    summary and whether every row passes ``bound`` (always True without
    one; never where a row's log-density is not finite).
    """
    rows = normalise_rows(
        log_prob, _LOG_FLOOR[log_prob.dtype], sample_weight, squared_norms, bound
    )
    if rows is None:
        log_norm = normalize_components(log_prob)
        weigh(log_prob, sample_weight)
        return chunk_summary(X, log_norm, sample_weight), bound is None
    if sample_weight is None:
        total_weight = float(X.shape[0])
    else:
        total_weight = float(np.asarray(sample_weight, dtype=np.float64).sum())
    if rows.worst < 0:
        worst_value, worst_point = np.inf, None
    else:
        worst_value = float(rows.log_norm[rows.worst])
        worst_point = np.asarray(X[rows.worst], dtype=np.float64)
    summary = ChunkSummary(rows.log_likelihood, total_weight, worst_value, worst_point)
    return summary, rows.within_bound


def assemble(
    resp_sum: np.ndarray,
    centred_sum: np.ndarray,
    scatter: np.ndarray,
    shift: np.ndarray,
    scatter_kind: str,
    summary: ChunkSummary,
) -> PartialStats:
    """Partial sums from the kernel's float64 sums and the chunk summary."""
    return PartialStats(
        Stats(
            resp_sum=resp_sum,
            centred_sum=centred_sum,
            scatter=scatter,
            shift=shift,
            scatter_kind=scatter_kind,
            log_likelihood=summary.log_likelihood,
            total_weight=summary.total_weight,
            worst_log_density=summary.worst_log_density,
            worst_point=summary.worst_point,
        )
    )


class KernelBase:
    """Defaults for kernels: no row labels offered, sums already in data units."""

    #: About 8 MB of blocks in float64: large enough that per-call
    #: overheads vanish, small enough to stay within the last-level cache
    #: while each core works on its own chunk.
    chunk_elements: int = 1 << 20

    def likeliest_components(self, block: np.ndarray) -> np.ndarray | None:
        """Each row's likeliest component, from its block; None if not offered."""
        return None

    def finish(self, partial: PartialStats) -> Stats:
        """The Stats of the partial sums, which are in data units already."""
        return partial.sums
