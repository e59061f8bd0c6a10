"""Fused kernel for diagonal and spherical covariances."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.covariance.diag import DiagRepresentation
from gaussmix.core.covariance.spherical import SphericalRepresentation
from gaussmix.core.kernels._common import (
    KernelBase,
    assemble,
    centred_rows,
    chunk_summary,
    grouping_pays,
    in_all_components,
    likeliest,
    normalize_active_components,
    weigh,
    weighted_responsibilities,
)
from gaussmix.core.kernels._contract import BlockPlan, KernelRequest, PartialStats
from gaussmix.core.kernels._registry import register_kernel
from gaussmix.core.kernels.few_components import weighted_sums
from gaussmix.core.stats import Stats, diagonal_moments_about

#: Largest squared distance, in a component's own standard deviations,
#: between a component and the centre for which moments may be formed in
#: each dtype. Moving moments taken about the centre to the component's mean
#: multiplies the dtype's rounding error by about this factor. Measured
#: with float32 at 400-500: fitted variances within 1e-5 relative of
#: float64's, so 800 keeps them well within 1e-4; float64's limit keeps its
#: error near 1e-8.
MOMENT_SPREAD_LIMIT = {np.dtype(np.float32): 800.0, np.dtype(np.float64): 1e8}


class DiagonalKernel(KernelBase):
    """E-step and Stats for per-component precisions ``p_kd`` (diagonal).

    The whole quadratic form is one GEMM, ``[m p, -p/2, c] @ [x; x^2; 1]``,
    on rows centred on a centre near the means so that the expansion does
    not cancel for data far from the origin. The moments (and the
    responsibility sums) are then one more GEMM against the same block,
    about that centre, moved to each component's shift in float64 once
    their total over all chunks is known (:meth:`finish`). float32
    data are computed in float32 unless a component sits so far from the
    centre, relative to its spread, that moving the moments would amplify
    float32's rounding (see :data:`MOMENT_SPREAD_LIMIT`); then the chunk is
    computed in float64.

    The block ``[x - c; (x - c)^2; 1]`` depends on the rows and the centre
    only, so it is what :meth:`prepare` returns and what a caller may keep
    across passes (its plan's ``preparation_key``). The centre is the means'
    average, or ``reference`` when that is as good a centre numerically,
    which lets a kept block serve the next pass.
    """

    #: Every step is a streaming pass over a (K or 2D, n) block, so chunks
    #: small enough for the core's own cache are markedly faster (1M rows,
    #: D = K = 16, float32: 0.09 s per pass against 0.13 s at 1 << 20).
    chunk_elements = 1 << 18

    def __init__(self, request: KernelRequest, precisions: np.ndarray):
        params, shift, dtype = request.params, request.shift, request.dtype
        reference = request.reference
        n_components, n_features = shift.shape
        self.shift = shift
        centre = shift.mean(0).astype(dtype).astype(np.float64)
        spread = _spread(shift, centre, precisions)
        # one dtype for the whole chunk: converting only the moments' inputs
        # would cost more than float32 saves
        self.compute_dtype = (
            dtype
            if spread <= MOMENT_SPREAD_LIMIT[np.dtype(dtype)]
            else np.dtype(np.float64)
        )
        if reference is not None:
            limit = max(spread, MOMENT_SPREAD_LIMIT[self.compute_dtype])
            if _spread(shift, reference, precisions) <= limit:
                centre = np.asarray(reference, dtype=np.float64)
        self.centre = centre.astype(self.compute_dtype)
        offsets = shift - centre
        self.offsets = offsets
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
        constant = (
            log_weights
            + 0.5 * np.log(precisions).sum(1)
            - 0.5 * (n_features * LOG_2PI + (offsets * offsets * precisions).sum(1))
        )
        coefficients = np.empty((n_components, 2 * n_features + 1), self.compute_dtype)
        coefficients[:, :n_features] = offsets * precisions
        coefficients[:, n_features : 2 * n_features] = -0.5 * precisions
        coefficients[:, 2 * n_features] = constant
        self.coefficients = coefficients
        self.plan = BlockPlan.sized(
            row_elements=2 * n_features + 1 + n_components,
            chunk_elements=self.chunk_elements,
            preparation_key=("diagonal", self.compute_dtype.str, centre.tobytes()),
            reference=centre,
        )

    def prepare(self, rows: np.ndarray) -> np.ndarray:
        """``[x - c; (x - c)^2; 1]``, (2D + 1, n), in the compute dtype."""
        n_features = rows.shape[1]
        block = centred_rows(
            rows.astype(self.compute_dtype, copy=False), self.centre, n_features + 1
        )
        centred = block[:n_features]
        np.multiply(centred, centred, out=block[n_features : 2 * n_features])
        block[2 * n_features] = 1.0
        return block

    def chunk(
        self,
        block: np.ndarray,
        rows: np.ndarray,
        sample_weight: np.ndarray | None,
        grouped: bool = False,
    ) -> PartialStats:
        n_components, n_features = self.shift.shape
        log_prob = self.coefficients @ block
        if grouped:
            resp, active, log_norm = normalize_active_components(log_prob)
            resp = weigh(resp, sample_weight)
            summary = chunk_summary(rows, log_norm, sample_weight)
        else:
            resp, active = log_prob, None
            summary, _ = weighted_responsibilities(resp, rows, sample_weight)
        # (2D + 1, K) = [first moments; second moments; responsibility sums]
        # about the centre, all from one GEMM against the whole block (its
        # row of ones gives the sums): a separate reduction over the (K, n)
        # responsibilities would cost a sixth of the GEMM again
        sums = weighted_sums(block, resp)
        first = sums[:n_features].T
        second = sums[n_features : 2 * n_features].T
        resp_sum = sums[2 * n_features]
        if active is not None:
            first, second, resp_sum = (
                in_all_components(part, active, n_components)
                for part in (first, second, resp_sum)
            )
        # the moments stay about the centre until :meth:`finish` moves their
        # total to the shifts: once per pass instead of once per chunk
        return assemble(
            resp_sum,
            np.ascontiguousarray(first),
            np.ascontiguousarray(second),
            self.shift,
            "diag",
            summary,
        )

    def finish(self, partial: PartialStats) -> Stats:
        """Move the summed moments from the centre to each component's shift."""
        sums = partial.sums
        centred_sum, scatter = diagonal_moments_about(
            sums.centred_sum, sums.scatter, sums.resp_sum, self.offsets
        )
        return replace(sums, centred_sum=centred_sum, scatter=scatter)

    def likeliest_components(self, block: np.ndarray) -> np.ndarray | None:
        """Each row's likeliest component; None where grouping rows by it
        would not leave any component out of a chunk (:func:`grouping_pays`)."""
        log_prob = self.coefficients @ block
        labels = likeliest(log_prob)
        return labels if grouping_pays(log_prob, labels) else None


def _spread(shift: np.ndarray, centre: np.ndarray, precisions: np.ndarray) -> float:
    """Largest squared distance of a mean from ``centre``, in its own deviations."""
    offsets = shift - centre
    return float((offsets * offsets * precisions).max(initial=0.0))


@register_kernel(DiagRepresentation)
def diagonal_kernel(request: KernelRequest) -> DiagonalKernel:
    factors = np.asarray(request.params.precisions_cholesky, dtype=np.float64)
    return DiagonalKernel(request, factors * factors)


@register_kernel(SphericalRepresentation)
def spherical_kernel(request: KernelRequest) -> DiagonalKernel:
    factors = np.asarray(request.params.precisions_cholesky, dtype=np.float64)
    n_features = request.shift.shape[1]
    precisions = np.repeat((factors * factors)[:, None], n_features, axis=1)
    return DiagonalKernel(request, precisions)
