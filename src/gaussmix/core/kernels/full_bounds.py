"""Cheap bounds on full-covariance log-densities, for skipping pairs.

Clustered data leave most rows with a negligible responsibility under most
components. These bounds, linear in the block ``[x - c; 1; |x - c|^2]``
plus a few exact directions, show which (component, row) pairs cannot
matter before any row is whitened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A pair (component, row) is skipped when even its log-density's upper
#: bound falls this far below the row's best lower bound: its responsibility
#: is then below exp(-margin), under the dtype's resolution. float32's
#: responsibilities are floored at exp(-69) anyway.
_PRUNE_MARGIN = {np.dtype(np.float32): 75.0, np.dtype(np.float64): 50.0}


@dataclass(frozen=True)
class DensityBounds:
    """Bounds on every ``log w_k + log N(x | k)``, as operands of small GEMMs.

    All coefficients act on the block ``[x - c; 1; |x - c|^2]`` of
    :meth:`FullKernel.prepare`.

    Attributes
    ----------
    upper : ndarray of shape (n_components, n_features + 2)
        An upper bound, from each precision's eigenvalue above its
        ``r`` smallest.
    typical : ndarray of shape (n_components, n_features + 2)
        An estimate, from each precision's average eigenvalue: it finds a
        row's likeliest component cheaply.
    directions : ndarray of shape (n_components * r, n_features + 1) or None
        ``[v_j, -v_j . mu_k]`` for the ``r`` directions of largest variance,
        handled exactly (None in one dimension).
    direction_weights : ndarray of shape (n_components, r) or None
        What each squared projection on ``directions`` gives back to ``upper``.
    margin : float
        How far below a row's best log-density a pair's upper bound must fall
        to be skipped.
    """

    upper: np.ndarray
    typical: np.ndarray
    directions: np.ndarray | None
    direction_weights: np.ndarray | None
    margin: float


#: Directions of largest variance per component handled exactly by the
#: bound on the Mahalanobis distance.
BOUND_DIRECTIONS = 3


def log_density_bounds(
    factors: np.ndarray,
    centred_means: np.ndarray,
    constant: np.ndarray,
    dtype: np.dtype,
) -> DensityBounds:
    """An upper bound and an estimate of every log-density, as GEMM operands.

    With the precision's eigenvalues ``l_1 <= l_2 <= ...``, eigenvectors
    ``v_j``, ``s_j = v_j^T (x - mu_k)`` and ``d = |x - mu_k|^2``,

        (x - mu_k)^T P_k (x - mu_k) >= l_{r+1} d - sum_{j<=r} (l_{r+1} - l_j) s_j^2,

    exact in the ``r`` directions of largest variance, where an elongated
    component would make ``l_1 d`` useless. The ``d`` part is linear in
    ``[x; 1; |x|^2]`` (rows centred like the data) and the ``s_j`` are one
    small GEMM. Rounding is covered by shrinking the bound by a relative
    ``rel`` of ``|x|^2 + |mu|^2`` and widening the margin by the constants'.
    The estimate uses the average eigenvalue instead.
    """
    n_features = centred_means.shape[1]
    eigenvalues, eigenvectors = np.linalg.eigh(factors @ factors.transpose(0, 2, 1))
    eigenvalues = np.maximum(eigenvalues, 0.0)
    n_exact = min(BOUND_DIRECTIONS, n_features - 1)
    floor = eigenvalues[:, n_exact]
    eps = float(np.finfo(dtype).eps)
    rel = 8.0 * (n_features + 2) * eps
    mean_norms = (centred_means**2).sum(1)

    def coefficients(scale: np.ndarray, shrink: float) -> np.ndarray:
        out = np.empty((len(scale), n_features + 2))
        out[:, :n_features] = scale[:, None] * centred_means
        out[:, n_features] = constant - 0.5 * scale * shrink * mean_norms
        out[:, n_features + 1] = -0.5 * scale * shrink
        return out.astype(dtype)

    directions = direction_weights = None
    if n_exact > 0:
        # rows [v_j, -v_j . mu_k] against [x; 1]; weights (l_{r+1} - l_j)/2
        vectors = eigenvectors[:, :, :n_exact].transpose(0, 2, 1)
        rows = np.empty((len(floor), n_exact, n_features + 1))
        rows[:, :, :n_features] = vectors
        rows[:, :, n_features] = -np.einsum("krd,kd->kr", vectors, centred_means)
        weights = 0.5 * (floor[:, None] - eigenvalues[:, :n_exact]) * (1.0 + rel)
        directions = rows.reshape(-1, n_features + 1).astype(dtype)
        direction_weights = weights.astype(dtype)
    finite = np.where(np.isfinite(constant), constant, 0.0)
    margin = _PRUNE_MARGIN[np.dtype(dtype)] + (n_features + 2) * eps * float(
        np.abs(finite).max(initial=0.0)
    )
    # the subtracted squares are at most 2(|x|^2 + |mu|^2) each: widen for them
    shrink = 1.0 - rel * (1.0 + 2.0 * n_exact)
    return DensityBounds(
        upper=coefficients(floor, shrink),
        typical=coefficients(eigenvalues.mean(1), 1.0),
        directions=directions,
        direction_weights=direction_weights,
        margin=margin,
    )
