"""mclust's parsimonious models whose M-step is iterative.

VEI, VEE and VEV alternate between the shared part and the volumes
(Celeux & Govaert 1995, "Gaussian parsimonious clustering models", Pattern
Recognition 28(5)); EVE and VVE alternate between the shapes and volumes in
the common eigenbasis and a majorisation-minimisation step for that basis
(Browne & McNicholas 2014, "Estimating common principal components in high
dimensions", Advances in Data Analysis and Classification 8(2)).

Each alternation maximises the M-step's objective over one block with the
others fixed, so the objective never decreases; iterations stop when it
changes by less than ``mclust_parts.INNER_TOL`` (relative). The M-step is
stateless: it starts from the closed-form estimate of the nearest model
(VII volumes, EEE's shape or orientation) rather than from the previous EM
iteration's parameters. See :mod:`mclust_parts` for how ``reg_covar`` enters.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gaussmix.core.covariance import mclust_parts as parts
from gaussmix.core.covariance.base import register
from gaussmix.core.covariance.diag import DiagRepresentation
from gaussmix.core.covariance.full import FullRepresentation
from gaussmix.core.stats import Stats


def _volumes_with_common_shape(
    weights: np.ndarray, eigenvalues: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Volumes ``lambda_k`` and one shape ``A`` maximising Q for fixed axes.

    ``eigenvalues[k]`` are the variances of ``S_k`` along its (fixed) axes;
    the model is ``Sigma_k = lambda_k diag(A)`` in those axes.
    """
    volumes = parts.geometric_mean(eigenvalues)
    previous = np.inf
    for _ in range(parts.INNER_MAX_ITER):
        shape = parts.unit_shape(weights @ (eigenvalues / volumes[:, None]))
        volumes = (eigenvalues / shape).mean(axis=1)
        objective = parts.weighted_log_volume(weights, volumes)
        if parts.converged(previous, objective):
            break
        previous = objective
    return volumes, shape


@register
class VEI(DiagRepresentation):
    """Variable volume, equal axis-aligned shape: ``Sigma_k = lambda_k A``."""

    name = "VEI"

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        variances = parts.component_variances(stats, means, reg_covar)
        variances = parts.floored(variances, parts.mean_scale(weights, variances))
        volumes, shape = _volumes_with_common_shape(weights, variances)
        return volumes[:, None] * shape[None, :]

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_components + n_features - 1


@register
class VEV(FullRepresentation):
    """Variable volume and orientation, equal shape: ``lambda_k D_k A D_k^T``.

    The orientations are the eigenvectors of ``S_k`` whatever the volumes and
    shape, so only volumes and shape are iterated, on the eigenvalues.
    """

    name = "VEV"

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        covariances = parts.component_covariances(stats, means, reg_covar)
        scale = parts.mean_scale(weights, np.diagonal(covariances, axis1=1, axis2=2))
        eigenvalues, eigenvectors = parts.sorted_eigen(covariances, scale)
        volumes, shape = _volumes_with_common_shape(weights, eigenvalues)
        return parts.from_eigen(eigenvectors, volumes[:, None] * shape[None, :])

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return (
            n_components
            + n_features
            - 1
            + n_components * n_features * (n_features - 1) // 2
        )


@register
class VEE(FullRepresentation):
    """Variable volume, equal shape and orientation: ``lambda_k C``, ``|C| = 1``."""

    name = "VEE"

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        covariances = parts.component_covariances(stats, means, reg_covar)
        scale = parts.mean_scale(weights, np.diagonal(covariances, axis1=1, axis2=2))
        volumes = np.ones(len(weights))
        previous = np.inf
        for _ in range(parts.INNER_MAX_ITER):
            pooled = np.einsum("k,kij->ij", weights / volumes, covariances)
            # the floor follows the pooled matrix's own scale, which the
            # volumes divide out: the data's scale would floor real variances
            pooled_scale = float(np.trace(pooled)) / len(pooled)
            values, vectors = parts.sorted_eigen(pooled[None], pooled_scale)
            shape = parts.unit_shape(values[0])
            # tr(S_k C^-1) with C = V diag(shape) V^T
            rotated = np.einsum("ji,kjl,li->ki", vectors[0], covariances, vectors[0])
            # an exactly singular component (one point, reg_covar=0) would
            # otherwise get volume zero
            volumes = parts.floored((rotated / shape).mean(axis=1), scale)
            objective = parts.weighted_log_volume(weights, volumes)
            if parts.converged(previous, objective):
                break
            previous = objective
        common = (vectors[0] * shape) @ vectors[0].T
        common = 0.5 * (common + common.T)
        return volumes[:, None, None] * common[None]

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_components + (n_features + 2) * (n_features - 1) // 2


