"""One E-step pass of a fused kernel over numpy rows, on the host's cores.

A pass cuts the rows into chunks, has the kernel ``prepare`` each chunk's
block and turn it into partial sums, adds those in chunk order (so the
result does not depend on the thread count, :mod:`gaussmix.fit.parallel`)
and lets the kernel ``finish`` the total. What a pass may remember for the
next one depends on where the rows live:

- :class:`KeptBlocks`, for rows in memory: the blocks themselves (for the
  diagonal kernel, a quarter of a pass's work) and, once every block is
  kept, a copy of the rows put in order of their likeliest component, so
  that a chunk's rows share their likeliest component and the kernel can
  skip the components negligible for all of them (most of the work left
  on clustered data);
- :class:`StreamedWindows`, for rows read from disk: nothing that grows
  with the data (a byte per row for kernels that group rows within windows
  of chunks).

Both keep the kernel's centre, offered to the next pass's kernel so that
consecutive passes compute the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import islice

import numpy as np

from gaussmix.core.kernels import ChunkKernel, PartialStats
from gaussmix.core.stats import Stats, sum_in_order
from gaussmix.fit.parallel import host_threads, ordered_map

#: Bytes of blocks (and the regrouped copy of the rows) kept at most.
PREPARED_BYTES_LIMIT = 1 << 30

#: Rows are regrouped only when they fill at least this many chunks: with
#: fewer, each chunk would still hold many groups.
GROUPING_MIN_CHUNKS = 4

#: After a kernel declined to group the rows (grouping would not leave
#: components out of chunks), it is asked again every this many passes.
REGROUP_PASSES = 8

#: Chunks per window of streamed rows: enough that most chunks of a window
#: hold one group once sorted. Kernels whose per-row work dwarfs preparing
#: a block put each window's rows in order of their likeliest component
#: (found in the first pass, then kept: one byte per row) before computing
#: its chunks, which gives the chunks most of the benefit of grouping; such
#: a window is held in memory whole. A pass adds its chunks' sums window by
#: window, then the windows' totals, whatever the kernel: the association
#: of those float64 sums (hence the fit's bits) is fixed by this number.
WINDOW_CHUNKS = 64

#: Bytes of streamed rows that the threads' reads hold at once, for kernels
#: that do not group rows: each thread reads whole chunks, at least one and
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
    passes over the same rows left (None: nothing to remember).
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
    """Partial sums of every chunk, each prepared afresh."""

    def run(start: int) -> PartialStats:
        rows, weights = _rows(X, sample_weight, slice(start, start + chunk_size))
        return kernel.chunk(kernel.prepare(rows), rows, weights)

    return sum_in_order(ordered_map(run, range(0, X.shape[0], chunk_size)))


def _passes_without_pruning(kernel: ChunkKernel, before: int) -> int:
    """The count of passes without pruning, this one included."""
    return before + 1 if kernel.plan.prunes is False else 0


def _rows(
    X: np.ndarray, sample_weight: np.ndarray | None, rows: slice
) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows ``rows`` of ``X`` as a numpy array, and their weights."""
    weights = None if sample_weight is None else np.asarray(sample_weight[rows])
    return np.asarray(X[rows]), weights


class KeptBlocks:
    """Blocks of one in-memory array's chunks, kept between passes.

    Blocks are kept as long as successive kernels report the same
    preparation key and chunk size, up to ``limit_bytes`` in all; chunks
    beyond the limit are prepared afresh in each pass. When a pass finds
    every block kept (so from the second pass on), the rows are put in order
    of their likeliest component under that pass's kernel, once; the sums
    then differ from those in the original order by rounding only.
    """

    def __init__(self, limit_bytes: int = PREPARED_BYTES_LIMIT) -> None:
        self.limit_bytes = limit_bytes
        self.reference: np.ndarray | None = None
        self.passes_without_pruning = 0
        self._key: tuple | None = None
        self._blocks: dict[int, np.ndarray] = {}
        self._block_bytes = 0
        self._grouped: tuple[np.ndarray, np.ndarray | None] | None = None
        self._passes_since_declined = 0
        self._lock = threading.Lock()

    @property
    def kept_bytes(self) -> int:
        """Bytes kept now: blocks and the regrouped rows."""
        if self._grouped is None:
            return self._block_bytes
        rows, weights = self._grouped
        copy_bytes = rows.nbytes + (0 if weights is None else weights.nbytes)
        return self._block_bytes + copy_bytes

    @property
    def grouped(self) -> bool:
        """Whether the rows have been put in order of their likeliest component."""
        return self._grouped is not None

    def partial_sums(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        chunk_size: int,
    ) -> PartialStats:
        """The total of ``kernel``'s partial sums over all rows of ``X``."""
        key = (kernel.plan.preparation_key, chunk_size)
        if key != self._key:
            self._key = key
            self._blocks = {}
            self._block_bytes = 0
        self.reference = kernel.plan.reference
        self.passes_without_pruning = _passes_without_pruning(
            kernel, self.passes_without_pruning
        )
        starts = range(0, X.shape[0], chunk_size)
        if self._grouped is None and self._may_group(X, sample_weight, starts):
            # a kernel that declined is asked again only now and then: the
            # parameters move slowly
            if self._passes_since_declined % REGROUP_PASSES == 0:
                self._group(kernel, X, sample_weight, starts)
            self._passes_since_declined += self._grouped is None
        rows, weights = (X, sample_weight) if self._grouped is None else self._grouped
        grouped = self._grouped is not None

        def run(start: int) -> PartialStats:
            chunk, chunk_weights = _rows(
                rows, weights, slice(start, start + chunk_size)
            )
            block = self._block(kernel, start, chunk)
            return kernel.chunk(block, chunk, chunk_weights, grouped)

        return sum_in_order(ordered_map(run, starts))

    def _block(self, kernel: ChunkKernel, start: int, chunk: np.ndarray) -> np.ndarray:
        block = self._blocks.get(start)
        if block is None:
            block = kernel.prepare(chunk)
            with self._lock:
                if self._block_bytes + block.nbytes <= self.limit_bytes:
                    self._blocks[start] = block
                    self._block_bytes += block.nbytes
        return block

    def _may_group(
        self, X: np.ndarray, sample_weight: np.ndarray | None, starts: range
    ) -> bool:
        if len(starts) < GROUPING_MIN_CHUNKS or len(self._blocks) < len(starts):
            return False
        copy_bytes = X.nbytes + (0 if sample_weight is None else sample_weight.nbytes)
        return self._block_bytes + copy_bytes <= self.limit_bytes

    def _group(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        starts: range,
    ) -> None:
        labels = []
        for start in starts:
            # a kernel declines on the first chunk where grouping would not pay
            part = kernel.likeliest_components(self._blocks[start])
            if part is None:
                return
            labels.append(part)
        # small unsigned labels: numpy's stable sort is a radix sort
        order = np.argsort(np.concatenate(labels), kind="stable")
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight)[order]
        # the blocks are rebuilt, in the new order, as the pass reaches them
        self._blocks = {}
        self._block_bytes = 0
        self._grouped = (X[order], weights)


