"""Information criteria against the number of components, as mclust draws them."""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.models.selection import ModelSelectionResult

#: One marker per model, cycled; colours come from the 20-colour 'tab20' map.
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p", "d", "8")


def plot_bic(
    result: ModelSelectionResult,
    ax: Any = None,
    *,
    criterion: str = "bic",
    convention: str = "sklearn",
    legend: bool = True,
) -> Any:
    """Draw BIC (or ICL) against K, one line per covariance model.

    Failed fits leave gaps in their model's line.

    Parameters
    ----------
    result : ModelSelectionResult
        What :func:`gaussmix.select_model` returned.
    ax : matplotlib Axes, default=None
        Where to draw; None draws on the current axes.
    criterion : {'bic', 'icl'}, default='bic'
    convention : {'sklearn', 'mclust'}, default='sklearn'
        ``'sklearn'`` plots ``-2 log L + p log n`` (lower is better), as
        ``result.bic``, ``plot_bic_curve`` and scikit-learn's ``bic()``;
        ``'mclust'`` plots its negative (higher is better, as mclust's plot).
        The axis label says which.
    legend : bool, default=True

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gaussmix
    >>> from gaussmix.plot import plot_bic
    >>> result = gaussmix.select_model(
    ...     load_iris().data, n_components=range(1, 5), covariance_types=["EII", "VVV"]
    ... )
    >>> ax = plot_bic(result)  # lower is better; convention="mclust" flips the sign
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - matplotlib is a dependency
        raise ImportError(
            "plot_bic needs matplotlib; install it with `pip install matplotlib`."
        ) from error
    if not isinstance(result, ModelSelectionResult):
        raise TypeError(
            "plot_bic expects the result of gaussmix.select_model, got "
            f"{type(result).__name__}."
        )
    tables = {"bic": result.bic, "icl": result.icl}
    if criterion not in tables:
        raise ValueError(f"criterion must be 'bic' or 'icl', got {criterion!r}.")
    signs = {"mclust": -1.0, "sklearn": 1.0}
    if convention not in signs:
        raise ValueError(
            f"convention must be 'mclust' or 'sklearn', got {convention!r}."
        )
    values = signs[convention] * tables[criterion]
    if ax is None:
        ax = plt.gca()
    counts = np.asarray(result.n_components)
    colours = plt.get_cmap("tab20")
    for index, model in enumerate(result.covariance_types):
        ax.plot(
            counts,
            values[index],
            marker=_MARKERS[index % len(_MARKERS)],
            color=colours(index % colours.N),
            label=model,
        )
    better = "higher" if convention == "mclust" else "lower"
    ax.set_xlabel("Number of components")
    ax.set_ylabel(f"{criterion.upper()} ({better} is better)")
    ax.set_xticks(counts)
    if legend:
        ax.legend(ncol=2, fontsize="small", title="Model")
    return ax
