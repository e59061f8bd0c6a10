"""Trimmed k-means starts: outliers get no component and pull none."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from gaussmix.core.seeding import TRIMMED_SHARE, initial_responsibilities
from gaussmix.core.trimmed_kmeans import trimmed_kmeans


def test_scattered_outliers_are_left_out_of_the_start():
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    X, labels = make_blobs(n_samples=900, centers=centres, random_state=0)
    rng = np.random.RandomState(1)
    outliers = rng.uniform(-80, 80, size=(60, 2))
    rows = np.vstack([X, outliers])
    resp = initial_responsibilities(
        "trimmed_kmeans", rows, 3, None, np.random.RandomState(0)
    )
    assigned = resp.sum(1) > 0
    # the trimmed share of the rows, the far outliers among them
    assert abs(assigned.mean() - (1 - TRIMMED_SHARE)) < 0.01
    far = np.abs(outliers).max(1) > 20
    assert not assigned[len(X) :][far].any()
    kept = assigned[: len(X)]
    found = resp[: len(X)][kept].argmax(1)
    assert adjusted_rand_score(labels[kept], found) == 1.0
    centres_found = (resp.T @ rows) / resp.sum(0)[:, None]
    gaps = np.linalg.norm(centres[:, None] - centres_found[None], axis=2)
    assert gaps.min(axis=1).max() < 0.25


def test_weights_count_as_repeated_rows():
    X, _ = make_blobs(n_samples=200, centers=3, random_state=2)
    weights = np.random.RandomState(3).randint(0, 3, size=len(X)).astype(float)
    resp = initial_responsibilities(
        "trimmed_kmeans", X, 3, weights, np.random.RandomState(0)
    )
    kept_weight = weights[resp.sum(1) > 0].sum()
    assert kept_weight >= (1 - TRIMMED_SHARE) * weights.sum()
    assert not (resp.sum(1) > 0)[weights == 0].any()


@given(
    n_rows=st.integers(6, 60),
    n_clusters=st.integers(1, 4),
    repeats=st.integers(1, 4),
    seed=st.integers(0, 10**6),
)
@settings(max_examples=40, deadline=None)
def test_equal_weights_trim_the_rows_that_unit_weights_do(
    n_rows, n_clusters, repeats, seed
):
    # unit weights take a partial sort, others a stable sort by distance:
    # with every weight 2 the kept share of the weight picks the same rows,
    # ties between repeated rows included
    rng = np.random.RandomState(seed)
    X = np.repeat(rng.normal(size=(n_rows, 2)).round(1), repeats, axis=0)
    n_clusters = min(n_clusters, len(X))
    ones = trimmed_kmeans(
        X, n_clusters, np.ones(len(X)), TRIMMED_SHARE, 3, np.random.RandomState(0)
    )
    twos = trimmed_kmeans(
        X, n_clusters, np.full(len(X), 2.0), TRIMMED_SHARE, 3, np.random.RandomState(0)
    )
    np.testing.assert_array_equal(ones[0], twos[0])
    np.testing.assert_array_equal(ones[1], twos[1])
    # the rows that reach the kept share of the weight, no more
    assert ones[1].size == int(np.ceil((1 - TRIMMED_SHARE) * len(X)))
