"""The registry of fused kernels, keyed by covariance representation."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

import numpy as np

from gaussmix.core.covariance import CovarianceFamily
from gaussmix.core.covariance.base import mean_spread
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats


class ChunkKernel(Protocol):
    """Stats of chunks of rows under fixed parameters.

    ``partial`` may return Stats whose scatter is still in a kernel-specific
    basis; partials add like Stats, and ``finish`` turns their sum into
    Stats proper. Deferring that change of basis to the end keeps its cost
    independent of the number of chunks.
    """

    #: Numbers the kernel's per-chunk blocks hold per row.
    row_elements: int

    #: Numbers its per-chunk blocks should hold in all: the chunk size.
    chunk_elements: int

    #: Equal keys mean that ``prepare`` makes the same block of the same
    #: chunk, so a block kept from an earlier pass may be passed to
    #: ``partial_prepared``; None when there is nothing worth keeping.
    preparation_key: Hashable | None

    #: Whether streamed chunks are worth putting in order of their rows'
    #: likeliest components, at the cost of preparing their blocks twice.
    groups_streamed_rows: bool

    #: The centre the kernel's blocks are taken about, to offer the next
    #: pass's kernel as ``reference``; None when there is none.
    reference: np.ndarray | None

    def calibrate(self, X: np.ndarray) -> None: ...

    def prepare(self, X: np.ndarray) -> np.ndarray: ...

    def partial_prepared(
        self,
        block: np.ndarray,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        grouped: bool = False,
    ) -> Stats: ...

    def likeliest_components(self, block: np.ndarray) -> np.ndarray | None: ...

    def partial(self, X: np.ndarray, sample_weight: np.ndarray | None) -> Stats: ...

    def finish(self, partial: Stats) -> Stats: ...

    def __call__(self, X: np.ndarray, sample_weight: np.ndarray | None) -> Stats: ...


#: Builds a kernel from float64 parameters, the shift, the data's dtype and
#: a preferred centre (or None).
KernelFactory = Callable[
    [MixtureParams, np.ndarray, np.dtype, np.ndarray | None], ChunkKernel
]

#: Largest squared distance, in a component's own deviations, between a
#: mean and the means' average that the fused kernels accept; beyond it the
#: E-step takes the generic path, which centres on each mean. Even float64
#: moments moved over that distance would lose about 1e-8 of a variance.
FUSED_SPREAD_LIMIT = 1e8

_KERNELS: dict[type[CovarianceFamily], KernelFactory] = {}


def register_kernel(
    representation: type[CovarianceFamily],
) -> Callable[[KernelFactory], KernelFactory]:
    """Register a kernel factory for a representation and its subclasses."""

    def decorate(factory: KernelFactory) -> KernelFactory:
        _KERNELS[representation] = factory
        return factory

    return decorate


def fused_kernel(
    params: MixtureParams,
    shift: np.ndarray,
    dtype: np.dtype,
    reference: np.ndarray | None = None,
) -> ChunkKernel | None:
    """The fused kernel for ``params``' family, prepared; None when there is none.

    ``params`` are numpy float64 parameters; ``shift`` (n_components,
    n_features) the centres the Stats are taken about; ``dtype`` the dtype of
    the chunks the kernel will be called on (float32 or float64);
    ``reference`` an earlier kernel's ``reference``, which the new kernel
    takes as its centre when that costs no accuracy, so that blocks kept
    from the earlier pass stay valid.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        return None
    family = params.family
    spread = mean_spread(params.means, params.precisions_cholesky, family.matrix_layout)
    if not spread <= FUSED_SPREAD_LIMIT:
        # the kernels expand every quadratic form about the means' average,
        # which cancels when one mean (an outlier's) lies that far away
        return None
    for cls in params.family.__mro__:
        factory = _KERNELS.get(cls)
        if factory is not None:
            return factory(
                params, np.asarray(shift, dtype=np.float64), dtype, reference
            )
    return None
