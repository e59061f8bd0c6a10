"""Small checks shared by the load-time validators; each raises ValueError.

A model file is data from outside: every value a validator relies on is
checked for its type as well as its range, so that a wrong type ends in a
clear ValueError rather than an arbitrary error later, in ``predict``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def fitted_or_not(model: Any, names: Iterable[str]) -> bool:
    """True when every name is set, False when none is; ValueError otherwise."""
    names = list(names)
    present = [name for name in names if hasattr(model, name)]
    if present and len(present) < len(names):
        missing = sorted(set(names) - set(present))
        raise ValueError(f"the fitted model lacks {missing}.")
    return bool(present)


def require_int(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int of at least ``minimum`` (bools refused)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def require_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false, got {value!r}.")
    return bool(value)


def require_real(name: str, value: Any, *, finite: bool = True) -> float:
    """A real number (not NaN; finite unless ``finite`` is False)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be {'finite' if finite else 'a number'}.")
    return float(value)


def require_reals(name: str, values: Any) -> None:
    """A list of real numbers, such as a loss curve (infinities allowed)."""
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list of numbers.")
    for i, value in enumerate(values):
        require_real(f"{name}[{i}]", value, finite=False)


def require_float_array(
    name: str,
    value: Any,
    shape: tuple[int, ...] | None = None,
    dtypes: tuple[np.dtype, ...] = FLOAT_DTYPES,
) -> np.ndarray:
    """A finite floating array of one of ``dtypes`` and, if given, ``shape``."""
    if not isinstance(value, np.ndarray) or value.dtype not in dtypes:
        allowed = " or ".join(str(d) for d in dtypes)
        raise ValueError(f"{name} must be a {allowed} array.")
    if shape is not None and value.shape != shape:
        raise ValueError(f"{name} has shape {value.shape}; expected {shape}.")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return value


def require_probabilities(name: str, values: np.ndarray) -> None:
    """Non-negative values summing to one, to rounding."""
    tolerance = 1e-8 + 2 * len(values) * np.finfo(values.dtype).eps
    if np.any(values < 0) or abs(float(values.sum(dtype=np.float64)) - 1) > tolerance:
        raise ValueError(
            f"{name} must be non-negative and sum to one (sum {values.sum():.8g})."
        )


def factorises(matrices: np.ndarray) -> np.ndarray:
    """Whether Cholesky factorises each of ``matrices`` (..., D, D).

    The test a fit itself applies to a covariance. An eigenvalue test is
    stricter than the arithmetic allows: in data of mixed units (variances
    of 1 and 1e16, say) rounding makes the smallest computed eigenvalue of a
    positive definite covariance negative, and a file the fit wrote would
    be refused.
    """
    matrices = np.asarray(matrices, dtype=np.float64)
    flat = matrices.reshape(-1, *matrices.shape[-2:])
    result = np.ones(len(flat), dtype=bool)
    for index, matrix in enumerate(flat):
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            result[index] = False
    return result.reshape(matrices.shape[:-2])


def require_features(model: Any, n_features: int) -> None:
    """``n_features_in_`` (and ``feature_names_in_`` if any) match the arrays."""
    if require_int("n_features_in_", model.n_features_in_, 1) != n_features:
        raise ValueError(
            f"n_features_in_={model.n_features_in_!r} but the model's arrays "
            f"have {n_features} features."
        )
    names = getattr(model, "feature_names_in_", None)
    if names is not None and not (
        isinstance(names, np.ndarray)
        and names.shape == (n_features,)
        and all(isinstance(name, str) for name in names.tolist())
    ):
        raise ValueError(f"feature_names_in_ must be an array of {n_features} strings.")


def require_random_state(name: str, value: Any) -> None:
    """None, a seed numpy accepts, or a ``RandomState``."""
    if value is None or isinstance(value, np.random.RandomState):
        return
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or not 0 <= value < 2**32
    ):
        raise ValueError(
            f"{name} must be None, an integer seed in [0, 2**32) or a "
            f"RandomState, got {value!r}."
        )


def require_settings(check: Any) -> None:
    """Run an estimator's own check of its hyperparameters, as a ValueError.

    A fitted model was fitted with valid hyperparameters, so a file holding
    a fitted model with invalid ones is damaged or crafted.
    """
    try:
        check()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid hyperparameter: {exc}") from None
