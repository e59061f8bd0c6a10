"""Shared pieces of mclust's parsimonious covariance models.

mclust writes every covariance as ``Sigma_k = lambda_k D_k A_k D_k^T``: a
volume ``lambda_k = |Sigma_k|^(1/d)``, a shape ``A_k`` (diagonal, determinant
one) and an orientation ``D_k`` (orthogonal). Each of the three is equal
across components (E), variable (V) or the identity (I).

Every M-step here starts from the component covariances that the
unconstrained model would estimate, ``S_k = W_k / n_k + reg_covar * I`` (with
``W_k`` the weighted scatter of component k about its new mean and ``n_k``
its weight), and maximises

    Q = -1/2 sum_k n_k (log|Sigma_k| + tr(S_k Sigma_k^-1))

under the model's constraint. Putting ``reg_covar`` on ``S_k`` (rather than
on the constrained estimate) keeps every model equal to scikit-learn's where
the two coincide (VVV = full, EEE = tied, VVI = diag, VII = spherical) and
keeps ``S_k`` positive definite for empty or collapsed components.
"""

from __future__ import annotations

import numpy as np

from gaussmix.core.covariance.diag import diagonal_covariances
from gaussmix.core.covariance.full import Full
from gaussmix.core.stats import Stats

#: Inner iterations of the M-steps without a closed form stop when the
#: objective changes by less than this, relative to its size.
INNER_TOL = 1e-10
#: ... or after this many iterations.
INNER_MAX_ITER = 500
#: Eigenvalues and variances are floored at this fraction of their scale, so
#: that singular scatter (``reg_covar=0``, a component on one point) gives a
#: finite, nearly singular covariance for the M-step's repair to handle.
RELATIVE_FLOOR = 1e-12


def component_weights(stats: Stats) -> np.ndarray:
    """Each component's share ``n_k / n`` of the total weight, (K,)."""
    total = float(stats.resp_sum.sum())
    return stats.resp_sum / total if total > 0 else np.full_like(stats.resp_sum, 0.0)


def component_covariances(
    stats: Stats, means: np.ndarray, reg_covar: float
) -> np.ndarray:
    """``S_k = W_k / n_k + reg_covar * I``, (K, D, D), from full Stats."""
    return Full.estimate(stats, means, reg_covar)


def component_variances(
    stats: Stats, means: np.ndarray, reg_covar: float
) -> np.ndarray:
    """The diagonals of ``S_k``, (K, D), from diagonal Stats."""
    return diagonal_covariances(stats, means, reg_covar)


def floored(values: np.ndarray, scale: float) -> np.ndarray:
    """``values`` raised to at least ``RELATIVE_FLOOR * scale`` (never zero)."""
    # the relative floor of a subnormal scale underflows to zero
    floor = max(RELATIVE_FLOOR * scale, np.finfo(np.float64).tiny)
    return np.maximum(values, floor)


def geometric_mean(values: np.ndarray) -> np.ndarray:
    """Geometric mean along the last axis (``|diag(v)|^(1/d)``)."""
    return np.exp(np.log(values).mean(axis=-1))


def unit_shape(values: np.ndarray) -> np.ndarray:
    """``values`` scaled along the last axis to geometric mean one."""
    return values / geometric_mean(values)[..., None]


def sorted_eigen(matrices: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues in decreasing order (floored) and their eigenvectors.

    mclust pairs the k-th largest eigenvalue of every component with the
    k-th entry of a shared shape; decreasing order makes that pairing optimal.
    """
    values, vectors = np.linalg.eigh(matrices)
    return floored(values[..., ::-1], scale), vectors[..., ::-1]


def from_eigen(vectors: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``V diag(values) V^T`` for a batch, made exactly symmetric."""
    out = np.einsum("kij,kj,klj->kil", vectors, values, vectors)
    return 0.5 * (out + np.swapaxes(out, -1, -2))


def weighted_log_volume(weights: np.ndarray, volumes: np.ndarray) -> float:
    """``sum_k w_k log lambda_k``: the objective of the volume-shape iterations.

    Once each volume is optimal for the current shape,
    ``tr(S_k Sigma_k^-1) = d`` and ``-2Q/(n d)`` reduces to this sum.
    """
    return float(np.dot(weights, np.log(volumes)))


def converged(previous: float, current: float) -> bool:
    """Relative change of an inner objective below ``INNER_TOL``."""
    return abs(current - previous) <= INNER_TOL * (1.0 + abs(current))


def mean_scale(weights: np.ndarray, variances: np.ndarray) -> float:
    """The pooled average variance, the scale the floors are relative to."""
    return float(np.dot(weights, variances.mean(axis=-1)))


#: mclust's 14 models in mclust's own order (volume, shape, orientation).
MCLUST_MODELS = (
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)

#: mclust's models of one feature: equal variances (E) or varying (V). On
#: one feature the 14 models above reduce to these two, E being EII and V
#: being VII under their univariate names.
UNIVARIATE_MODELS = ("E", "V")
