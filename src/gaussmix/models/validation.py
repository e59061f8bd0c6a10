"""Checks of hyperparameters, user-given parameters and sample weights.

Shared by every estimator of the package (models, nn, deep): one wording
for one mistake.

Each check returns a validated copy; estimators never overwrite their
hyperparameters with the result.

Hyperparameter errors use scikit-learn's wording and exception type
(``InvalidParameterError``, a subclass of both ``ValueError`` and
``TypeError``), so that code written against scikit-learn's estimators
catches and recognises them.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array

from gaussmix.core.covariance import available_families, get_family
from gaussmix.core.seeding import INIT_METHODS
from gaussmix.fit.sources import check_weight_layout

try:
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover - every supported scikit-learn has it

    class InvalidParameterError(ValueError, TypeError):
        """A hyperparameter of the wrong type or out of its range."""


_SEED_MAX = 2**32 - 1


def _invalid(name: str, owner: str | None, expected: str, value: object):
    where = f"The {name!r} parameter" + (f" of {owner}" if owner else "")
    return InvalidParameterError(f"{where} must be {expected}. Got {value!r} instead.")


def _bound(value: float | None, integer: bool) -> str:
    if value is None:
        return "inf"
    return str(int(value)) if integer else repr(float(value))


def _interval(kind: str, minimum, maximum, left_closed: bool, right_closed: bool):
    integer = kind == "int"
    left = "[" if left_closed else "("
    right = "]" if right_closed and maximum is not None else ")"
    return (
        f"{'an' if integer else 'a'} {kind} in the range {left}"
        f"{_bound(minimum, integer)}, {_bound(maximum, integer)}{right}"
    )


def check_int(
    name: str,
    value: object,
    minimum: int,
    *,
    owner: str | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """``value`` as an int in ``[minimum, maximum]`` (None when allowed)."""
    if allow_none and value is None:
        return None
    if (
        isinstance(value, bool | np.bool_)
        or not isinstance(value, numbers.Integral)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        expected = _interval("int", minimum, maximum, True, True)
        raise _invalid(
            name, owner, expected + (" or None" if allow_none else ""), value
        )
    return int(value)


def check_float(
    name: str,
    value: object,
    minimum: float,
    inclusive: bool,
    *,
    owner: str | None = None,
    maximum: float | None = None,
) -> float:
    """``value`` as a finite float above ``minimum`` and at most ``maximum``.

    NaN and infinities are refused: every float hyperparameter of the
    library must be a finite number.
    """
    number = (
        float(value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
        else None
    )
    if (
        number is None
        or not np.isfinite(number)
        or number < minimum
        or (not inclusive and number == minimum)
        or (maximum is not None and number > maximum)
    ):
        expected = _interval("float", minimum, maximum, inclusive, True)
        raise _invalid(name, owner, expected, value)
    return number


def check_choice(
    name: str, value: object, choices: Iterable[str], *, owner: str | None = None
) -> str:
    """``value``, one of the strings ``choices``."""
    choices = sorted(choices)
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise _invalid(name, owner, f"a str among {{{options}}}", value)
    return value


def check_bool(name: str, value: object, *, owner: str | None = None) -> bool:
    """``value``, a Python or numpy bool."""
    if not isinstance(value, bool | np.bool_):
        expected = "an instance of 'bool' or an instance of 'numpy.bool'"
        raise _invalid(name, owner, expected, value)
    return bool(value)


def check_seed(name: str, value: object, *, owner: str | None = None) -> None:
    """Raise unless ``value`` can seed ``sklearn.utils.check_random_state``."""
    if value is None or isinstance(value, np.random.RandomState):
        return
    if (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool | np.bool_)
        and 0 <= value <= _SEED_MAX
    ):
        return
    expected = (
        f"an int in the range [0, {_SEED_MAX}], an instance of "
        "'numpy.random.mtrand.RandomState' or None"
    )
    raise _invalid(name, owner, expected, value)


def check_covariance_type(
    value: object, *, owner: str | None = None, name: str = "covariance_type"
) -> str:
    """A registered covariance family name."""
    return check_choice(name, value, available_families(), owner=owner)


@dataclass(frozen=True)
class EMSettings:
    """The validated EM hyperparameters every mixture estimator shares.

    Estimators build one per fit from their hyperparameters, which they
    never overwrite (scikit-learn's ``clone`` and ``get_params`` need them
    as given); subclasses add each estimator's own validated values.
    """

    tol: float
    reg_covar: float
    max_iter: int
    n_init: int
    init_params: str
    chunk_size: int | None

    def em_kwargs(self) -> dict[str, Any]:
        """The EM settings alone, as keyword arguments of a GaussianMixture."""
        # fields of EMSettings, not of self: a subclass's own values are not
        # every estimator's parameters
        return {field.name: getattr(self, field.name) for field in fields(EMSettings)}


def em_settings(estimator: Any, *, min_iter: int = 0) -> EMSettings:
    """The EM hyperparameters every mixture estimator shares, validated.

    ``tol``, ``reg_covar``, ``max_iter`` (at least ``min_iter``), ``n_init``,
    ``init_params`` and ``chunk_size``, read from ``estimator`` and named
    with its class in errors; ``random_state`` is checked first, and kept
    by the estimator (a RandomState is not a setting to copy).
    """
    owner = type(estimator).__name__
    check_seed("random_state", estimator.random_state, owner=owner)
    return EMSettings(
        tol=check_float("tol", estimator.tol, 0.0, True, owner=owner),
        reg_covar=check_float("reg_covar", estimator.reg_covar, 0.0, True, owner=owner),
        max_iter=check_int("max_iter", estimator.max_iter, min_iter, owner=owner),
        n_init=check_int("n_init", estimator.n_init, 1, owner=owner),
        init_params=check_choice(
            "init_params", estimator.init_params, INIT_METHODS, owner=owner
        ),
        chunk_size=check_int(
            "chunk_size", estimator.chunk_size, 1, owner=owner, allow_none=True
        ),
    )


@dataclass(frozen=True)
class MixtureSettings(EMSettings):
    """The validated hyperparameters of the mixture density estimators.

    Those GaussianMixture and BayesianGaussianMixture share beyond EM:
    the model's size and family, warm starts, progress and the step of
    ``partial_fit``.
    """

    n_components: int
    covariance_type: str
    warm_start: bool
    verbose: int
    verbose_interval: int
    learning_decay: float
    learning_offset: float


def check_enough_rows(n_samples: int, n_components: int) -> None:
    """Raise unless there are at least as many rows as components."""
    if n_samples < n_components:
        # scikit-learn's wording, so that code matching it keeps working
        raise ValueError(
            f"Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {n_samples}."
        )


def check_n_samples(n_samples: object) -> int:
    """The number of rows ``sample`` draws: an int, at least one."""
    if isinstance(n_samples, numbers.Integral) and n_samples < 1:
        # scikit-learn's wording, so that code matching it keeps working
        raise ValueError(
            f"Invalid value for 'n_samples': {n_samples} . The sampling "
            "requires at least one sample."
        )
    return check_int("n_samples", n_samples, 1)


def warn_not_converged() -> None:
    """scikit-learn's warning for a fit whose best start did not converge."""
    warnings.warn(
        "Best performing initialization did not converge. Try different "
        "init parameters, or increase max_iter, tol, or check for "
        "degenerate data.",
        ConvergenceWarning,
        stacklevel=3,
    )


