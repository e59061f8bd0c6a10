"""Fused kernel for diagonal and spherical covariances."""

from __future__ import annotations

import numpy as np

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.covariance.diag import DiagRepresentation
from gaussmix.core.covariance.spherical import SphericalRepresentation
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

#: Largest squared distance, in a component's own standard deviations,
#: between a component and the centre for which moments may be formed in
#: float32: moving them to the component's mean multiplies float32's
#: rounding error (about 1e-7 per chunk) by about this factor.
FLOAT32_MOMENT_SPREAD = 100.0


class DiagonalKernel(KernelBase):
    """E-step and Stats for per-component precisions ``p_kd`` (diagonal).

    The whole quadratic form is one GEMM, ``[m p, -p/2, c] @ [x; x^2; 1]``,
    on rows centred on the means' average so that the expansion does not
    cancel for data far from the origin. The moments (and the responsibility
    sums) are then one more GEMM against the same block, about that centre,
    moved to each component's shift in float64. float32 data are computed in
    float32 unless a component sits so far from the centre, relative to its
    spread, that moving the moments would amplify float32's rounding (see
    :data:`FLOAT32_MOMENT_SPREAD`); then the chunk is computed in float64.
    """

    def __init__(
        self,
        params: MixtureParams,
        shift: np.ndarray,
        dtype: np.dtype,
        precisions: np.ndarray,
    ):
        n_components, n_features = shift.shape
        self.shift = shift
        centre = shift.mean(0).astype(dtype)
        offsets = shift - centre
        self.offsets = offsets
        spread = offsets * offsets * precisions
        # one dtype for the whole chunk: converting only the moments' inputs
        # would cost more than float32 saves
        self.compute_dtype = (
            dtype
            if dtype == np.float64 or spread.max(initial=0.0) <= FLOAT32_MOMENT_SPREAD
            else np.dtype(np.float64)
        )
        self.centre = centre.astype(self.compute_dtype)
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
        constant = (
            log_weights
            + 0.5 * np.log(precisions).sum(1)
            - 0.5 * (n_features * LOG_2PI + spread.sum(1))
        )
        coefficients = np.empty((n_components, 2 * n_features + 1), self.compute_dtype)
        coefficients[:, :n_features] = offsets * precisions
        coefficients[:, n_features : 2 * n_features] = -0.5 * precisions
        coefficients[:, 2 * n_features] = constant
        self.coefficients = coefficients
        self.row_elements = 2 * n_features + 1 + n_components

    def partial(self, X: np.ndarray, sample_weight: np.ndarray | None) -> Stats:
        n_features = X.shape[1]
        rows = centred_rows(
            X.astype(self.compute_dtype, copy=False), self.centre, n_features + 1
        )
        centred = rows[:n_features]
        np.multiply(centred, centred, out=rows[n_features : 2 * n_features])
        rows[2 * n_features] = 1.0
        log_prob = self.coefficients @ rows
        log_norm = normalize_components(log_prob)
        resp = weigh(log_prob, sample_weight)
        # [first moments, second moments, responsibility sums] in one GEMM
        moments = (resp @ rows.T).astype(np.float64)
        first, second = moments[:, :n_features], moments[:, n_features:-1]
        resp_sum = moments[:, -1]
        offset = self.offsets
        scatter = second - 2.0 * offset * first + resp_sum[:, None] * offset**2
        return assemble(
            resp_sum,
            first - resp_sum[:, None] * offset,
            scatter,
            self.shift,
            "diag",
            chunk_summary(X, log_norm, sample_weight),
        )


@register_kernel(DiagRepresentation)
def diagonal_kernel(
    params: MixtureParams, shift: np.ndarray, dtype: np.dtype
) -> DiagonalKernel:
    factors = np.asarray(params.precisions_cholesky, dtype=np.float64)
    return DiagonalKernel(params, shift, dtype, factors * factors)


@register_kernel(SphericalRepresentation)
def spherical_kernel(
    params: MixtureParams, shift: np.ndarray, dtype: np.dtype
) -> DiagonalKernel:
    factors = np.asarray(params.precisions_cholesky, dtype=np.float64)
    precisions = np.repeat((factors * factors)[:, None], shift.shape[1], axis=1)
    return DiagonalKernel(params, shift, dtype, precisions)
