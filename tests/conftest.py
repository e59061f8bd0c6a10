"""Shared fixtures: small real datasets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, load_wine, make_blobs
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from tests._threads import threads


def _datasets() -> dict[str, np.ndarray]:
    digits = load_digits().data
    blobs, _ = make_blobs(n_samples=600, centers=4, n_features=3, random_state=3)
    return {
        "iris": load_iris().data,
        "wine": StandardScaler().fit_transform(load_wine().data),
        "digits_pca10": PCA(n_components=10, random_state=0).fit_transform(digits),
        "blobs": blobs,
    }


DATASETS = _datasets()


@pytest.fixture(params=sorted(DATASETS))
def dataset(request) -> tuple[str, np.ndarray]:
    return request.param, DATASETS[request.param]


@pytest.fixture
def rng() -> np.random.RandomState:
    return np.random.RandomState(0)


@pytest.fixture(scope="module")
def single_thread():
    """BLAS and torch on one thread for a whole module: small problems only
    lose time to threads.

    Module-scoped, so that the module's own module-scoped fixtures (fits
    shared by several tests) run with the same thread count as its tests.
    """
    with threads(1):
        yield