def mixture_fields(estimator: Any, covariance_types: Iterable[str]) -> dict[str, Any]:
    """The fields :class:`MixtureSettings` adds to EM's, checked on ``estimator``.

    ``covariance_types`` are the names its ``covariance_type`` may take.
    """
    owner = type(estimator).__name__
    decay = check_float(
        "learning_decay", estimator.learning_decay, 0.5, False, owner=owner, maximum=1.0
    )
    return {
        "n_components": check_int(
            "n_components", estimator.n_components, 1, owner=owner
        ),
        "covariance_type": check_choice(
            "covariance_type", estimator.covariance_type, covariance_types, owner=owner
        ),
        "warm_start": check_bool("warm_start", estimator.warm_start, owner=owner),
        "verbose": check_int("verbose", estimator.verbose, 0, owner=owner),
        "verbose_interval": check_int(
            "verbose_interval", estimator.verbose_interval, 1, owner=owner
        ),
        "learning_decay": decay,
        "learning_offset": check_float(
            "learning_offset", estimator.learning_offset, 0.0, True, owner=owner
        ),
    }


def check_sample_weight(
    sample_weight: object, n_samples: int, dtype, normalise: bool = False
) -> np.ndarray | None:
    """A validated 1-D array of non-negative, finite weights (or None).

    The weights are checked in float64 before they are cast to ``dtype``, so
    that weights too large for float32 are reported as such and not as
    infinities. With ``normalise``, they are divided by the largest: a
    maximum-likelihood fit does not depend on the weights' scale, weights
    in (0, 1] cannot overflow the sums they enter, and ``c * w`` gives the
    same normalised weights as ``w`` whenever ``c * w`` is exact (integer
    weights times any integer, or times a power of two), since a correctly
    rounded quotient depends on the ratio alone.
    """
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.ndim == 0:
        weights = np.full(n_samples, weights)
    check_weight_layout(weights.shape, weights.dtype, n_samples)
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
        weights = weights / largest
    elif largest > np.finfo(dtype).max / max(n_samples, 1):
        raise ValueError(
            f"sample_weight holds values up to {largest:.3g}, whose sum overflows "
            f"{np.dtype(dtype).name}; divide the weights by a common factor."
        )
    return weights.astype(dtype)


