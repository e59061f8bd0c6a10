"""Load-time check of a restored MixtureDensityRegressor.

The network's weights were matched against the hyperparameters when it was
rebuilt (see :mod:`gaussmix.io.torch_modules`); this checks the rest: the
standardisation and the training record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.io import rules

_FITTED_ATTRIBUTES = (
    "network_",
    "n_features_in_",
    "n_outputs_",
    "x_mean_",
    "x_scale_",
    "y_mean_",
    "y_scale_",
    "_y_is_1d",
    "n_epochs_",
    "best_epoch_",
    "loss_curve_",
    "validation_loss_curve_",
)


def check_mixture_density_regressor(model: Any) -> None:
    """Raise ValueError unless a restored MixtureDensityRegressor is valid.

    Unfitted passes; fitted needs finite centres and positive scales of
    inputs and outputs in float64, an output count consistent with a 1-d
    target, and a training record of integers and loss curves.
    """
    if not rules.fitted_or_not(model, _FITTED_ATTRIBUTES):
        return
    n_inputs = rules.require_int("n_features_in_", model.n_features_in_, 1)
    n_outputs = rules.require_int("n_outputs_", model.n_outputs_, 1)
    rules.require_features(model, n_inputs)
    if rules.require_bool("_y_is_1d", model._y_is_1d) and n_outputs != 1:
        raise ValueError(f"a model of a 1-d target has n_outputs_={n_outputs}.")
    float64 = (np.dtype(np.float64),)
    for prefix, width in (("x", n_inputs), ("y", n_outputs)):
        rules.require_float_array(
            f"{prefix}_mean_", getattr(model, f"{prefix}_mean_"), (width,), float64
        )
        scale = rules.require_float_array(
            f"{prefix}_scale_", getattr(model, f"{prefix}_scale_"), (width,), float64
        )
        if np.any(scale <= 0):
            raise ValueError(f"{prefix}_scale_ must be positive.")
    n_epochs = rules.require_int("n_epochs_", model.n_epochs_)
    if rules.require_int("best_epoch_", model.best_epoch_) > n_epochs:
        raise ValueError("best_epoch_ is after the last epoch.")
    rules.require_reals("loss_curve_", model.loss_curve_)
    rules.require_reals("validation_loss_curve_", model.validation_loss_curve_)
