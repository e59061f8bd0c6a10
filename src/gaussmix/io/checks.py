"""Load-time checks of restored estimators: a file must describe a valid model."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from gaussmix.core.covariance import get_family

_ARRAY_ATTRIBUTES = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
)


def check_gaussian_mixture(model: Any) -> None:
    """Raise ValueError unless a restored GaussianMixture is a valid mixture.

    An unfitted model (no fitted attributes) passes; a fitted one needs
    consistent shapes, finite float arrays, weights in [0, 1] summing to one,
    symmetric positive-definite covariances and precision factors with a
    positive diagonal.
    """
    family = get_family(model.covariance_type)
    present = [name for name in _ARRAY_ATTRIBUTES if hasattr(model, name)]
    if not present:
        return
    missing = sorted(set(_ARRAY_ATTRIBUTES) - set(present))
    if missing:
        raise ValueError(f"the fitted model lacks {missing}.")
    arrays = {name: getattr(model, name) for name in _ARRAY_ATTRIBUTES}
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.dtype not in (
            np.float32,
            np.float64,
        ):
            raise ValueError(f"{name} must be a float32 or float64 array.")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinity.")
    weights, means = arrays["weights_"], arrays["means_"]
    if weights.ndim != 1 or means.ndim != 2 or means.shape[0] != weights.shape[0]:
        raise ValueError(
            f"weights_ {weights.shape} and means_ {means.shape} must have shapes "
            "(n_components,) and (n_components, n_features)."
        )
    n_components, n_features = means.shape
    _check_counts(model, n_components, n_features)
    expected = family.covariance_shape(n_components, n_features)
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        if arrays[name].shape != expected:
            raise ValueError(
                f"{name} has shape {arrays[name].shape}; covariance_type="
                f"{model.covariance_type!r} with {n_components} components and "
                f"{n_features} features needs {expected}."
            )
    _check_weights(weights)
    _check_positive_definite(family, arrays["covariances_"], n_components, n_features)
    _check_factors(family, arrays["precisions_cholesky_"])


def _check_counts(model: Any, n_components: int, n_features: int) -> None:
    declared = model.n_components
    if not isinstance(declared, numbers.Integral) or declared != n_components:
        raise ValueError(
            f"n_components={declared!r} but the arrays hold {n_components} components."
        )
    if getattr(model, "n_features_in_", n_features) != n_features:
        raise ValueError(
            f"n_features_in_={model.n_features_in_!r} but means_ has "
            f"{n_features} features."
        )


def _check_weights(weights: np.ndarray) -> None:
    tolerance = 1e-8 + 2 * len(weights) * np.finfo(weights.dtype).eps
    if np.any(weights < 0) or abs(float(weights.sum(dtype=np.float64)) - 1) > tolerance:
        raise ValueError(
            f"weights_ must be non-negative and sum to one (sum {weights.sum():.8g})."
        )


def _check_positive_definite(
    family: Any, covariances: np.ndarray, n_components: int, n_features: int
) -> None:
    matrices = family.full_covariances(
        covariances.astype(np.float64), n_components, n_features
    )
    scale = np.abs(matrices).max(axis=(1, 2), keepdims=True)
    asymmetric = np.abs(matrices - np.swapaxes(matrices, 1, 2)) > 1e-6 * scale
    smallest = np.linalg.eigvalsh(matrices)[:, 0]
    for k in range(n_components):
        if asymmetric[k].any() or not smallest[k] > 0:
            raise ValueError(
                f"the covariance of component {k} is not symmetric positive definite."
            )


def _check_factors(family: Any, factors: np.ndarray) -> None:
    if family.matrix_layout:
        diagonal = np.diagonal(factors, axis1=-2, axis2=-1)
        triangular = np.all(np.tril(factors, -1) == 0)
    else:
        diagonal, triangular = factors, True
    if not (triangular and np.all(diagonal > 0)):
        raise ValueError(
            "precisions_cholesky_ must be upper triangular with a positive diagonal."
        )
