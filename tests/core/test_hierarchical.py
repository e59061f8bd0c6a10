"""mclust-style model-based hierarchical clustering."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from gaussmix import GaussianMixture
from gaussmix.core.hierarchical import (
    agglomerate,
    hierarchical_tree,
    partition_responsibilities,
    svd_transform,
)
from tests.conftest import DATASETS


def test_svd_transform_whitens_to_the_singular_values(rng):
    X = rng.normal(size=(80, 3)) @ rng.normal(size=(3, 3)) * [1.0, 50.0, 0.1] + 7.0
    Z = svd_transform(X)
    standard = (X - X.mean(0)) / X.std(0, ddof=1)
    singular = np.linalg.svd(standard, compute_uv=False)
    # columns are orthogonal with squared norms equal to the singular values
    np.testing.assert_allclose(Z.T @ Z, np.diag(singular), atol=1e-9)
    # standardising first makes it blind to each column's unit and origin
    rescaled = svd_transform(X * [3.0, 0.01, 200.0] - 5.0)
    np.testing.assert_allclose(np.abs(rescaled), np.abs(Z), atol=1e-9)


def test_svd_transform_drops_constant_and_redundant_columns(rng):
    X = rng.normal(size=(30, 2))
    X = np.column_stack([X, np.full(30, 4.0), X[:, 0] + X[:, 1]])
    assert svd_transform(X).shape == (30, 2)


def _term(points, alpha):
    """n log(|W/n| + (tr W + alpha) / n) from the definition (beta = 1)."""
    n = len(points)
    centred = points - points.mean(0)
    scatter = centred.T @ centred
    return n * np.log(np.linalg.det(scatter / n) + (np.trace(scatter) + alpha) / n)


def _brute_force_merges(Z):
    alpha = ((Z - Z.mean(0)) ** 2).sum() / Z.size
    clusters = [[i] for i in range(len(Z))]
    partitions = []
    while len(clusters) > 1:
        best = min(
            itertools.combinations(range(len(clusters)), 2),
            key=lambda ab: (
                _term(Z[clusters[ab[0]] + clusters[ab[1]]], alpha)
                - _term(Z[clusters[ab[0]]], alpha)
                - _term(Z[clusters[ab[1]]], alpha)
            ),
        )
        a, b = best
        clusters[a] = clusters[a] + clusters[b]
        del clusters[b]
        partitions.append({frozenset(c) for c in clusters})
    return partitions


@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_tree_merges_the_cheapest_pair_each_time(rng, n_features):
    Z = rng.normal(size=(14, n_features)) + rng.choice([0.0, 4.0], size=(14, 1))
    tree = agglomerate(Z)
    expected = _brute_force_merges(Z)
    for n_clusters, partition in zip(range(13, 0, -1), expected, strict=True):
        labels = tree.labels(n_clusters)
        ours = {frozenset(np.flatnonzero(labels == k)) for k in range(n_clusters)}
        assert ours == partition


def test_tree_recovers_well_separated_clusters(rng):
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    truth = rng.randint(3, size=200)
    X = centres[truth] + rng.normal(size=(200, 3)) @ rng.normal(size=(3, 3)) * 0.3
    tree, rows = hierarchical_tree(X)
    np.testing.assert_array_equal(rows, np.arange(200))
    assert adjusted_rand_score(truth, tree.labels(3)) == 1.0


def test_cuts_are_nested_and_numbered_by_first_appearance():
    tree, _ = hierarchical_tree(DATASETS["iris"])
    for n_clusters in range(2, 12):
        coarse, fine = tree.labels(n_clusters - 1), tree.labels(n_clusters)
        assert set(np.unique(fine)) == set(range(n_clusters))
        _, first = np.unique(fine, return_index=True)
        assert np.all(np.diff(first) > 0)
        # every fine cluster lies inside one coarse cluster
        for k in range(n_clusters):
            assert len(np.unique(coarse[fine == k])) == 1


def test_identical_rows_stay_together_and_bound_the_cut(rng):
    X = np.repeat(rng.normal(size=(6, 2)), [1, 3, 1, 2, 1, 1], axis=0)
    tree, _ = hierarchical_tree(X)
    labels = tree.labels(6)
    assert len(np.unique(labels)) == 6
    assert len(np.unique(labels[1:4])) == 1
    with pytest.raises(ValueError, match="distinct rows"):
        tree.labels(7)


def test_large_data_uses_a_subset_and_zero_weights_are_left_out(rng):
    X = rng.normal(size=(300, 2))
    weights = np.ones(300)
    weights[:10] = 0.0
    tree, rows = hierarchical_tree(X, weights, np.random.RandomState(0), 120)
    assert len(rows) == 120
    assert not np.isin(np.arange(10), rows).any()
    resp = partition_responsibilities(tree, rows, 300, 4)
    outside = np.setdiff1d(np.arange(300), rows)
    assert resp[outside].sum() == 0.0
    np.testing.assert_array_equal(resp[rows].sum(1), 1.0)


def test_hc_initialisation_is_deterministic_and_fits():
    X = DATASETS["iris"]
    first = GaussianMixture(3, init_params="hc", covariance_type="VEV").fit(X)
    second = GaussianMixture(3, init_params="hc", covariance_type="VEV").fit(X)
    np.testing.assert_array_equal(first.means_, second.means_)
    assert first.converged_
