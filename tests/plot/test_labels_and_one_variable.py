"""Names on the axes, dims by name, one-variable views, legends and colour bars."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection

from gaussmix import GaussianMixture, select_model
from gaussmix.plot import (
    plot_bic,
    plot_clusters,
    plot_density,
    plot_pairs,
    plot_pca,
    plot_uncertainty,
)
from tests.conftest import DATASETS
from tests.plot.conftest import renders_png

pa = pytest.importorskip("pyarrow")

IRIS = DATASETS["iris"]
NAMES = ["sepal length", "sepal width", "petal length", "petal width"]


@pytest.fixture(scope="module")
def named():
    """A model fitted on named columns, and those columns."""
    table = pa.table({name: IRIS[:, j] for j, name in enumerate(NAMES)})
    model = GaussianMixture(3, random_state=0).fit(table)
    assert list(model.feature_names_in_) == NAMES
    return model, table


@pytest.fixture(scope="module")
def one_variable():
    X = np.concatenate([IRIS[:50, 2], IRIS[50:, 2]])[:, None]
    return GaussianMixture(2, random_state=0).fit(X), X


def test_axes_are_labelled_with_the_models_feature_names_without_warnings(named):
    model, table = named
    with warnings.catch_warnings():
        # "X does not have valid feature names" would be a UserWarning
        warnings.simplefilter("error")
        clusters = plot_clusters(model, table, dims=(2, 3))
        density = plot_density(model, table)
        uncertainty = plot_uncertainty(model, table, dims=(0, 2))
        pairs = plot_pairs(model, table)
        pca = plot_pca(model, table)
    assert (clusters.get_xlabel(), clusters.get_ylabel()) == tuple(NAMES[2:])
    assert (density.get_xlabel(), density.get_ylabel()) == tuple(NAMES[:2])
    assert uncertainty.get_xlabel() == NAMES[0]
    assert uncertainty.get_ylabel() == NAMES[2]
    assert [ax.get_xlabel() for ax in pairs.axes[12:16]] == NAMES
    assert "PC1" in pca.get_xlabel()


def test_dims_take_feature_names(named):
    model, table = named
    by_name = plot_clusters(model, table, dims=("petal length", "petal width"))
    by_index = plot_clusters(model, table, dims=(2, 3))
    np.testing.assert_array_equal(
        by_name.collections[0].get_offsets(), by_index.collections[0].get_offsets()
    )
    np.testing.assert_array_equal(by_name.collections[0].get_offsets(), IRIS[:, 2:])
    ax = plot_clusters(
        GaussianMixture(2, random_state=0).fit(IRIS),
        IRIS,
        dims=("b", "d"),
        feature_names=["a", "b", "c", "d"],
    )
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("b", "d")
    with pytest.raises(ValueError, match="names among"):
        plot_clusters(model, table, dims=("petal length", "petals"))


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_one_variable_clusters_are_a_histogram_under_the_density(one_variable):
    model, X = one_variable
    ax = plot_clusters(model, X)
    lines = _lines(ax)
    grid = lines["mixture"].get_xdata()
    density = np.exp(model.score_samples(grid[:, None]))
    np.testing.assert_allclose(lines["mixture"].get_ydata(), density, rtol=1e-10)
    parts = [
        lines[f"{k} (weight {w:.2f})"].get_ydata() for k, w in enumerate(model.weights_)
    ]
    np.testing.assert_allclose(np.sum(parts, axis=0), density, rtol=1e-10)
    heights = [patch.get_height() for patch in ax.patches]
    widths = [patch.get_width() for patch in ax.patches]
    assert len(heights) > 3
    assert np.dot(heights, widths) == pytest.approx(1.0)
    rug = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(rug) == 1 and len(rug[0].get_offsets()) == len(X)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x0", "density")
    assert ax.get_legend() is not None
    assert renders_png(ax.figure)


def test_every_plot_draws_one_variable(one_variable):
    model, X = one_variable
    density = plot_density(model, X)
    assert "mixture" in _lines(density)
    uncertainty = plot_uncertainty(model, X)
    offsets = uncertainty.collections[0].get_offsets()
    expected = 1.0 - model.predict_proba(X).max(axis=1)
    np.testing.assert_allclose(offsets[:, 1], expected)
    assert uncertainty.get_ylabel().startswith("uncertainty")
    pairs = plot_pairs(model, X)
    assert "x0" == pairs.axes[0].get_xlabel()
    assert plot_pca(model, X).get_ylabel() == "density"
    # one variable of many: the marginal's one-variable view
    wide = GaussianMixture(2, random_state=0).fit(IRIS)
    ax = plot_clusters(wide, IRIS, dims=2, feature_names=NAMES)
    assert ax.get_xlabel() == "petal length"
    for figure in {density.figure, uncertainty.figure, pairs, ax.figure}:
        assert renders_png(figure)


def test_density_has_a_colour_bar_and_twenty_levels():
    model = GaussianMixture(3, random_state=0).fit(IRIS)
    fig, ax = plt.subplots()
    plot_density(model, IRIS, ax=ax)
    assert len(fig.axes) == 2
    assert fig.axes[1].get_ylabel() == "log-density"
    contours = [c for c in ax.collections if hasattr(c, "levels")]
    assert len(contours) == 1 and len(contours[0].levels) >= 15


@pytest.mark.parametrize("plot", [plot_clusters, plot_pca])
def test_cluster_plots_have_a_legend_of_components_and_weights(plot):
    model = GaussianMixture(3, random_state=0).fit(IRIS)
    legend = plot(model, IRIS).get_legend()
    assert legend is not None
    texts = [text.get_text() for text in legend.get_texts()]
    assert texts == [f"{k} (weight {w:.2f})" for k, w in enumerate(model.weights_)]


def test_bic_plot_is_lower_is_better_by_default():
    result = select_model(IRIS[:80, :2], [1, 2], ["EII", "VVV"])
    ax = plot_bic(result)
    assert ax.get_ylabel() == "BIC (lower is better)"
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), result.bic[1])
