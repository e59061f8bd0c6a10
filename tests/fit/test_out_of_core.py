"""Fitting on-disk arrays streams them and gives the in-memory model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from gaussmix import DegenerateComponentWarning, GaussianMixture
from tests.fit.same_start import assert_same_bits, shared_start
from tests.storage import zarr_copy

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def data():
    X, _ = make_blobs(n_samples=3000, centers=4, n_features=3, random_state=0)
    return X


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_npy_memmap_fit_equals_in_memory_fit(tmp_path, data, covariance_type):
    path = tmp_path / "rows.npy"
    np.save(path, data)
    on_disk = np.load(path, mmap_mode="r")
    kwargs = dict(covariance_type=covariance_type, tol=1e-8, chunk_size=450)
    start = shared_start(data, covariance_type)
    streamed = GaussianMixture(4, **kwargs, **start).fit(on_disk)
    in_memory = GaussianMixture(4, **kwargs, **start).fit(data)
    assert_same_bits(streamed, in_memory)
    np.testing.assert_allclose(
        streamed.score_samples(on_disk), in_memory.score_samples(data), rtol=1e-10
    )
    np.testing.assert_array_equal(streamed.predict(on_disk), in_memory.predict(data))


def test_raw_memmap_with_offset_and_float32(tmp_path, data):
    path = tmp_path / "rows.bin"
    header = 24
    values = data.astype(np.float32)
    with open(path, "wb") as handle:
        handle.write(b"\0" * header)
        values.tofile(handle)
    mapped = np.memmap(
        path, dtype=np.float32, mode="r", offset=header, shape=values.shape
    )
    start = shared_start(data, "diag")
    streamed = GaussianMixture(4, covariance_type="diag", chunk_size=333, **start)
    streamed.fit(mapped)
    in_memory = GaussianMixture(4, covariance_type="diag", chunk_size=333, **start)
    in_memory.fit(values)
    assert streamed.means_.dtype == np.float32
    assert_same_bits(streamed, in_memory)


def test_a_slice_of_a_memmap_reads_its_own_rows(tmp_path, data):
    path = tmp_path / "rows.npy"
    np.save(path, data)
    view = np.load(path, mmap_mode="r")[1000:2500]
    start = shared_start(data[1000:2500], "full")
    a = GaussianMixture(4, tol=1e-8, **start).fit(view)
    b = GaussianMixture(4, tol=1e-8, **start).fit(data[1000:2500])
    assert_same_bits(a, b)


def test_hdf5_dataset_fit_equals_in_memory_fit(tmp_path, data):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "rows.h5", "w") as handle:
        handle.create_dataset("X", data=data, chunks=(500, 3))
    start = shared_start(data, "full")
    with h5py.File(tmp_path / "rows.h5", "r") as handle:
        streamed = GaussianMixture(4, tol=1e-8, chunk_size=700, **start)
        streamed.fit(handle["X"])
        labels = streamed.predict(handle["X"])
    in_memory = GaussianMixture(4, tol=1e-8, chunk_size=700, **start).fit(data)
    assert_same_bits(streamed, in_memory)
    np.testing.assert_array_equal(labels, in_memory.predict(data))


def test_zarr_array_fit_equals_in_memory_fit(tmp_path, data):
    stored = zarr_copy(tmp_path, data, 512)
    start = shared_start(data, "tied")
    streamed = GaussianMixture(4, covariance_type="tied", tol=1e-8, **start)
    streamed.fit(stored)
    in_memory = GaussianMixture(4, covariance_type="tied", tol=1e-8, **start).fit(data)
    assert_same_bits(streamed, in_memory)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_storage_gives_the_same_bits_with_defaults(
    tmp_path, covariance_type, dtype
):
    # 60-row chunks of 12,000 rows: four windows of grouped rows, the last
    # one short; eight separated blobs, so grouping pays
    rows, _ = make_blobs(n_samples=12_000, centers=8, n_features=5, random_state=3)
    rows = rows.astype(dtype)
    kwargs = dict(covariance_type=covariance_type, chunk_size=60, random_state=0)
    in_memory = GaussianMixture(8, **kwargs).fit(rows)
    np.save(tmp_path / "rows.npy", rows)
    stored = [
        np.load(tmp_path / "rows.npy", mmap_mode="r"),
        zarr_copy(tmp_path, rows, 700),
    ]
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "rows.h5", "w") as handle:
        handle.create_dataset("X", data=rows, chunks=(333, 5))
    with h5py.File(tmp_path / "rows.h5", "r") as handle:
        for source in [*stored, handle["X"]]:
            assert_same_bits(GaussianMixture(8, **kwargs).fit(source), in_memory)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_default_initialisations_on_disk_reach_a_good_fit(tmp_path, init_params):
    data, _ = make_blobs(
        n_samples=3000,
        centers=[[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8]],
        random_state=0,
    )
    path = tmp_path / "rows.npy"
    np.save(path, data)
    on_disk = np.load(path, mmap_mode="r")
    # one random_from_data start with this seed puts two seeds in one blob, on
    # disk as in memory (both see the same rows); three starts find the blobs
    model = GaussianMixture(
        4, init_params=init_params, random_state=0, max_iter=500, n_init=3
    )
    model.fit(on_disk)
    reference = GaussianMixture(4, n_init=3, random_state=0).fit(data)
    assert model.score(data) == pytest.approx(reference.score(data), abs=0.05)


def test_random_responsibilities_on_disk_fit_a_valid_mixture(tmp_path, data):
    # random responsibilities start every component near the global mean, a
    # poor start in memory too; the streamed version must still run EM soundly
    path = tmp_path / "rows.npy"
    np.save(path, data)
    model = GaussianMixture(4, init_params="random", random_state=0, max_iter=300)
    model.fit(np.load(path, mmap_mode="r"))
    single = GaussianMixture(1).fit(data)
    assert model.score(data) >= single.score(data) - 1e-9
    assert np.all(np.diff(model.lower_bounds_) >= -1e-10)


def test_infinity_on_disk_is_reported_with_its_row(tmp_path, data):
    # NaN marks a missing value (tests/fit/test_missing_storage.py)
    bad = data.copy()
    bad[1234, 1] = np.inf
    path = tmp_path / "bad.npy"
    np.save(path, bad)
    with pytest.raises(ValueError, match="row 1234"):
        GaussianMixture(2).fit(np.load(path, mmap_mode="r"))


def test_wrong_width_on_disk_at_predict_time(tmp_path, data):
    model = GaussianMixture(2, random_state=0).fit(data)
    path = tmp_path / "narrow.npy"
    np.save(path, data[:, :2])
    with pytest.raises(ValueError, match="2 features"):
        model.predict(np.load(path, mmap_mode="r"))


#: float32 rows near -1e5 in three groups, one cell at 1e19: its square
#: overflows float32, so the fit runs in float64, from disk as in memory.
FAR_FLOAT32_ROWS = np.array(
    [
        [-99991.4, -99987.3],
        [-99990.2, -99985.5],
        [-99952.7, -99960.5],
        [-99991.8, -99986.2],
        [-99989.1, -99985.8],
        [-99955.5, -99958.7],
        [-99953.7, -99959.5],
        [-99953.5, 1e19],
        [-99990.9, -99985.8],
        [-99952.8, -99960.5],
        [-99952.0, -99962.2],
        [-99989.4, -99984.9],
    ],
    dtype=np.float32,
)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_rows_whose_squares_overflow_fit_on_disk_as_in_memory(
    tmp_path, covariance_type
):
    path = tmp_path / "rows.npy"
    np.save(path, FAR_FLOAT32_ROWS)
    kwargs = dict(
        covariance_type=covariance_type,
        init_params="random",
        random_state=0,
        max_iter=10,
    )
    with warnings.catch_warnings():
        # twelve rows for three components: re-seeding is expected, and
        # must happen alike in both
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        streamed = GaussianMixture(3, **kwargs).fit(np.load(path, mmap_mode="r"))
        in_memory = GaussianMixture(3, **kwargs).fit(FAR_FLOAT32_ROWS)
        # float64 holds these squares: the same rows in float64 are the
        # reference both must reach, to float32's rounding
        wide = GaussianMixture(3, **kwargs).fit(FAR_FLOAT32_ROWS.astype(np.float64))
    assert_same_bits(streamed, in_memory)
    assert streamed.n_iter_ == wide.n_iter_
    assert streamed.lower_bound_ == pytest.approx(wide.lower_bound_, rel=1e-6)
    np.testing.assert_allclose(streamed.means_, wide.means_, rtol=1e-6)
    np.testing.assert_allclose(streamed.covariances_, wide.covariances_, rtol=1e-5)


def test_covariances_beyond_float32_are_refused_on_disk_as_in_memory(tmp_path):
    # a variance of about 5e38 does not fit float32 (largest 3.4e38)
    rows = np.array([[1e20], [0.5], [-1.5], [2.0], [0.0], [1.0]], dtype=np.float32)
    path = tmp_path / "rows.npy"
    np.save(path, rows)
    messages = []
    for X in (rows, np.load(path, mmap_mode="r")):
        with pytest.raises(ValueError, match="pass X as float64") as raised:
            GaussianMixture(1).fit(X)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_an_empty_file_batch_names_the_minimum_partial_fit_needs(tmp_path):
    np.save(tmp_path / "rows.npy", np.random.default_rng(0).normal(size=(50, 3)))
    np.save(tmp_path / "none.npy", np.empty((0, 3)))
    rows = np.load(tmp_path / "rows.npy", mmap_mode="r")
    empty = np.load(tmp_path / "none.npy", mmap_mode="r")
    model = GaussianMixture(2, random_state=0).fit(rows)
    with pytest.raises(ValueError, match=r"0 sample.*a minimum of 1 is required"):
        model.partial_fit(empty)
    with pytest.raises(ValueError, match=r"0 sample.*a minimum of 2 is required"):
        GaussianMixture(2).fit(empty)
