"""Rows written to real files on disk, for the tests of stored data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def zarr_copy(directory: Path, data: np.ndarray, chunk_rows: int):
    """``data`` as a Zarr array under ``directory``, in chunks of
    ``chunk_rows`` whole rows; skips the test where zarr is absent."""
    zarr = pytest.importorskip("zarr")
    stored = zarr.open_array(
        str(directory / "rows.zarr"),
        mode="w",
        shape=data.shape,
        chunks=(chunk_rows, data.shape[1]),
        dtype=data.dtype,
    )
    stored[:] = data
    return stored
