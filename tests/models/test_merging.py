"""Merging a BIC-chosen mixture's components into clusters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import gaussmix
from gaussmix import GaussianMixture


def two_blobs_and_a_banana(seed: int, n: int = 150):
    """Two round clusters above a curved one (an arc of radius 5)."""
    rng = np.random.default_rng(seed)
    left = rng.normal([-6.0, 6.0], 0.7, (n, 2))
    right = rng.normal([6.0, 6.0], 0.7, (n, 2))
    angle = rng.uniform(0, np.pi, 2 * n)
    radius = 5 + rng.normal(0, 0.35, 2 * n)
    arc = np.column_stack([radius * np.cos(angle), 1 - radius * np.sin(angle)])
    return np.vstack([left, right, arc]), np.repeat([0, 1, 2], [n, n, 2 * n])


@pytest.mark.parametrize("seed", [1, 2])
def test_merging_recovers_the_banana_that_bic_splits(seed):
    X, truth = two_blobs_and_a_banana(seed)
    selection = gaussmix.select_model(
        X, n_components=range(1, 8), covariance_types=["VVV"]
    )
    model = selection.best_model
    # BIC fits the density: the arc takes several components
    assert model.n_components > 3
    assert adjusted_rand_score(truth, model.predict(X)) < 0.95
    merged = gaussmix.merge_components(model, X)
    assert adjusted_rand_score(truth, merged.labels(3)) >= 0.95


def test_labels_probabilities_and_groups_agree():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 1, (60, 2)) for c in (-5, 0, 5)])
    model = GaussianMixture(5, random_state=0).fit(X)
    merged = gaussmix.merge_components(model, X)
    responsibilities = model.predict_proba(X)
    for n in range(1, 6):
        groups = merged.groups(n)
        assert sorted(k for g in groups for k in g) == list(range(5))
        expected = np.column_stack([responsibilities[:, g].sum(axis=1) for g in groups])
        np.testing.assert_allclose(merged.probabilities(n), expected)
        np.testing.assert_array_equal(merged.labels(n), expected.argmax(axis=1))
    # with every component kept, the entropy is that of the fitted mixture
    t = responsibilities[responsibilities > 0]
    assert merged.entropies[0] == pytest.approx(-np.sum(t * np.log(t)))
    np.testing.assert_array_equal(merged.labels(5), model.predict(X))
    assert "Suggested number of clusters" in str(merged)
    with pytest.raises(ValueError, match="n_clusters"):
        merged.labels(6)


def test_two_components_have_no_change_point():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(-3, 1, (50, 2)), rng.normal(3, 1, (50, 2))])
    merged = gaussmix.merge_components(GaussianMixture(2).fit(X), X)
    assert merged.change_point is None and merged.suggested_n_clusters == 2


def test_the_noise_column_is_left_out():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(-3, 1, (80, 2)), rng.normal(3, 1, (80, 2))])
    X = np.vstack([X, rng.uniform(-10, 10, (10, 2))])
    model = GaussianMixture(3, noise=True, random_state=0).fit(X)
    merged = gaussmix.merge_components(model, X)
    np.testing.assert_allclose(merged.probabilities(3).sum(axis=1), 1.0)
