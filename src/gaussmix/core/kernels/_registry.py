"""The registry of fused kernels, keyed by covariance representation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gaussmix.core.covariance import CovarianceFamily
from gaussmix.core.covariance.base import mean_spread
from gaussmix.core.kernels._contract import (
    ChunkKernel,
    FirstChunk,
    KernelFactory,
    KernelRequest,
)
from gaussmix.core.params import MixtureParams

#: Largest squared distance, in a component's own deviations, between a
#: mean and the means' average that the fused kernels accept; beyond it the
#: E-step takes the generic path, which centres on each mean. Even float64
#: moments moved over that distance would lose about 1e-8 of a variance.
#: Kernels registered with their own ``spread_limits`` accept more where
#: their arithmetic allows (an infinite limit: the factory judges, and may
#: return None).
FUSED_SPREAD_LIMIT = 1e8

_KERNELS: dict[type[CovarianceFamily], tuple[KernelFactory, dict[np.dtype, float]]] = {}


def register_kernel(
    representation: type[CovarianceFamily],
    *,
    spread_limits: dict[np.dtype, float] | None = None,
) -> Callable[[KernelFactory], KernelFactory]:
    """Register a kernel factory for a representation and its subclasses.

    ``spread_limits``: per dtype, the largest spread of the means the
    kernel accepts where that is not :data:`FUSED_SPREAD_LIMIT`.
    """

    def decorate(factory: KernelFactory) -> KernelFactory:
        _KERNELS[representation] = (factory, spread_limits or {})
        return factory

    return decorate


def fused_kernel(
    params: MixtureParams,
    shift: np.ndarray,
    dtype: np.dtype,
    reference: np.ndarray | None = None,
    first_chunk: FirstChunk | None = None,
    passes_without_pruning: int = 0,
) -> ChunkKernel | None:
    """The fused kernel for ``params``' family, built; None when there is none.

    The arguments are those of :class:`KernelRequest`; ``shift`` may be of
    any float dtype.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        return None
    family = params.family
    for cls in family.__mro__:
        entry = _KERNELS.get(cls)
        if entry is not None:
            factory, spread_limits = entry
            spread = mean_spread(
                params.means, params.precisions_cholesky, family.matrix_layout
            )
            if not spread <= spread_limits.get(dtype, FUSED_SPREAD_LIMIT):
                # the kernel expands every quadratic form about the means'
                # average, which cancels when one mean (an outlier's) lies
                # that far away
                return None
            shift = np.asarray(shift, dtype=np.float64)
            return factory(
                KernelRequest(
                    params, shift, dtype, reference, first_chunk, passes_without_pruning
                )
            )
    return None
