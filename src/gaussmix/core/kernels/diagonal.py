"""Fused kernel for diagonal and spherical covariances."""

from __future__ import annotations

from dataclasses import dataclass, replace

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

#: Largest share of the components (at least one) that a kernel takes about
#: their own means when they lie beyond :data:`MOMENT_SPREAD_LIMIT` from the
#: others: typically a component collapsed onto an outlying row, which
#: would otherwise send every component to the generic E-step (30 times
#: slower at 100,000 x 64, K = 64). Each costs a few passes over (D, n) in
#: float64, so beyond a few the generic path is as good.
FAR_SHARE = 0.125

#: The registry's limits on the means' spread for this kernel: none, since
#: :func:`split_far` decides (and the factory returns None beyond it).
ANY_SPREAD = dict.fromkeys((np.dtype(np.float32), np.dtype(np.float64)), np.inf)


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

    A few components whose means lie too far from the others for that
    expansion (:func:`split_far`; typically one collapsed onto an outlying
    row) are left out of the centre and computed about their own means,
    in float64, from the rows themselves.
    """

    #: Every step is a streaming pass over a (K or 2D, n) block, so chunks
    #: small enough for the core's own cache are markedly faster (1M rows,
    #: D = K = 16, float32: 0.09 s per pass against 0.13 s at 1 << 20).
    chunk_elements = 1 << 18

    def __init__(self, request: KernelRequest, precisions: np.ndarray, split: FarSplit):
        params, shift, reference = request.params, request.shift, request.reference
        n_components, n_features = shift.shape
        self.shift = shift
        near = ~split.far
        # one dtype for the whole chunk: converting only the moments' inputs
        # would cost more than float32 saves
        self.compute_dtype = split.compute_dtype
        centre = split.centre
        if reference is not None:
            spread = _spread(shift[near], centre, precisions[near])
            limit = max(spread, MOMENT_SPREAD_LIMIT[self.compute_dtype])
            if _spread(shift[near], reference, precisions[near]) <= limit:
                centre = np.asarray(reference, dtype=np.float64)
        self.centre = centre.astype(self.compute_dtype)
        offsets = shift - self.centre.astype(np.float64)
        # far components' densities and moments are taken about their own
        # means (:meth:`_far_densities`): the GEMM's rows for them are
        # overwritten, and :meth:`finish` does not move their moments
        self.far = np.flatnonzero(split.far)
        self.far_precisions = precisions[self.far]
        offsets[self.far] = 0.0
        self.offsets = offsets
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
        constant = (
            log_weights
            + 0.5 * np.log(precisions).sum(1)
            - 0.5 * (n_features * LOG_2PI + (offsets * offsets * precisions).sum(1))
        )
        self.far_constant = constant[self.far]
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
            # a chunk whose rows share their likeliest component normalises
            # and sums only the components that matter to them
            groups_rows=True,
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
        deviations = self._far_densities(rows, log_prob)
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
        position = np.arange(n_components)
        if active is not None:
            first, second, resp_sum = (
                in_all_components(part, active, n_components)
                for part in (first, second, resp_sum)
            )
            position[:] = -1
            position[active] = np.arange(active.size)
        else:
            first, second = first.copy(), second.copy()
        for k, deviation in zip(self.far, deviations, strict=True):
            # a component left out of a grouped chunk keeps its zero sums
            if position[k] >= 0:
                weights = resp[position[k]].astype(np.float64)
                first[k] = deviation @ weights
                second[k] = (deviation * deviation) @ weights
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

    def _far_densities(self, rows: np.ndarray, log_prob: np.ndarray) -> list:
        """Write far components' log-densities into ``log_prob``, in place,
        from the rows' deviations from their means (float64, (D, n) each,
        returned for the moments).

        Expanded about the centre, a far component's quadratic form would
        cancel: its mean lies further from the centre, in its own deviations,
        than the compute dtype resolves. The deviations are taken from the
        rows themselves, not from the block's ``x - c``, whose rounding in
        float32 would be large beside a collapsed component's spread.
        """
        deviations = []
        if not self.far.size:
            return deviations
        transposed = np.asarray(rows, dtype=np.float64).T
        for j, k in enumerate(self.far):
            deviation = transposed - self.shift[k][:, None]
            squares = self.far_precisions[j] @ (deviation * deviation)
            log_prob[k] = self.far_constant[j] - 0.5 * squares
            deviations.append(deviation)
        return deviations

    def finish(self, partial: PartialStats) -> Stats:
        """Move the summed moments from the centre to each component's shift."""
        sums = partial.sums
        centred_sum, scatter = diagonal_moments_about(
            sums.centred_sum, sums.scatter, sums.resp_sum, self.offsets
        )
        return replace(sums, centred_sum=centred_sum, scatter=scatter)

    def likeliest_components(self, block: np.ndarray) -> np.ndarray | None:
        """Each row's likeliest component; None where grouping rows by it
        would not leave any component out of a chunk (:func:`grouping_pays`)
        or where some component is far from the others (rarely: regrouping
        would gain little beside its own pass)."""
        if self.far.size:
            return None
        log_prob = self.coefficients @ block
        labels = likeliest(log_prob)
        return labels if grouping_pays(log_prob, labels) else None


