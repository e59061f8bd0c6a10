"""A fitted mixture's arrays in one layout, whatever its covariance family."""

from __future__ import annotations

import numpy as np

from gaussmix.core.covariance import get_family


def full_covariances(model: object) -> np.ndarray:
    """The fitted covariances as (K, D, D) float64 matrices, any family.

    The layout is that of the family the arrays were fitted with, which
    ``set_params(covariance_type=...)`` after the fit does not change.
    """
    means = np.asarray(model.means_, dtype=np.float64)
    fitted = getattr(model, "_fitted_covariance_type", None)
    name = fitted() if callable(fitted) else model.covariance_type
    return get_family(name).full_covariances(
        np.asarray(model.covariances_, dtype=np.float64), *means.shape
    )
