"""The component weights of a fitted mixture, largest first."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from gaussmix.backend import get_backend
from gaussmix.plot.clusters import new_axes

#: bar colours of the components above and at or below the threshold
_USED_COLOR = "tab:blue"
_UNUSED_COLOR = "0.7"


def plot_weights(
    model: Any,
    threshold: float | None = 0.01,
    ax: Any = None,
    *,
    log: bool = False,
) -> Any:
    """Bars of the component weights, sorted from largest to smallest.

    With a Dirichlet-process prior a
    :class:`~gaussmix.BayesianGaussianMixture` leaves the components the
    data do not need with weights near zero; the bars show how many carry
    the mixture. The components above ``threshold`` are the ones
    :meth:`~gaussmix.BayesianGaussianMixture.effective_n_components`
    counts; they are drawn in colour, the others in grey.

    Parameters
    ----------
    model : fitted mixture
        Any estimator with ``weights_`` (GaussianMixture,
        BayesianGaussianMixture, ...).
    threshold : float or None, default=0.01
        Weight in [0, 1) drawn as a dashed horizontal line, whose legend
        entry gives the number of components above it; None draws no line.
    ax : matplotlib Axes, default=None
    log : bool, default=False
        A logarithmic weight axis, to tell tiny weights apart. Weights of
        exactly zero then have no visible bar.

    Returns
    -------
    matplotlib Axes
        ``ax.patches`` holds one bar per component, largest first; the
        x tick labels are the components' indices in the model.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from gaussmix import BayesianGaussianMixture
    >>> from gaussmix.plot import plot_weights
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> bgm = BayesianGaussianMixture(
    ...     n_components=8, weight_concentration_prior=1e-3, random_state=0
    ... ).fit(X)
    >>> ax = plot_weights(bgm, threshold=0.01)
    """
    check_is_fitted(model, ["weights_"])
    weights = np.asarray(
        get_backend(model.weights_).to_numpy(model.weights_), dtype=np.float64
    )
    if weights.ndim != 1:
        raise ValueError(f"weights_ must be one-dimensional, got {weights.shape}.")
    if threshold is not None:
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, numbers.Real)
            or not 0 <= threshold < 1
        ):
            raise ValueError(
                f"threshold must be a weight in [0, 1) or None, got {threshold!r}."
            )
        threshold = float(threshold)
    # stable, so that equal weights keep the order of the model
    order = np.argsort(-weights, kind="stable")
    ranked = weights[order]
    ax = new_axes(ax)
    positions = np.arange(len(ranked))
    used = np.ones(len(ranked), dtype=bool) if threshold is None else ranked > threshold
    ax.bar(
        positions,
        ranked,
        color=np.where(used, _USED_COLOR, _UNUSED_COLOR).tolist(),
        edgecolor="black",
        linewidth=0.5,
    )
    ax.set_xticks(positions, [str(k) for k in order])
    ax.set_xlim(-0.6, len(ranked) - 0.4)
    ax.set_xlabel("component (by decreasing weight)")
    ax.set_ylabel("weight")
    if log:
        ax.set_yscale("log")
        positive = ranked[ranked > 0]
        floor = positive.min() if positive.size else 1.0
        if threshold:
            floor = min(floor, threshold)
        ax.set_ylim(bottom=floor / 2, top=max(1.0, float(ranked.max())) * 1.5)
    else:
        ax.set_ylim(0, max(float(ranked.max()), threshold or 0.0) * 1.08)
    if threshold is not None:
        n_used = int(np.count_nonzero(used))
        plural = "" if n_used == 1 else "s"
        ax.axhline(
            threshold,
            color="tab:red",
            linestyle="--",
            linewidth=1.0,
            label=f"threshold {threshold:g}: {n_used} component{plural} above",
        )
        ax.legend(fontsize="small")
    return ax
