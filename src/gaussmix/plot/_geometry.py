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


def check_dims(dims: Sequence[int], n_features: int) -> tuple[int, int]:
    """Two distinct variable indices within range, or a ValueError saying why."""
    dims = tuple(dims)
    if (
        len(dims) != 2
        or dims[0] == dims[1]
        or not all(isinstance(d, (int, np.integer)) for d in dims)
        or not all(-n_features <= d < n_features for d in dims)
    ):
        raise ValueError(
            f"dims must be two distinct variable indices below {n_features}, got "
            f"{dims!r}; for more variables use plot_pairs or plot_pca."
        )
    return int(dims[0]) % n_features, int(dims[1]) % n_features


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
