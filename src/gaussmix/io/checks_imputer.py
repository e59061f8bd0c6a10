"""Load-time check of a GaussianMixtureImputer.

The mixture inside was checked when it was rebuilt; this check makes sure
that the column bookkeeping around it is consistent with it and with the
input width, so that ``transform`` cannot index past the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.io import rules
from gaussmix.io.checks_models import _require_fitted_mixture

_IMPUTER_ATTRIBUTES = (
    "model_",
    "bic_",
    "n_components_",
    "n_iter_",
    "observed_features_",
    "indicator_features_",
    "n_features_in_",
)


def check_imputer(model: Any) -> None:
    """Raise ValueError unless a restored GaussianMixtureImputer is valid.

    Unfitted passes; fitted needs increasing column indices below
    ``n_features_in_``, a fitted mixture over the observed columns, and BIC
    values (if any) that include the kept mixture's size.
    """
    if not rules.fitted_or_not(model, _IMPUTER_ATTRIBUTES):
        return
    n_features = rules.require_int("n_features_in_", model.n_features_in_, 1)
    rules.require_features(model, n_features)
    observed = _columns("observed_features_", model.observed_features_, n_features)
    if observed.size == 0:
        raise ValueError("observed_features_ must name at least one column.")
    _columns("indicator_features_", model.indicator_features_, n_features)
    mixture = _require_fitted_mixture("model_", model.model_, observed.size)
    n_components = rules.require_int("n_components_", model.n_components_, 1)
    if n_components != len(mixture.weights_):
        raise ValueError(
            f"n_components_={n_components} but model_ has "
            f"{len(mixture.weights_)} components."
        )
    bic = model.bic_
    if not isinstance(bic, dict):
        raise ValueError("bic_ must be a dict of numbers of components to BIC.")
    for k, value in bic.items():
        rules.require_int("a key of bic_", k, 1)
        rules.require_real(f"bic_[{k}]", value)
    if bic and n_components not in bic:
        raise ValueError(f"bic_ lacks the kept mixture's {n_components} components.")
    rules.require_int("n_iter_", model.n_iter_)
    rules.require_settings(model._check_settings)
    rules.require_random_state("random_state", model.random_state)


def _columns(name: str, value: Any, n_features: int) -> np.ndarray:
    """Strictly increasing integer column indices in [0, n_features)."""
    if (
        not isinstance(value, np.ndarray)
        or value.ndim != 1
        or value.dtype.kind not in "iu"
        or np.any(value < 0)
        or np.any(value >= n_features)
        or np.any(np.diff(value) <= 0)
    ):
        raise ValueError(
            f"{name} must be increasing column indices below {n_features}."
        )
    return value
