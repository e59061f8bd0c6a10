"""Views of mixtures with more than two variables: a pairs grid and a PCA plane."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gaussmix._typing import Array
from gaussmix.plot._geometry import grid_extent, mixture_arrays, project, selection
from gaussmix.plot.clusters import (
    DEFAULT_N_STD,
    check_X,
    component_colors,
    draw_components,
    new_axes,
    projected_mixture,
    scatter_labelled,
    shown_components,
)


def plot_pairs(
    model: Any,
    X: Array | None = None,
    *,
    n_std: Sequence[float] = DEFAULT_N_STD,
    feature_names: Sequence[str] | None = None,
    axes: Any = None,
) -> Any:
    """Every pair of variables, with the ellipses of the marginal mixtures.

    Panel ``(i, j)`` off the diagonal shows variable ``j`` against variable
    ``i`` with the covariance ellipses of the mixture's marginal over the
    two; panel ``(i, i)`` shows the marginal density of variable ``i`` (and
    each component's weighted share), over a histogram of the rows.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features), default=None
        Rows coloured by ``model.predict(X)``.
    n_std : sequence of float, default=(1.0, 2.0)
    feature_names : sequence of str, default=None
    axes : array of matplotlib Axes of shape (n_features, n_features), default=None
        A new figure when None.

    Returns
    -------
    matplotlib Figure
    """
    weights, means, covariances = mixture_arrays(model)
    n_features = means.shape[1]
    axes = _grid(axes, n_features)
    colors = component_colors(len(weights))
    labels = None
    if X is not None:
        X = check_X(X, n_features)
        labels = model.predict(X)
    names = (
        [f"x{d}" for d in range(n_features)]
        if feature_names is None
        else [str(name) for name in feature_names]
    )
    for i in range(n_features):
        for j in range(n_features):
            ax = axes[i, j]
            if i == j:
                column = None if X is None else X[:, i]
                _draw_marginal_density(ax, weights, means, covariances, i, column)
            else:
                if X is not None:
                    scatter_labelled(ax, X[:, [j, i]], labels, colors)
                basis = selection((j, i), n_features)
                centres, blocks = project(means, covariances, basis)
                draw_components(ax, centres, blocks, colors, n_std)
            if i == n_features - 1:
                ax.set_xlabel(names[j])
            if j == 0:
                ax.set_ylabel(names[i])
    return axes[0, 0].figure


def plot_pca(
    model: Any,
    X: Array,
    *,
    n_std: Sequence[float] = DEFAULT_N_STD,
    ax: Any = None,
    min_weight: float | None = None,
) -> Any:
    """Rows and component ellipses on the first two principal components of X.

    The projection of a Gaussian mixture is a Gaussian mixture, so the
    ellipses are exactly those of the projected components.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features)
        Sets the principal components (scikit-learn's PCA, centred, not
        whitened); at least two features.
    n_std : sequence of float, default=(1.0, 2.0)
    ax : matplotlib Axes, default=None
    min_weight : float, default=None
        Draw the ellipses of the components whose weight exceeds this only;
        None draws every component.

    Returns
    -------
    matplotlib Axes
    """
    from sklearn.decomposition import PCA

    weights, means, covariances = mixture_arrays(model)
    X = check_X(X, means.shape[1])
    if X.shape[1] < 2:
        raise ValueError("plot_pca needs at least two features; use plot_pairs.")
    pca = PCA(n_components=2).fit(X)
    basis = pca.components_.T
    ax = new_axes(ax)
    colors = component_colors(len(weights))
    scatter_labelled(ax, (X - pca.mean_) @ basis, model.predict(X), colors)
    centres, blocks = project(means, covariances, basis, pca.mean_)
    shown = shown_components(weights, min_weight)
    draw_components(ax, centres[shown], blocks[shown], colors[shown], n_std)
    share = 100 * pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({share[0]:.1f}% of variance)")
    ax.set_ylabel(f"PC2 ({share[1]:.1f}% of variance)")
    return ax


def _grid(axes: Any, n_features: int) -> np.ndarray:
    if axes is None:
        import matplotlib.pyplot as plt

        size = 2.4 * n_features + 0.6
        _, axes = plt.subplots(
            n_features, n_features, figsize=(size, size), squeeze=False
        )
    axes = np.asarray(axes, dtype=object)
    if axes.shape != (n_features, n_features):
        raise ValueError(
            f"axes must be a ({n_features}, {n_features}) grid for "
            f"{n_features} variables, got shape {axes.shape}."
        )
    return axes


def _draw_marginal_density(
    ax: Any,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    dim: int,
    column: np.ndarray | None,
) -> None:
    marginal = projected_mixture(
        weights, means, covariances, selection([dim], means.shape[1])
    )
    if column is not None:
        ax.hist(column, bins="auto", density=True, color="0.85")
    points = None if column is None else column[:, None]
    low, high = grid_extent(points, marginal.means_, marginal.covariances_)
    grid = np.linspace(low[0], high[0], 200)[:, None]
    density = np.exp(marginal.score_samples(grid))
    shares = marginal.predict_proba(grid) * density[:, None]
    colors = component_colors(len(weights))
    for k in range(len(weights)):
        ax.plot(grid[:, 0], shares[:, k], color=colors[k], linewidth=1.0)
    ax.plot(grid[:, 0], density, color="black", linewidth=1.5)
