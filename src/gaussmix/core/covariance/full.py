"""Full covariances: one unconstrained covariance per component (mclust VVV)."""

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
from gaussmix.core.stats import EMPTY_WEIGHT_GUARD, Stats


def _flip(a: np.ndarray) -> np.ndarray:
    return a[..., ::-1, ::-1]


class FullRepresentation(CovarianceFamily):
    """Covariances stored as (K, D, D); precision factors upper-triangular."""

    scatter_kind = "full"

    @staticmethod
    def covariance_shape(n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    @staticmethod
    def precision_cholesky(covariances: Array) -> Array:
        xp = get_backend(covariances)
        lower = xp.cholesky(covariances)
        # precision = L^-T L^-1 = U U^T with U = L^-T upper triangular
        return xp.matrix_transpose(xp.invert_lower(lower))

    @staticmethod
    def precisions(precisions_cholesky: np.ndarray) -> np.ndarray:
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, -1, -2)

    @staticmethod
    def cholesky_from_precisions(precisions: np.ndarray) -> np.ndarray:
        # U with P = U U^T, U upper: the lower factor of the row/column-reversed P
        return _flip(np.linalg.cholesky(_flip(precisions)))

    @staticmethod
    def check_precisions(precisions: np.ndarray) -> None:
        for k, matrix in enumerate(
            np.reshape(precisions, (-1, *precisions.shape[-2:]))
        ):
            if not (
                np.allclose(matrix, matrix.T)
                and np.all(np.linalg.eigvalsh(matrix) > 0.0)
            ):
                raise ValueError(
                    f"precisions_init[{k}] must be a symmetric, positive-definite "
                    "matrix."
                )

    @staticmethod
    def log_prob(X: Array, means: Array, precisions_cholesky: Array) -> Array:
        xp = get_backend(X)
        n_components, n_features, _ = precisions_cholesky.shape
        # all K whitening maps in one GEMM: X @ [U_1 ... U_K]
        stacked = xp.permute(precisions_cholesky, (1, 0, 2)).reshape(
            n_features, n_components * n_features
        )
        # centring first keeps float32 accurate for data far from the origin
        centre = means.mean(0)
        offsets = (means - centre)[:, None, :] @ precisions_cholesky
        spread = float(xp.to_numpy(xp.amax((offsets * offsets).sum(-1).reshape(-1), 0)))
        if expansion_cancels(spread, xp.dtype_eps(X)):
            # means far apart (an outlier's component): each on its own
            projected = xp.stack(
                [(X - m) @ u for m, u in zip(means, precisions_cholesky, strict=True)],
                axis=1,
            )
        else:
            projected = ((X - centre) @ stacked).reshape(
                X.shape[0], n_components, n_features
            )
            # in place: the (n, K, D) block is the E-step's largest temporary
            projected -= offsets[:, 0, :]
        projected *= projected
        mahalanobis = projected.sum(-1)
        log_det = xp.log(xp.diagonal(precisions_cholesky)).sum(-1)
        return -0.5 * (n_features * LOG_2PI + mahalanobis) + log_det

    @staticmethod
    def full_covariances(
        covariances: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        return np.asarray(covariances)


@register
class Full(FullRepresentation):
    """Each component has its own unconstrained covariance matrix."""

    name = "full"
    aliases = ("VVV",)

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        nk = stats.resp_sum + EMPTY_WEIGHT_GUARD
        offset = means - stats.shift
        covariances = (
            stats.scatter
            - stats.resp_sum[:, None, None] * np.einsum("ki,kj->kij", offset, offset)
        ) / nk[:, None, None]
        covariances = symmetric(covariances)
        n_features = means.shape[1]
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
        return covariances

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_components * n_features * (n_features + 1) // 2
