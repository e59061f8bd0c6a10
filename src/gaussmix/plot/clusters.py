"""Pictures of a fitted mixture: clusters, ellipses, density, pairs, PCA, uncertainty.

Every function takes a fitted mixture with ``weights_``, ``means_``,
``covariances_`` and ``covariance_type`` (any registered covariance family),
draws on the given ``ax`` (a new figure when None) and returns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils import check_array

from gaussmix._typing import Array
from gaussmix.plot._geometry import (
    check_dims,
    ellipse_geometry,
    grid_extent,
    mixture_arrays,
    project,
    selection,
)

DEFAULT_N_STD = (1.0, 2.0)


def covariance_ellipse(
    mean: Array, covariance: Array, n_std: float = 1.0, **patch_kwargs: Any
) -> Any:
    """The ellipse of points ``n_std`` standard deviations from a 2-D Gaussian.

    Parameters
    ----------
    mean : array-like of shape (2,)
    covariance : array-like of shape (2, 2)
    n_std : float, default=1.0
        Mahalanobis radius: the axes are ``2 * n_std * sqrt(eigenvalue)``
        along the covariance's eigenvectors.
    **patch_kwargs
        Passed to :class:`matplotlib.patches.Ellipse` (``fill=False`` unless
        given).

    Returns
    -------
    matplotlib.patches.Ellipse
    """
    from matplotlib.patches import Ellipse

    width, height, angle = ellipse_geometry(covariance, n_std)
    patch_kwargs.setdefault("fill", False)
    return Ellipse(
        tuple(np.asarray(mean, dtype=float)), width, height, angle=angle, **patch_kwargs
    )


def plot_clusters(
    model: Any,
    X: Array | None = None,
    *,
    dims: Sequence[int] = (0, 1),
    n_std: Sequence[float] = DEFAULT_N_STD,
    feature_names: Sequence[str] | None = None,
    ax: Any = None,
    min_weight: float | None = None,
) -> Any:
    """Rows coloured by component, with each component's covariance ellipses.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features), default=None
        Rows to scatter, coloured by ``model.predict(X)``; None draws the
        components only.
    dims : pair of int, default=(0, 1)
        The variables on the x and y axes; the ellipses are those of the
        mixture's marginal over them.
    n_std : sequence of float, default=(1.0, 2.0)
        Mahalanobis radii of the ellipses drawn per component.
    feature_names : sequence of str, default=None
        Axis labels.
    ax : matplotlib Axes, default=None
    min_weight : float, default=None
        Draw the ellipses of the components whose weight exceeds this only
        (such as the components a BayesianGaussianMixture uses); None draws
        every component. Colours stay those of all the components.

    Returns
    -------
    matplotlib Axes
    """
    weights, means, covariances = mixture_arrays(model)
    x_dim, y_dim = check_dims(dims, means.shape[1])
    ax = new_axes(ax)
    colors = component_colors(len(weights))
    if X is not None:
        X = check_X(X, means.shape[1])
        scatter_labelled(ax, X[:, [x_dim, y_dim]], model.predict(X), colors)
    basis = selection((x_dim, y_dim), means.shape[1])
    centres, blocks = project(means, covariances, basis)
    shown = shown_components(weights, min_weight)
    draw_components(ax, centres[shown], blocks[shown], colors[shown], n_std)
    label_axes(ax, feature_names, (x_dim, y_dim))
    return ax


def plot_density(
    model: Any,
    X: Array | None = None,
    *,
    dims: Sequence[int] = (0, 1),
    levels: int | Sequence[float] = 12,
    grid_size: int = 150,
    feature_names: Sequence[str] | None = None,
    ax: Any = None,
) -> Any:
    """Contours of the log-density of the mixture's marginal over ``dims``.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features), default=None
        Rows drawn as small points; they also set the extent of the grid.
    dims : pair of int, default=(0, 1)
    levels : int or sequence of float, default=12
        Number of contour levels, or the log-density values to draw.
    grid_size : int, default=150
        Grid points per axis.
    feature_names : sequence of str, default=None
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib Axes
        Its ``collections``/``contour`` artists hold the contour set.
    """
    weights, means, covariances = mixture_arrays(model)
    x_dim, y_dim = check_dims(dims, means.shape[1])
    ax = new_axes(ax)
    basis = selection((x_dim, y_dim), means.shape[1])
    marginal = projected_mixture(weights, means, covariances, basis)
    points = None
    if X is not None:
        points = check_X(X, means.shape[1])[:, [x_dim, y_dim]]
        ax.scatter(
            points[:, 0], points[:, 1], s=4, color="0.4", alpha=0.5, linewidths=0
        )
    low, high = grid_extent(points, marginal.means_, marginal.covariances_)
    xs = np.linspace(low[0], high[0], grid_size)
    ys = np.linspace(low[1], high[1], grid_size)
    xx, yy = np.meshgrid(xs, ys)
    log_density = marginal.score_samples(np.column_stack([xx.ravel(), yy.ravel()]))
    ax.contour(
        xx,
        yy,
        log_density.reshape(xx.shape),
        levels=levels,
        cmap="viridis",
        linewidths=1.0,
    )
    label_axes(ax, feature_names, (x_dim, y_dim))
    return ax


def plot_uncertainty(
    model: Any,
    X: Array,
    *,
    dims: Sequence[int] = (0, 1),
    feature_names: Sequence[str] | None = None,
    ax: Any = None,
) -> Any:
    """Rows coloured and sized by their classification uncertainty.

    The uncertainty of a row is ``1 - max_k p(k | x)``: zero where one
    component claims the row, up to ``1 - 1/K`` where all claim it equally.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features)
    dims : pair of int, default=(0, 1)
    feature_names : sequence of str, default=None
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib Axes
    """
    _, means, _ = mixture_arrays(model)
    x_dim, y_dim = check_dims(dims, means.shape[1])
    X = check_X(X, means.shape[1])
    uncertainty = 1.0 - model.predict_proba(X).max(axis=1)
    ax = new_axes(ax)
    largest = max(float(uncertainty.max()), np.finfo(float).tiny)
    points = ax.scatter(
        X[:, x_dim],
        X[:, y_dim],
        c=uncertainty,
        s=6 + 60 * uncertainty / largest,
        cmap="viridis",
        vmin=0.0,
        linewidths=0,
    )
    ax.figure.colorbar(points, ax=ax, label="uncertainty 1 - max p(k|x)")
    label_axes(ax, feature_names, (x_dim, y_dim))
    return ax


def scatter_labelled(
    ax: Any, points: np.ndarray, labels: np.ndarray, colors: np.ndarray
) -> None:
    """2-D points in the colour of their component; noise rows (label -1) grey."""
    labels = np.asarray(labels)
    rgba = np.asarray(colors)[np.maximum(labels, 0)].copy()
    rgba[labels < 0] = NOISE_COLOR
    ax.scatter(points[:, 0], points[:, 1], c=rgba, s=12, alpha=0.7, linewidths=0)


#: The colour of the rows a noise component explains best (RGBA grey).
NOISE_COLOR = (0.6, 0.6, 0.6, 1.0)


def draw_components(
    ax: Any,
    means: np.ndarray,
    covariances: np.ndarray,
    colors: np.ndarray,
    n_std: Sequence[float] = DEFAULT_N_STD,
) -> None:
    """Ellipses and a mean marker per 2-D component, one colour each."""
    for mean, covariance, color in zip(means, covariances, colors, strict=True):
        for radius in n_std:
            ax.add_patch(
                covariance_ellipse(
                    mean, covariance, radius, edgecolor=color, linewidth=1.5
                )
            )
        ax.plot(*mean, marker="x", color=color, markersize=8, linestyle="none")
    ax.autoscale_view()


def projected_mixture(
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    basis: np.ndarray,
    offset: np.ndarray | None = None,
) -> Any:
    """The mixture of ``(x - offset) @ basis`` as a fitted GaussianMixture."""
    from gaussmix.models import GaussianMixture

    centres, blocks = project(means, covariances, basis, offset)
    return GaussianMixture.from_params(weights, centres, blocks, "full")


def shown_components(weights: np.ndarray, min_weight: float | None) -> np.ndarray:
    """The mask of the components to draw: weight above ``min_weight``."""
    if min_weight is None:
        return np.ones(len(weights), dtype=bool)
    return weights > min_weight


def component_colors(n_components: int) -> np.ndarray:
    """One RGBA colour per component: tab10 up to ten, viridis beyond."""
    import matplotlib

    if n_components <= 10:
        return matplotlib.colormaps["tab10"](np.arange(n_components))
    return matplotlib.colormaps["viridis"](np.linspace(0, 1, n_components))


def new_axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def check_X(X: Array, n_features: int) -> np.ndarray:
    X = check_array(X, dtype=[np.float64, np.float32])
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features but the mixture has {n_features}."
        )
    return X


def label_axes(
    ax: Any, feature_names: Sequence[str] | None, dims: Sequence[int]
) -> None:
    names = [f"x{d}" if feature_names is None else str(feature_names[d]) for d in dims]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