class StreamedWindows:
    """What passes over streamed rows remember: the centre and window labels.

    No block is kept (that would undo streaming). Kernels that do not ask
    for grouped rows read whole chunks, about :data:`STREAM_READ_BYTES` of
    them over all threads at once. Kernels that ask for it see each window
    of :data:`WINDOW_CHUNKS` chunks put in order of the rows' likeliest
    component, found in the first pass and kept (a byte per row): the order
    stays good enough as the parameters move. Such a window is read whole,
    and its chunks gather their rows from it in that order.
    """

    #: Nothing that grows with the data is kept, and rows are never regrouped
    #: as a whole: the same answers as :class:`KeptBlocks` gives.
    kept_bytes = 0
    grouped = False

    def __init__(self) -> None:
        self.reference: np.ndarray | None = None
        self.passes_without_pruning = 0
        self._window_labels: dict[tuple[int, int], np.ndarray] = {}

    def partial_sums(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        chunk_size: int,
    ) -> PartialStats:
        """The total of ``kernel``'s partial sums over all rows of ``X``."""
        self.reference = kernel.plan.reference
        self.passes_without_pruning = _passes_without_pruning(
            kernel, self.passes_without_pruning
        )
        if kernel.plan.groups_streamed_rows:
            window = WINDOW_CHUNKS * chunk_size
            totals: Iterable[PartialStats] = (
                self._window_sums(kernel, X, sample_weight, chunk_size, start)
                for start in range(0, X.shape[0], window)
            )
        else:
            chunks = _streamed_chunk_sums(kernel, X, sample_weight, chunk_size)
            totals = _window_totals(chunks)
        return sum_in_order(totals)

    def _window_sums(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        chunk_size: int,
        start: int,
    ) -> PartialStats:
        """The sum, in chunk order, of one window's chunks, rows grouped.

        Each chunk gathers its rows from the window read once, instead of
        from a sorted copy of the whole window: the same values, so the same
        sums, for a chunk's worth of memory per thread.
        """
        window = WINDOW_CHUNKS * chunk_size
        rows, weights = _rows(X, sample_weight, slice(start, start + window))
        parts = [
            slice(part, part + chunk_size)
            for part in range(0, rows.shape[0], chunk_size)
        ]
        labels = self._labels(kernel, rows, parts, (start, window))
        grouped = labels is not None
        order = None if labels is None else np.argsort(labels, kind="stable")

        def run(part: slice) -> PartialStats:
            chosen = part if order is None else order[part]
            return _read_chunk_sums(kernel, rows, weights, chosen, grouped)

        return sum_in_order(ordered_map(run, parts))

    def _labels(
        self,
        kernel: ChunkKernel,
        rows: np.ndarray,
        parts: list[slice],
        window: tuple[int, int],
    ) -> np.ndarray | None:
        """The window's row labels (found once), or None when not grouped."""
        if len(parts) <= 1:
            return None
        labels = self._window_labels.get(window)
        if labels is None:
            found = list(
                ordered_map(
                    lambda part: kernel.likeliest_components(
                        kernel.prepare(rows[part])
                    ),
                    parts,
                )
            )
            if any(part is None for part in found):
                return None
            labels = np.concatenate(found)
            self._window_labels[window] = labels
        return labels


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
    chunk = rows[chosen]
    chunk_weights = None if weights is None else weights[chosen]
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


def _window_totals(chunk_sums: Iterator[PartialStats]) -> Iterator[PartialStats]:
    """Totals of consecutive windows of :data:`WINDOW_CHUNKS` chunk sums,
    each added in chunk order, as a pass over grouped windows adds them."""
    while (total := sum_in_order(islice(chunk_sums, WINDOW_CHUNKS))) is not None:
        yield total
