"""Views of mixtures with more than two variables: a pairs grid and a PCA plane."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gaussmix._typing import Array
from gaussmix.plot._geometry import mixture_arrays, project, selection
from gaussmix.plot.clusters import (
    DEFAULT_N_STD,
    check_X,
    component_colors,
    component_labels,
    draw_components,
    draw_marginal_density,
    feature_labels,
    new_axes,
    plot_clusters,
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
        Axis labels; None uses the model's ``feature_names_in_`` if any.
    axes : array of matplotlib Axes of shape (n_features, n_features), default=None
        A new figure when None.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix.plot import plot_pairs
    >>> iris = load_iris()
    >>> gmm = GaussianMixture(2, random_state=0).fit(iris.data)
    >>> figure = plot_pairs(gmm, iris.data, feature_names=iris.feature_names)
    """
    weights, means, covariances = mixture_arrays(model)
    n_features = means.shape[1]
    axes = _grid(axes, n_features)
    colors = component_colors(len(weights))
    labels = None
    if X is not None:
        # the model predicts on X as given, so named columns stay named
        labels = model.predict(X)
        X = check_X(X, n_features)
    names = feature_labels(model, feature_names, n_features)
    for i in range(n_features):
        for j in range(n_features):
            ax = axes[i, j]
            if i == j:
                column = None if X is None else X[:, [i]]
                draw_marginal_density(ax, weights, means, covariances, i, column)
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
    ellipses are exactly those of the projected components. A legend names
    each component and its weight. One-variable data has no second
    component: it is drawn as :func:`plot_clusters` draws one variable.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features)
        Sets the principal components (scikit-learn's PCA, centred, not
        whitened).
    n_std : sequence of float, default=(1.0, 2.0)
    ax : matplotlib Axes, default=None
    min_weight : float, default=None
        Draw the ellipses of the components whose weight exceeds this only;
        None draws every component.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix.plot import plot_pca
    >>> X = load_iris().data
    >>> ax = plot_pca(GaussianMixture(3, random_state=0).fit(X), X)
    """
    from sklearn.decomposition import PCA

    weights, means, covariances = mixture_arrays(model)
    labels = model.predict(X)
    X_checked = check_X(X, means.shape[1])
    if X_checked.shape[1] < 2:
        return plot_clusters(model, X, ax=ax, min_weight=min_weight)
    pca = PCA(n_components=2).fit(X_checked)
    basis = pca.components_.T
    ax = new_axes(ax)
    colors = component_colors(len(weights))
    scatter_labelled(ax, (X_checked - pca.mean_) @ basis, labels, colors)
    centres, blocks = project(means, covariances, basis, pca.mean_)
    shown = shown_components(weights, min_weight)
    draw_components(
        ax,
        centres[shown],
        blocks[shown],
        colors[shown],
        n_std,
        labels=component_labels(weights)[shown],
    )
    ax.legend(fontsize="small", title="Component")
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
