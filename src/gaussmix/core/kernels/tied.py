"""Fused kernel for one covariance matrix shared by all components."""

from __future__ import annotations

import numpy as np

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.covariance.tied import TiedRepresentation
from gaussmix.core.kernels._common import (
    KernelBase,
    assemble,
    centred_rows,
    weighted_responsibilities,
)
from gaussmix.core.kernels._contract import BlockPlan, KernelRequest, PartialStats
from gaussmix.core.kernels._registry import register_kernel


class TiedKernel(KernelBase):
    """E-step and Stats for a shared precision factor ``U``.

    Rows are whitened once, ``y_i = U^T (x_i - c)``; the distance to every
    component is then ``|y|^2 - 2 m_k . y + |m_k|^2``, a single GEMM with the
    whitened means. The pooled scatter does not depend on the
    responsibilities: it is the rows' own scatter about ``c``, the means'
    average.
    """

    def __init__(self, request: KernelRequest):
        # the request's reference and first chunk go unused: the blocks
        # depend on the parameters (nothing to keep), nothing is decided
        params, shift, dtype = request.params, request.shift, request.dtype
        factor = np.asarray(params.precisions_cholesky, dtype=np.float64)
        n_features = shift.shape[1]
        self.dtype = dtype
        self.centre = shift.mean(0).astype(dtype)
        # one shift shared by every component, as the pooled scatter needs
        self.shift = np.broadcast_to(self.centre.astype(np.float64), shift.shape).copy()
        whitened_means = (shift - self.centre) @ factor
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
        self.constant = (
            log_weights
            + np.log(np.diagonal(factor)).sum()
            - 0.5 * (n_features * LOG_2PI + (whitened_means**2).sum(1))
        ).astype(dtype)[:, None]
        self.whiten = np.ascontiguousarray(factor.T, dtype=dtype)
        self.whitened_means = whitened_means.astype(dtype)
        # its blocks depend on the parameters, so there is nothing to keep
        self.plan = BlockPlan.sized(
            row_elements=2 * n_features + shift.shape[0],
            chunk_elements=self.chunk_elements,
        )

    def prepare(self, rows: np.ndarray) -> np.ndarray:
        """The rows themselves: centring them is part of the chunk's pass."""
        return rows

    def chunk(
        self,
        block: np.ndarray,
        rows: np.ndarray,
        sample_weight: np.ndarray | None,
        grouped: bool = False,
    ) -> PartialStats:
        centred = centred_rows(rows, self.centre, extra_rows=0)
        whitened = self.whiten @ centred
        log_prob = self.whitened_means @ whitened
        log_prob += self.constant
        log_prob -= 0.5 * np.einsum("dn,dn->n", whitened, whitened)
        summary, _ = weighted_responsibilities(log_prob, rows, sample_weight)
        resp = log_prob
        resp_sum = resp.sum(axis=1, dtype=np.float64)
        centred_sum = (resp @ centred.T).astype(np.float64)
        if sample_weight is None:
            weighted = centred
        else:
            weighted = centred * np.asarray(sample_weight, dtype=self.dtype)
        scatter = (weighted @ centred.T).astype(np.float64)
        return assemble(
            resp_sum,
            centred_sum,
            scatter,
            self.shift,
            "pooled",
            summary,
        )


# the class is its own factory: its constructor takes the factory's arguments
register_kernel(TiedRepresentation)(TiedKernel)
