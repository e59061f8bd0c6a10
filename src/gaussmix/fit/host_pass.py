"""One E-step pass of a fused kernel over numpy rows, on the host's cores.

A pass cuts the rows into chunks, has the kernel ``prepare`` each chunk's
block and turn it into partial sums, and lets the kernel ``finish`` the
total. Chunks are added in chunk order within windows of
:data:`WINDOW_CHUNKS` chunks, then the windows' totals in order, whatever
the thread count (:mod:`gaussmix.fit.parallel`) and wherever the rows live.
Kernels that ask for it (``plan.groups_rows``) see each window's rows put in
order of their likeliest component, so that a chunk's rows mostly share it
and the kernel can skip the components negligible for all of them.

What a pass may remember for the next one depends on where the rows live:

- :class:`KeptBlocks`, for rows in memory: the blocks themselves (for the
  diagonal kernel, a quarter of a pass's work) and each grouped window's
  rows, copied once in their new order;
- :class:`StreamedWindows`, for rows read from disk: nothing that grows
  with the data but a byte per row of window labels.

Both follow one rule for which rows a chunk holds and how sums add, so a fit
gives the same bits from memory, a memmap, HDF5 or Zarr. Both keep the
kernel's centre, offered to the next pass's kernel so that consecutive
passes compute the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from itertools import islice

import numpy as np

from gaussmix.core.kernels import ChunkKernel, PartialStats
from gaussmix.core.stats import Stats, Summable, sum_in_order
from gaussmix.fit.parallel import host_threads, ordered_map

#: Bytes of blocks (and grouped copies of windows) kept at most.
PREPARED_BYTES_LIMIT = 1 << 30

#: A window's rows are grouped only when they fill at least this many
#: chunks: with fewer, each chunk would still hold many groups.
GROUPING_MIN_CHUNKS = 4

#: Passes of a grouping kernel ask for the rows' labels only once every this
#: many (the first included): finding them costs about a pass's GEMM, and
#: the parameters, hence whether grouping would pay, move slowly.
REGROUP_PASSES = 8

#: Chunks per window: enough that most chunks of a grouped window hold one
#: group. A window's labels are found once, in the first pass that asks for
#: them and where the kernel offers them for every chunk of the window, and
#: kept (a byte per row); a grouped window of streamed rows is read whole.
#: The association of the float64 sums (hence a fit's bits) is fixed by
#: this number.
WINDOW_CHUNKS = 64

#: Bytes of streamed rows that the threads' reads hold at once, for windows
#: that are not grouped: each thread reads whole chunks, at least one and
#: otherwise as many as fit its share. Reads only decide how many chunks
#: come from one I/O, never which rows a chunk holds nor the order in which
#: sums add, so a fit gives the same bits whatever this number or the
#: thread count.
STREAM_READ_BYTES = 16 << 20


def host_pass(
    kernel: ChunkKernel,
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    chunk_size: int | None,
    memory: KeptBlocks | StreamedWindows | None,
) -> Stats:
    """The Stats of all rows of ``X`` under ``kernel``.

    ``chunk_size`` defaults to the kernel's; ``memory`` is what earlier
    passes over the same rows left (None: nothing to remember, no rows
    grouped).
    """
    size = chunk_size or kernel.plan.chunk_rows
    if memory is None or kernel.plan.preparation_key is None:
        return kernel.finish(fresh_partial_sums(kernel, X, sample_weight, size))
    return kernel.finish(memory.partial_sums(kernel, X, sample_weight, size))


def fresh_partial_sums(
    kernel: ChunkKernel,
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    chunk_size: int,
) -> PartialStats:
    """Partial sums of every chunk, each prepared afresh, rows in place."""

    def run(start: int) -> PartialStats:
        rows, weights = _rows(X, sample_weight, slice(start, start + chunk_size))
        return kernel.chunk(kernel.prepare(rows), rows, weights)

    chunks = ordered_map(run, range(0, X.shape[0], chunk_size))
    return sum_by_windows(chunks)


def _rows(
    X: np.ndarray, sample_weight: np.ndarray | None, rows: slice | np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows ``rows`` of ``X`` (a slice, or indices) as a numpy array, and
    their weights."""
    if isinstance(rows, slice):
        weights = None if sample_weight is None else np.asarray(sample_weight[rows])
        return np.asarray(X[rows]), weights
    # ``take`` gathers whole rows about five times faster than indexing
    weights = None if sample_weight is None else np.take(sample_weight, rows)
    return np.asarray(np.take(X, rows, axis=0)), weights


