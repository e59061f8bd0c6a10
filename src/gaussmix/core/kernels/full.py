"""Fused kernel for one full covariance matrix per component."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gaussmix.backend import NUMPY_BACKEND
from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.covariance.full import FullRepresentation
from gaussmix.core.kernels._common import (
    KernelBase,
    assemble,
    centred_rows,
    chunk_summary,
    normalize_components,
    weigh,
)
from gaussmix.core.kernels._registry import register_kernel
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats


class FullKernel(KernelBase):
    """E-step and Stats for per-component precision factors ``U_k``.

    Each row is whitened by every component in one GEMM,
    ``a_ik = U_k^T (x_i - mu_k)``, with the centring folded into the product
    through a row of ones. The same whitened rows give the scatter: with
    ``T_k = sum_i r_ik a_ik a_ik^T`` the scatter about ``mu_k`` is
    ``U_k^-T T_k U_k^-1``. Working in whitened coordinates keeps float32
    accurate (``T_k`` is close to the identity) and the scatter needs no
    second centring pass per component.
    """

    def __init__(self, params: MixtureParams, shift: np.ndarray, dtype: np.dtype):
        factors = np.asarray(params.precisions_cholesky, dtype=np.float64)
        n_components, n_features = shift.shape
        self.dtype = dtype
        self.shift = shift
        self.centre = shift.mean(0).astype(dtype)
        offsets = np.einsum("kd,kdj->kj", shift - self.centre, factors)
        coefficients = np.empty((n_components * n_features, n_features + 1), dtype)
        coefficients[:, :n_features] = factors.transpose(0, 2, 1).reshape(
            n_components * n_features, n_features
        )
        coefficients[:, n_features] = -offsets.reshape(-1)
        self.coefficients = coefficients
        self.row_elements = n_components * n_features + n_features + 1
        log_det = np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(1)
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
        self.constant = (log_weights + log_det - 0.5 * n_features * LOG_2PI).astype(
            dtype
        )[:, None]
        # U_k^-T, lower triangular: maps whitened scatter back to data units
        self.unwhiten = NUMPY_BACKEND.invert_lower(factors.transpose(0, 2, 1))

    def partial(self, X: np.ndarray, sample_weight: np.ndarray | None) -> Stats:
        n_samples, n_features = X.shape
        n_components = self.constant.shape[0]
        rows = centred_rows(X, self.centre, extra_rows=1)
        rows[n_features] = 1.0
        whitened = (self.coefficients @ rows).reshape(
            n_components, n_features, n_samples
        )
        log_prob = np.einsum("kdn,kdn->kn", whitened, whitened)
        log_prob *= -0.5
        log_prob += self.constant
        log_norm = normalize_components(log_prob)
        resp = weigh(log_prob, sample_weight)
        resp_sum = resp.sum(axis=1, dtype=np.float64)
        first = (resp @ rows[:n_features].T).astype(np.float64)
        centred_sum = first - resp_sum[:, None] * (self.shift - self.centre)
        np.sqrt(resp, out=resp)
        whitened_scatter = weighted_gram(whitened, resp).astype(np.float64)
        return assemble(
            resp_sum,
            centred_sum,
            whitened_scatter,
            self.shift,
            "full",
            chunk_summary(X, log_norm, sample_weight),
        )

    def finish(self, partial: Stats) -> Stats:
        """Map the summed whitened scatter back to data coordinates."""
        scatter = self.unwhiten @ partial.scatter @ self.unwhiten.transpose(0, 2, 1)
        return replace(partial, scatter=0.5 * (scatter + scatter.transpose(0, 2, 1)))


#: Square roots of responsibilities below this (relative to a row's total
#: of 1) are left out of the scatter: they change no sum at the dtype's
#: resolution.
_NEGLIGIBLE_ROOT = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 3e-8}

#: Largest share of (component, row) pairs above the threshold for which
#: the scatter is gathered per component instead of formed densely.
SPARSE_SHARE = 0.3


def weighted_gram(whitened: np.ndarray, root_resp: np.ndarray) -> np.ndarray:
    """``sum_i r_ik a_ik a_ik^T`` for every k, from (K, D, n) and sqrt(r) (K, n).

    Clustered data give most rows a negligible responsibility under most
    components; those pairs are then skipped by gathering each component's
    rows, which turns K dense products into products over about n rows in
    all. ``whitened`` is overwritten.
    """
    n_components, n_features, n_samples = whitened.shape
    active = np.flatnonzero(root_resp > _NEGLIGIBLE_ROOT[root_resp.dtype])
    if active.size > SPARSE_SHARE * root_resp.size:
        whitened *= root_resp[:, None, :]
        return np.matmul(whitened, whitened.transpose(0, 2, 1))
    components, columns = np.divmod(active, n_samples)
    counts = np.bincount(components, minlength=n_components)
    # every active (component, row) pair as one row, grouped by component
    gathered = whitened[components, :, columns]
    gathered *= root_resp.reshape(-1)[active][:, None]
    bounds = np.concatenate(([0], np.cumsum(counts)))
    gram = np.zeros((n_components, n_features, n_features), whitened.dtype)
    for k in np.flatnonzero(counts):
        block = gathered[bounds[k] : bounds[k + 1]]
        np.dot(block.T, block, out=gram[k])
    return gram


@register_kernel(FullRepresentation)
def full_kernel(
    params: MixtureParams, shift: np.ndarray, dtype: np.dtype
) -> FullKernel:
    return FullKernel(params, shift, dtype)
