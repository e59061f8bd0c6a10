"""Stats of a whole dataset, gathered chunk by chunk.

Works for anything that slices by rows into arrays: in-memory numpy arrays,
``numpy.memmap`` (rows are read from disk chunk by chunk), HDF5 and Zarr
datasets, torch tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.estep import chunk_stats, default_chunk_size, responsibility_stats
from gaussmix.core.kernels import ChunkKernel, fused_kernel
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import EMPTY_WEIGHT_GUARD, Stats, sum_in_order, to_float64
from gaussmix.fit.host_pass import (
    KeptBlocks,
    StreamedWindows,
    host_pass,
    sum_by_windows,
)


def row_slices(n_rows: int, chunk_size: int) -> Iterator[slice]:
    """Consecutive row slices of at most ``chunk_size`` rows, as equal in
    size as they can be: threads that take one slice each then finish
    together (100,000 rows in slices of at most 65,536: two of 50,000,
    not 65,536 and 34,464). The slices follow from the two numbers alone,
    so every storage of the same rows is cut the same way.
    """
    n_slices = max(1, -(-n_rows // max(chunk_size, 1)))
    size, larger = divmod(n_rows, n_slices)
    start = 0
    for index in range(n_slices):
        stop = start + size + (index < larger)
        if stop > start:
            yield slice(start, stop)
        start = stop


def resolve_chunk_size(
    chunk_size: int | None,
    n_components: int,
    n_features: int,
    like: Array | None = None,
) -> int:
    """``chunk_size``, or by default one sized for ``like``'s device."""
    if chunk_size is None:
        elements = get_backend(like).chunk_elements(like)
        return default_chunk_size(n_components, n_features, elements)
    return int(chunk_size)


def _as_compute_array(chunk: Array, like: Array) -> Array:
    """A chunk read from storage, as an array of ``like``'s backend."""
    xp = get_backend(like)
    if xp.name == "numpy":
        return np.asarray(chunk)
    return chunk


def dataset_stats(
    X: Array,
    sample_weight: Array | None,
    params: MixtureParams,
    chunk_size: int | None = None,
    prepared: KeptBlocks | StreamedWindows | None = None,
) -> Stats:
    """E-step over all rows of ``X``: the Stats about the current means.

    numpy data whose family has a fused kernel take the host pass
    (:func:`~gaussmix.fit.host_pass.host_pass`: chunks spread over the
    host's cores); everything else takes the generic E-step chunk by chunk.
    ``prepared`` is what earlier passes over the same rows left to reuse.
    """
    shift = np.asarray(get_backend(params.means).to_numpy(params.means), np.float64)
    kernel = _host_kernel(X, params, shift, chunk_size, prepared)
    if kernel is not None:
        return host_pass(kernel, X, sample_weight, chunk_size, prepared)
    width = params.family.row_width(params.n_components, params.n_features)
    size = resolve_chunk_size(chunk_size, width, 1, X)
    compute_params = params.cast(X)
    return sum_by_windows(
        chunk_stats(*_read(X, sample_weight, rows), compute_params, shift)
        for rows in row_slices(X.shape[0], size)
    )


def _host_kernel(
    X: Array,
    params: MixtureParams,
    shift: np.ndarray,
    chunk_size: int | None,
    prepared: KeptBlocks | StreamedWindows | None,
) -> ChunkKernel | None:
    """The fused kernel for numpy data, or None."""
    if get_backend(X).name != "numpy":
        return None

    def first_chunk(preferred_rows: int) -> np.ndarray | None:
        n_rows = min(chunk_size or preferred_rows, X.shape[0])
        return np.asarray(X[:n_rows]) if n_rows else None

    reference = None if prepared is None else prepared.reference
    history = 0 if prepared is None else prepared.passes_without_pruning
    return fused_kernel(
        params.to_numpy(np.float64), shift, X.dtype, reference, first_chunk, history
    )


def _read(
    X: Array, sample_weight: Array | None, rows: slice
) -> tuple[Array, Array | None]:
    """Rows ``rows`` of X, as a compute array, and their weights."""
    chunk = _as_compute_array(X[rows], X)
    weights = None if sample_weight is None else sample_weight[rows]
    return chunk, weights


def responsibilities_stats(
    X: Array,
    resp: Array,
    sample_weight: Array | None,
    scatter_kind: str,
    chunk_size: int | None = None,
) -> Stats:
    """Stats of given responsibilities (initialisation), in two passes.

    The first pass finds the weighted means, the second accumulates the
    scatter about them. ``resp`` and ``sample_weight`` may live on the host
    while ``X`` is on a device: each chunk of them is moved to ``X``'s.

    A pooled scatter is gathered about each component's own mean and then
    pooled (:func:`pooled_from_components`): a start whose groups are tight
    next to their distances (one row each) would otherwise keep only the
    rounding of the rows' whole scatter.
    """
    if scatter_kind == "pooled":
        own = responsibilities_stats(X, resp, sample_weight, "full", chunk_size)
        return pooled_from_components(own)
    xp = get_backend(X)
    n_components = resp.shape[1]
    size = resolve_chunk_size(chunk_size, n_components, X.shape[1], X)
    resp_sum = np.zeros(n_components)
    first_moment = np.zeros((n_components, X.shape[1]))
    for rows in row_slices(X.shape[0], size):
        chunk = _as_compute_array(X[rows], X)
        r = _weighted(resp, sample_weight, rows, chunk)
        resp_sum += to_float64(xp, r.sum(0))
        first_moment += to_float64(xp, r.T @ xp.float64(chunk))
    shift = first_moment / (resp_sum + EMPTY_WEIGHT_GUARD)[:, None]

    def scatter_part(rows: slice) -> Stats:
        chunk = _as_compute_array(X[rows], X)
        r = xp.astype(_weighted(resp, sample_weight, rows, chunk), chunk.dtype)
        weights = (
            None
            if sample_weight is None
            else xp.asarray(sample_weight[rows], dtype=chunk.dtype, like=chunk)
        )
        return responsibility_stats(chunk, r, weights, shift, scatter_kind)

    return sum_in_order(map(scatter_part, row_slices(X.shape[0], size)))


def pooled_from_components(own: Stats) -> Stats:
    """Pooled Stats (one scatter about the means' average) from "full" Stats.

    The pooled scatter is the sum of the components' scatters about their
    shifts (``own`` is gathered about its first pass's means) plus the
    between-means scatter, the latter formed exactly as the tied M-step
    subtracts it: the within-component part survives that subtraction to
    float64's rounding of the sum, whatever the layout or dtype of the rows.
    The rounding that separates a shift from its mean is not subtracted:
    its square would only add noise, and of either sign.
    """
    n = own.resp_sum
    centre = np.broadcast_to(own.shift.mean(0), own.shift.shape).copy()
    pooled = replace(
        own,
        centred_sum=own.centred_sum + n[:, None] * (own.shift - centre),
        scatter=np.zeros_like(own.scatter[0]),
        shift=centre,
        scatter_kind="pooled",
    )
    between_offsets = pooled.means() - centre[0]
    between = np.einsum("k,ki,kj->ij", n, between_offsets, between_offsets)
    return replace(pooled, scatter=own.scatter.sum(0) + between)


def _weighted(
    resp: Array, sample_weight: Array | None, rows: slice, like: Array
) -> Array:
    """Rows ``rows`` of the weighted responsibilities, float64 on ``like``'s device."""
    xp = get_backend(like)
    r = xp.asarray(resp[rows], dtype=np.float64, like=like)
    if sample_weight is None:
        return r
    return r * xp.asarray(sample_weight[rows], dtype=np.float64, like=like)[:, None]
