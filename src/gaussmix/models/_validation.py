"""Checks of hyperparameters, user-given parameters and sample weights.

Each check returns a validated copy; estimators never overwrite their
hyperparameters with the result.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_array

from gaussmix.core.covariance import get_family


def check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_float(name: str, value: object, minimum: float, inclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if (
        not np.isfinite(value)
        or value < minimum
        or (not inclusive and value == minimum)
    ):
        relation = ">=" if inclusive else ">"
        raise ValueError(
            f"{name} must be finite and {relation} {minimum}, got {value}."
        )
    return value


def check_choice(name: str, value: object, choices: list[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return str(value)


def check_sample_weight(
    sample_weight: object, n_samples: int, dtype, normalise: bool = False
) -> np.ndarray | None:
    """A validated 1-D array of non-negative, finite weights (or None).

    The weights are checked in float64 before they are cast to ``dtype``, so
    that weights too large for float32 are reported as such and not as
    infinities. With ``normalise``, they are multiplied by the power of two
    that brings the largest into [1, 2): a maximum-likelihood fit does not
    depend on the weights' scale, and exact rescaling keeps tiny or huge
    weights from underflowing or overflowing the sums they enter.
    """
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.ndim == 0:
        weights = np.full(n_samples, weights)
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must be 1-D with one weight per row of X "
            f"({n_samples}), got shape {weights.shape}."
        )
    if not np.issubdtype(weights.dtype, np.number) or np.iscomplexobj(weights):
        raise TypeError("sample_weight must hold real numbers.")
    weights = weights.astype(np.float64)
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity; give finite weights.")
    if np.any(weights < 0):
        raise ValueError(
            "sample_weight contains negative values; weights must be >= 0."
        )
    largest = weights.max(initial=0.0)
    if largest <= 0:
        raise ValueError(
            "sample_weight sums to zero; give at least one positive weight."
        )
    if normalise:
        weights = np.ldexp(weights, 1 - np.frexp(largest)[1])
    elif largest > np.finfo(dtype).max / max(n_samples, 1):
        raise ValueError(
            f"sample_weight holds values up to {largest:.3g}, whose sum overflows "
            f"{np.dtype(dtype).name}; divide the weights by a common factor."
        )
    return weights.astype(dtype)


def check_weights_init(weights, n_components: int) -> np.ndarray:
    weights = check_array(weights, dtype=[np.float64, np.float32], ensure_2d=False)
    if weights.shape != (n_components,):
        raise ValueError(
            f"weights_init must have shape ({n_components},), got {weights.shape}."
        )
    if np.any(weights < 0) or np.any(weights > 1):
        raise ValueError(
            "weights_init must lie in [0, 1], got values in "
            f"[{weights.min():.5g}, {weights.max():.5g}]."
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if abs(1.0 - float(weights.sum())) > atol:
        raise ValueError(f"weights_init must sum to 1, got {weights.sum():.8g}.")
    return weights


def check_means_init(means, n_components: int, n_features: int) -> np.ndarray:
    means = check_array(means, dtype=[np.float64, np.float32], ensure_2d=False)
    if means.shape != (n_components, n_features):
        raise ValueError(
            f"means_init must have shape ({n_components}, {n_features}), got "
            f"{means.shape}."
        )
    return means


def check_precisions_init(
    precisions, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    family = get_family(covariance_type)
    precisions = check_array(
        precisions,
        dtype=[np.float64, np.float32],
        ensure_2d=False,
        allow_nd=True,
    )
    expected = family.covariance_shape(n_components, n_features)
    if precisions.shape != expected:
        raise ValueError(
            f"precisions_init for covariance_type={covariance_type!r} must have "
            f"shape {expected}, got {precisions.shape}."
        )
    family.check_precisions(precisions)
    return precisions
