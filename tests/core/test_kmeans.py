"""Weighted k-means: weights act as repeated rows; well-separated blobs are found."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from gaussmix.core.kmeans import kmeans, squared_distances


def test_recovers_separated_blobs():
    X, y = make_blobs(n_samples=900, centers=5, cluster_std=0.5, random_state=1)
    _, labels = kmeans(X, 5, np.ones(len(X)), np.random.RandomState(0))
    assert adjusted_rand_score(y, labels) > 0.99


def test_integer_weights_give_the_centres_of_repeated_rows():
    X, _ = make_blobs(n_samples=200, centers=3, random_state=2)
    w = np.random.RandomState(0).randint(1, 4, size=len(X))
    centers_w, _ = kmeans(X, 3, w.astype(float), np.random.RandomState(0))
    repeated = np.repeat(X, w, axis=0)
    centers_r, _ = kmeans(repeated, 3, np.ones(len(repeated)), np.random.RandomState(5))
    order_w = np.lexsort(centers_w.T)
    order_r = np.lexsort(centers_r.T)
    np.testing.assert_allclose(centers_w[order_w], centers_r[order_r], rtol=1e-10)


def test_squared_distances_are_exact_and_non_negative():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 3)) + 1e4
    C = X[:4]
    expected = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    got = squared_distances(X, C)
    assert np.all(got >= 0)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_matches_scikit_learn_lloyd_from_the_same_seed(offset):
    # unstructured rows make Lloyd's path sensitive to every seed and step;
    # scikit-learn's KMeans draws its greedy k-means++ seeds the same way
    X = np.random.RandomState(3).normal(size=(3000, 5)) + offset
    centers, labels = kmeans(X, 7, np.ones(len(X)), np.random.RandomState(0))
    reference = KMeans(7, n_init=1, random_state=np.random.RandomState(0)).fit(X)
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_allclose(centers, reference.cluster_centers_, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=4, max_size=40
    ),
    weights=st.lists(st.sampled_from([0.1, 0.2, 0.7, 1.0, 3.0]), min_size=40),
    n_clusters=st.integers(1, 5),
    seed=st.integers(0, 1000),
)
def test_converged_centres_are_the_weighted_means_of_their_nearest_rows(
    points, weights, n_clusters, seed
):
    # integer grids repeat rows and tie distances; fractional weights round
    # when clusters gain and lose rows: neither may leave a centre that is
    # not Lloyd's fixed point
    X = np.asarray(points, dtype=float) * 0.5
    w = np.asarray(weights[: len(X)])
    centers, labels = kmeans(X, n_clusters, w, np.random.RandomState(seed), tol=0.0)
    distances = ((X[:, None] - centers[None]) ** 2).sum(-1)
    assert np.all(distances[np.arange(len(X)), labels] <= distances.min(1) + 1e-9)
    for k in np.unique(labels):
        mine = labels == k
        expected = (w[mine] @ X[mine]) / w[mine].sum()
        np.testing.assert_allclose(centers[k], expected, atol=1e-9)
