"""Missing values (NaN) on every storage: files, dask arrays and tensors
give the fit, scores and labels of the same rows in memory."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from gaussmix import GaussianMixture
from tests.storage import zarr_copy

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def holed():
    X, _ = make_blobs(n_samples=3000, centers=3, n_features=4, random_state=0)
    rng = np.random.RandomState(0)
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    empty = np.isnan(X).all(axis=1)
    X[empty, 0] = 0.0
    return X


@pytest.fixture(scope="module")
def in_memory(holed):
    return GaussianMixture(3, random_state=0, chunk_size=700).fit(holed)


def _assert_same(fitted, reference):
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(
            np.asarray(getattr(fitted, name)),
            getattr(reference, name),
            rtol=1e-9,
            atol=1e-9,
        )


def test_memmap_fit_and_scores_equal_in_memory(tmp_path, holed, in_memory):
    path = tmp_path / "rows.npy"
    np.save(path, holed)
    rows = np.load(path, mmap_mode="r")
    streamed = GaussianMixture(3, random_state=0, chunk_size=700).fit(rows)
    _assert_same(streamed, in_memory)
    np.testing.assert_allclose(
        in_memory.score_samples(rows), in_memory.score_samples(holed), rtol=1e-12
    )
    np.testing.assert_array_equal(in_memory.predict(rows), in_memory.predict(holed))


def test_hdf5_fit_equals_in_memory(tmp_path, holed, in_memory):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "rows.h5", "w") as handle:
        handle.create_dataset("X", data=holed, chunks=(500, 4))
    with h5py.File(tmp_path / "rows.h5", "r") as handle:
        streamed = GaussianMixture(3, random_state=0, chunk_size=700)
        streamed.fit(handle["X"])
        proba = in_memory.predict_proba(handle["X"])
    _assert_same(streamed, in_memory)
    np.testing.assert_allclose(proba, in_memory.predict_proba(holed), atol=1e-12)


def test_zarr_fit_equals_in_memory(tmp_path, holed, in_memory):
    stored = zarr_copy(tmp_path, holed, 500)
    streamed = GaussianMixture(3, random_state=0, chunk_size=700).fit(stored)
    _assert_same(streamed, in_memory)
    np.testing.assert_allclose(
        in_memory.score_samples(stored), in_memory.score_samples(holed), rtol=1e-12
    )


def test_dask_fit_and_scores_equal_in_memory(client, holed, in_memory):
    rows = da.from_array(holed, chunks=(1000, 4))
    distributed_fit = GaussianMixture(3, random_state=0, chunk_size=700).fit(rows)
    _assert_same(distributed_fit, in_memory)
    scores = in_memory.score_samples(rows).compute()
    np.testing.assert_allclose(scores, in_memory.score_samples(holed), rtol=1e-12)


def test_torch_tensor_fit_and_scores_equal_in_memory(holed, in_memory):
    torch = pytest.importorskip("torch")
    rows = torch.as_tensor(holed)
    fitted = GaussianMixture(3, random_state=0, chunk_size=700).fit(rows)
    _assert_same(fitted, in_memory)
    scores = fitted.score_samples(rows)
    assert isinstance(scores, torch.Tensor)
    np.testing.assert_allclose(
        scores.numpy(), in_memory.score_samples(holed), rtol=1e-9
    )
    filled = fitted.impute(rows)
    assert isinstance(filled, torch.Tensor) and not torch.isnan(filled).any()


def test_storage_refuses_infinity_and_empty_rows(tmp_path, holed):
    bad = holed.copy()
    bad[5] = np.nan
    path = tmp_path / "empty_row.npy"
    np.save(path, bad)
    with pytest.raises(ValueError, match="row 5 of X has every value missing"):
        GaussianMixture(2).fit(np.load(path, mmap_mode="r"))
    bad = holed.copy()
    bad[7, 1] = np.inf
    np.save(path, bad)
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(2).fit(np.load(path, mmap_mode="r"))


def test_memmap_fit_gives_the_same_bits_as_in_memory(tmp_path):
    # many rows, so that the rows span several chunks and patterns repeat
    # across them: the E-step's sums must not depend on where rows are kept
    X, _ = make_blobs(n_samples=20000, centers=3, n_features=6, random_state=1)
    rng = np.random.RandomState(1)
    X[rng.uniform(size=X.shape) < 0.3] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    path = tmp_path / "rows.npy"
    np.save(path, X)
    in_memory = GaussianMixture(3, random_state=0).fit(X)
    mapped = GaussianMixture(3, random_state=0).fit(np.load(path, mmap_mode="r"))
    for name in ("weights_", "means_", "covariances_", "lower_bound_"):
        np.testing.assert_array_equal(getattr(mapped, name), getattr(in_memory, name))


def test_noise_fit_gives_the_same_bits_from_a_memmap(tmp_path):
    X, _ = make_blobs(n_samples=6000, centers=3, n_features=4, random_state=2)
    rng = np.random.RandomState(2)
    X = np.vstack([X, rng.uniform(-15, 15, size=(300, 4))])
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    path = tmp_path / "rows.npy"
    np.save(path, X)
    in_memory = GaussianMixture(3, noise=True, random_state=0).fit(X)
    mapped = GaussianMixture(3, noise=True, random_state=0)
    mapped.fit(np.load(path, mmap_mode="r"))
    for name in ("weights_", "means_", "covariances_", "lower_bound_"):
        np.testing.assert_array_equal(getattr(mapped, name), getattr(in_memory, name))
