"""Stats of a whole dataset, gathered chunk by chunk.

Works for anything that slices by rows into arrays: in-memory numpy arrays,
``numpy.memmap`` (rows are read from disk chunk by chunk), HDF5 and Zarr
datasets, torch tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.estep import chunk_stats, default_chunk_size, responsibility_stats
from gaussmix.core.kernels import fused_kernel
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.fit.parallel import ordered_map

if TYPE_CHECKING:
    from gaussmix.fit.prepared import PreparedBlocks


def row_slices(n_rows: int, chunk_size: int) -> Iterator[slice]:
    """Consecutive row slices of at most ``chunk_size`` rows."""
    for start in range(0, n_rows, chunk_size):
        yield slice(start, min(start + chunk_size, n_rows))


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
    prepared: PreparedBlocks | None = None,
) -> Stats:
    """E-step over all rows of ``X``: the Stats about the current means.

    numpy data runs through the fused kernels (when the family has one) with
    the chunks spread over the host's cores; other backends run the generic
    E-step chunk by chunk. ``prepared`` keeps the kernels' per-chunk blocks
    between calls on the same ``X``.
    """
    shift = np.asarray(get_backend(params.means).to_numpy(params.means), np.float64)
    reference = None if prepared is None else prepared.reference
    kernel = _host_kernel(X, params, shift, reference)
    if kernel is None:
        width = params.family.row_width(params.n_components, params.n_features)
        size = resolve_chunk_size(chunk_size, width, 1, X)
        compute_params = params.cast(X)

        def kernel(chunk: Array, weights: Array | None) -> Stats:
            return chunk_stats(chunk, weights, compute_params, shift)

        chunks = row_slices(X.shape[0], size)
        parts = (kernel(*_read(X, sample_weight, rows)) for rows in chunks)
    else:
        size = chunk_size or fused_chunk_size(kernel)
        if X.shape[0]:
            kernel.calibrate(_as_compute_array(X[: min(size, X.shape[0])], X))
        if prepared is not None and kernel.preparation_key is not None:
            return kernel.finish(prepared.stats(kernel, X, sample_weight, size))

        def run(rows: slice) -> Stats:
            return kernel.partial(*_read(X, sample_weight, rows))

        parts = ordered_map(run, row_slices(X.shape[0], size))
        return kernel.finish(sum_in_order(parts))
    return sum_in_order(parts)


def sum_in_order(parts) -> Stats:
    """The sum of Stats in the given order, whatever thread computed each."""
    total = None
    for part in parts:
        total = part if total is None else total + part
    return total


def fused_chunk_size(kernel) -> int:
    """Rows per chunk for a fused kernel: its preferred block size over its row size."""
    return int(max(256, kernel.chunk_elements // max(1, kernel.row_elements)))


def _host_kernel(
    X: Array, params: MixtureParams, shift: np.ndarray, reference: np.ndarray | None
):
    """The fused kernel for numpy data, or None."""
    if get_backend(X).name != "numpy":
        return None
    return fused_kernel(params.to_numpy(np.float64), shift, X.dtype, reference)


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
        resp_sum += _to64(xp, r.sum(0))
        first_moment += _to64(xp, r.T @ xp.float64(chunk))
    shift = first_moment / (resp_sum + 10 * np.finfo(np.float64).eps)[:, None]
    total = None
    for rows in row_slices(X.shape[0], size):
        chunk = _as_compute_array(X[rows], X)
        r = xp.astype(_weighted(resp, sample_weight, rows, chunk), chunk.dtype)
        weights = (
            None
            if sample_weight is None
            else xp.asarray(sample_weight[rows], dtype=chunk.dtype, like=chunk)
        )
        part = responsibility_stats(chunk, r, weights, shift, scatter_kind)
        total = part if total is None else total + part
    return total


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


def _to64(xp, a: Array) -> np.ndarray:
    return np.asarray(xp.to_numpy(xp.float64(a)), dtype=np.float64)


def _weighted(
    resp: Array, sample_weight: Array | None, rows: slice, like: Array
) -> Array:
    """Rows ``rows`` of the weighted responsibilities, float64 on ``like``'s device."""
    xp = get_backend(like)
    r = xp.asarray(resp[rows], dtype=np.float64, like=like)
    if sample_weight is None:
        return r
    return r * xp.asarray(sample_weight[rows], dtype=np.float64, like=like)[:, None]
