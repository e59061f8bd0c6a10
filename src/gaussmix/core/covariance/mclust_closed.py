"""mclust's parsimonious models whose M-step has a closed form.

EII, EEI, EVI, EEV and EVV (Celeux & Govaert 1995, "Gaussian parsimonious
clustering models", Pattern Recognition 28(5)). The other closed-form models
are scikit-learn's types under their mclust aliases: VII = spherical,
VVI = diag, EEE = tied, VVV = full. See :mod:`mclust_parts` for how
``reg_covar`` enters.
"""

from __future__ import annotations

import numpy as np

from gaussmix.core.covariance import mclust_parts as parts
from gaussmix.core.covariance.base import register
from gaussmix.core.covariance.diag import DiagRepresentation
from gaussmix.core.covariance.full import FullRepresentation
from gaussmix.core.covariance.spherical import SphericalRepresentation
from gaussmix.core.stats import Stats


@register
class EII(SphericalRepresentation):
    """One variance shared by all components: ``Sigma_k = lambda I``.

    Stored in the spherical layout (K,), every entry equal. ``'E'``, mclust's
    name for equal variances on one feature, is this model.
    """

    name = "EII"
    aliases = ("E",)
    shared_covariance = True

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        variances = parts.component_variances(stats, means, reg_covar)
        volume = parts.mean_scale(weights, variances)
        return np.full(len(weights), volume)

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return 1


@register
class EEI(DiagRepresentation):
    """One diagonal covariance shared by all: ``Sigma_k = lambda A``.

    Stored in the diagonal layout (K, D), every row equal.
    """

    name = "EEI"
    shared_covariance = True

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        variances = parts.component_variances(stats, means, reg_covar)
        pooled = weights @ variances
        return np.broadcast_to(pooled, variances.shape).copy()

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_features


@register
class EVI(DiagRepresentation):
    """Equal volume, variable axis-aligned shape: ``Sigma_k = lambda A_k``."""

    name = "EVI"

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        variances = parts.component_variances(stats, means, reg_covar)
        variances = parts.floored(variances, parts.mean_scale(weights, variances))
        volumes = parts.geometric_mean(variances)
        shapes = variances / volumes[:, None]
        return float(weights @ volumes) * shapes

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features - 1)


@register
class EEV(FullRepresentation):
    """Equal volume and shape, variable orientation: ``lambda D_k A D_k^T``.

    ``D_k`` are the eigenvectors of ``S_k``; the shared ``lambda A`` is the
    weighted average of their (decreasing) eigenvalues.
    """

    name = "EEV"

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        covariances = parts.component_covariances(stats, means, reg_covar)
        scale = parts.mean_scale(weights, np.diagonal(covariances, axis1=1, axis2=2))
        eigenvalues, eigenvectors = parts.sorted_eigen(covariances, scale)
        pooled = weights @ eigenvalues
        return parts.from_eigen(
            eigenvectors, np.broadcast_to(pooled, eigenvalues.shape)
        )

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_features + n_components * n_features * (n_features - 1) // 2


@register
class EVV(FullRepresentation):
    """Equal volume, variable shape and orientation: ``lambda C_k``, ``|C_k| = 1``."""

    name = "EVV"

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        covariances = parts.component_covariances(stats, means, reg_covar)
        scale = parts.mean_scale(weights, np.diagonal(covariances, axis1=1, axis2=2))
        eigenvalues, eigenvectors = parts.sorted_eigen(covariances, scale)
        volumes = parts.geometric_mean(eigenvalues)
        shapes = eigenvalues / volumes[:, None]
        return parts.from_eigen(eigenvectors, float(weights @ volumes) * shapes)

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return (
            1
            + n_components * (n_features - 1)
            + (n_components * n_features * (n_features - 1) // 2)
        )
