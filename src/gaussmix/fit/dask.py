"""EM on Dask arrays: Stats per window of rows on the workers, added in order.

The rows are cut into the chunks, and the chunks into the windows of
:data:`~gaussmix.fit.host_pass.WINDOW_CHUNKS` chunks, that a fit of the same
rows in memory or from a file uses, whatever the Dask array's own blocks; a
task computes one window (a window across two blocks joins its two pieces)
and the windows' totals are added in order, as there. Grouping kernels' row
labels are found by the same rule and stay on the workers. So a fit on a
Dask array gives the bits of the same fit in memory (with one BLAS thread
per task, as Dask's distributed workers run).

Only parameters (to the workers) and Stats (back) move each iteration:
O(K * D^2) numbers per window, whatever the number of rows. Computations run on the
scheduler Dask would use anyway: the current ``dask.distributed.Client`` if
there is one, else Dask's default.

Initialisation sees the rows an in-memory fit of the same rows and
``random_state`` would see (see :func:`gaussmix.fit.sources.initial_rows`):
beyond a few tens of thousands of rows a uniform sample is gathered to the
client, never the whole data, and for k-means one distributed pass then
assigns every row to its nearest centre.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from itertools import chain, pairwise
from typing import Any

import numpy as np

from gaussmix.core.blas_threads import one_blas_thread
from gaussmix.core.estep import chunk_stats
from gaussmix.core.kernels import fused_kernel
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats, sum_in_order
from gaussmix.fit.chunks import resolve_chunk_size, row_slices
from gaussmix.fit.host_pass import (
    WINDOW_CHUNKS,
    WindowRule,
    chunk_parts,
    find_window_labels,
    window_chunk_sums,
)
from gaussmix.fit.sources import (
    assignment_chunk_stats,
    check_weight_layout,
    compute_dtype,
    seed_stats,
)

#: A window's chunks are shared among at most this many tasks, where the
#: windows are fewer than the workers' threads: each task returns its
#: chunks' sums, and one more adds a window's in chunk order. One task per
#: window otherwise: each task builds the pass's kernel again, and moves a
#: list of sums. (On 2 local workers, K=16 full: 500,000 x 16 rows, two
#: windows, took 0.22 s per iteration in two tasks and 0.33 s in eight;
#: 100,000 rows, one window, 0.13 s in one task and 0.088 s in two.)
MAX_TASKS_PER_WINDOW = 4

#: Every graph this module submits is left as the user's collection built
#: it: an optimised graph fuses a slice of the data (``X[a:b]``) into new
#: tasks under the slice's own keys, so one fit submitting that slice both
#: as an output (the initialisation's rows) and as an input (the checks,
#: the EM passes) gave its keys two definitions, which the distributed
#: scheduler reports as a risk of failures and deadlocks.
UNOPTIMISED = {"optimize_graph": False}


def import_dask() -> Any:
    try:
        import dask
        import dask.array
    except ImportError as exc:  # pragma: no cover - exercised without dask
        raise ImportError(
            "Fitting dask arrays needs dask: pip install 'gaussmix[dask]'."
        ) from exc
    return dask


def is_dask_array(X: Any) -> bool:
    return type(X).__module__.startswith("dask.array")


def _chain(parts: list) -> Any:
    """The delayed sum of ``parts``, added left to right as every storage
    adds its windows' totals; the windows themselves compute in parallel."""
    dask = import_dask()
    total = parts[0]
    for part in parts[1:]:
        total = dask.delayed(_add)(total, part)
    return total


def _add(a: Any, b: Any) -> Any:
    return a + b


def _compute(*values: Any) -> tuple:
    """``dask.compute`` with BLAS on one thread while it runs: Dask's local
    schedulers run tasks on this process's threads, and a product split
    over BLAS threads may round differently from the one-thread products of
    a fit in memory (or of a distributed worker, which runs BLAS on one
    thread per task)."""
    with one_blas_thread():
        return import_dask().compute(*values, **UNOPTIMISED)


def _joined(*pieces: Any) -> np.ndarray:
    """One window's rows (or weights) from the pieces of the blocks it spans."""
    if len(pieces) == 1:
        return np.asarray(pieces[0])
    return np.concatenate([np.asarray(piece) for piece in pieces])


