"""One covariance shared by all components (mclust EEE)."""

from __future__ import annotations

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.covariance.base import (
    LOG_2PI,
    CovarianceFamily,
    expansion_cancels,
    register,
    symmetric,
)
from gaussmix.core.covariance.full import FullRepresentation
from gaussmix.core.stats import EMPTY_WEIGHT_GUARD, Stats


class TiedRepresentation(CovarianceFamily):
    """A single (D, D) covariance and its upper precision factor."""

    scatter_kind = "pooled"

    @staticmethod
    def covariance_shape(n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    @staticmethod
    def precision_cholesky(covariances: Array) -> Array:
        return FullRepresentation.precision_cholesky(covariances[None])[0]

    @staticmethod
    def precisions(precisions_cholesky: np.ndarray) -> np.ndarray:
        return precisions_cholesky @ precisions_cholesky.T

    @staticmethod
    def cholesky_from_precisions(precisions: np.ndarray) -> np.ndarray:
        return FullRepresentation.cholesky_from_precisions(precisions[None])[0]

    @staticmethod
    def check_precisions(precisions: np.ndarray) -> None:
        FullRepresentation.check_precisions(precisions[None])

    @staticmethod
    def log_prob(X: Array, means: Array, precisions_cholesky: Array) -> Array:
        xp = get_backend(X)
        n_features = X.shape[1]
        # centring first keeps float32 accurate for data far from the origin
        centre = means.mean(0)
        centres = (means - centre) @ precisions_cholesky
        spread = float(xp.to_numpy(xp.amax((centres * centres).sum(1), 0)))
        if expansion_cancels(spread, xp.dtype_eps(X)):
            # means far apart (an outlier's component): each on its own
            diff = xp.stack([(X - m) @ precisions_cholesky for m in means], axis=1)
        else:
            projected = (X - centre) @ precisions_cholesky
            diff = projected[:, None, :] - centres[None, :, :]
        mahalanobis = (diff * diff).sum(-1)
        log_det = xp.log(xp.diagonal(precisions_cholesky)).sum()
        return -0.5 * (n_features * LOG_2PI + mahalanobis) + log_det

    @staticmethod
    def full_covariances(
        covariances: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        return np.broadcast_to(covariances, (n_components, *covariances.shape)).copy()


@register
class Tied(TiedRepresentation):
    """All components share one unconstrained covariance matrix."""

    name = "tied"
    shared_covariance = True
    aliases = ("EEE",)

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        nk = stats.resp_sum + EMPTY_WEIGHT_GUARD
        offset = means - stats.shift[0]
        between = np.einsum("k,ki,kj->ij", stats.resp_sum, offset, offset)
        covariance = symmetric((stats.scatter - between) / nk.sum())
        covariance[np.diag_indices_from(covariance)] += reg_covar
        return covariance

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_features * (n_features + 1) // 2
