"""Per-chunk blocks of an in-memory array, kept between EM passes.

The rows of an in-memory fit do not change between passes, and for some
fused kernels (the diagonal one: centred rows and their squares) the part of
a chunk's work that depends on the rows alone is a quarter of a pass. Once
every block is kept, the rows are also regrouped by their likeliest
component: a chunk of rows that one or two components explain lets the
kernel skip the components that are negligible for all of them, which on
clustered data is most of the work left.
"""

from __future__ import annotations

import threading

import numpy as np

from gaussmix.core.kernels import ChunkKernel
from gaussmix.core.stats import Stats
from gaussmix.fit.chunks import sum_in_order
from gaussmix.fit.parallel import ordered_map

#: Bytes of blocks (and the regrouped copy of the rows) kept at most.
PREPARED_BYTES_LIMIT = 1 << 30

#: Rows are regrouped only when they fill at least this many chunks: with
#: fewer, each chunk would still hold many groups.
GROUPING_MIN_CHUNKS = 4

#: Chunks per window when nothing is kept (streamed data): enough that most
#: chunks of a window hold one group once sorted. Kernels whose per-row
#: work dwarfs preparing a block put each window's rows in order of their
#: likeliest component (found in the first such pass, then kept: one byte
#: per row) before computing its chunks, which gives the chunks most of the
#: benefit of grouping.
WINDOW_CHUNKS = 64


class PreparedBlocks:
    """What a fused kernel prepared from the chunks of one in-memory array.

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
        self._key: tuple | None = None
        self._blocks: dict[int, np.ndarray] = {}
        self._block_bytes = 0
        self._grouped: tuple[np.ndarray, np.ndarray | None] | None = None
        # streamed windows' row labels (a byte per row), found once: the
        # order they give stays good enough as the parameters move
        self._window_labels: dict[tuple[int, int], np.ndarray] = {}
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

    def stats(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        chunk_size: int,
    ) -> Stats:
        """The sum of ``kernel``'s partial Stats over all rows of ``X``."""
        key = (kernel.preparation_key, chunk_size)
        if key != self._key:
            self._key = key
            self._blocks = {}
            self._block_bytes = 0
        self.reference = kernel.reference
        if self.limit_bytes <= 0:
            return self._windowed_stats(kernel, X, sample_weight, chunk_size)
        starts = range(0, X.shape[0], chunk_size)
        if self._grouped is None and self._may_group(X, sample_weight, starts):
            self._group(kernel, X, sample_weight, starts)
        rows, weights = (X, sample_weight) if self._grouped is None else self._grouped
        grouped = self._grouped is not None

        def run(start: int) -> Stats:
            part = slice(start, start + chunk_size)
            chunk = np.asarray(rows[part])
            chunk_weights = None if weights is None else weights[part]
            block = self._block(kernel, start, chunk)
            return kernel.partial_prepared(block, chunk, chunk_weights, grouped)

        return sum_in_order(ordered_map(run, starts))

    def _windowed_stats(
        self,
        kernel: ChunkKernel,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        chunk_size: int,
    ) -> Stats:
        """The pass without kept blocks: rows grouped within windows."""
        window = WINDOW_CHUNKS * chunk_size

        def run(start: int) -> Stats:
            rows = np.asarray(X[start : start + window])
            weights = None
            if sample_weight is not None:
                weights = np.asarray(sample_weight[start : start + window])
            parts = [
                slice(part, part + chunk_size)
                for part in range(0, rows.shape[0], chunk_size)
            ]
            labels = None
            if kernel.groups_streamed_rows and len(parts) > 1:
                labels = self._window_labels.get((start, window))
                if labels is None:
                    labels = self._label_window(kernel, rows, parts)
                    if labels is not None:
                        self._window_labels[(start, window)] = labels
            grouped = labels is not None
            if grouped:
                order = np.argsort(labels, kind="stable")
                rows = rows[order]
                weights = None if weights is None else weights[order]
            return sum_in_order(
                kernel.partial_prepared(
                    kernel.prepare(rows[part]),
                    rows[part],
                    None if weights is None else weights[part],
                    grouped,
                )
                for part in parts
            )

        return sum_in_order(ordered_map(run, range(0, X.shape[0], window)))

    @staticmethod
    def _label_window(
        kernel: ChunkKernel, rows: np.ndarray, parts: list[slice]
    ) -> np.ndarray | None:
        labels = [kernel.likeliest_components(kernel.prepare(rows[p])) for p in parts]
        if any(part is None for part in labels):
            return None
        return np.concatenate(labels)

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
        labels = [kernel.likeliest_components(self._blocks[start]) for start in starts]
        if any(part is None for part in labels):
            return
        # small unsigned labels: numpy's stable sort is a radix sort
        order = np.argsort(np.concatenate(labels), kind="stable")
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight)[order]
        # the blocks are rebuilt, in the new order, as the pass reaches them
        self._blocks = {}
        self._block_bytes = 0
        self._grouped = (X[order], weights)
