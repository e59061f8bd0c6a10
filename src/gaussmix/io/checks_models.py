"""Load-time checks of estimators built on mixtures: classifier, regressor, search.

The mixtures inside were checked when they were rebuilt; these checks make
sure that the whole is consistent (one mixture per class, matching features,
priors that are probabilities, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.io import rules

_CLASSIFIER_ATTRIBUTES = (
    "classes_",
    "priors_",
    "mixtures_",
    "n_components_",
    "n_iter_",
    "converged_",
    "lower_bounds_",
    "n_features_in_",
)
_OUTLIER_ATTRIBUTES = ("mixture_", "offset_", "n_iter_", "n_features_in_")
_REGRESSOR_ATTRIBUTES = (
    "mixture_",
    "center_",
    "scale_",
    "n_outputs_",
    "n_iter_",
    "n_features_in_",
    "_single_output",
)


def check_classifier(model: Any) -> None:
    """Raise ValueError unless a restored GaussianMixtureClassifier is valid.

    Unfitted passes; fitted needs distinct classes, one fitted mixture per
    class over ``n_features_in_`` features, priors that are probabilities
    and ``n_components_`` matching the mixtures.
    """
    if not rules.fitted_or_not(model, _CLASSIFIER_ATTRIBUTES):
        return
    classes = model.classes_
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise ValueError("classes_ must be a 1-d array of at least two labels.")
    _check_labels(classes)
    n_classes = len(classes)
    priors = rules.require_float_array("priors_", model.priors_, (n_classes,))
    rules.require_probabilities("priors_", priors)
    mixtures = model.mixtures_
    if not isinstance(mixtures, list) or len(mixtures) != n_classes:
        raise ValueError(f"mixtures_ must be a list of {n_classes} mixtures.")
    n_features = rules.require_int("n_features_in_", model.n_features_in_, 1)
    for label, mixture in zip(classes.tolist(), mixtures, strict=True):
        _require_fitted_mixture(f"the mixture of class {label!r}", mixture, n_features)
    rules.require_features(model, n_features)
    counts = model.n_components_
    expected = [len(mixture.weights_) for mixture in mixtures]
    if not (
        isinstance(counts, np.ndarray)
        and counts.dtype.kind == "i"
        and counts.tolist() == expected
    ):
        raise ValueError(
            f"n_components_ must be the integer array {expected} of the mixtures' "
            "sizes."
        )
    rules.require_int("n_iter_", model.n_iter_)
    rules.require_bool("converged_", model.converged_)
    rules.require_reals("lower_bounds_", model.lower_bounds_)
    rules.require_settings(model._check_settings)
    rules.require_random_state("random_state", model.random_state)


def check_outlier_detector(model: Any) -> None:
    """Raise ValueError unless a restored GaussianMixtureOutlierDetector is valid.

    Unfitted passes; fitted needs a fitted mixture over ``n_features_in_``
    features, a finite ``offset_`` and hyperparameters it could be fitted
    with.
    """
    if not rules.fitted_or_not(model, _OUTLIER_ATTRIBUTES):
        return
    n_features = rules.require_int("n_features_in_", model.n_features_in_, 1)
    _require_fitted_mixture("mixture_", model.mixture_, n_features)
    rules.require_features(model, n_features)
    rules.require_real("offset_", model.offset_)
    rules.require_int("n_iter_", model.n_iter_)
    rules.require_settings(model._check_settings)
    rules.require_random_state("random_state", model.random_state)


def check_regressor(model: Any) -> None:
    """Raise ValueError unless a restored GaussianMixtureRegressor is valid.

    Unfitted passes; fitted needs a joint mixture over inputs and outputs,
    and finite centres and positive scales for each of its columns.
    """
    if not rules.fitted_or_not(model, _REGRESSOR_ATTRIBUTES):
        return
    n_inputs = rules.require_int("n_features_in_", model.n_features_in_, 1)
    n_outputs = rules.require_int("n_outputs_", model.n_outputs_, 1)
    if rules.require_bool("_single_output", model._single_output) and n_outputs != 1:
        raise ValueError(f"a single-output model has n_outputs_={n_outputs}.")
    n_columns = n_inputs + n_outputs
    _require_fitted_mixture("mixture_", model.mixture_, n_columns)
    rules.require_features(model, n_inputs)
    rules.require_float_array("center_", model.center_, (n_columns,))
    scale = rules.require_float_array("scale_", model.scale_, (n_columns,))
    if np.any(scale <= 0):
        raise ValueError("scale_ must be positive.")
    rules.require_int("n_iter_", model.n_iter_)


def check_model_selection(result: Any) -> None:
    """Raise ValueError unless a restored ModelSelectionResult is consistent.

    Tables of shape (n_models, n_counts), every model in ``models`` fitted
    with the covariance type and size of its key, and ``best_model`` one of
    them.
    """
    types, counts = result.covariance_types, result.n_components
    if not (isinstance(types, tuple) and all(isinstance(t, str) for t in types)):
        raise ValueError("covariance_types must be a tuple of names.")
    if not isinstance(counts, tuple):
        raise ValueError("n_components must be a tuple of integers.")
    for count in counts:
        rules.require_int("n_components", count, 1)
    shape = (len(types), len(counts))
    n_parameters = result.n_parameters
    if not (
        isinstance(n_parameters, np.ndarray)
        and n_parameters.shape == shape
        and n_parameters.dtype.kind in "iu"
        and np.all(n_parameters >= 1)
    ):
        raise ValueError(
            f"n_parameters must be an array of positive integers of shape {shape}."
        )
    for name in ("bic", "icl", "log_likelihood"):
        table = getattr(result, name)
        if (
            not isinstance(table, np.ndarray)
            or table.shape != shape
            or table.dtype.kind != "f"
        ):
            raise ValueError(f"{name} must be a float array of shape {shape}.")
    if not isinstance(result.models, dict):
        raise ValueError("models must be a dict.")
    for key, model in result.models.items():
        if not (isinstance(key, tuple) and len(key) == 2) or key not in {
            (t, k) for t in types for k in counts
        }:
            raise ValueError(f"models has the key {key!r}, not in the grid.")
        _require_fitted_mixture(f"models[{key!r}]", model)
        if (model.covariance_type, model.n_components) != key:
            raise ValueError(f"models[{key!r}] is a mixture of another model.")
        cell = (types.index(key[0]), counts.index(key[1]))
        for name in ("bic", "icl", "log_likelihood"):
            # NaN marks a model that could not be fitted, not a stored one
            if not np.isfinite(getattr(result, name)[cell]):
                raise ValueError(f"{name} of models[{key!r}] is not finite.")
    if not any(result.best_model is model for model in result.models.values()):
        raise ValueError("best_model must be one of models.")
    if rules.require_real("n_samples", result.n_samples) < 0:
        raise ValueError("n_samples must be non-negative.")


def _check_labels(classes: np.ndarray) -> None:
    """Distinct labels that compare equal to themselves (no NaN)."""
    if classes.dtype.kind not in "biufUSO":
        raise ValueError(f"classes_ must hold labels, not {classes.dtype} values.")
    if classes.dtype.kind == "f" and not np.all(np.isfinite(classes)):
        raise ValueError("classes_ contains NaN or infinity.")
    if classes.dtype.kind == "O" and not all(
        isinstance(label, str) for label in classes.tolist()
    ):
        raise ValueError("classes_ of Python objects must be strings.")
    if len(set(classes.tolist())) != len(classes):
        raise ValueError("classes_ must hold distinct labels.")


def _require_fitted_mixture(name: str, mixture: Any, n_features: int | None = None):
    from gaussmix.models import GaussianMixture

    if type(mixture) is not GaussianMixture or not hasattr(mixture, "means_"):
        raise ValueError(f"{name} must be a fitted GaussianMixture.")
    if n_features is not None and mixture.means_.shape[1] != n_features:
        raise ValueError(
            f"{name} has {mixture.means_.shape[1]} features; expected {n_features}."
        )
    return mixture
