"""Bars of the sorted component weights, with the threshold line."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from gaussmix import BayesianGaussianMixture, GaussianMixture
from gaussmix.plot import plot_weights
from tests.conftest import DATASETS
from tests.plot.conftest import renders_png

IRIS = DATASETS["iris"]


@pytest.fixture(scope="module")
def bayesian():
    """A Dirichlet-process mixture of iris with surplus components."""
    model = BayesianGaussianMixture(
        8, weight_concentration_prior=1e-2, max_iter=200, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(IRIS)


def bar_heights(ax) -> np.ndarray:
    return np.array([bar.get_height() for bar in ax.patches])


def threshold_lines(ax) -> list:
    return [line for line in ax.lines if line.get_linestyle() == "--"]


def test_bars_are_the_sorted_weights_with_their_component_indices(bayesian):
    ax = plot_weights(bayesian)
    order = np.argsort(-bayesian.weights_, kind="stable")
    assert len(ax.patches) == 8
    np.testing.assert_array_equal(bar_heights(ax), bayesian.weights_[order])
    assert np.all(np.diff(bar_heights(ax)) <= 0)
    np.testing.assert_array_equal([bar.get_x() + 0.4 for bar in ax.patches], range(8))
    labels = [tick.get_text() for tick in ax.get_xticklabels()]
    assert labels == [str(k) for k in order]
    assert ax.get_xlabel() == "component (by decreasing weight)"
    assert ax.get_ylabel() == "weight"
    assert renders_png(ax.figure)


@pytest.mark.parametrize("threshold", [0.01, 0.2, 0.0])
def test_threshold_line_and_count_match_effective_n_components(bayesian, threshold):
    ax = plot_weights(bayesian, threshold=threshold)
    (line,) = threshold_lines(ax)
    np.testing.assert_array_equal(line.get_ydata(), [threshold, threshold])
    count = bayesian.effective_n_components(threshold)
    assert f"threshold {threshold:g}: {count} component" in line.get_label()
    # the components counted are the coloured bars, the others are grey
    colors = [bar.get_facecolor() for bar in ax.patches]
    grey = to_rgba("0.7")
    assert [c != grey for c in colors] == [True] * count + [False] * (8 - count)


def test_the_surplus_components_of_a_dirichlet_process_fall_below_it(bayesian):
    ax = plot_weights(bayesian, threshold=0.01)
    heights = bar_heights(ax)
    assert 2 <= bayesian.effective_n_components(0.01) < 8
    assert heights[-1] < 0.01 < heights[0]


def test_log_scale_shows_tiny_weights(bayesian):
    ax = plot_weights(bayesian, log=True)
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    assert low <= min(bayesian.weights_.min(), 0.01) and high >= 1.0
    np.testing.assert_array_equal(bar_heights(ax), np.sort(bayesian.weights_)[::-1])
    assert renders_png(ax.figure)


def test_works_for_a_gaussian_mixture_on_given_axes():
    model = GaussianMixture(3, random_state=0).fit(IRIS)
    _, ax = plt.subplots()
    assert plot_weights(model, threshold=None, ax=ax) is ax
    np.testing.assert_array_equal(bar_heights(ax), np.sort(model.weights_)[::-1])
    assert threshold_lines(ax) == []
    assert ax.get_legend() is None


@pytest.mark.parametrize("threshold", [-0.1, 1.0, "0.1", True, float("nan")])
def test_bad_thresholds_are_refused(bayesian, threshold):
    with pytest.raises(ValueError, match="threshold must be a weight in"):
        plot_weights(bayesian, threshold=threshold)


def test_an_unfitted_model_is_refused():
    with pytest.raises(NotFittedError):
        plot_weights(BayesianGaussianMixture(3))
