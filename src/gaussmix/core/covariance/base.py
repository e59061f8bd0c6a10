"""The interface of a covariance family and the registry that names them.

A family couples two things: a *representation* (how covariances and the
Cholesky factors of the precisions are stored, and how log-densities are
evaluated from them) and an *M-step* (how covariances are estimated from
:class:`~gaussmix.core.stats.Stats`). scikit-learn's four types and mclust's
parsimonious models are families; the E-step and the drivers only talk to this
interface.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from gaussmix._typing import Array
from gaussmix.core.stats import Stats

LOG_2PI = math.log(2.0 * math.pi)

#: Log-densities are expanded about the means' average (one GEMM for all
#: components) unless a mean lies so far from it, in its own deviations, that
#: the expansion's rounding, ``spread * eps``, would exceed this many nats;
#: then each component's rows are centred on its own mean.
EXPANSION_ROUNDING_LIMIT = 1e-3


def expansion_cancels(spread: float, eps: float) -> bool:
    """Whether a squared spread makes the expanded quadratic form inaccurate.

    ``eps`` is the machine epsilon of the data's dtype; a NaN spread counts.
    """
    return not spread * eps <= EXPANSION_ROUNDING_LIMIT


def mean_spread(
    means: Array, factors: Array, matrix_layout: bool, centre: Array | None = None
) -> float:
    """Largest squared Mahalanobis distance of a mean from ``centre``.

    ``centre`` defaults to the means' average; ``factors`` are the precision
    Cholesky factors in the family's layout; each mean is measured in its
    own component's deviations. O(K D^2).
    """
    means = np.asarray(means, dtype=np.float64)
    factors = np.asarray(factors, dtype=np.float64)
    offsets = means - (means.mean(0) if centre is None else centre)
    if factors.ndim == 3:
        whitened = np.einsum("kd,kde->ke", offsets, factors)
    elif matrix_layout:
        whitened = offsets @ factors
    elif factors.ndim == 2:
        whitened = offsets * factors
    else:
        whitened = offsets * factors[:, None]
    with np.errstate(over="ignore"):
        # an infinite spread is an answer: far beyond any limit
        return float(np.max((whitened * whitened).sum(1), initial=0.0))


class CovarianceFamily:
    """Base class of the covariance families.

    Subclasses set :attr:`name`, :attr:`scatter_kind` and implement the
    representation methods and :meth:`estimate`.
    """

    name: ClassVar[str]
    scatter_kind: ClassVar[str]
    #: Names under which the family is also known (e.g. mclust's ``"VVV"``).
    aliases: ClassVar[tuple[str, ...]] = ()
    #: True when covariances are stored as matrices, False for variances.
    matrix_layout: ClassVar[bool] = True
    #: True when all components share one covariance (EII, EEI, EEE): a
    #: conjugate prior then counts once, not once per component.
    shared_covariance: ClassVar[bool] = False

    # -- representation ---------------------------------------------------
    @staticmethod
    def covariance_shape(n_components: int, n_features: int) -> tuple[int, ...]:
        raise NotImplementedError

    @staticmethod
    def precision_cholesky(covariances: np.ndarray) -> np.ndarray:
        """Cholesky factors of the precisions (upper, as in scikit-learn).

        Raises :class:`gaussmix.backend.CholeskyError` where a covariance is
        not positive definite.
        """
        raise NotImplementedError

    @staticmethod
    def precisions(precisions_cholesky: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def cholesky_from_precisions(precisions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def check_precisions(precisions: np.ndarray) -> None:
        """Raise ValueError unless the user's precisions are valid."""
        raise NotImplementedError

    @staticmethod
    def log_prob(X: Array, means: Array, precisions_cholesky: Array) -> Array:
        """Per-component log-density, shape (n_samples, n_components)."""
        raise NotImplementedError

    @staticmethod
    def full_covariances(
        covariances: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        """The covariances as an (n_components, D, D) array."""
        raise NotImplementedError

    @classmethod
    def row_width(cls, n_components: int, n_features: int) -> int:
        """Numbers held per row by the E-step's largest temporaries.

        Matrix layouts whiten every row once per component, (n, K, D);
        variance layouts only need (n, K) and (n, D) blocks.
        """
        if cls.matrix_layout:
            return n_components * n_features
        return n_components + n_features

    # -- estimation --------------------------------------------------------
    @classmethod
    def estimate(cls, stats: Stats, means: np.ndarray, reg_covar: float) -> np.ndarray:
        """M-step: covariances (float64) from Stats and the new means."""
        raise NotImplementedError

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        raise NotImplementedError

    @classmethod
    def n_parameters(cls, n_components: int, n_features: int) -> int:
        """Free parameters of the whole mixture: weights, means, covariances."""
        return (
            n_components
            - 1
            + n_components * n_features
            + cls.n_covariance_parameters(n_components, n_features)
        )

    @classmethod
    def replace_component(
        cls, covariances: np.ndarray, index: int, healthy: np.ndarray
    ) -> np.ndarray:
        """Covariances with component ``index`` reset to the mean of ``healthy``.

        A shared (pooled) covariance is returned unchanged.
        """
        out = np.array(covariances, copy=True)
        if cls.scatter_kind != "pooled" and healthy.any():
            out[index] = out[healthy].mean(axis=0)
        return out


_REGISTRY: dict[str, type[CovarianceFamily]] = {}


def register(family: type[CovarianceFamily]) -> type[CovarianceFamily]:
    """Class decorator that makes a family available by name and aliases."""
    for key in (family.name, *family.aliases):
        _REGISTRY[key] = family
    return family


def get_family(name: str) -> type[CovarianceFamily]:
    """Return the family registered under ``name``; ValueError names the choices."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"covariance_type={name!r} is not supported; choose one of "
            f"{sorted(_REGISTRY)}."
        ) from None


def available_families() -> list[str]:
    """All registered names, aliases included."""
    return sorted(_REGISTRY)


def symmetric(a: Any) -> Any:
    """The symmetric part of a (batch of) square matrices."""
    return 0.5 * (a + np.swapaxes(a, -1, -2))
