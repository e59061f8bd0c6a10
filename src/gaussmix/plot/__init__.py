"""Plots of fitted mixtures (matplotlib, imported when a plot is drawn).

Each function draws on the ``ax`` it is given (a new figure when None) and
returns its Axes, or its Figure for grids.
"""

from gaussmix.plot.clusters import (
    covariance_ellipse,
    plot_clusters,
    plot_density,
    plot_uncertainty,
)
from gaussmix.plot.curves import plot_bic_curve
from gaussmix.plot.diagnostics import (
    plot_bootstrap_lrt,
    plot_density_1d,
    plot_dimension_reduction,
    plot_merge_entropy,
)
from gaussmix.plot.projections import plot_pairs, plot_pca
from gaussmix.plot.selection import plot_bic
from gaussmix.plot.weights import plot_weights

__all__ = [
    "covariance_ellipse",
    "plot_bic",
    "plot_bic_curve",
    "plot_bootstrap_lrt",
    "plot_clusters",
    "plot_density",
    "plot_density_1d",
    "plot_dimension_reduction",
    "plot_merge_entropy",
    "plot_pairs",
    "plot_pca",
    "plot_uncertainty",
    "plot_weights",
]