def window_totals(chunk_sums: Iterable[Summable]) -> Iterator[Summable]:
    """Totals of consecutive windows of :data:`WINDOW_CHUNKS` chunk sums,
    each added in chunk order."""
    chunk_sums = iter(chunk_sums)
    while (total := sum_in_order(islice(chunk_sums, WINDOW_CHUNKS))) is not None:
        yield total


def sum_by_windows(chunk_sums: Iterable[Summable]) -> Summable | None:
    """The total of chunk sums, added in order within windows of
    :data:`WINDOW_CHUNKS` chunks, then the windows' totals in order: the one
    association every storage of the rows (memory, files, Dask) follows."""
    return sum_in_order(window_totals(chunk_sums))


def chunk_parts(n_rows: int, chunk_size: int) -> list[slice]:
    """The chunks of a window of ``n_rows`` rows, relative to its start."""
    return [slice(s, min(s + chunk_size, n_rows)) for s in range(0, n_rows, chunk_size)]


def _window_labels(
    kernel: ChunkKernel, parts: list[slice], block: Callable[[slice], np.ndarray]
) -> np.ndarray | None:
    """A window's row labels from its chunks' blocks (``block(part)``, in
    order); None, as soon as one chunk declines, unless the kernel offers
    them for every chunk."""
    found = ordered_map(lambda part: kernel.likeliest_components(block(part)), parts)
    labels = []
    try:
        for part in found:
            if part is None:
                return None
            labels.append(part)
    finally:
        # stop the chunks still running: the window will not be grouped
        found.close()
    return np.concatenate(labels)


