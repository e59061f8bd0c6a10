"""Plots of the bootstrap LRT, entropy merges, dimension reduction, 1-D density."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

import gaussmix
from gaussmix import GaussianMixture
from gaussmix.plot import (
    plot_bootstrap_lrt,
    plot_density_1d,
    plot_dimension_reduction,
    plot_merge_entropy,
)
from tests.plot.conftest import renders_png


def test_bootstrap_histogram_and_the_observed_line():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (40, 1)), rng.normal(3, 1, (40, 1))])
    result = gaussmix.bootstrap_lrt(
        X, "VII", max_components=1, n_bootstrap=9, random_state=0
    )
    ax = plot_bootstrap_lrt(result)
    heights = [patch.get_height() for patch in ax.patches]
    assert sum(heights) == 9
    (line,) = ax.lines
    assert line.get_xdata()[0] == pytest.approx(result.statistics[0])
    assert "1 vs 2" in ax.get_xlabel()
    assert renders_png(ax.figure)
    with pytest.raises(ValueError, match="test"):
        plot_bootstrap_lrt(result, test=1)


def test_entropy_panels_draw_the_entropies():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(c, 1, (60, 2)) for c in (-5, 0, 5)])
    merged = gaussmix.merge_components(GaussianMixture(5, random_state=0).fit(X), X)
    fig = plot_merge_entropy(merged)
    left, right = fig.axes
    np.testing.assert_allclose(left.lines[0].get_ydata(), merged.entropies[::-1])
    np.testing.assert_allclose(left.lines[0].get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(right.lines[0].get_xdata(), merged.cumulative_merged)
    # the two fitted segments on each panel
    assert len(right.lines) == 3
    assert renders_png(fig)


def test_dimension_reduction_scatter_is_the_projection():
    X = load_iris().data
    model = GaussianMixture(3, covariance_type="VVV", random_state=0).fit(X)
    dr = gaussmix.dimension_reduction(model)
    ax = plot_dimension_reduction(dr, X)
    np.testing.assert_allclose(
        ax.collections[0].get_offsets(), dr.transform(X, n_directions=2)
    )
    assert renders_png(ax.figure)
    with pytest.raises(ValueError, match="labels"):
        plot_dimension_reduction(dr, X, labels=np.zeros(3))


def test_one_variable_density_integrates_to_one_with_a_rug():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0, 1, 150), rng.normal(5, 0.5, 50)])[:, None]
    model = GaussianMixture(2, random_state=0).fit(x)
    ax = plot_density_1d(model, x, components=True)
    *shares, total = ax.lines
    grid, density = total.get_xdata(), total.get_ydata()
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(np.exp(model.score_samples(grid[:, None])), density)
    np.testing.assert_allclose(sum(s.get_ydata() for s in shares), density)
    (rug,) = ax.collections
    assert len(rug.get_offsets()) == 200
    assert renders_png(ax.figure)


def test_one_variable_density_refuses_two_features():
    X = np.random.default_rng(3).normal(size=(50, 2))
    with pytest.raises(ValueError, match="one feature"):
        plot_density_1d(GaussianMixture(1).fit(X), X)
