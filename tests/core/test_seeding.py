"""Seeding: every method gives responsibilities EM can start from."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from gaussmix.core.seeding import INIT_METHODS, initial_responsibilities


@pytest.fixture
def blobs() -> np.ndarray:
    X, _ = make_blobs(n_samples=120, centers=3, random_state=0)
    return X.astype(np.float32)


@pytest.mark.parametrize("method", sorted(INIT_METHODS))
def test_rows_are_distributions_in_the_data_dtype(blobs, method):
    resp = initial_responsibilities(method, blobs, 3, None, np.random.RandomState(0))
    assert resp.shape == (len(blobs), 3)
    assert resp.dtype == blobs.dtype
    assert np.all(resp >= 0)
    # every component owns some weight, so the first M-step has a mean for it
    assert np.all(resp.sum(0) > 0)


@pytest.mark.parametrize("method", ["kmeans", "random"])
def test_every_row_is_shared_out_whole(blobs, method):
    resp = initial_responsibilities(method, blobs, 3, None, np.random.RandomState(0))
    np.testing.assert_allclose(resp.sum(1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("method", ["k-means++", "random_from_data"])
def test_row_seeds_pick_one_distinct_row_per_component(blobs, method):
    resp = initial_responsibilities(method, blobs, 3, None, np.random.RandomState(0))
    rows, columns = np.nonzero(resp)
    assert sorted(columns) == [0, 1, 2]
    assert len(set(rows)) == 3


def test_rows_of_zero_weight_are_never_drawn(blobs):
    weights = np.zeros(len(blobs))
    weights[:10] = 1.0
    resp = initial_responsibilities(
        "random_from_data", blobs, 3, weights, np.random.RandomState(0)
    )
    assert np.all(np.nonzero(resp)[0] < 10)


def test_an_unknown_method_names_the_known_ones(blobs):
    with pytest.raises(ValueError, match="random_from_data"):
        initial_responsibilities("nearest", blobs, 3, None, np.random.RandomState(0))