def _listed_chunk_sums(rows, weights, parts, function, args) -> list:
    """``function`` over the chunks ``parts`` of ``rows``, one result each."""
    rows = np.asarray(rows)
    weights = None if weights is None else np.asarray(weights)
    return [
        function(rows[part], None if weights is None else weights[part], *args)
        for part in parts
    ]


def _worker_threads() -> int:
    """Threads of the workers of the current distributed client, or of this
    machine when Dask runs locally."""
    try:
        from distributed import get_client

        workers = get_client().scheduler_info()["workers"].values()
        return max(1, sum(int(worker["nthreads"]) for worker in workers))
    except (ImportError, ValueError, KeyError):
        return os.cpu_count() or 1


def _shares(n_windows: int) -> int:
    """Tasks per window for rows in ``n_windows`` windows."""
    return min(MAX_TASKS_PER_WINDOW, max(1, -(-_worker_threads() // n_windows)))


def _split(chunks: list, shares: int) -> list[list]:
    """``chunks`` in ``shares`` consecutive runs of (nearly) equal length."""
    size = -(-len(chunks) // shares)
    return [chunks[first : first + size] for first in range(0, len(chunks), size)]


def _relative(chunks: list[slice]) -> tuple[int, int, list[slice]]:
    """The first and last row of consecutive ``chunks``, and the chunks
    relative to the first."""
    first, last = chunks[0].start, chunks[-1].stop
    return first, last, [slice(p.start - first, p.stop - first) for p in chunks]


def _sum_lists(*lists: list) -> Any:
    """The results of a window's tasks, added in chunk order."""
    return sum_in_order(chain.from_iterable(lists))


def _generic_chunk(rows, weights, params, shift) -> Stats:
    """The E-step of a chunk for families without a fused kernel."""
    return chunk_stats(rows, weights, params.cast(rows), shift)


@dataclass(frozen=True)
class _KernelSpec:
    """What builds a pass's fused kernel, the same on the client and workers."""

    params: MixtureParams
    shift: np.ndarray
    dtype: np.dtype
    reference: np.ndarray | None
    passes_without_pruning: int
    first_rows: dict[int, np.ndarray | None]

    def build(self, first_rows: Any = None) -> Any:
        """The kernel; ``first_rows(preferred_rows)`` reads the data's first
        chunk (default: the rows the client's kernel read, recorded)."""
        return fused_kernel(
            self.params,
            self.shift,
            self.dtype,
            self.reference,
            first_rows or self.first_rows.__getitem__,
            self.passes_without_pruning,
        )


def _window_labels(rows, spec, chunk_size) -> np.ndarray | None:
    """A window's row labels under the spec's kernel, or None."""
    return find_window_labels(spec.build(), np.asarray(rows), chunk_size)


def _kernel_chunk_sums(rows, weights, labels, spec, parts) -> list:
    """Partial sums of the chunks ``parts`` of ``rows`` under the spec's
    kernel, one each; with ``labels`` (a whole window's), each chunk takes
    its rows in their order."""
    rows = np.asarray(rows)
    weights = None if weights is None else np.asarray(weights)
    return list(window_chunk_sums(spec.build(), rows, weights, parts, labels))


def _offered(labels: Any) -> bool:
    return labels is not None


def _row_weights(sample_weight: Any, n_samples: int) -> Any:
    """``sample_weight`` as a 1-D array (numpy or dask) of one weight per row.

    A single number weighs every row alike, as for rows in memory. Shapes
    are checked here, before the weights are cut like the rows: dask would
    otherwise report chunks that do not add up, not the weights' shape.
    """
    da = import_dask().array
    if not hasattr(sample_weight, "dask"):
        sample_weight = np.asarray(sample_weight)
        if sample_weight.ndim == 0:
            sample_weight = np.full(n_samples, sample_weight)
    if any(np.isnan(size) for size in sample_weight.shape):
        sample_weight = sample_weight.compute_chunk_sizes()
    if sample_weight.ndim == 0:
        sample_weight = da.broadcast_to(sample_weight, (n_samples,))
    check_weight_layout(sample_weight.shape, sample_weight.dtype, n_samples)
    return sample_weight


class DaskSource:
    """A 2-D dask array (and optional weights) as a source of Stats."""

    def __init__(self, X: Any, sample_weight: Any, chunk_size: int | None) -> None:
        da = import_dask().array
        if X.ndim != 2:
            raise ValueError(
                f"Expected 2D array, got a {X.ndim}-D dask array. Reshape your data "
                "to (n_samples, n_features)."
            )
        if any(np.isnan(size) for size in X.shape):
            X = X.compute_chunk_sizes()
        if X.shape[0] == 0:
            # the reductions of the validation pass have no identity
            raise ValueError(
                f"Found array with 0 sample(s) (shape={tuple(X.shape)}) while a "
                "minimum of 1 is required."
            )
        self.dtype = compute_dtype(X.dtype)
        self.X = X.astype(self.dtype).rechunk({1: -1})
        self.n_samples, self.n_features = (int(n) for n in self.X.shape)
        if sample_weight is not None:
            # the weights are cut like the rows, block for block
            sample_weight = _row_weights(sample_weight, self.n_samples)
            if hasattr(sample_weight, "dask"):
                sample_weight = sample_weight.rechunk((self.X.chunks[0],))
            else:
                sample_weight = da.from_array(sample_weight, chunks=(self.X.chunks[0],))
        self.sample_weight = sample_weight
        self.chunk_size = chunk_size
        #: Whether the rows hold NaN (missing values), once validated.
        self.has_nan = False
        #: The columns' minima and maxima in float64, once validated.
        self.column_range: tuple[np.ndarray, np.ndarray] | None = None
        #: The kernels' centre and the windows' labels, between passes.
        # (the labels as delayed values, held on the workers)
        self.windows = WindowRule()
        self._first_rows_read: dict[int, np.ndarray | None] = {}

    def rescaled(self, units: np.ndarray) -> DaskSource:
        """The same rows divided by ``units``, in float64, on the cluster."""
        X = self.X.astype(np.float64) / units
        return DaskSource(X, self.sample_weight, self.chunk_size)

    def validate(self, allow_nan: bool = False, normalise_weights: bool = True) -> None:
        """Check on the cluster that every value (and weight) is usable.

        The same pass records the columns' ranges (``column_range``), which
        tell the fit whether the rows' squares fit their dtype. With
        ``allow_nan``, NaN marks a missing value (``has_nan`` says whether
        there is one); rows with every value missing are refused. The
        weights are then taken as weights in memory are: in float64, divided
        by the largest with ``normalise_weights``, in the compute dtype.
        """
        dask = import_dask()
        da = dask.array
        hidden = da.isnan(self.X)
        usable = ~da.isinf(self.X) if allow_nan else da.isfinite(self.X)
        checks = [
            usable.all(),
            da.nanmin(self.X, axis=0) if allow_nan else self.X.min(axis=0),
            da.nanmax(self.X, axis=0) if allow_nan else self.X.max(axis=0),
            hidden.any(),
            hidden.all(axis=1).any(),
        ]
        if self.sample_weight is not None:
            w = self.sample_weight
            w = w.astype(np.float64)
            checks += [da.isfinite(w).all(), (w >= 0).all(), w.max()]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            # a column without any observed value is named by the fit
            warnings.simplefilter("ignore", RuntimeWarning)
            usable, low, high, has_nan, empty_row, *results = dask.compute(
                *checks, **UNOPTIMISED
            )
        if not usable:
            kind = "infinity" if allow_nan else "NaN or infinity"
            raise ValueError(
                f"Input X contains {kind}; remove or impute those rows before fitting."
            )
        if empty_row:
            raise ValueError(
                "X has a row with every value missing (NaN); remove rows "
                "without any observed value."
            )
        self.has_nan = bool(has_nan)
        self.column_range = (np.asarray(low, np.float64), np.asarray(high, np.float64))
        if self.sample_weight is not None:
            if not results[0]:
                raise ValueError("sample_weight contains NaN or infinity.")
            if not results[1]:
                raise ValueError("sample_weight contains negative values.")
            largest = float(results[2])
            if not largest > 0:
                raise ValueError("sample_weight sums to zero.")
            weights = self.sample_weight.astype(np.float64)
            if normalise_weights:
                weights = weights / largest
            elif largest > np.finfo(self.dtype).max / max(self.n_samples, 1):
                raise ValueError(
                    f"sample_weight holds values up to {largest:.3g}, whose sum "
                    f"overflows {self.dtype.name}; divide the weights by a "
                    "common factor."
                )
            self.sample_weight = weights.astype(self.dtype)

    def filled(self, values: np.ndarray) -> DaskSource:
        """The rows with each NaN replaced by its column's entry of ``values``."""
        da = import_dask().array
        X = da.where(da.isnan(self.X), values.astype(self.dtype), self.X)
        return DaskSource(X, self.sample_weight, self.chunk_size)

    def _window_rows(self, start: int, stop: int) -> tuple[Any, Any]:
        """Delayed numpy rows ``start:stop`` (and their weights)."""
        dask = import_dask()

        def joined(array: Any) -> Any:
            pieces = array[start:stop].to_delayed(**UNOPTIMISED).ravel()
            return dask.delayed(_joined)(*pieces)

        weights = None if self.sample_weight is None else joined(self.sample_weight)
        return joined(self.X), weights

    def _sliced(self, size: int, function, *args) -> Any:
        """``function(rows, weights, *args)`` over the chunks an in-memory fit
        cuts (:func:`row_slices` of ``size``), added window by window."""
        dask = import_dask()
        slices = list(row_slices(self.n_samples, size))
        shares = _shares(-(-len(slices) // WINDOW_CHUNKS))
        # one copy of the arguments in the graph, however many tasks
        args = dask.delayed(args, traverse=False)
        totals = []
        for first in range(0, len(slices), WINDOW_CHUNKS):
            window = slices[first : first + WINDOW_CHUNKS]
            pieces = []
            for chunks in _split(window, shares):
                start, stop, parts = _relative(chunks)
                rows, weights = self._window_rows(start, stop)
                pieces.append(
                    dask.delayed(_listed_chunk_sums)(
                        rows, weights, parts, function, args
                    )
                )
            totals.append(dask.delayed(_sum_lists)(*pieces))
        return _compute(_chain(totals))[0]

    def chunk_sums(self, function: Any, n_components: int, *args: Any) -> Any:
        """``function(rows, weights, *args)`` over every chunk, added in order."""
        size = resolve_chunk_size(self.chunk_size, n_components, self.n_features)
        return self._sliced(size, function, *args)

    def stats(self, params: MixtureParams) -> Stats:
        params = params.to_numpy(np.float64)
        shift = np.asarray(params.means, dtype=np.float64)
        spec = _KernelSpec(
            params,
            shift,
            self.dtype,
            self.windows.reference,
            self.windows.passes_without_pruning,
            {},
        )
        kernel = spec.build(
            lambda preferred: self._first_rows(spec.first_rows, preferred)
        )
        if kernel is None:
            width = params.family.row_width(params.n_components, params.n_features)
            size = resolve_chunk_size(self.chunk_size, width, 1)
            return self._sliced(size, _generic_chunk, params, shift)
        return kernel.finish(self._kernel_pass(kernel, spec))

    def _first_rows(
        self, found: dict[int, np.ndarray | None], preferred_rows: int
    ) -> np.ndarray | None:
        """The data's first chunk, as a pass in memory offers its kernel."""
        n_rows = min(self.chunk_size or preferred_rows, self.n_samples)
        if n_rows not in self._first_rows_read:
            # read once: the kernels of later passes ask for the same rows
            rows = None
            if n_rows:
                rows = np.asarray(self.X[:n_rows].compute(**UNOPTIMISED))
            self._first_rows_read[n_rows] = rows
        found[preferred_rows] = self._first_rows_read[n_rows]
        return found[preferred_rows]

    def _kernel_pass(self, kernel: Any, spec: Any) -> Any:
        """The partial sums of every window under ``kernel``, with labels
        kept (and looked for) by the rule rows in memory follow."""
        dask = import_dask()
        size = self.chunk_size or kernel.plan.chunk_rows
        keeps = kernel.plan.preparation_key is not None
        asks = keeps and self.windows.begin_pass(kernel, size)
        grouping = keeps and kernel.plan.groups_rows
        labels = self.windows.labels if grouping else {}
        window = WINDOW_CHUNKS * size
        starts = range(0, self.n_samples, window)
        # one copy of the kernel's inputs in the graph, however many tasks
        spec = dask.delayed(spec, traverse=False)
        found = {}
        if asks:
            looked_for = {
                start: dask.delayed(_window_labels)(
                    self._window_rows(start, min(start + window, self.n_samples))[0],
                    spec,
                    size,
                )
                for start in starts
                if start not in labels
            }
            with one_blas_thread():
                persisted = dask.persist(*looked_for.values(), **UNOPTIMISED)
            found = dict(zip(looked_for, persisted, strict=True))
        shares = _shares(len(starts))
        totals = []
        for start in starts:
            stop = min(start + window, self.n_samples)
            window_labels = labels.get(start, found.get(start))
            parts = chunk_parts(stop - start, size)
            pieces = []
            for chunks in _split(parts, shares):
                if window_labels is None:
                    # its own rows only
                    first, last, chunks = _relative(chunks)
                    rows, weights = self._window_rows(start + first, start + last)
                else:
                    rows, weights = self._window_rows(start, stop)
                pieces.append(
                    dask.delayed(_kernel_chunk_sums)(
                        rows, weights, window_labels, spec, chunks
                    )
                )
            totals.append(dask.delayed(_sum_lists)(*pieces))
        flags = [dask.delayed(_offered)(value) for value in found.values()]
        total, *offered = _compute(_chain(totals), *flags)
        for start, offers in zip(found, offered, strict=True):
            if offers:
                self.windows.labels[start] = found[start]
        return total

    def initial_stats(self, method, n_components, scatter_kind, random_state) -> Stats:
        return seed_stats(self, method, n_components, scatter_kind, random_state)

    def rows(self, chosen: np.ndarray | None) -> tuple[np.ndarray, Any]:
        """The rows ``chosen`` (sorted indices; None: all), gathered here."""
        dask = import_dask()
        X = self.X if chosen is None else self.X[chosen]
        if self.sample_weight is None:
            return np.asarray(X.compute(**UNOPTIMISED)), None
        w = self.sample_weight if chosen is None else self.sample_weight[chosen]
        rows, weights = dask.compute(X, w, **UNOPTIMISED)
        return np.asarray(rows), np.asarray(weights)

    def assignment_stats(self, centers: np.ndarray, scatter_kind: str) -> Stats:
        size = resolve_chunk_size(self.chunk_size, len(centers), 1)
        return self._sliced(size, assignment_chunk_stats, centers, scatter_kind)


def map_rows(
    X: Any, function, n_outputs: int | None, dtype, chunk_rows: int | None = None
) -> Any:
    """Apply a numpy row function block by block, returning a dask array.

    ``n_outputs`` is the width of a 2-D result, None for one value per row.
    With ``chunk_rows``, the blocks are recut to end where the rows' own
    :func:`row_slices` of that size end, and ``function`` gets one slice at
    a time: each row is computed among the rows an in-memory call puts
    beside it, so it gives the same bits.
    """
    X = X.rechunk({1: -1})
    if chunk_rows is not None and X.shape[0]:
        slices = list(row_slices(X.shape[0], chunk_rows))
        X = X.rechunk({0: _whole_slices(slices, max(X.chunks[0]))})
        function = _slice_by_slice(function, slices)
    if n_outputs is None:
        return X.map_blocks(function, drop_axis=1, dtype=dtype)
    return X.map_blocks(function, chunks=(X.chunks[0], (n_outputs,)), dtype=dtype)


def _whole_slices(slices: list[slice], block_rows: int) -> tuple[int, ...]:
    """Block lengths of at most about ``block_rows`` rows (at least one
    slice each) that end where ``slices`` end."""
    lengths, current = [], 0
    for part in slices:
        size = part.stop - part.start
        if current and current + size > block_rows:
            lengths.append(current)
            current = 0
        current += size
    lengths.append(current)
    return tuple(lengths)


def _slice_by_slice(function, slices: list[slice]):
    """``function`` applied to each of ``slices`` within a block (which
    holds whole slices) and the results joined."""
    bounds = np.array([part.start for part in slices] + [slices[-1].stop])

    def on_block(block: np.ndarray, block_info=None) -> np.ndarray:
        start = block_info[0]["array-location"][0][0]
        first, last = np.searchsorted(bounds, [start, start + block.shape[0]])
        edges = bounds[first : last + 1] - start
        parts = [function(block[a:b]) for a, b in pairwise(edges)]
        return np.concatenate(parts, axis=0)

    return on_block
