"""The picture the command line writes: clusters, BIC curve, uncertainty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gaussmix.cli.selection import Selection


def summary_figure(
    model: Any,
    X: np.ndarray,
    names: Sequence[str],
    selection: Selection | None = None,
    threshold: float = 0.01,
) -> Any:
    """A figure of a fitted mixture on its data.

    Panels: the clusters with 1σ/2σ ellipses (the data itself for two
    columns, its first two principal components for more, the marginal
    density for one), the BIC curves when a selection was made, the sorted
    weights of a Bayesian mixture (with ``threshold``, above which a
    component counts as in use), and the classification uncertainty on the
    two columns that best separate the components.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn without pyplot, so no display or GUI backend is involved.
    """
    from matplotlib.figure import Figure

    from gaussmix.plot import (
        plot_bic_curve,
        plot_clusters,
        plot_pairs,
        plot_pca,
        plot_uncertainty,
        plot_weights,
    )

    n_features = X.shape[1]
    bayesian = hasattr(model, "effective_n_components")
    n_panels = 1 + (selection is not None) + bayesian + (n_features >= 2)
    figure = Figure(figsize=(5.2 * n_panels, 4.6), layout="constrained")
    axes = list(figure.subplots(1, n_panels, squeeze=False)[0])
    ax = axes.pop(0)
    clusters = f"{model.n_components} clusters"
    # a Bayesian fit leaves its surplus components at the prior: not drawn
    shown = threshold if bayesian else None
    if bayesian:
        clusters = (
            f"{model.effective_n_components(threshold)} of "
            f"{model.n_components} clusters in use"
        )
    if n_features == 1:
        plot_pairs(model, X, feature_names=names, axes=[[ax]])
        ax.set_title("density of the mixture")
    elif n_features == 2:
        plot_clusters(model, X, feature_names=names, ax=ax, min_weight=shown)
        ax.set_title(f"{clusters}, 1σ and 2σ ellipses")
    else:
        plot_pca(model, X, ax=ax, min_weight=shown)
        ax.set_title(f"{clusters} on the principal components")
    if selection is not None:
        ax = axes.pop(0)
        plot_bic_curve(selection.ks, selection.bic, ax=ax)
        ax.set_title("model selection by BIC")
    if bayesian:
        ax = axes.pop(0)
        plot_weights(model, threshold=threshold, ax=ax)
        ax.set_title("weights of the components")
    if n_features >= 2:
        ax = axes.pop(0)
        dims = separating_pair(model, X)
        plot_uncertainty(model, X, dims=dims, feature_names=names, ax=ax)
        ax.set_title("classification uncertainty")
    return figure


def separating_pair(model: Any, X: np.ndarray) -> tuple[int, int]:
    """The two columns along which the component means spread the most.

    The spread is the weighted variance of the means over the column's
    variance in the data: the columns that tell the clusters apart.
    """
    means = np.asarray(model.means_, dtype=np.float64)
    weights = np.asarray(model.weights_, dtype=np.float64)
    centre = weights @ means
    between = weights @ (means - centre) ** 2
    spread = between / np.maximum(X.var(axis=0), np.finfo(float).tiny)
    first, second = np.argsort(spread)[::-1][:2]
    return int(min(first, second)), int(max(first, second))
