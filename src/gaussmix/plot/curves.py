"""Curves of a criterion against the number of components."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gaussmix.plot.clusters import new_axes


def plot_bic_curve(
    ks: Sequence[int],
    bic_by_model: Mapping[str, Sequence[float | None]],
    ax: Any = None,
) -> Any:
    """BIC against the number of components, one line per model.

    Parameters
    ----------
    ks : sequence of int
        The numbers of components tried.
    bic_by_model : mapping of str to sequence of float
        For each model (a covariance type, say), the BIC at each entry of
        ``ks``, in scikit-learn's convention (lower is better); None or NaN
        where a fit failed. The lowest value overall is marked with a star.
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    BIC values computed elsewhere, one list per model (None for a failed fit):

    >>> from gaussmix.plot import plot_bic_curve
    >>> ax = plot_bic_curve(
    ...     [1, 2, 3], {"full": [820.0, 610.5, 630.2], "diag": [850.1, 700.0, None]}
    ... )
    """
    ks = np.asarray(ks)
    curves = {}
    for name, values in bic_by_model.items():
        values = np.array([np.nan if v is None else v for v in values], dtype=float)
        if values.shape != ks.shape:
            raise ValueError(
                f"bic_by_model[{name!r}] has {values.size} values for "
                f"{ks.size} numbers of components."
            )
        curves[name] = values
    ax = new_axes(ax)
    best = None
    for name, values in curves.items():
        finite = np.isfinite(values)
        ax.plot(ks[finite], values[finite], marker="o", markersize=4, label=name)
        if finite.any():
            i = int(np.nanargmin(values))
            if best is None or values[i] < best[2]:
                best = (name, ks[i], values[i])
    if best is not None:
        name, k, value = best
        ax.plot(
            [k],
            [value],
            marker="*",
            markersize=16,
            color="black",
            linestyle="none",
            label=f"best: {name}, K={k}",
        )
    ax.set_xlabel("number of components K")
    ax.set_ylabel("BIC (lower is better)")
    ax.set_xticks(ks)
    ax.legend(fontsize="small")
    return ax
