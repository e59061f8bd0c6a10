"""The arithmetic behind the plots: ellipses, marginals and projections.

A linear map ``y = (x - offset) @ basis`` takes a Gaussian mixture to a
Gaussian mixture with the same weights, means ``(mean - offset) @ basis`` and
covariances ``basis.T @ cov @ basis``; the marginal over some variables is the
case where ``basis`` selects them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from gaussmix.core.covariance import get_family


def mixture_arrays(model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights (K,), means (K, D) and full covariances (K, D, D) in float64."""
    check_is_fitted(model, ["weights_", "means_", "covariances_"])
    means = np.asarray(model.means_, dtype=np.float64)
    n_components, n_features = means.shape
    family = get_family(fitted_covariance_type(model))
    covariances = family.full_covariances(
        np.asarray(model.covariances_, dtype=np.float64), n_components, n_features
    )
    return np.asarray(model.weights_, dtype=np.float64), means, covariances


def fitted_covariance_type(model: Any) -> str:
    """The covariance family of the fitted arrays.

    ``set_params`` may change ``covariance_type`` after a fit; the fitted
    arrays keep the layout of the family they were fitted with.
    """
    fitted = getattr(model, "_fitted_covariance_type", None)
    return fitted() if callable(fitted) else model.covariance_type


def project(
    means: np.ndarray,
    covariances: np.ndarray,
    basis: np.ndarray,
    offset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances of the components under ``(x - offset) @ basis``."""
    projected_means = (means if offset is None else means - offset) @ basis
    projected_covariances = np.einsum("di,kde,ej->kij", basis, covariances, basis)
    return projected_means, projected_covariances


def selection(dims: Sequence[int], n_features: int) -> np.ndarray:
    """The (n_features, len(dims)) basis that keeps the variables ``dims``."""
    return np.eye(n_features)[:, list(dims)]


def check_dims(
    dims: Any, n_features: int, names: Sequence[str] | None = None
) -> tuple[int, ...]:
    """One variable or two distinct ones, as indices, or a ValueError saying why.

    Parameters
    ----------
    dims : int, str, sequence of int or str, or None
        Indices (negative ones count from the end) or names from ``names``;
        None is the first two variables, or the only one.
    n_features : int
    names : sequence of str, default=None
        The variables' names, so that ``dims`` may name them.

    Returns
    -------
    tuple of int
        One index (a one-variable view) or two distinct ones.
    """
    if dims is None:
        return (0, 1) if n_features >= 2 else (0,)
    if isinstance(dims, (str, int, np.integer)):
        dims = (dims,)
    dims = tuple(dims)
    known = [] if names is None else [str(name) for name in names]
    indices = []
    for d in dims:
        if isinstance(d, str) and d in known:
            indices.append(known.index(d))
        elif isinstance(d, (int, np.integer)) and -n_features <= d < n_features:
            indices.append(int(d) % n_features)
        else:
            indices = []
            break
    if len(indices) not in (1, 2) or len(set(indices)) != len(indices):
        choices = f" or names among {known}" if known else ""
        raise ValueError(
            f"dims must be one variable or two distinct variables, as indices "
            f"below {n_features}{choices}; got {dims!r}. For more variables use "
            "plot_pairs or plot_pca."
        )
    return tuple(indices)


def ellipse_geometry(
    covariance: np.ndarray, n_std: float
) -> tuple[float, float, float]:
    """Width, height and angle (degrees) of the ``n_std`` ellipse of a 2x2 covariance.

    The axes are ``2 * n_std * sqrt(eigenvalue)`` along the eigenvectors; the
    width lies along the leading eigenvector, at ``angle`` from the x axis.
    """
    values, vectors = np.linalg.eigh(np.asarray(covariance, dtype=np.float64))
    values = np.clip(values, 0.0, None)
    width, height = 2.0 * n_std * np.sqrt(values[::-1])
    leading = vectors[:, -1]
    angle = np.degrees(np.arctan2(leading[1], leading[0]))
    return float(width), float(height), float(angle)


def grid_extent(
    points: np.ndarray | None, means: np.ndarray, covariances: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners covering the points, or the components' 3 sigma."""
    if points is not None and len(points):
        low, high = points.min(axis=0), points.max(axis=0)
    else:
        spread = 3.0 * np.sqrt(np.diagonal(covariances, axis1=1, axis2=2))
        low, high = (means - spread).min(axis=0), (means + spread).max(axis=0)
    margin = 0.05 * np.where(high > low, high - low, 1.0)
    return low - margin, high + margin
