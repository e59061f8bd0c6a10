"""The cluster and density plots of a StudentMixture draw its scale matrices."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.patches import Ellipse

from gaussmix import StudentMixture
from gaussmix.plot import plot_clusters, plot_density
from tests.conftest import DATASETS
from tests.plot.conftest import full_covariance, mahalanobis_radii, renders_png

IRIS = DATASETS["iris"]


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_cluster_ellipses_are_the_scale_matrices(covariance_type):
    model = StudentMixture(3, covariance_type=covariance_type, random_state=0)
    model.fit(IRIS)
    dims = [2, 3]
    ax = plot_clusters(model, IRIS, dims=dims, n_std=(1.0,))
    drawn = [patch for patch in ax.patches if isinstance(patch, Ellipse)]
    assert len(drawn) == 3
    for k, ellipse in enumerate(drawn):
        block = full_covariance(model, k)[np.ix_(dims, dims)]
        np.testing.assert_allclose(
            mahalanobis_radii(ellipse, model.means_[k, dims], block), 1.0, rtol=1e-7
        )
    assert renders_png(ax.figure)
    density = plot_density(model, IRIS, dims=dims)
    assert density.collections