DiagonalEstimate = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _equal_volume_diagonals(weights: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """EVI's estimate: one volume, a shape per component."""
    volumes = parts.geometric_mean(variances)
    # shapes first: the product of two tiny variances would underflow to zero
    return (variances / volumes[:, None]) * float(weights @ volumes)


def _variable_diagonals(weights: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """VVI's estimate: the variances themselves."""
    return variances


def common_orientation(
    weights: np.ndarray,
    covariances: np.ndarray,
    diagonal_estimate: DiagonalEstimate,
) -> np.ndarray:
    """``Sigma_k = D diag(delta_k) D^T`` with one orthogonal ``D`` for all k.

    Alternates ``delta_k = diagonal_estimate(diag(D^T S_k D))`` with a sweep
    of plane rotations of ``D`` (:func:`rotation_sweep`). Both steps lower
    ``sum_k w_k (log|diag(delta_k)| + tr(D^T S_k D diag(delta_k)^-1))``.
    """
    scale = parts.mean_scale(weights, np.diagonal(covariances, axis1=1, axis2=2))
    pooled = np.einsum("k,kij->ij", weights, covariances)
    orientation = parts.sorted_eigen(pooled[None], scale)[1][0]
    schedule = _round_robin(covariances.shape[-1])
    previous = np.inf
    for _ in range(parts.INNER_MAX_ITER):
        rotated = orientation.T @ covariances @ orientation
        variances = parts.floored(np.diagonal(rotated, axis1=1, axis2=2), scale)
        diagonals = diagonal_estimate(weights, variances)
        objective = float(
            weights @ (np.log(diagonals) + variances / diagonals).sum(axis=1)
        )
        if parts.converged(previous, objective):
            break
        previous = objective
        orientation = rotation_sweep(
            weights, rotated, 1.0 / diagonals, orientation, schedule
        )
    return parts.from_eigen(np.broadcast_to(orientation, covariances.shape), diagonals)


def _round_robin(n_features: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rounds of disjoint axis pairs that together visit every pair once."""
    players = list(range(n_features + n_features % 2))
    rounds = []
    for _ in range(len(players) - 1):
        half = len(players) // 2
        pairs = [
            (min(a, b), max(a, b))
            for a, b in zip(players[:half], players[::-1][:half], strict=True)
            if max(a, b) < n_features
        ]
        if pairs:
            rounds.append(tuple(np.array(side) for side in zip(*pairs, strict=True)))
        players = [players[0], players[-1], *players[1:-1]]
    return rounds


def rotation_sweep(
    weights: np.ndarray,
    rotated: np.ndarray,
    inverse: np.ndarray,
    orientation: np.ndarray,
    schedule: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """``D`` after turning each pair of axes by the angle minimising ``f``.

    ``f(D) = sum_k w_k tr(D^T S_k D M_k)`` with ``M_k = diag(inverse[k])``
    fixed and ``rotated[k] = D^T S_k D``. Turning axes p and q by ``theta``
    changes ``f`` by ``alpha cos(2 theta) + beta sin(2 theta)`` (plus a
    constant), which is smallest at ``2 theta = atan2(-beta, -alpha)``: the
    Jacobi idea behind Flury & Gautschi's common principal components
    algorithm, applied to the fixed-``M`` objective. Disjoint pairs do not
    interact, so each round of ``schedule`` turns its pairs at once; ``f``
    cannot increase.
    """
    eye = np.eye(orientation.shape[0])
    for first, second in schedule:
        contrast = weights[:, None] * (inverse[:, first] - inverse[:, second])
        alpha = 0.5 * np.einsum(
            "km,km->m",
            contrast,
            rotated[:, first, first] - rotated[:, second, second],
        )
        beta = np.einsum("km,km->m", contrast, rotated[:, first, second])
        theta = np.where(
            np.hypot(alpha, beta) > 0, 0.5 * np.arctan2(-beta, -alpha), 0.0
        )
        cos, sin = np.cos(theta), np.sin(theta)
        turn = eye.copy()
        turn[first, first] = cos
        turn[second, second] = cos
        turn[first, second] = -sin
        turn[second, first] = sin
        orientation = orientation @ turn
        rotated = turn.T @ rotated @ turn
    return orientation


@register
class EVE(FullRepresentation):
    """Equal volume and orientation, variable shape: ``lambda D A_k D^T``."""

    name = "EVE"

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        covariances = parts.component_covariances(stats, means, reg_covar)
        return common_orientation(weights, covariances, _equal_volume_diagonals)

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features - 1) + n_features * (n_features - 1) // 2


@register
class VVE(FullRepresentation):
    """Variable volume and shape, equal orientation: ``lambda_k D A_k D^T``."""

    name = "VVE"

    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        weights = parts.component_weights(stats)
        covariances = parts.component_covariances(stats, means, reg_covar)
        return common_orientation(weights, covariances, _variable_diagonals)

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        return n_components * n_features + n_features * (n_features - 1) // 2
