"""Same rows and same random_state: same fit whatever the storage.

The rows an initialisation sees (all, or a uniform sample beyond
``KMEANS_SAMPLE_SIZE`` / ``INIT_SAMPLE_SIZE`` rows) depend on the number of
rows and the random state alone. The thresholds are lowered here so that a
small data set is sampled, as a large one is by default.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture
from gaussmix.fit import sources
from tests.fit.same_start import assert_same_fit

INIT_METHODS = ["kmeans", "k-means++", "random", "random_from_data", "hc"]

CENTRES = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0, 0, 6.0]])


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    # 150 rows around each of four centres, in an order that mixes them
    rng = np.random.RandomState(0)
    X = np.repeat(CENTRES, 150, axis=0) + rng.normal(size=(600, 3))
    return X[rng.permutation(600)]


@pytest.fixture(params=[False, True], ids=["all rows", "sampled"])
def sampled(request, monkeypatch) -> bool:
    if request.param:
        monkeypatch.setattr(sources, "KMEANS_SAMPLE_SIZE", 200)
        monkeypatch.setattr(sources, "INIT_SAMPLE_SIZE", 250)
    return request.param


def _fits(X, init_params: str, weights=None) -> tuple:
    """The initial parameters (max_iter=0) and the converged fit."""
    kwargs = dict(init_params=init_params, random_state=7, chunk_size=128)
    start = GaussianMixture(4, max_iter=0, **kwargs).fit(X, sample_weight=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = GaussianMixture(4, tol=1e-10, max_iter=300, **kwargs)
        fitted.fit(X, sample_weight=weights)
    return start, fitted


def _assert_same_start(a: GaussianMixture, b: GaussianMixture) -> None:
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(
            getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-12
        )


def _assert_same(fits: tuple, reference: tuple) -> None:
    _assert_same_start(fits[0], reference[0])
    assert_same_fit(fits[1], reference[1])


@pytest.mark.parametrize("init_params", INIT_METHODS)
def test_memmap_starts_and_ends_as_in_memory(tmp_path, data, sampled, init_params):
    path = tmp_path / "rows.npy"
    np.save(path, data)
    on_disk = np.load(path, mmap_mode="r")
    _assert_same(_fits(on_disk, init_params), _fits(data, init_params))


@pytest.mark.parametrize("init_params", ["kmeans", "random_from_data"])
def test_weighted_memmap_starts_as_in_memory(tmp_path, data, sampled, init_params):
    weights = np.random.RandomState(1).randint(1, 4, size=len(data)).astype(float)
    path = tmp_path / "rows.npy"
    np.save(path, data)
    on_disk = np.load(path, mmap_mode="r")
    _assert_same(
        _fits(on_disk, init_params, weights), _fits(data, init_params, weights)
    )


@pytest.mark.parametrize("init_params", INIT_METHODS)
def test_hdf5_and_zarr_start_and_end_as_in_memory(tmp_path, data, init_params):
    h5py = pytest.importorskip("h5py")
    zarr = pytest.importorskip("zarr")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "KMEANS_SAMPLE_SIZE", 200)
        patch.setattr(sources, "INIT_SAMPLE_SIZE", 250)
        reference = _fits(data, init_params)
        stored = zarr.open_array(
            str(tmp_path / "rows.zarr"), mode="w", shape=data.shape, chunks=(97, 3)
        )
        stored[:] = data
        _assert_same(_fits(stored, init_params), reference)
        with h5py.File(tmp_path / "rows.h5", "w") as handle:
            handle.create_dataset("X", data=data, chunks=(64, 3))
        with h5py.File(tmp_path / "rows.h5", "r") as handle:
            _assert_same(_fits(handle["X"], init_params), reference)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random"])
def test_tensor_starts_as_numpy(data, sampled, init_params):
    torch = pytest.importorskip("torch")
    tensor = torch.as_tensor(data)
    a = GaussianMixture(4, max_iter=0, init_params=init_params, random_state=3)
    b = GaussianMixture(4, max_iter=0, init_params=init_params, random_state=3)
    a.fit(tensor)
    b.fit(data)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(
            getattr(a, name).cpu().numpy(), getattr(b, name), rtol=1e-10
        )


def test_sampling_draws_only_when_it_samples():
    # below the limit no random number is drawn, so a fit on a few rows
    # starts where it always did; above it the sample is uniform, sorted and
    # without repeats
    rng = np.random.RandomState(0)
    assert sources.initial_rows("kmeans", sources.KMEANS_SAMPLE_SIZE, rng) is None
    assert sources.initial_rows("hc", sources.INIT_SAMPLE_SIZE, rng) is None
    assert rng.randint(1000) == np.random.RandomState(0).randint(1000)
    chosen = sources.initial_rows("kmeans", sources.KMEANS_SAMPLE_SIZE + 5, rng)
    assert chosen.shape == (sources.KMEANS_SAMPLE_SIZE,)
    assert np.all(np.diff(chosen) > 0)
    assert chosen[-1] < sources.KMEANS_SAMPLE_SIZE + 5
