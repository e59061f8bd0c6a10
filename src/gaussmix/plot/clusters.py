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

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from gaussmix.plot import covariance_ellipse
    >>> ellipse = covariance_ellipse(
    ...     [0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], n_std=2.0, fill=False
    ... )
    >>> float(ellipse.width), float(ellipse.height)  # 2 * n_std * sqrt(eigenvalue)
    (8.0, 4.0)
    >>> fig, ax = plt.subplots()
    >>> _ = ax.add_patch(ellipse)
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
    dims: Any = None,
    n_std: Sequence[float] = DEFAULT_N_STD,
    feature_names: Sequence[str] | None = None,
    ax: Any = None,
    min_weight: float | None = None,
) -> Any:
    """Rows coloured by component, with each component's covariance ellipses.

    With one variable (one-column data, or one entry in ``dims``) the view is
    a histogram of the rows under the mixture's density and each component's
    weighted density, with the rows as a rug in their component's colour.
    A legend names each component and its weight.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features), default=None
        Rows to scatter, coloured by ``model.predict(X)``; None draws the
        components only.
    dims : int, str or pair of them, default=None
        The variables on the x and y axes, as indices or feature names
        (None: the first two, or the only one); the ellipses are those of
        the mixture's marginal over them.
    n_std : sequence of float, default=(1.0, 2.0)
        Mahalanobis radii of the ellipses drawn per component.
    feature_names : sequence of str, default=None
        Axis labels; None uses the model's ``feature_names_in_`` when it was
        fitted on named columns, else ``x0, x1, ...``.
    ax : matplotlib Axes, default=None
    min_weight : float, default=None
        Draw the ellipses of the components whose weight exceeds this only
        (such as the components a BayesianGaussianMixture uses); None draws
        every component. Colours stay those of all the components.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> left, right = rng.normal(-2, 1, (150, 2)), rng.normal(2, 0.7, (150, 2))
    >>> X = np.vstack([left, right])
    >>> gmm = GaussianMixture(2, random_state=0).fit(X)
    >>> from gaussmix.plot import plot_clusters
    >>> ax = plot_clusters(gmm, X, n_std=(1.0, 2.0), feature_names=["a", "b"])
    >>> ax.get_xlabel()
    'a'
    """
    weights, means, covariances = mixture_arrays(model)
    names = feature_labels(model, feature_names, means.shape[1])
    view = check_dims(dims, means.shape[1], names)
    ax = new_axes(ax)
    colors = component_colors(len(weights))
    shown = shown_components(weights, min_weight)
    points = labels = None
    if X is not None:
        points = check_X(X, means.shape[1])[:, list(view)]
        labels = model.predict(X)
    if len(view) == 1:
        draw_marginal_density(
            ax, weights, means, covariances, view[0], points, shown=shown
        )
        if points is not None:
            draw_rug(ax, points[:, 0], colors[labels])
    else:
        if points is not None:
            scatter_labelled(ax, points, labels, colors)
        basis = selection(view, means.shape[1])
        centres, blocks = project(means, covariances, basis)
        draw_components(
            ax,
            centres[shown],
            blocks[shown],
            colors[shown],
            n_std,
            labels=component_labels(weights)[shown],
        )
    ax.legend(fontsize="small", title="Component")
    label_axes(ax, names, view)
    return ax


def plot_density(
    model: Any,
    X: Array | None = None,
    *,
    dims: Any = None,
    levels: int | Sequence[float] = 20,
    grid_size: int = 150,
    feature_names: Sequence[str] | None = None,
    ax: Any = None,
) -> Any:
    """Contours of the log-density of the mixture's marginal over ``dims``.

    A colour bar gives the contours' log-density values. With one variable
    the view is the density itself over a histogram of the rows, with each
    component's weighted density.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features), default=None
        Rows drawn as small points; they also set the extent of the grid.
    dims : int, str or pair of them, default=None
        Indices or feature names (None: the first two, or the only one).
    levels : int or sequence of float, default=20
        Number of contour levels, or the log-density values to draw.
    grid_size : int, default=150
        Grid points per axis.
    feature_names : sequence of str, default=None
        Axis labels; None uses the model's ``feature_names_in_`` if any.
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib Axes
        Its ``collections``/``contour`` artists hold the contour set.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> left, right = rng.normal(-2, 1, (150, 2)), rng.normal(2, 0.7, (150, 2))
    >>> X = np.vstack([left, right])
    >>> gmm = GaussianMixture(2, random_state=0).fit(X)
    >>> from gaussmix.plot import plot_density
    >>> ax = plot_density(gmm, X, levels=8)
    """
    weights, means, covariances = mixture_arrays(model)
    names = feature_labels(model, feature_names, means.shape[1])
    view = check_dims(dims, means.shape[1], names)
    ax = new_axes(ax)
    points = None
    if X is not None:
        points = check_X(X, means.shape[1])[:, list(view)]
    if len(view) == 1:
        draw_marginal_density(ax, weights, means, covariances, view[0], points)
        ax.legend(fontsize="small", title="Component")
        label_axes(ax, names, view)
        return ax
    basis = selection(view, means.shape[1])
    marginal = projected_mixture(weights, means, covariances, basis)
    if points is not None:
        ax.scatter(
            points[:, 0], points[:, 1], s=4, color="0.4", alpha=0.5, linewidths=0
        )
    low, high = grid_extent(points, marginal.means_, marginal.covariances_)
    xs = np.linspace(low[0], high[0], grid_size)
    ys = np.linspace(low[1], high[1], grid_size)
    xx, yy = np.meshgrid(xs, ys)
    log_density = marginal.score_samples(np.column_stack([xx.ravel(), yy.ravel()]))
    contours = ax.contour(
        xx,
        yy,
        log_density.reshape(xx.shape),
        levels=levels,
        cmap="viridis",
        linewidths=1.0,
    )
    ax.figure.colorbar(contours, ax=ax, label="log-density")
    label_axes(ax, names, view)
    return ax


