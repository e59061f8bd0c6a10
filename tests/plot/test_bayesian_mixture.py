"""The cluster, density and projection plots of a BayesianGaussianMixture."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.patches import Ellipse
from sklearn.exceptions import ConvergenceWarning

from gaussmix import BayesianGaussianMixture, GaussianMixture
from gaussmix.plot import (
    plot_clusters,
    plot_density,
    plot_pairs,
    plot_pca,
    plot_uncertainty,
)
from tests.conftest import DATASETS
from tests.plot.conftest import full_covariance, mahalanobis_radii, renders_png

IRIS = DATASETS["iris"]
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def fitted(covariance_type: str) -> BayesianGaussianMixture:
    model = BayesianGaussianMixture(
        4, covariance_type=covariance_type, max_iter=50, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(IRIS)


def ellipses(ax) -> list:
    return [patch for patch in ax.patches if isinstance(patch, Ellipse)]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_cluster_ellipses_are_the_posterior_covariances(covariance_type):
    model = fitted(covariance_type)
    dims = [2, 0]
    ax = plot_clusters(model, IRIS, dims=dims, n_std=(1.0, 2.0))
    drawn = ellipses(ax)
    assert len(drawn) == 8
    for k in range(4):
        block = full_covariance(model, k)[np.ix_(dims, dims)]
        for ellipse, radius in zip(drawn[2 * k : 2 * k + 2], (1.0, 2.0), strict=True):
            np.testing.assert_allclose(
                mahalanobis_radii(ellipse, model.means_[k, dims], block),
                radius,
                rtol=1e-7,
            )
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), IRIS[:, dims])
    assert renders_png(ax.figure)


def test_uncertainty_density_pairs_and_pca_accept_the_model():
    model = fitted("diag")
    ax = plot_uncertainty(model, IRIS)
    uncertainty = 1.0 - model.predict_proba(IRIS).max(axis=1)
    np.testing.assert_allclose(ax.collections[0].get_array(), uncertainty)
    assert plot_density(model, IRIS).collections or plot_density(model, IRIS).lines
    figure = plot_pairs(model, IRIS)
    assert len(figure.axes) == 16
    assert len(ellipses(plot_pca(model, IRIS))) == 8
    assert renders_png(figure)


@pytest.mark.parametrize("cls", [GaussianMixture, BayesianGaussianMixture])
def test_the_fitted_covariance_type_is_drawn_after_set_params(cls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = cls(3, covariance_type="diag", random_state=0).fit(IRIS)
    expected = [e.get_width() for e in ellipses(plot_clusters(model))]
    model.set_params(covariance_type="full")
    assert [e.get_width() for e in ellipses(plot_clusters(model))] == expected


@pytest.mark.parametrize("plot", [plot_clusters, plot_pca])
def test_min_weight_leaves_out_the_unused_components(plot):
    model = fitted("full")
    threshold = float(np.sort(model.weights_)[1])  # leaves out the lightest two
    ax = plot(model, IRIS, min_weight=threshold)
    kept = np.flatnonzero(model.weights_ > threshold)
    assert len(ellipses(ax)) == 2 * len(kept) == 4
    # the components drawn keep their colours, those of their points
    markers = [line for line in ax.lines if line.get_marker() == "x"]
    all_markers = [line for line in plot(model, IRIS).lines if line.get_marker() == "x"]
    np.testing.assert_array_equal(
        [m.get_color() for m in markers],
        [all_markers[k].get_color() for k in kept],
    )
