"""Entropy merging of posterior probability columns and the change point."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from gaussmix.core.merging import (
    combine_columns,
    entropy,
    merge_hierarchy,
    piecewise_linear_changepoint,
)


def random_posteriors(n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(k, 0.3), size=n)


def test_entropy_matches_scipy_on_each_row():
    from scipy.stats import entropy as scipy_entropy

    t = random_posteriors(50, 4, 0)
    t[0] = [1.0, 0.0, 0.0, 0.0]  # 0 log 0 counts as 0
    assert entropy(t) == pytest.approx(sum(scipy_entropy(row) for row in t))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_merge_leaves_the_least_entropy_of_all_pairs(seed):
    t = random_posteriors(120, 5, seed)
    hierarchy = merge_hierarchy(t)
    for step, groups in enumerate(hierarchy.groups[:-1]):
        # brute force: every pair of current clusters merged, entropy after
        candidates = []
        for a, b in combinations(range(len(groups)), 2):
            merged = [g for j, g in enumerate(groups) if j not in (a, b)]
            merged.append(groups[a] + groups[b])
            candidates.append(entropy(combine_columns(t, tuple(merged))))
        assert hierarchy.entropies[step + 1] == pytest.approx(min(candidates))
        assert hierarchy.entropies[step + 1] == pytest.approx(
            entropy(combine_columns(t, hierarchy.groups[step + 1]))
        )


def test_the_hierarchy_nests_and_ends_in_one_cluster_of_zero_entropy():
    t = random_posteriors(80, 4, 3)
    hierarchy = merge_hierarchy(t)
    assert [len(g) for g in hierarchy.groups] == [4, 3, 2, 1]
    assert hierarchy.groups[-1] == ((0, 1, 2, 3),)
    assert hierarchy.entropies[-1] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(hierarchy.entropies) <= 1e-12)
    for finer, coarser in zip(hierarchy.groups, hierarchy.groups[1:], strict=False):
        # every coarser cluster is a union of finer ones
        for group in coarser:
            assert set(group) == set().union(
                *(set(g) for g in finer if set(g) <= set(group))
            )
    # merged counts: rows of the two merged clusters, at most n each step
    assert np.all((hierarchy.merged_counts >= 0) & (hierarchy.merged_counts <= 80))


def test_combined_probabilities_sum_to_one():
    t = random_posteriors(30, 4, 4)
    combined = combine_columns(t, ((0, 2), (1,), (3,)))
    np.testing.assert_allclose(combined.sum(axis=1), 1.0)
    np.testing.assert_allclose(combined[:, 0], t[:, 0] + t[:, 2])


def test_change_point_of_an_exact_two_segment_line():
    x = np.arange(8.0)
    y = np.where(x <= 3, 30.0 - 9.0 * x, 3.0 - 0.5 * (x - 3))
    change = piecewise_linear_changepoint(x, y)
    assert change.index == 3
    assert change.left == pytest.approx((30.0, -9.0))
    assert change.right == pytest.approx((4.5, -0.5))
    assert change.residual == pytest.approx(0.0, abs=1e-18)


def test_change_point_needs_three_points():
    with pytest.raises(ValueError, match="3 points"):
        piecewise_linear_changepoint(np.arange(2.0), np.arange(2.0))
