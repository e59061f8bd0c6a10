"""Load-time check of a restored StudentMixture.

The location and scale parameters are checked as a GaussianMixture's point
estimate is; the degrees of freedom must be positive and finite, one per
component.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.io import rules
from gaussmix.io.checks import (
    _ARRAY_ATTRIBUTES,
    _FIT_RECORD,
    check_point_estimate,
    fitted_covariance_type,
)

#: every attribute a fit sets; all present or none
_FITTED_ATTRIBUTES = (
    *_ARRAY_ATTRIBUTES,
    "degrees_of_freedom_",
    *_FIT_RECORD,
    "n_features_in_",
)


def check_student_mixture(model: Any) -> None:
    """Raise ValueError unless a restored StudentMixture is a valid mixture."""
    if not rules.fitted_or_not(model, _FITTED_ATTRIBUTES):
        return
    # a fitted model was fitted with a valid dof setting
    rules.require_settings(model._check_hyperparameters)
    covariance_type = fitted_covariance_type(model)
    n_components, n_features = check_point_estimate(model, covariance_type)
    rules.require_features(model, n_features)
    dof = rules.require_float_array(
        "degrees_of_freedom_",
        model.degrees_of_freedom_,
        (n_components,),
        (np.dtype(np.float64),),
    )
    if not np.all(dof > 0):
        raise ValueError("degrees_of_freedom_ must be positive.")
    for name, check_value in _FIT_RECORD.items():
        check_value(name, getattr(model, name))
