"""Load-time checks of the deep estimators' plain state (``gaussmix.deep``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.io import rules


def _check_network_state(model: Any) -> None:
    state = model.network_state_
    if not isinstance(state, dict) or not state:
        raise ValueError("network_state_ must be a non-empty dict of arrays.")
    for name, value in state.items():
        rules.require_float_array(f"network_state_[{name!r}]", value)


def _check_latent_mixture(model: Any, n_components: int, dimension: int) -> None:
    weights = rules.require_float_array("weights_", model.weights_, (n_components,))
    rules.require_probabilities("weights_", weights)
    rules.require_float_array("means_", model.means_, (n_components, dimension))
    covariances = rules.require_float_array("covariances_", model.covariances_)
    if covariances.shape == (n_components, dimension, dimension):
        positive = bool(np.all(rules.factorises(covariances)))
    elif covariances.shape == (n_components, dimension):
        positive = np.all(covariances > 0)
    else:
        raise ValueError(
            f"covariances_ has shape {covariances.shape}; expected "
            f"({n_components}, {dimension}[, {dimension}])."
        )
    if not positive:
        raise ValueError("covariances_ must be positive definite.")


def check_deep_clustering(model: Any) -> None:
    """A restored DeepGaussianMixtureClustering is a usable model."""
    if not rules.fitted_or_not(model, ["network_state_", "weights_", "means_"]):
        return
    _check_network_state(model)
    n_clusters = rules.require_int("n_clusters", model.n_clusters, 1)
    dimension = model.means_.shape[-1] if isinstance(model.means_, np.ndarray) else -1
    _check_latent_mixture(model, n_clusters, dimension)


def check_dagmm(model: Any) -> None:
    """A restored DAGMM is a usable model."""
    if not rules.fitted_or_not(model, ["network_state_", "weights_", "means_"]):
        return
    _check_network_state(model)
    n_components = rules.require_int("n_components_", model.n_components_, 1)
    latent_dim = rules.require_int("latent_dim_", model.latent_dim_, 1)
    _check_latent_mixture(model, n_components, latent_dim + 2)
    rules.require_real("offset_", model.offset_)


def check_fisher_vector_encoder(model: Any) -> None:
    """A restored FisherVectorEncoder holds a valid diagonal mixture."""
    if not rules.fitted_or_not(model, ["weights_", "means_", "covariances_"]):
        return
    n_components = rules.require_int("n_components", model.n_components, 1)
    dimension = rules.require_int(
        "n_descriptor_features_", model.n_descriptor_features_, 1
    )
    weights = rules.require_float_array("weights_", model.weights_, (n_components,))
    rules.require_probabilities("weights_", weights)
    rules.require_float_array("means_", model.means_, (n_components, dimension))
    variances = rules.require_float_array(
        "covariances_", model.covariances_, (n_components, dimension)
    )
    if np.any(variances <= 0):
        raise ValueError("covariances_ must be positive variances.")
