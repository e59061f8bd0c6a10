"""BayesianGaussianMixture on every storage: the in-memory fit.

The start is the same on every storage; sums may be added in another order
(rows in memory are regrouped by component, streamed rows within windows,
Dask adds its blocks' sums as a tree), so fits agree to rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from gaussmix import BayesianGaussianMixture
from tests.storage import zarr_copy

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = [
    "weights_",
    "means_",
    "covariances_",
    "precisions_cholesky_",
    "mean_precision_",
    "degrees_of_freedom_",
    "mean_prior_",
    "covariance_prior_",
]


@pytest.fixture(scope="module")
def data():
    X, _ = make_blobs(n_samples=3000, centers=4, n_features=3, random_state=0)
    return X


def _fit(X, covariance_type="full", sample_weight=None, **extra):
    model = BayesianGaussianMixture(
        n_components=5,
        covariance_type=covariance_type,
        init_params="random",
        random_state=0,
        tol=1e-6,
        chunk_size=450,
        **extra,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, sample_weight=sample_weight)


def _host(value):
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def assert_identical(a, b):
    assert a.n_iter_ == b.n_iter_
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(a.mean_prior_, b.mean_prior_, rtol=1e-14)
    np.testing.assert_allclose(a.covariance_prior_, b.covariance_prior_, rtol=1e-14)
    for name in FITTED:
        np.testing.assert_allclose(
            _host(getattr(a, name)), _host(getattr(b, name)), rtol=1e-10, err_msg=name
        )
    np.testing.assert_allclose(
        a.weight_concentration_, b.weight_concentration_, rtol=1e-10
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_memmap_fit_is_the_in_memory_fit(tmp_path, data, covariance_type):
    np.save(tmp_path / "rows.npy", data)
    on_disk = np.load(tmp_path / "rows.npy", mmap_mode="r")
    streamed = _fit(on_disk, covariance_type)
    in_memory = _fit(data, covariance_type)
    assert_identical(streamed, in_memory)
    np.testing.assert_allclose(
        streamed.score_samples(on_disk), in_memory.score_samples(data), rtol=1e-10
    )


def test_weighted_memmap_fit_is_the_weighted_in_memory_fit(tmp_path, data):
    weights = np.random.RandomState(0).randint(0, 4, size=len(data)).astype(float)
    np.save(tmp_path / "rows.npy", data)
    on_disk = np.load(tmp_path / "rows.npy", mmap_mode="r")
    assert_identical(
        _fit(on_disk, sample_weight=weights), _fit(data, sample_weight=weights)
    )


def test_hdf5_fit_is_the_in_memory_fit(tmp_path, data):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "rows.h5", "w") as handle:
        handle.create_dataset("rows", data=data, chunks=(300, 3))
    with h5py.File(tmp_path / "rows.h5", "r") as handle:
        streamed = _fit(handle["rows"], "diag")
    assert_identical(streamed, _fit(data, "diag"))


def test_zarr_fit_is_the_in_memory_fit(tmp_path, data):
    stored = zarr_copy(tmp_path, data, 500)
    assert_identical(_fit(stored, "tied"), _fit(data, "tied"))


def test_torch_fit_is_the_numpy_fit(data):
    torch = pytest.importorskip("torch")
    tensor_fit = _fit(torch.as_tensor(data), "full")
    numpy_fit = _fit(data, "full")
    assert isinstance(tensor_fit.means_, torch.Tensor)
    assert tensor_fit.n_iter_ == numpy_fit.n_iter_
    for name in FITTED:
        np.testing.assert_allclose(
            _host(getattr(tensor_fit, name)),
            _host(getattr(numpy_fit, name)),
            rtol=1e-9,
            atol=1e-12,
            err_msg=name,
        )
    proba = tensor_fit.predict_proba(torch.as_tensor(data))
    assert isinstance(proba, torch.Tensor)
    np.testing.assert_allclose(_host(proba), numpy_fit.predict_proba(data), atol=1e-9)
    on_device = _fit(data, "full", device="cpu")
    assert isinstance(on_device.means_, np.ndarray)
    np.testing.assert_allclose(on_device.means_, numpy_fit.means_, rtol=1e-9)