def may_group(n_rows: int, chunk_size: int) -> bool:
    """Whether a window of ``n_rows`` rows holds enough chunks to group."""
    return -(-n_rows // chunk_size) >= GROUPING_MIN_CHUNKS


class WindowRule:
    """Which windows of rows are grouped, and when to look for more.

    The one rule every storage follows (in memory, streamed, on Dask), so
    that a chunk holds the same rows wherever the rows live: a pass takes a
    window's rows in their labels' order when its kernel groups rows
    (``plan.groups_rows``) and the window has labels. ``labels``
    maps a grouped window's first row to its rows' labels (on Dask, to the
    delayed labels, which stay on the workers).
    """

    def __init__(self) -> None:
        self.reference: np.ndarray | None = None
        self.passes_without_pruning = 0
        self.labels: dict[int, np.ndarray] = {}
        self._window = 0
        self._grouping_passes = 0

    @property
    def grouped(self) -> bool:
        """Whether the rows of some window are put in order of their labels."""
        return bool(self.labels)

    def begin_pass(self, kernel: ChunkKernel, chunk_size: int) -> bool:
        """Note the pass's kernel; whether it looks for windows' labels."""
        self.reference = kernel.plan.reference
        if kernel.plan.prunes is False:
            self.passes_without_pruning += 1
        else:
            self.passes_without_pruning = 0
        window = WINDOW_CHUNKS * chunk_size
        if window != self._window:
            # other windows: their labels are looked for in this pass
            self._window = window
            self._forget_windows()
            self._grouping_passes = 0
        if not kernel.plan.groups_rows:
            return False
        asks = self._grouping_passes % REGROUP_PASSES == 0
        self._grouping_passes += 1
        return asks

    def _forget_windows(self) -> None:
        self.labels = {}


class KeptBlocks(WindowRule):
    """Blocks of one in-memory array's chunks, kept between passes.

    Blocks are kept as long as successive kernels report the same
    preparation key and chunk size, up to ``limit_bytes`` in all with the
    grouped windows' copies; chunks beyond the limit are prepared afresh in
    each pass, and a grouped window without a copy gathers its chunks' rows
    in each pass.
    """

    def __init__(self, limit_bytes: int = PREPARED_BYTES_LIMIT) -> None:
        super().__init__()
        self.limit_bytes = limit_bytes
        self._key: tuple | None = None
        self._blocks: dict[int, np.ndarray] = {}
        self._copies: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self._kept_bytes = 0
        self._orders: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def kept_bytes(self) -> int:
        """Bytes kept now: blocks and grouped windows' copies."""
        return self._kept_bytes

    def _forget_windows(self) -> None:
        super()._forget_windows()
        for start in list(self._copies):
            self._drop_copy(start)

    def partial_sums(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        chunk_size: int,
    ) -> PartialStats:
        """The total of ``kernel``'s partial sums over all rows of ``X``."""
        asks = self.begin_pass(kernel, chunk_size)
        groups = kernel.plan.groups_rows
        # a kept block holds its chunk's rows in the order the pass takes them
        key = (kernel.plan.preparation_key, chunk_size, groups)
        if key != self._key:
            self._key = key
            for start in list(self._blocks):
                self._drop_block(start)
        n_rows, window = X.shape[0], self._window
        if asks:
            for start in range(0, n_rows, window):
                stop = min(start + window, n_rows)
                if start not in self.labels and may_group(stop - start, chunk_size):
                    self._label(kernel, X, sample_weight, start, stop, chunk_size)

        def run(start: int) -> PartialStats:
            origin = start - start % window
            grouped = groups and origin in self.labels
            chunk, weights = self._chunk_rows(
                X, sample_weight, start, chunk_size, origin if grouped else None
            )
            block = self._block(kernel, start, chunk)
            return kernel.chunk(block, chunk, weights, grouped)

        chunks = ordered_map(run, range(0, n_rows, chunk_size))
        return sum_by_windows(chunks)

    def _label(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        start: int,
        stop: int,
        chunk_size: int,
    ) -> None:
        """Group the window ``start:stop`` if the kernel offers its labels."""

        def block(part: slice) -> np.ndarray:
            chunk_start = start + part.start
            kept = self._blocks.get(chunk_start)
            if kept is not None:
                return kept
            return kernel.prepare(np.asarray(X[chunk_start : start + part.stop]))

        parts = chunk_parts(stop - start, chunk_size)
        labels = _window_labels(kernel, parts, block)
        if labels is None:
            return
        self.labels[start] = labels
        # the window's blocks were of its rows in their old order
        for part in parts:
            self._drop_block(start + part.start)
        order = start + np.argsort(labels, kind="stable")
        rows, weights = _rows(X, sample_weight, order)
        copy_bytes = _nbytes(rows, weights)
        with self._lock:
            if self._kept_bytes + copy_bytes <= self.limit_bytes:
                self._copies[start] = (rows, weights)
                self._kept_bytes += copy_bytes

    def _chunk_rows(
        self,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        start: int,
        chunk_size: int,
        origin: int | None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The rows (and weights) of the chunk that starts at row ``start``;
        with ``origin``, the first row of its grouped window, from the
        window's rows in their labels' order."""
        if origin is None:
            return _rows(X, sample_weight, slice(start, start + chunk_size))
        labels = self.labels[origin]
        part = slice(start - origin, start - origin + chunk_size)
        copy = self._copies.get(origin)
        if copy is not None:
            rows, weights = copy
            return rows[part], None if weights is None else weights[part]
        return _rows(X, sample_weight, origin + self._order(origin, labels)[part])

    def _order(self, origin: int, labels: np.ndarray) -> np.ndarray:
        """The order of a grouped window without a copy. Chunks run in
        order, so the orders of the last two windows sorted serve every
        thread; an older one is sorted again when its window comes up."""
        with self._lock:
            order = self._orders.get(origin)
            if order is None:
                order = np.argsort(labels, kind="stable")
                self._orders[origin] = order
                while len(self._orders) > 2:
                    del self._orders[next(iter(self._orders))]
            return order

    def _block(self, kernel: ChunkKernel, start: int, chunk: np.ndarray) -> np.ndarray:
        block = self._blocks.get(start)
        if block is None:
            block = kernel.prepare(chunk)
            with self._lock:
                if self._kept_bytes + block.nbytes <= self.limit_bytes:
                    self._blocks[start] = block
                    self._kept_bytes += block.nbytes
        return block

    def _drop_block(self, start: int) -> None:
        block = self._blocks.pop(start, None)
        if block is not None:
            self._kept_bytes -= block.nbytes

    def _drop_copy(self, start: int) -> None:
        copy = self._copies.pop(start, None)
        if copy is not None:
            self._kept_bytes -= _nbytes(*copy)


def _nbytes(rows: np.ndarray, weights: np.ndarray | None) -> int:
    """Bytes of a copy of rows and their weights."""
    return rows.nbytes + (0 if weights is None else weights.nbytes)


class StreamedWindows(WindowRule):
    """What passes over streamed rows remember: the centre and window labels.

    No block is kept (that would undo streaming). Windows that are not
    grouped are read as whole chunks, about :data:`STREAM_READ_BYTES` of
    them over all threads at once; a grouped window is read whole, and its
    chunks gather their rows from it in their labels' order.
    """

    #: Nothing that grows with the data is kept but the labels.
    kept_bytes = 0

    def partial_sums(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        chunk_size: int,
    ) -> PartialStats:
        """The total of ``kernel``'s partial sums over all rows of ``X``."""
        asks = self.begin_pass(kernel, chunk_size)
        if not kernel.plan.groups_rows or (not asks and not self.labels):
            chunks = _streamed_chunk_sums(kernel, X, sample_weight, chunk_size)
            return sum_by_windows(chunks)
        totals = (
            self._window_sums(kernel, X, sample_weight, chunk_size, start, asks)
            for start in range(0, X.shape[0], self._window)
        )
        return sum_in_order(totals)

    def _window_sums(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        chunk_size: int,
        start: int,
        asks: bool,
    ) -> PartialStats:
        """The sum, in chunk order, of one window's chunks, read whole."""
        rows, weights = _rows(X, sample_weight, slice(start, start + self._window))
        labels = self.labels.get(start)
        if labels is None and asks:
            labels = find_window_labels(kernel, rows, chunk_size)
            if labels is not None:
                self.labels[start] = labels
        parts = chunk_parts(rows.shape[0], chunk_size)
        return sum_in_order(window_chunk_sums(kernel, rows, weights, parts, labels))


def find_window_labels(
    kernel: ChunkKernel, rows: np.ndarray, chunk_size: int
) -> np.ndarray | None:
    """The labels of a window's rows, if it may be grouped and the kernel
    offers them for every chunk; None otherwise."""
    if not may_group(rows.shape[0], chunk_size):
        return None
    parts = chunk_parts(rows.shape[0], chunk_size)
    return _window_labels(kernel, parts, lambda part: kernel.prepare(rows[part]))


def window_chunk_sums(
    kernel: ChunkKernel,
    rows: np.ndarray,
    weights: np.ndarray | None,
    parts: list[slice],
    labels: np.ndarray | None,
) -> Iterator[PartialStats]:
    """Partial sums of the chunks ``parts`` of one window's ``rows``, in
    order, the rows put in order of their ``labels`` first (None: left in
    place).

    Each chunk of a grouped window gathers its rows from the window,
    instead of from a sorted copy of the whole window: the same values, so
    the same sums, for a chunk's worth of memory per thread.
    """
    grouped = labels is not None
    order = None if labels is None else np.argsort(labels, kind="stable")

    def run(part: slice) -> PartialStats:
        chosen = part if order is None else order[part]
        return _read_chunk_sums(kernel, rows, weights, chosen, grouped)

    return ordered_map(run, parts)


def _streamed_chunk_sums(
    kernel: ChunkKernel,
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    chunk_size: int,
) -> Iterator[PartialStats]:
    """Each chunk's partial sums, in chunk order, read a few chunks at a time.

    A read holds whole chunks (at least one) and only the threads' running
    reads hold rows: those waiting to be consumed hold their chunks' sums
    alone.
    """
    row_bytes = max(1, X.shape[1] * np.dtype(X.dtype).itemsize)
    share = STREAM_READ_BYTES // max(1, host_threads())
    span = max(1, share // (chunk_size * row_bytes)) * chunk_size

    def run(start: int) -> list[PartialStats]:
        rows, weights = _rows(X, sample_weight, slice(start, start + span))
        return [
            _read_chunk_sums(kernel, rows, weights, slice(part, part + chunk_size))
            for part in range(0, rows.shape[0], chunk_size)
        ]

    for sums in ordered_map(run, range(0, X.shape[0], span)):
        yield from sums


def _read_chunk_sums(
    kernel: ChunkKernel,
    rows: np.ndarray,
    weights: np.ndarray | None,
    chosen: slice | np.ndarray,
    grouped: bool = False,
) -> PartialStats:
    """Partial sums of the chunk ``rows[chosen]`` of a read, prepared afresh
    and detached from the read (see :func:`_detached`)."""
    chunk, chunk_weights = _rows(rows, weights, chosen)
    sums = kernel.chunk(kernel.prepare(chunk), chunk, chunk_weights, grouped)
    return _detached(sums)


def _detached(partial: PartialStats) -> PartialStats:
    """``partial`` with its worst row copied out of the rows it was read with.

    That row is a view of its chunk, which would keep the whole read (or
    window) alive for as long as the sums wait to be added, or the total
    names it.
    """
    point = partial.sums.worst_point
    if point is None or point.base is None:
        return partial
    return replace(partial, sums=replace(partial.sums, worst_point=point.copy()))
