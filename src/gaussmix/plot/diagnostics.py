"""Pictures of mclust's tools around a fitted mixture.

The bootstrap likelihood-ratio test's null distributions, the entropy
plots of merged components, the dimension-reduction view and a
one-variable density with a rug.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix._typing import Array
from gaussmix.plot._geometry import mixture_arrays
from gaussmix.plot.clusters import (
    check_X,
    component_colors,
    draw_rug,
    new_axes,
    scatter_labelled,
)


def plot_bootstrap_lrt(result: Any, test: int = 0, ax: Any = None) -> Any:
    """Histogram of one test's bootstrap statistics and the observed one.

    Parameters
    ----------
    result : BootstrapLRTResult
        From :func:`gaussmix.bootstrap_lrt`.
    test : int, default=0
        Which test, an index into ``result.n_components``.
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> from gaussmix.plot import plot_bootstrap_lrt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 1))
    >>> result = gaussmix.bootstrap_lrt(
    ...     X, covariance_type="VII", max_components=1, n_bootstrap=9, random_state=0
    ... )
    >>> ax = plot_bootstrap_lrt(result)
    """
    if not 0 <= test < len(result.n_components):
        raise ValueError(
            f"test must index one of the {len(result.n_components)} tests, got {test}."
        )
    k = result.n_components[test]
    boot = result.bootstrap_statistics[test]
    boot = boot[np.isfinite(boot)]
    observed = float(result.statistics[test])
    ax = new_axes(ax)
    ax.hist(boot, bins="auto", color="0.8", edgecolor="0.5", label="bootstrap")
    ax.axvline(
        observed,
        color="tab:red",
        linestyle="--",
        linewidth=1.5,
        label=f"observed (p = {result.p_values[test]:.3g})",
    )
    ax.set_xlabel(f"LRTS, {k} vs {k + 1} components")
    ax.set_ylabel("count")
    ax.set_title(f"Bootstrap LRT ({result.covariance_type})")
    ax.legend(fontsize="small")
    return ax


def _draw_fit(ax: Any, x: np.ndarray, change: Any) -> None:
    """The two segments of a change-point fit, meeting at the change point."""
    if change is None:
        return
    c = change.index
    for (intercept, slope), span in (
        (change.left, x[: c + 1]),
        (change.right, x[c:]),
    ):
        ends = np.array([span.min(), span.max()])
        ax.plot(ends, intercept + slope * ends, color="tab:red", linewidth=1.0)


def plot_merge_entropy(result: Any, axes: Any = None) -> Any:
    """Entropy against the number of clusters and against merged observations.

    Parameters
    ----------
    result : MergeResult
        From :func:`gaussmix.merge_components`.
    axes : pair of matplotlib Axes, default=None
        A new figure of two panels when None.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> from gaussmix.plot import plot_merge_entropy
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-4, 1, (80, 2)), rng.normal(4, 1, (80, 2))])
    >>> model = gaussmix.GaussianMixture(4, random_state=0).fit(X)
    >>> fig = plot_merge_entropy(gaussmix.merge_components(model, X))
    """
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    left, right = axes
    counts = result.n_clusters[::-1].astype(float)
    left.plot(counts, result.entropies[::-1], marker="o", color="black")
    _draw_fit(left, counts, result.change_point)
    left.axvline(result.suggested_n_clusters, color="0.6", linestyle=":")
    left.set_xlabel("number of clusters")
    left.set_ylabel("entropy")
    left.set_xticks(counts)
    right.plot(result.cumulative_merged, result.entropies, marker="o", color="black")
    _draw_fit(right, result.cumulative_merged, result.change_point_merged)
    right.set_xlabel("cumulative merged observations")
    right.set_ylabel("entropy")
    return left.figure


def plot_dimension_reduction(
    dr: Any, X: Array, labels: Array | None = None, ax: Any = None
) -> Any:
    """Rows on the first two directions of a dimension reduction, by cluster.

    Parameters
    ----------
    dr : DimensionReduction
        From :func:`gaussmix.dimension_reduction`.
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,), default=None
        Cluster of each row; None uses ``dr.model.predict(X)``.
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gaussmix
    >>> from gaussmix.plot import plot_dimension_reduction
    >>> X = load_iris().data
    >>> model = gaussmix.GaussianMixture(3, covariance_type="VEV", random_state=0)
    >>> dr = gaussmix.dimension_reduction(model.fit(X))
    >>> ax = plot_dimension_reduction(dr, X)
    """
    X = check_X(X, dr.mean.size)
    if dr.n_directions < 2:
        raise ValueError(
            "the mixture has a single direction; draw dr.transform(X)[:, 0] "
            "as a histogram instead."
        )
    if labels is None:
        labels = dr.model.predict(X)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape ({X.shape[0]},), got {labels.shape}.")
    points = dr.transform(X, n_directions=2)
    clusters = np.unique(labels[labels >= 0])
    codes = np.searchsorted(clusters, labels)
    codes[labels < 0] = -1
    ax = new_axes(ax)
    scatter_labelled(ax, points, codes, component_colors(max(len(clusters), 1)))
    ax.set_xlabel(f"Dir1 (eigenvalue {dr.eigenvalues[0]:.3g})")
    ax.set_ylabel(f"Dir2 (eigenvalue {dr.eigenvalues[1]:.3g})")
    return ax


def plot_density_1d(
    model: Any,
    X: Array | None = None,
    *,
    components: bool = False,
    grid_size: int = 300,
    ax: Any = None,
) -> Any:
    """Density of a one-variable mixture with the rows as a rug.

    mclust's ``plot(densityMclust(x), what = "density", data = TRUE)``.

    Parameters
    ----------
    model : fitted mixture of one feature
    X : array-like of shape (n_samples, 1), default=None
        Rows drawn as ticks along the axis, coloured by their likeliest
        component; they also widen the plotted range.
    components : bool, default=False
        Also draw each component's weighted density.
    grid_size : int, default=300
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> from gaussmix.plot import plot_density_1d
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, 150), rng.normal(5, 0.5, 50)])[:, None]
    >>> model = gaussmix.GaussianMixture(2, random_state=0).fit(x)
    >>> ax = plot_density_1d(model, x, components=True)
    """
    weights, means, covariances = mixture_arrays(model)
    if means.shape[1] != 1:
        raise ValueError(
            f"plot_density_1d draws mixtures of one feature; this one has "
            f"{means.shape[1]}. Use plot_density with dims= for a marginal."
        )
    sd = np.sqrt(covariances[:, 0, 0])
    low = float(np.min(means[:, 0] - 4 * sd))
    high = float(np.max(means[:, 0] + 4 * sd))
    points = None
    if X is not None:
        points = check_X(X, 1)[:, 0]
        low, high = min(low, float(points.min())), max(high, float(points.max()))
    grid = np.linspace(low, high, grid_size)
    z = (grid[:, None] - means[:, 0]) / sd
    shares = weights * np.exp(-0.5 * z**2) / (sd * np.sqrt(2 * np.pi))
    noise = getattr(model, "noise_proportion_", None)
    density = shares.sum(axis=1)
    if noise is not None:
        density = density + noise / model.noise_volume_
    ax = new_axes(ax)
    colors = component_colors(len(weights))
    if components:
        for k in range(len(weights)):
            ax.plot(grid, shares[:, k], color=colors[k], linewidth=1.0)
    ax.plot(grid, density, color="black", linewidth=1.5)
    if points is not None:
        labels = np.asarray(model.predict(points[:, None]))
        rgba = np.asarray(colors)[np.maximum(labels, 0)].copy()
        rgba[labels < 0] = (0.6, 0.6, 0.6, 1.0)
        draw_rug(ax, points, rgba)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(str(getattr(model, "feature_names_in_", ["x"])[0]))
    ax.set_ylabel("density")
    return ax
