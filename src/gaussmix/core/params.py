"""The parameters of a Gaussian mixture as one immutable value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.covariance import CovarianceFamily, get_family


@dataclass(frozen=True)
class MixtureParams:
    """Weights, means and covariances of a mixture, with the precision factors.

    Attributes
    ----------
    weights : array of shape (n_components,)
    means : array of shape (n_components, n_features)
    covariances : array
        Shape set by the covariance family (for scikit-learn's types:
        full (K, D, D), tied (D, D), diag (K, D), spherical (K,)).
    precisions_cholesky : array
        Upper-triangular factors ``U`` with precision ``U U^T`` (same shapes as
        the covariances), as in scikit-learn.
    covariance_type : str
        Name of the covariance family.
    """

    weights: Array
    means: Array
    covariances: Array
    precisions_cholesky: Array
    covariance_type: str

    @property
    def family(self) -> type[CovarianceFamily]:
        return get_family(self.covariance_type)

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])

    def mapped(self, convert: Callable[[Array], Array]) -> MixtureParams:
        """These parameters with ``convert`` applied to each of their arrays."""
        return replace(
            self,
            weights=convert(self.weights),
            means=convert(self.means),
            covariances=convert(self.covariances),
            precisions_cholesky=convert(self.precisions_cholesky),
        )

    def cast(self, like: Array, dtype: Any | None = None) -> MixtureParams:
        """These parameters on ``like``'s backend and device, in ``dtype``."""
        xp = get_backend(like)
        dtype = like.dtype if dtype is None else dtype
        return self.mapped(lambda a: xp.asarray(a, dtype=dtype, like=like))

    def to_numpy(self, dtype: Any = np.float64) -> MixtureParams:
        """These parameters as numpy arrays of ``dtype``."""
        return self.mapped(
            lambda a: np.asarray(get_backend(a).to_numpy(a), dtype=dtype)
        )

    def contiguous(self) -> MixtureParams:
        """These (numpy) parameters with every array C-contiguous."""
        return self.mapped(np.ascontiguousarray)
