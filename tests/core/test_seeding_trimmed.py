"""Trimmed k-means starts: outliers get no component and pull none."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from gaussmix.core.seeding import TRIMMED_SHARE, initial_responsibilities


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