def plot_uncertainty(
    model: Any,
    X: Array,
    *,
    dims: Any = None,
    feature_names: Sequence[str] | None = None,
    ax: Any = None,
) -> Any:
    """Rows coloured and sized by their classification uncertainty.

    The uncertainty of a row is ``1 - max_k p(k | x)``: zero where one
    component claims the row, up to ``1 - 1/K`` where all claim it equally.
    With one variable, the uncertainty is drawn on the y axis.

    Parameters
    ----------
    model : fitted mixture
    X : array-like of shape (n_samples, n_features)
    dims : int, str or pair of them, default=None
        Indices or feature names (None: the first two, or the only one).
    feature_names : sequence of str, default=None
        Axis labels; None uses the model's ``feature_names_in_`` if any.
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> left, right = rng.normal(-2, 1, (150, 2)), rng.normal(2, 0.7, (150, 2))
    >>> X = np.vstack([left, right])
    >>> gmm = GaussianMixture(2, random_state=0).fit(X)
    >>> from gaussmix.plot import plot_uncertainty
    >>> ax = plot_uncertainty(gmm, X)
    """
    _, means, _ = mixture_arrays(model)
    names = feature_labels(model, feature_names, means.shape[1])
    view = check_dims(dims, means.shape[1], names)
    points = check_X(X, means.shape[1])[:, list(view)]
    uncertainty = 1.0 - model.predict_proba(X).max(axis=1)
    ax = new_axes(ax)
    largest = max(float(uncertainty.max()), np.finfo(float).tiny)
    y = uncertainty if len(view) == 1 else points[:, 1]
    drawn = ax.scatter(
        points[:, 0],
        y,
        c=uncertainty,
        s=6 + 60 * uncertainty / largest,
        cmap="viridis",
        vmin=0.0,
        linewidths=0,
    )
    ax.figure.colorbar(drawn, ax=ax, label="uncertainty 1 - max p(k|x)")
    label_axes(ax, names, view)
    if len(view) == 1:
        ax.set_ylabel("uncertainty 1 - max p(k|x)")
    return ax


def feature_labels(
    model: Any, feature_names: Sequence[str] | None, n_features: int
) -> list[str]:
    """Names of the variables: given, else the model's columns, else x0, x1...."""
    if feature_names is None:
        feature_names = getattr(model, "feature_names_in_", None)
    if feature_names is None:
        return [f"x{d}" for d in range(n_features)]
    names = [str(name) for name in feature_names]
    if len(names) != n_features:
        raise ValueError(
            f"feature_names has {len(names)} names for {n_features} variables."
        )
    return names


def component_labels(weights: np.ndarray) -> np.ndarray:
    """Legend entries: each component's index and weight."""
    return np.array(
        [f"{k} (weight {w:.2f})" for k, w in enumerate(weights)], dtype=object
    )


def draw_marginal_density(
    ax: Any,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    dim: int,
    points: np.ndarray | None,
    *,
    shown: np.ndarray | None = None,
) -> None:
    """Density of one variable under the mixture, each component's share, rows.

    The rows (``points`` of shape (n, 1) or None) are a density histogram;
    the mixture's marginal density is black and each component's weighted
    density (labelled for a legend) is in its colour.
    """
    marginal = projected_mixture(
        weights, means, covariances, selection([dim], means.shape[1])
    )
    if points is not None:
        ax.hist(points[:, 0], bins="auto", density=True, color="0.85")
    low, high = grid_extent(points, marginal.means_, marginal.covariances_)
    grid = np.linspace(low[0], high[0], 200)[:, None]
    density = np.exp(marginal.score_samples(grid))
    shares = marginal.predict_proba(grid) * density[:, None]
    colors = component_colors(len(weights))
    labels = component_labels(weights)
    for k in range(len(weights)):
        if shown is None or shown[k]:
            ax.plot(
                grid[:, 0],
                shares[:, k],
                color=colors[k],
                linewidth=1.0,
                label=labels[k],
            )
    ax.plot(grid[:, 0], density, color="black", linewidth=1.5, label="mixture")


def draw_rug(ax: Any, values: np.ndarray, colors: np.ndarray) -> None:
    """Rows as ticks along the bottom of the axes, in their component's colour."""
    ax.scatter(
        values,
        np.zeros_like(values),
        c=colors,
        marker="|",
        s=60,
        transform=ax.get_xaxis_transform(),
        clip_on=False,
    )


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
    labels: Sequence[str] | None = None,
) -> None:
    """Ellipses and a mean marker per 2-D component, one colour each.

    ``labels`` name the mean markers for a legend (None: no legend entries).
    """
    if labels is None:
        labels = ["_nolegend_"] * len(means)
    for mean, covariance, color, label in zip(
        means, covariances, colors, labels, strict=True
    ):
        for radius in n_std:
            ax.add_patch(
                covariance_ellipse(
                    mean, covariance, radius, edgecolor=color, linewidth=1.5
                )
            )
        ax.plot(
            *mean, marker="x", color=color, markersize=8, linestyle="none", label=label
        )
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


def label_axes(ax: Any, names: Sequence[str], dims: Sequence[int]) -> None:
    """x (and y) labels of the variables ``dims``; one variable's y is density."""
    ax.set_xlabel(names[dims[0]])
    ax.set_ylabel(names[dims[1]] if len(dims) == 2 else "density")