def _spreads(
    shift: np.ndarray, centre: np.ndarray, precisions: np.ndarray
) -> np.ndarray:
    """Squared distance of each mean from ``centre``, in its own deviations."""
    offsets = shift - centre
    with np.errstate(over="ignore", invalid="ignore"):
        return (offsets * offsets * precisions).sum(1)


def _spread(shift: np.ndarray, centre: np.ndarray, precisions: np.ndarray) -> float:
    """Largest squared distance of a mean from ``centre``, in its own deviations."""
    return float(_spreads(shift, centre, precisions).max(initial=0.0))


@dataclass(frozen=True)
class FarSplit:
    """The compute dtype, the centre and the components taken on their own."""

    compute_dtype: np.dtype
    centre: np.ndarray
    far: np.ndarray


def split_far(
    shift: np.ndarray, precisions: np.ndarray, dtype: np.dtype
) -> FarSplit | None:
    """Which components the kernel takes about their own means, and in which
    dtype it computes; None when more than :data:`FAR_SHARE` of them would
    need it (the generic E-step then centres every component on itself).

    The means' average is the centre unless a mean lies beyond the dtype's
    :data:`MOMENT_SPREAD_LIMIT` from it: then the farthest components are
    set apart one at a time, the centre being the average of the others,
    until the rest lie within the limit. float32 data that still need more
    are computed in float64, with float64's limit.
    """
    n_components = shift.shape[0]
    most = max(1, int(FAR_SHARE * n_components))
    for compute_dtype in dict.fromkeys((np.dtype(dtype), np.dtype(np.float64))):
        far = np.zeros(n_components, dtype=bool)
        while True:
            centre = shift[~far].mean(0).astype(dtype).astype(np.float64)
            spreads = _spreads(shift, centre, precisions)
            spreads[far] = -np.inf
            farthest = int(np.argmax(spreads))
            if spreads[farthest] <= MOMENT_SPREAD_LIMIT[compute_dtype]:
                return FarSplit(compute_dtype, centre, far)
            if far.sum() == most or not np.isfinite(spreads[farthest]):
                break
            far[farthest] = True
    return None


def _kernel(request: KernelRequest, precisions: np.ndarray) -> DiagonalKernel | None:
    split = split_far(request.shift, precisions, request.dtype)
    return None if split is None else DiagonalKernel(request, precisions, split)


@register_kernel(DiagRepresentation, spread_limits=ANY_SPREAD)
def diagonal_kernel(request: KernelRequest) -> DiagonalKernel | None:
    factors = np.asarray(request.params.precisions_cholesky, dtype=np.float64)
    return _kernel(request, factors * factors)


@register_kernel(SphericalRepresentation, spread_limits=ANY_SPREAD)
def spherical_kernel(request: KernelRequest) -> DiagonalKernel | None:
    factors = np.asarray(request.params.precisions_cholesky, dtype=np.float64)
    n_features = request.shift.shape[1]
    precisions = np.repeat((factors * factors)[:, None], n_features, axis=1)
    return _kernel(request, precisions)