def check_array_parameter(
    value: Any,
    argument: str,
    owner: str | None = None,
    *,
    optional: bool = True,
    **options: Any,
) -> np.ndarray:
    """``check_array`` of the hyperparameter ``argument``, which must be an array.

    A scalar, a string or anything else that is not array-like is reported
    as scikit-learn's parameter validation reports it (an
    ``InvalidParameterError`` naming the parameter), not as a failure deep
    inside ``check_array``.

    Parameters
    ----------
    value : array-like
    argument : str
        The parameter's name, used in the message.
    owner : str, optional
        The estimator's class name, used in the message.
    optional : bool, default=True
        Whether the message offers None (a hyperparameter that may be left
        unset) besides an array.
    **options
        Passed to :func:`sklearn.utils.check_array`.
    """
    array_like = any(
        hasattr(value, attribute) for attribute in ("__len__", "shape", "__array__")
    )
    if (
        not array_like
        or isinstance(value, (str, bytes, dict))
        or getattr(value, "ndim", 1) == 0
    ):
        expected = "an array-like or None" if optional else "an array-like"
        raise _invalid(argument, owner, expected, value)
    return check_array(value, **options)


def check_weights_init(
    weights,
    n_components: int,
    argument: str = "weights_init",
    owner: str | None = None,
    *,
    optional: bool = True,
) -> np.ndarray:
    """Mixing weights, checked: shape ``(n_components,)``, in [0, 1], sum one.

    Parameters
    ----------
    weights : array-like
    n_components : int
    argument : str, default='weights_init'
        The caller's name for the weights, used in the messages so that they
        name what the user passed (``from_params`` passes ``'weights'``).
    owner : str, optional
        The estimator's class name, used in the messages.
    optional : bool, default=True
        Whether the weights may be left unset (None), as ``weights_init``
        may; said in the message for weights that are not an array.

    Returns
    -------
    ndarray of shape (n_components,)
    """
    weights = check_array_parameter(
        weights,
        argument,
        owner,
        optional=optional,
        dtype=[np.float64, np.float32],
        ensure_2d=False,
    )
    _check_shape(weights, (n_components,), "weights", argument)
    if np.any(weights < 0) or np.any(weights > 1):
        # scikit-learn's exact sentence (which calls the minimum "max value"),
        # so that code matching it keeps working; the bracket says it plainly
        low, high = weights.min(), weights.max()
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max "
            f"value {low:.5f}, min value {high:.5f} ({argument} holds values "
            f"from {low:.5g} to {high:.5g}; each must lie in [0, 1])."
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if abs(1.0 - float(weights.sum())) > atol:
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = "
            f"{weights.sum():.5f} ({argument} must sum to 1)."
        )
    return weights


def check_means_init(
    means, n_components: int, n_features: int, owner: str | None = None
) -> np.ndarray:
    means = check_array_parameter(
        means, "means_init", owner, dtype=[np.float64, np.float32], ensure_2d=False
    )
    _check_shape(means, (n_components, n_features), "means", "means_init")
    return means


def check_precisions_init(
    precisions,
    covariance_type: str,
    n_components: int,
    n_features: int,
    owner: str | None = None,
) -> np.ndarray:
    family = get_family(covariance_type)
    precisions = check_array_parameter(
        precisions,
        "precisions_init",
        owner,
        dtype=[np.float64, np.float32],
        ensure_2d=False,
        allow_nd=True,
    )
    expected = family.covariance_shape(n_components, n_features)
    name = f"{covariance_type} precision"
    _check_shape(precisions, expected, name, "precisions_init")
    try:
        family.check_precisions(precisions)
    except ValueError as error:
        requirement = (
            "symmetric, positive-definite" if family.matrix_layout else "positive"
        )
        raise ValueError(f"'{name}' should be {requirement}: {error}") from None
    return precisions


def _check_shape(value: np.ndarray, expected: tuple, name: str, argument: str) -> None:
    # scikit-learn's wording, so that code matching its messages keeps working
    if value.shape != expected:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {expected}, but got "
            f"{value.shape}: give {argument} of shape {expected}."
        )
