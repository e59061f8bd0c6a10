"""Row-chunk readers for data that does not sit in memory.

``numpy.memmap`` (and ``np.load(..., mmap_mode="r")``) files are read with
ordinary file reads into a reused buffer instead of through the memory map:
pages touched through a map count towards the process's resident memory, so
streaming a file larger than memory through the map would look as if the
whole file were loaded. HDF5 (h5py) and Zarr arrays already read the rows
asked for.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

import numpy as np


def is_out_of_core(X: Any) -> bool:
    """Whether X is an on-disk array that should be streamed in chunks."""
    if isinstance(X, np.memmap):
        return True
    module = type(X).__module__
    return module.startswith(("h5py", "zarr"))


class RowReader:
    """Reads consecutive rows of a 2-D on-disk array as in-memory ndarrays."""

    def __init__(self, X: Any) -> None:
        shape = tuple(X.shape)
        if len(shape) != 2:
            raise ValueError(
                f"Expected a 2D array, got an on-disk array of shape {shape}. "
                "Reshape the stored data to (n_samples, n_features)."
            )
        self.shape = shape
        self.dtype = np.dtype(X.dtype)
        self._array = X
        self._file = None
        if isinstance(X, np.memmap) and _is_plain_file_map(X):
            self._file = (os.fspath(X.filename), int(X.offset))

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, rows: slice) -> np.ndarray:
        """Rows ``rows`` as a fresh in-memory array."""
        start, stop, _ = rows.indices(self.shape[0])
        if self._file is None:
            block = self._array[start:stop]
            # h5py and Zarr hand back a fresh array of their own: a copy
            # would double the memory of every read; a memmap's slice is a
            # view of the map and must be copied out of it
            if type(block) is np.ndarray and block.flags.owndata:
                return block
            return np.array(block)
        path, offset = self._file
        row_bytes = self.shape[1] * self.dtype.itemsize
        count = (stop - start) * self.shape[1]
        with open(path, "rb") as handle:
            handle.seek(offset + start * row_bytes)
            block = np.fromfile(handle, dtype=self.dtype, count=count)
        if block.size != count:
            raise ValueError(
                f"the file {path!r} ended early: expected {count} values from row "
                f"{start}; it may be truncated."
            )
        return block.reshape(stop - start, self.shape[1])


def _is_plain_file_map(X: np.memmap) -> bool:
    # a map made by np.memmap / np.load owns an mmap object; a slice of it is
    # a view whose ``offset`` still names the parent's start
    return (
        X.filename is not None
        and isinstance(X.base, mmap.mmap)
        and X.flags.c_contiguous
    )
