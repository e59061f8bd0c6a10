"""Shared fixtures: small real datasets."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import Phase, settings
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


# Property tests draw the same examples on every run by default, so that a
# test run is repeatable and bounded in time (no shrinking: a failure shows
# the example as drawn); GAUSSMIX_HYPOTHESIS=explore draws new ones, more of
# them, and shrinks a failure to a small example.
REPEATABLE_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
settings.register_profile(
    "repeatable", derandomize=True, max_examples=40, phases=REPEATABLE_PHASES
)
settings.register_profile("explore", max_examples=300)
settings.load_profile(os.environ.get("GAUSSMIX_HYPOTHESIS", "repeatable"))
