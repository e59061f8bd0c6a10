"""Pairs grid and principal-component view of mixtures with many variables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Ellipse
from scipy.stats import norm
from sklearn.decomposition import PCA

from gaussmix import GaussianMixture
from gaussmix.plot import plot_pairs, plot_pca
from tests.conftest import DATASETS
from tests.plot.conftest import full_covariance, mahalanobis_radii, renders_png

BLOBS = DATASETS["blobs"]
IRIS = DATASETS["iris"]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_pairs_panels_hold_the_marginal_ellipses(covariance_type):
    model = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(
        BLOBS
    )
    fig = plot_pairs(model, BLOBS, n_std=(2.0,))
    axes = np.array(fig.axes).reshape(3, 3)
    for i in range(3):
        for j in range(3):
            if i == j:
                continue
            ellipses = [p for p in axes[i, j].patches if isinstance(p, Ellipse)]
            assert len(ellipses) == 4
            for k, ellipse in enumerate(ellipses):
                block = full_covariance(model, k)[np.ix_([j, i], [j, i])]
                radii = mahalanobis_radii(ellipse, model.means_[k, [j, i]], block)
                np.testing.assert_allclose(radii, 2.0, rtol=1e-7)
    assert renders_png(fig)


def test_pairs_diagonal_is_the_marginal_density():
    model = GaussianMixture(3, covariance_type="full", random_state=0).fit(IRIS)
    fig = plot_pairs(model, IRIS)
    axes = np.array(fig.axes).reshape(4, 4)
    for i in range(4):
        total = axes[i, i].lines[-1]
        x, drawn = total.get_xdata(), total.get_ydata()
        expected = sum(
            w * norm(m[i], np.sqrt(full_covariance(model, k)[i, i])).pdf(x)
            for k, (w, m) in enumerate(zip(model.weights_, model.means_, strict=True))
        )
        np.testing.assert_allclose(drawn, expected, rtol=1e-9)
        shares = sum(line.get_ydata() for line in axes[i, i].lines[:-1])
        np.testing.assert_allclose(shares, drawn, rtol=1e-9)


def test_pairs_of_one_variable_is_its_density():
    X = IRIS[:, :1]
    model = GaussianMixture(2, random_state=0).fit(X)
    fig = plot_pairs(model, X, feature_names=["sepal length"])
    assert len(fig.axes) == 1
    assert fig.axes[0].get_xlabel() == "sepal length"
    assert renders_png(fig)


def test_pairs_needs_a_square_grid():
    model = GaussianMixture(2, random_state=0).fit(BLOBS)
    _, axes = plt.subplots(2, 2)
    with pytest.raises(ValueError, match=r"\(3, 3\) grid"):
        plot_pairs(model, BLOBS, axes=axes)


def test_pca_view_projects_the_components_exactly():
    model = GaussianMixture(3, covariance_type="diag", random_state=0).fit(IRIS)
    ax = plot_pca(model, IRIS, n_std=(1.0,))
    pca = PCA(n_components=2).fit(IRIS)
    np.testing.assert_allclose(
        ax.collections[0].get_offsets(), pca.transform(IRIS), atol=1e-10
    )
    W = pca.components_.T
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    for k, ellipse in enumerate(ellipses):
        mean = pca.transform(model.means_[k : k + 1])[0]
        covariance = W.T @ full_covariance(model, k) @ W
        np.testing.assert_allclose(
            mahalanobis_radii(ellipse, mean, covariance), 1.0, rtol=1e-7
        )
    assert "PC1" in ax.get_xlabel()
    assert renders_png(ax.figure)


def test_pca_of_one_variable_is_its_density_view():
    X = IRIS[:, :1]
    model = GaussianMixture(2, random_state=0).fit(X)
    ax = plot_pca(model, X)
    assert ax.get_ylabel() == "density"
    assert [line.get_label() for line in ax.get_lines()][-1] == "mixture"
