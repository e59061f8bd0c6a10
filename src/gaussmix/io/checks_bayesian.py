"""Load-time check of a restored BayesianGaussianMixture.

The point estimate (``weights_``, ``means_``, covariances and precisions) is
checked as a GaussianMixture's is; the variational posterior and the prior
must then be the parameters of distributions of that shape: positive
concentrations and mean precisions, Wishart degrees of freedom above
``n_features - 1``, a positive (definite) scale of the covariance prior, and
running statistics of ``partial_fit`` that can resume the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.core.covariance import get_family
from gaussmix.io import rules
from gaussmix.io.checks import (
    _ARRAY_ATTRIBUTES,
    _FIT_RECORD,
    _check_device,
    _check_streaming_state,
    _host_arrays,
    check_point_estimate,
)

#: every attribute a fit sets; all present or none
_FITTED_ATTRIBUTES = (
    *_ARRAY_ATTRIBUTES,
    "_covariance_type_fitted",
    "weight_concentration_",
    "mean_precision_",
    "degrees_of_freedom_",
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "covariance_prior_",
    *_FIT_RECORD,
    "n_features_in_",
)
_FLOAT64 = (np.dtype(np.float64),)


def check_bayesian_mixture(model: Any) -> None:
    """Raise ValueError unless a restored BayesianGaussianMixture is valid.

    An unfitted model (no fitted attributes) passes; a fitted one needs
    valid hyperparameters, a valid point estimate of the fitted covariance type (as
    :func:`~gaussmix.io.checks.check_gaussian_mixture` checks it), float64
    posterior and prior parameters of matching shapes with the signs and
    bounds their distributions require, and, after ``partial_fit``,
    running statistics of the model's shapes.
    """
    if not rules.fitted_or_not(model, _FITTED_ATTRIBUTES):
        return
    # a fitted model was fitted with valid hyperparameters
    rules.require_settings(model._check_hyperparameters)
    if model.device is not None:
        _check_device(model.device)
    covariance_type = _fitted_covariance_type(model)
    family = get_family(covariance_type)
    n_components, n_features = _check_point_estimate(model, covariance_type)
    rules.require_features(model, n_features)
    _check_posterior(model, covariance_type, n_components, n_features)
    _check_prior(model, covariance_type, n_features)
    for name, check_value in _FIT_RECORD.items():
        check_value(name, getattr(model, name))
    _check_streaming_state(model, family.scatter_kind, n_components, n_features)


def _fitted_covariance_type(model: Any) -> str:
    from gaussmix.core.variational import VARIATIONAL_FAMILIES

    fitted = model._covariance_type_fitted
    if not isinstance(fitted, str) or fitted not in VARIATIONAL_FAMILIES:
        raise ValueError(
            f"_covariance_type_fitted must be one of {list(VARIATIONAL_FAMILIES)}, "
            f"got {fitted!r}."
        )
    return fitted


def _check_point_estimate(model: Any, covariance_type: str) -> tuple[int, int]:
    shape = check_point_estimate(model, covariance_type)
    if len({array.dtype for array in _host_arrays(model).values()}) != 1:
        raise ValueError("the fitted arrays must all have the same dtype.")
    return shape


def _positive_array(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    array = rules.require_float_array(name, value, shape, _FLOAT64)
    if not np.all(array > 0):
        raise ValueError(f"{name} must be positive.")
    return array


def _check_posterior(
    model: Any, covariance_type: str, n_components: int, n_features: int
) -> None:
    concentration = model.weight_concentration_
    if isinstance(concentration, tuple):
        # the Beta parameters (a, b) of the sticks of a Dirichlet process
        if len(concentration) != 2:
            raise ValueError(
                "weight_concentration_ of a Dirichlet process must be a pair of "
                f"arrays, got {len(concentration)} items."
            )
        for i, part in enumerate(concentration):
            _positive_array(f"weight_concentration_[{i}]", part, (n_components,))
    else:
        _positive_array("weight_concentration_", concentration, (n_components,))
    _positive_array("mean_precision_", model.mean_precision_, (n_components,))
    dof = model.degrees_of_freedom_
    if covariance_type == "tied":
        if not isinstance(dof, float):
            raise ValueError(
                f"degrees_of_freedom_ of a tied mixture must be a float, got {dof!r}."
            )
        dof = np.array([rules.require_real("degrees_of_freedom_", dof)])
    else:
        dof = rules.require_float_array(
            "degrees_of_freedom_", dof, (n_components,), _FLOAT64
        )
    if not np.all(dof > n_features - 1):
        raise ValueError(
            f"degrees_of_freedom_ must exceed n_features - 1 = {n_features - 1}."
        )


def _positive_real(name: str, value: Any, *, allow_zero: bool = False) -> float:
    if not isinstance(value, float):
        raise ValueError(f"{name} must be a float, got {value!r}.")
    number = rules.require_real(name, value)
    if number < 0 or (number == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {kind}, got {number!r}.")
    return number


def _check_prior(model: Any, covariance_type: str, n_features: int) -> None:
    _positive_real("weight_concentration_prior_", model.weight_concentration_prior_)
    _positive_real("mean_precision_prior_", model.mean_precision_prior_)
    rules.require_float_array("mean_prior_", model.mean_prior_, (n_features,), _FLOAT64)
    dof = _positive_real("degrees_of_freedom_prior_", model.degrees_of_freedom_prior_)
    if dof <= n_features - 1:
        raise ValueError(
            f"degrees_of_freedom_prior_ must exceed n_features - 1 = "
            f"{n_features - 1}, got {dof!r}."
        )
    covariance = model.covariance_prior_
    # the default prior is the data's covariance, singular where a column is
    # constant or the rows are few: the posterior adds their scatter and
    # reg_covar, so a positive semi-definite prior is a valid one
    if covariance_type == "spherical":
        _positive_real("covariance_prior_", covariance, allow_zero=True)
        return
    shape = (n_features,) if covariance_type == "diag" else (n_features, n_features)
    covariance = rules.require_float_array(
        "covariance_prior_", covariance, shape, _FLOAT64
    )
    if covariance_type == "diag":
        if not np.all(covariance >= 0):
            raise ValueError("covariance_prior_ must be non-negative.")
        return
    scale = max(float(np.abs(covariance).max()), np.finfo(np.float64).tiny)
    symmetric = np.all(np.abs(covariance - covariance.T) <= 1e-6 * scale)
    # a relative tolerance, as rounding leaves a singular prior's smallest
    # eigenvalue a little below zero
    if not (symmetric and np.linalg.eigvalsh(covariance)[0] >= -1e-8 * scale):
        raise ValueError("covariance_prior_ must be symmetric positive semi-definite.")
