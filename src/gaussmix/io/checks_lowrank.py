"""Load-time checks of restored low-rank mixtures: MFA, HDDC and HDDA.

A file must describe a valid model: finite float arrays of matching
shapes, weights summing to one, positive noise variances and, for the
subspace models, orthonormal components with positive variances inside.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.core.hddc import HDDCParams
from gaussmix.core.lowrank import woodbury
from gaussmix.io import rules
from gaussmix.io.checks import _FIT_RECORD

_FLOAT64 = (np.dtype(np.float64),)
_MIXTURE_RECORD = (*_FIT_RECORD, "n_features_in_")
_FACTOR_ARRAYS = ("weights_", "means_", "loadings_", "noise_variance_")
_SUBSPACE_ARRAYS = (
    "weights_",
    "means_",
    "components_",
    "signal_variances_",
    "noise_variances_",
    "dims_",
)


def _weights_and_means(model: Any) -> tuple[int, int]:
    weights = rules.require_float_array("weights_", model.weights_, None, _FLOAT64)
    if weights.ndim != 1 or len(weights) == 0:
        raise ValueError("weights_ must be a non-empty 1-D array.")
    rules.require_probabilities("weights_", weights)
    means = rules.require_float_array("means_", model.means_)
    if means.ndim != 2 or means.shape[0] != len(weights):
        raise ValueError(f"means_ must have shape ({len(weights)}, n_features).")
    rules.require_features(model, means.shape[1])
    return means.shape


def _fit_record(model: Any) -> None:
    for name, check_value in _FIT_RECORD.items():
        check_value(name, getattr(model, name))


def check_factor_analyzers(model: Any) -> None:
    """Raise ValueError unless a restored MixtureOfFactorAnalyzers is valid."""
    if not rules.fitted_or_not(model, (*_FACTOR_ARRAYS, *_MIXTURE_RECORD)):
        return
    rules.require_settings(model._check_hyperparameters)
    settings = model._check_hyperparameters()
    n_components, n_features = _weights_and_means(model)
    shape = (n_components, n_features, model.loadings_.shape[-1])
    if model.loadings_.ndim != 3 or shape[2] != settings.n_factors:
        raise ValueError(
            f"loadings_ must have shape (n_components, n_features, "
            f"n_factors={settings.n_factors})."
        )
    rules.require_float_array("loadings_", model.loadings_, shape, _FLOAT64)
    noise = rules.require_float_array(
        "noise_variance_", model.noise_variance_, shape[:2], _FLOAT64
    )
    if not np.all(noise > 0):
        raise ValueError("noise_variance_ must be positive.")
    _fit_record(model)


def _check_subspaces(model: Any) -> None:
    n_components, n_features = _weights_and_means(model)
    components = rules.require_float_array(
        "components_", model.components_, None, _FLOAT64
    )
    if components.ndim != 3 or components.shape[:2] != (n_components, n_features):
        raise ValueError(
            f"components_ must have shape ({n_components}, {n_features}, max_dim)."
        )
    max_dim = components.shape[2]
    dims = model.dims_
    if (
        not isinstance(dims, np.ndarray)
        or dims.dtype.kind != "i"
        or dims.shape != (n_components,)
        or np.any(dims < 1)
        or np.any(dims >= n_features)
        or dims.max() != max_dim
    ):
        raise ValueError(
            f"dims_ must hold {n_components} integers in [1, {n_features - 1}], "
            f"the largest equal to the {max_dim} columns of components_."
        )
    signal = rules.require_float_array(
        "signal_variances_", model.signal_variances_, (n_components, max_dim), _FLOAT64
    )
    noise = rules.require_float_array(
        "noise_variances_", model.noise_variances_, (n_components,), _FLOAT64
    )
    used = np.arange(max_dim) < dims[:, None]
    if not np.all(noise > 0) or not np.all(signal[used] > 0):
        raise ValueError("signal_variances_ and noise_variances_ must be positive.")
    for k in range(n_components):
        q = components[k, :, : dims[k]]
        if not np.allclose(q.T @ q, np.eye(dims[k]), atol=1e-8):
            raise ValueError(f"components_[{k}] is not orthonormal.")
    # the covariances must be positive definite for the densities
    woodbury(
        HDDCParams(
            model.weights_, model.means_, components, signal, noise, dims
        ).covariances()
    )


def check_hddc(model: Any) -> None:
    """Raise ValueError unless a restored HDDC is a valid mixture."""
    if not rules.fitted_or_not(model, (*_SUBSPACE_ARRAYS, *_MIXTURE_RECORD)):
        return
    from gaussmix.models.hddc import check_subspace_settings

    rules.require_settings(lambda: check_subspace_settings(model))
    _check_subspaces(model)
    _fit_record(model)


def check_hdda(model: Any) -> None:
    """Raise ValueError unless a restored HDDAClassifier is valid."""
    if not rules.fitted_or_not(
        model, (*_SUBSPACE_ARRAYS, "classes_", "n_features_in_")
    ):
        return
    from gaussmix.models.hddc import check_subspace_settings

    rules.require_settings(lambda: check_subspace_settings(model))
    _check_subspaces(model)
    classes = model.classes_
    if not isinstance(classes, np.ndarray) or classes.shape != model.weights_.shape:
        raise ValueError("classes_ must be an array with one label per class.")
