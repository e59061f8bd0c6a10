"""Fused E-step kernels for numpy: one pass from a chunk of rows to its Stats.

The generic E-step (:mod:`gaussmix.core.estep`) works on every backend and
lays out log-densities as (n_samples, n_components). On the CPU the time goes
to memory traffic, not to arithmetic, so these kernels

- keep per-component blocks component-major, (n_components, n_samples), so
  that every reduction over components is a vectorised pass along rows;
- fold the centring into the whitening GEMM and reuse the whitened rows for
  the scatter, so that no (n, K, D) block is written more than once;
- form products in the data's dtype and return float64 sums, like the
  generic path, and give the same Stats up to rounding.

A kernel is built once per pass over the data (everything that depends on
the parameters only, and its one-off decisions); then each chunk's rows are
``prepare``-d into a block (which depends on the rows only and may be kept
between passes) and the block gives the chunk's :class:`PartialStats`; the
kernel's ``finish`` turns their total into Stats. Kernels are registered by
covariance representation; families without one fall back to the generic
E-step.
"""

from __future__ import annotations

from gaussmix.core.kernels import diagonal, full, tied  # noqa: F401  (registration)
from gaussmix.core.kernels._common import normalize_components
from gaussmix.core.kernels._contract import (
    BlockPlan,
    ChunkKernel,
    FirstChunk,
    KernelRequest,
    PartialStats,
)
from gaussmix.core.kernels._registry import fused_kernel, register_kernel

__all__ = [
    "BlockPlan",
    "ChunkKernel",
    "FirstChunk",
    "KernelRequest",
    "PartialStats",
    "fused_kernel",
    "normalize_components",
    "register_kernel",
]
