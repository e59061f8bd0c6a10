"""Ellipse geometry, clusters, density contours and uncertainty plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Ellipse
from scipy.stats import multivariate_normal
from sklearn.exceptions import NotFittedError

from gaussmix import GaussianMixture
from gaussmix.plot import (
    covariance_ellipse,
    plot_clusters,
    plot_density,
    plot_uncertainty,
)
from tests.conftest import DATASETS
from tests.plot.conftest import full_covariance, mahalanobis_radii, renders_png

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
IRIS = DATASETS["iris"]
BLOBS = DATASETS["blobs"]


def rotation(theta: float) -> np.ndarray:
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


@pytest.mark.parametrize("n_std", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("theta", [0.0, 0.4, 1.9, -2.5])
def test_ellipse_axes_follow_the_eigen_decomposition(theta, n_std):
    major, minor = 3.0, 0.5
    R = rotation(theta)
    covariance = R @ np.diag([major**2, minor**2]) @ R.T
    ellipse = covariance_ellipse([1.0, -2.0], covariance, n_std)
    assert ellipse.width == pytest.approx(2 * n_std * major)
    assert ellipse.height == pytest.approx(2 * n_std * minor)
    direction = np.array(
        [np.cos(np.radians(ellipse.angle)), np.sin(np.radians(ellipse.angle))]
    )
    assert abs(direction @ R[:, 0]) == pytest.approx(1.0)
    radii = mahalanobis_radii(ellipse, [1.0, -2.0], covariance)
    np.testing.assert_allclose(radii, n_std, rtol=1e-9)


def test_ellipse_of_a_nearly_singular_covariance_is_finite():
    ellipse = covariance_ellipse([0.0, 0.0], np.diag([1.0, 1e-300]), 2.0)
    assert np.isfinite([ellipse.width, ellipse.height, ellipse.angle]).all()
    assert ellipse.width == pytest.approx(4.0)


def drawn_ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_cluster_ellipses_are_the_marginal_covariances(covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        IRIS
    )
    dims = [3, 1]
    ax = plot_clusters(model, IRIS, dims=dims, n_std=(1.0, 2.0))
    ellipses = drawn_ellipses(ax)
    assert len(ellipses) == 6
    for k in range(3):
        block = full_covariance(model, k)[np.ix_(dims, dims)]
        mean = model.means_[k, dims]
        for ellipse, n_std in zip(ellipses[2 * k : 2 * k + 2], (1.0, 2.0), strict=True):
            np.testing.assert_allclose(
                mahalanobis_radii(ellipse, mean, block), n_std, rtol=1e-7
            )
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(offsets, IRIS[:, dims])
    assert renders_png(ax.figure)


def test_points_take_their_component_colour():
    model = GaussianMixture(3, random_state=0).fit(IRIS)
    ax = plot_clusters(model, IRIS)
    colors = ax.collections[0].get_facecolors()
    labels = model.predict(IRIS)
    for k in range(3):
        members = colors[labels == k]
        assert (members == members[0]).all()
        assert not np.allclose(members[0], colors[labels != k][0])


def test_clusters_without_data_draw_the_components():
    model = GaussianMixture.from_params(
        [0.5, 0.5], [[0.0, 0.0], [5.0, 5.0]], [np.eye(2), np.diag([4.0, 0.25])]
    )
    ax = plot_clusters(model, n_std=(1.5,))
    assert len(drawn_ellipses(ax)) == 2
    low, high = ax.get_xlim()
    assert low < -1.5 and high > 5.0 + 3.0


def marginal_log_density(model, dims, points):
    density = sum(
        w
        * multivariate_normal(
            m[dims], full_covariance(model, k)[np.ix_(dims, dims)]
        ).pdf(points)
        for k, (w, m) in enumerate(zip(model.weights_, model.means_, strict=True))
    )
    return np.log(density)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_density_contours_lie_on_their_levels(covariance_type):
    model = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(
        BLOBS
    )
    dims = [0, 2]
    ax = plot_density(model, BLOBS, dims=dims, levels=6, grid_size=200)
    contours = ax.collections[-1]
    n_checked = 0
    for level, segments in zip(contours.levels, contours.allsegs, strict=True):
        for segment in segments:
            values = marginal_log_density(model, dims, segment)
            np.testing.assert_allclose(values, level, rtol=1e-3, atol=0.02)
            n_checked += len(segment)
    assert n_checked > 100
    assert renders_png(ax.figure)


def test_uncertainty_is_one_minus_the_largest_posterior():
    model = GaussianMixture(4, covariance_type="diag", random_state=0).fit(BLOBS)
    ax = plot_uncertainty(model, BLOBS, dims=(1, 2))
    drawn = ax.collections[0].get_array()
    joint = np.column_stack(
        [
            w * multivariate_normal(m, full_covariance(model, k)).pdf(BLOBS)
            for k, (w, m) in enumerate(zip(model.weights_, model.means_, strict=True))
        ]
    )
    expected = 1 - joint.max(axis=1) / joint.sum(axis=1)
    np.testing.assert_allclose(drawn, expected, atol=1e-9)
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), BLOBS[:, [1, 2]])
    assert renders_png(ax.figure)


def test_plots_draw_on_the_given_axes():
    model = GaussianMixture(3, random_state=0).fit(IRIS)
    fig, axes = plt.subplots(1, 3)
    assert plot_clusters(model, IRIS, ax=axes[0]) is axes[0]
    assert plot_density(model, IRIS, ax=axes[1]) is axes[1]
    assert plot_uncertainty(model, IRIS, ax=axes[2]) is axes[2]
    assert renders_png(fig)


@pytest.mark.parametrize("dims", [(0, 0), (0, 4), (0, 1, 2), (0.5, 1), ("petal", 1)])
def test_bad_dims_are_refused(dims):
    model = GaussianMixture(2, random_state=0).fit(IRIS)
    with pytest.raises(ValueError, match="dims must be one variable or two distinct"):
        plot_clusters(model, IRIS, dims=dims)


def test_data_of_another_width_is_refused():
    model = GaussianMixture(2, random_state=0).fit(IRIS)
    with pytest.raises(ValueError, match="X has 3 features but the mixture has 4"):
        plot_density(model, IRIS[:, :3])


def test_an_unfitted_model_is_refused():
    with pytest.raises(NotFittedError):
        plot_clusters(GaussianMixture(2), IRIS)


def test_noise_rows_are_grey_and_the_others_their_component_colour():
    from gaussmix.plot.clusters import NOISE_COLOR, component_colors

    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((200, 2)), rng.uniform(-30, 30, (20, 2))])
    model = GaussianMixture(1, noise=True, random_state=0).fit(X)
    labels = model.predict(X)
    assert (labels == -1).any() and (labels == 0).any()
    ax = plot_clusters(model, X)
    colours = ax.collections[0].get_facecolors()
    grey = np.all(np.isclose(colours[:, :3], NOISE_COLOR[:3]), axis=1)
    np.testing.assert_array_equal(grey, labels == -1)
    first = component_colors(1)[0]
    assert np.allclose(colours[labels == 0, :3], first[:3])
