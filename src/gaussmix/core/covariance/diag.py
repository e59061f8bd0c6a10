"""Diagonal covariances, one per component (mclust VVI)."""

from __future__ import annotations

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.covariance.base import (
    LOG_2PI,
    CovarianceFamily,
    expansion_cancels,
    register,
)
from gaussmix.core.stats import EMPTY_WEIGHT_GUARD, Stats


def check_positive(precisions: np.ndarray) -> None:
    """Raise unless every precision is strictly positive."""
    if np.any(precisions <= 0.0):
        raise ValueError("precisions_init must be strictly positive.")


class DiagRepresentation(CovarianceFamily):
    """Covariances stored as their diagonals, (K, D)."""

    scatter_kind = "diag"
    matrix_layout = False

    @staticmethod
    def covariance_shape(n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    @staticmethod
    def precision_cholesky(covariances: Array) -> Array:
        from gaussmix.backend import CholeskyError

        if bool((covariances <= 0.0).any()):
            raise CholeskyError("a variance is not positive")
        return 1.0 / get_backend(covariances).sqrt(covariances)

    @staticmethod
    def precisions(precisions_cholesky: np.ndarray) -> np.ndarray:
        return precisions_cholesky**2

    @staticmethod
    def cholesky_from_precisions(precisions: np.ndarray) -> np.ndarray:
        return np.sqrt(precisions)

    check_precisions = staticmethod(check_positive)

    @staticmethod
    def log_prob(X: Array, means: Array, precisions_cholesky: Array) -> Array:
        xp = get_backend(X)
        # centre on the means' average so the expanded square below does not
        # cancel catastrophically when the data sit far from the origin
        centre = means.mean(0)
        Xc = X - centre
        mc = means - centre
        precisions = precisions_cholesky * precisions_cholesky
        spread = float(xp.to_numpy(xp.amax((mc * mc * precisions).reshape(-1), 0)))
        if expansion_cancels(spread, xp.dtype_eps(X)):
            # means far apart (an outlier's component): each on its own
            squared = xp.stack(
                [
                    (((X - m) ** 2) * p).sum(1)
                    for m, p in zip(means, precisions, strict=True)
                ],
                axis=1,
            )
            log_det = xp.log(precisions_cholesky).sum(1)
            return -0.5 * (X.shape[1] * LOG_2PI + squared) + log_det[None, :]
        # the whole quadratic form in one GEMM: [x, x^2] @ [m p; -p/2]
        features = xp.concatenate([Xc, Xc * Xc], axis=1)
        coefficients = xp.concatenate([mc * precisions, -0.5 * precisions], axis=1)
        constant = xp.log(precisions_cholesky).sum(1) - 0.5 * (
            X.shape[1] * LOG_2PI + (mc * mc * precisions).sum(1)
        )
        return features @ coefficients.T + constant[None, :]

    @staticmethod
    def full_covariances(
        covariances: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        out = np.zeros((n_components, n_features, n_features))
        out[:, np.arange(n_features), np.arange(n_features)] = covariances
        return out


def diagonal_covariances(
    stats: Stats, means: np.ndarray, reg_covar: float
) -> np.ndarray:
    """Per-component variances from diagonal Stats (before any constraint)."""
    nk = stats.resp_sum + EMPTY_WEIGHT_GUARD
    offset = means - stats.shift
    variances = (stats.scatter - stats.resp_sum[:, None] * offset**2) / nk[:, None]
    return np.maximum(variances, 0.0) + reg_covar


@register
class Diag(DiagRepresentation):
    """Each component has its own diagonal covariance."""

    name = "diag"
    aliases = ("VVI",)

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        return diagonal_covariances(stats, means, reg_covar)

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_components * n_features
