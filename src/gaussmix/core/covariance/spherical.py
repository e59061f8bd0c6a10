"""Spherical covariances, one variance per component (mclust VII)."""

from __future__ import annotations

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.covariance.base import (
    LOG_2PI,
    expansion_cancels,
    register,
)
from gaussmix.core.covariance.diag import DiagRepresentation, diagonal_covariances
from gaussmix.core.stats import Stats


class SphericalRepresentation(DiagRepresentation):
    """One variance per component, (K,).

    Factors, precisions and their checks are the diagonal layout's,
    elementwise; only the shape and the log-density differ.
    """

    @staticmethod
    def covariance_shape(n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    @staticmethod
    def log_prob(X: Array, means: Array, precisions_cholesky: Array) -> Array:
        xp = get_backend(X)
        centre = means.mean(0)
        Xc = X - centre
        mc = means - centre
        precisions = precisions_cholesky * precisions_cholesky
        n_features = X.shape[1]
        log_det = n_features * xp.log(precisions_cholesky)
        spread = float(xp.to_numpy(xp.amax((mc * mc).sum(1) * precisions, 0)))
        if expansion_cancels(spread, xp.dtype_eps(X)):
            # means far apart (an outlier's component): each on its own
            squared = xp.stack([((X - m) ** 2).sum(1) for m in means], axis=1)
            return -0.5 * (n_features * LOG_2PI + squared * precisions) + log_det
        squared = (
            (mc * mc).sum(1)[None, :] - 2.0 * (Xc @ mc.T) + (Xc * Xc).sum(1)[:, None]
        )
        return -0.5 * (n_features * LOG_2PI + squared * precisions) + log_det

    @staticmethod
    def full_covariances(
        covariances: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        eye = np.eye(n_features)
        return np.asarray(covariances)[:, None, None] * eye[None]


@register
class Spherical(SphericalRepresentation):
    """Each component has its own single variance (mclust's VII; ``'V'``,
    its name for varying variances on one feature)."""

    name = "spherical"
    aliases = ("VII", "V")

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        return diagonal_covariances(stats, means, reg_covar).mean(1)

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_components
