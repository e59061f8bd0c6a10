"""What fits from files hold in memory, and that it does not change the fit."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture
from gaussmix.fit import host_pass
from gaussmix.fit.parallel import host_threads
from gaussmix.fit.storage import RowReader
from tests.fit.same_start import shared_start

N_ROWS, N_FEATURES = 400_000, 8


@pytest.fixture(scope="module")
def stored_rows(tmp_path_factory) -> np.memmap:
    """Four well separated blobs in a 25.6 MB ``.npy`` file, opened as a map."""
    path = tmp_path_factory.mktemp("rows") / "rows.npy"
    rng = np.random.RandomState(0)
    rows = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float64, shape=(N_ROWS, N_FEATURES)
    )
    centres = 8.0 * rng.randint(4, size=(N_ROWS, 1))
    rows[:] = centres + rng.normal(size=(N_ROWS, N_FEATURES))
    rows.flush()
    del rows
    return np.load(path, mmap_mode="r")


def _fit(X, n_components: int = 2, **kwargs) -> GaussianMixture:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(n_components, random_state=0, **kwargs).fit(X)


def _traced_peak(function) -> int:
    """Peak bytes traced while ``function`` runs, above what was held before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        function()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def _streamed_peak(stored_rows, monkeypatch, covariance_type: str) -> int:
    """Peak bytes of a two-iteration fit from the file, in 2000-row chunks,
    reads of 1 MiB over all threads."""
    monkeypatch.setattr(host_pass, "STREAM_READ_BYTES", READ_BYTES)
    # a given start: no initialisation sample, only the EM passes' reads
    start = shared_start(
        np.asarray(stored_rows[:20_000]), covariance_type, n_components=2
    )
    kwargs = dict(
        covariance_type=covariance_type, chunk_size=CHUNK_SIZE, max_iter=2, **start
    )
    # compiled kernels and imports are not the fit's memory
    _fit(stored_rows[:30_000], **kwargs)
    return _traced_peak(lambda: _fit(stored_rows, **kwargs))


READ_BYTES, CHUNK_SIZE = 1 << 20, 2000


def test_a_fit_from_a_file_holds_its_reads_and_a_few_chunks(stored_rows, monkeypatch):
    # tied covariances: no kernel groups rows, so windows are never held
    peak = _streamed_peak(stored_rows, monkeypatch, "tied")
    row_bytes = N_FEATURES * 8
    # the documented bound: the reads, and a few chunks' temporaries per thread
    chunks = 4 * host_threads() * CHUNK_SIZE * row_bytes
    bound = READ_BYTES + chunks + (1 << 20)
    assert peak <= bound, f"peak {peak / 2**20:.1f} MiB > {bound / 2**20:.1f} MiB"
    # far below the rows themselves, and below 64 chunks of them
    assert bound < 64 * CHUNK_SIZE * row_bytes < stored_rows.nbytes


def test_a_fit_that_groups_rows_holds_a_window_of_them(stored_rows, monkeypatch):
    # separated blobs, diagonal covariances: each window of 64 chunks is read
    # whole and put in order of its rows' likeliest component
    peak = _streamed_peak(stored_rows, monkeypatch, "diag")
    row_bytes = N_FEATURES * 8
    window = 64 * CHUNK_SIZE * row_bytes
    chunks = 4 * host_threads() * CHUNK_SIZE * row_bytes
    # the documented bound: a window, a byte per row of labels, the reads and
    # the chunks' temporaries
    bound = window + N_ROWS + READ_BYTES + chunks + (1 << 20)
    assert peak <= bound, f"peak {peak / 2**20:.1f} MiB > {bound / 2**20:.1f} MiB"
    assert bound < stored_rows.nbytes / 2


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_the_read_size_leaves_a_fit_from_a_file_unchanged_to_the_bit(
    stored_rows, monkeypatch, tmp_path, covariance_type
):
    rows = stored_rows[:60_000]
    kwargs = dict(covariance_type=covariance_type, chunk_size=300, max_iter=4)
    fits = []
    # one chunk per read, a few, then the whole window of 64 chunks and more
    for read_bytes in (1, 5 * 300 * N_FEATURES * 8, 1 << 26):
        monkeypatch.setattr(host_pass, "STREAM_READ_BYTES", read_bytes)
        fits.append(_fit(rows, n_components=4, **kwargs))
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "rows.h5", "w") as handle:
        handle["rows"] = np.asarray(rows)
    with h5py.File(tmp_path / "rows.h5", "r") as handle:
        fits.append(_fit(handle["rows"], n_components=4, **kwargs))
    first = fits[0]
    for other in fits[1:]:
        assert other.lower_bound_ == first.lower_bound_
        for name in ("weights_", "means_", "covariances_"):
            np.testing.assert_array_equal(getattr(other, name), getattr(first, name))


def test_hdf5_rows_are_read_without_a_second_copy(tmp_path):
    h5py = pytest.importorskip("h5py")
    rows = np.random.RandomState(0).normal(size=(200_000, N_FEATURES))
    with h5py.File(tmp_path / "rows.h5", "w") as handle:
        handle["rows"] = rows
    with h5py.File(tmp_path / "rows.h5", "r") as handle:
        reader = RowReader(handle["rows"])
        found = []
        peak = _traced_peak(lambda: found.append(reader.read(slice(0, N_ROWS))))
    np.testing.assert_array_equal(found[0], rows)
    # the rows once, not once more as a copy of what h5py returned
    assert peak < 1.25 * rows.nbytes
