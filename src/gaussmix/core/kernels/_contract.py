"""What a fused kernel answers, and the partial sums it hands back."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats


@dataclass(frozen=True)
class PartialStats:
    """Sums over chunks as a kernel accumulates them, possibly in its own basis.

    A kernel may leave the scatter in coordinates of its own (the full
    kernel's is whitened) and map the total back once, which keeps that
    cost independent of the number of chunks. Partial sums add to partial
    sums of the same kernel; they do not add to :class:`Stats` (a
    ``TypeError``), since the result would be silently wrong. Only the
    kernel that made them turns their total into Stats
    (:meth:`ChunkKernel.finish`).

    ``raw`` holds further sums in a form only the kernel reads (the full
    kernel's moments of quadratic features), or None: they add like the
    rest and are unpacked once per pass instead of once per chunk.
    """

    sums: Stats
    raw: np.ndarray | None = None

    def __add__(self, other: PartialStats) -> PartialStats:
        if not isinstance(other, PartialStats):
            return NotImplemented
        if self.raw is None or other.raw is None:
            raw = self.raw if other.raw is None else other.raw
        else:
            raw = self.raw + other.raw
        return PartialStats(self.sums + other.sums, raw)


@dataclass(frozen=True)
class BlockPlan:
    """How a pass should cut a kernel's work into chunks and what it may keep.

    Attributes
    ----------
    chunk_rows : int
        Rows per chunk the kernel works best with.
    preparation_key : hashable or None
        Equal keys mean that :meth:`ChunkKernel.prepare` makes the same
        block of the same rows, so a block kept from an earlier pass may be
        passed to :meth:`ChunkKernel.chunk`; None when nothing is worth
        keeping.
    reference : ndarray of shape (n_features,) or None
        The centre the blocks are taken about, to offer the next pass's
        kernel so that kept blocks stay valid; None when there is none.
    groups_rows : bool
        Whether rows are worth putting in order of their likeliest
        components, window by window, at the cost of preparing the blocks
        of a window twice in the pass that finds its labels.
    prunes : bool or None
        Whether the kernel looks for (component, row) pairs to skip in this
        pass, as measured on the data; None for kernels that never do.
    """

    chunk_rows: int
    preparation_key: Hashable | None = None
    reference: np.ndarray | None = None
    groups_rows: bool = False
    prunes: bool | None = None

    @classmethod
    def sized(
        cls,
        row_elements: int,
        chunk_elements: int,
        preparation_key: Hashable | None = None,
        reference: np.ndarray | None = None,
        groups_rows: bool = False,
    ) -> BlockPlan:
        """A plan whose chunks hold about ``chunk_elements`` numbers in blocks.

        ``row_elements`` is what the kernel's per-chunk blocks hold per row;
        chunks keep at least 256 rows so that per-call overheads vanish.
        """
        chunk_rows = int(max(256, chunk_elements // max(1, row_elements)))
        return cls(chunk_rows, preparation_key, reference, groups_rows)


class ChunkKernel(Protocol):
    """Stats of chunks of rows under parameters fixed when it was built.

    Everything a pass decides once (centres, the dtype to compute in,
    whether pruning pays) is decided by the factory, so a kernel is not
    changed during a pass and its chunks may run on any thread.
    """

    #: How to chunk the rows and what may be kept between passes.
    plan: BlockPlan

    def prepare(self, rows: np.ndarray) -> np.ndarray:
        """The part of a chunk's work that depends on its rows only."""
        ...

    def chunk(
        self,
        block: np.ndarray,
        rows: np.ndarray,
        sample_weight: np.ndarray | None,
        grouped: bool = False,
    ) -> PartialStats:
        """Partial sums of ``rows``, whose :meth:`prepare` gave ``block``.

        ``grouped`` says that the rows mostly share their likeliest
        component, so that looking for components negligible for all of
        them is likely to pay.
        """
        ...

    def likeliest_components(self, block: np.ndarray) -> np.ndarray | None:
        """Each row's likeliest component, from its block; None if not offered."""
        ...

    def finish(self, partial: PartialStats) -> Stats:
        """Stats proper from the total of this kernel's partial sums."""
        ...


#: The first rows of the data, given the kernel's preferred chunk size
#: (the caller may cut a different chunk); None when there are no rows.
FirstChunk = Callable[[int], np.ndarray | None]


@dataclass(frozen=True)
class KernelRequest:
    """What a pass asks a kernel factory for.

    Attributes
    ----------
    params : MixtureParams
        numpy float64 parameters.
    shift : ndarray of shape (n_components, n_features)
        float64 centres the Stats are taken about.
    dtype : numpy dtype
        The dtype of the chunks the kernel will see (float32 or float64).
    reference : ndarray of shape (n_features,) or None
        An earlier kernel's centre (its plan's ``reference``), taken when
        that costs no accuracy, so that blocks kept from the earlier pass
        stay valid.
    first_chunk : callable or None
        The data's first rows, from which a kernel takes its one-off
        decisions for the pass.
    passes_without_pruning : int
        How many consecutive earlier passes over the same rows found that
        skipping pairs would not pay (their plans' ``prunes`` was False).
    """

    params: MixtureParams
    shift: np.ndarray
    dtype: np.dtype
    reference: np.ndarray | None = None
    first_chunk: FirstChunk | None = None
    passes_without_pruning: int = 0


#: Builds a kernel for a request.
KernelFactory = Callable[[KernelRequest], ChunkKernel]
