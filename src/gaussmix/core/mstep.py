"""The M-step: parameters from Stats, with repair of degenerate components."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gaussmix.backend import CholeskyError
from gaussmix.core.conjugate_prior import ConjugatePrior, map_covariances, map_means
from gaussmix.core.covariance import CovarianceFamily, get_family
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import EMPTY_WEIGHT_GUARD, Stats

logger = logging.getLogger(__name__)

#: A component whose share of the total weight falls below this is empty.
COLLAPSE_FRACTION = 1e-10


class DegenerateComponentWarning(UserWarning):
    """A mixture component collapsed and was repaired during EM.

    Examples
    --------
    A repair is reported, never silent; to make it an error instead:

    >>> import warnings
    >>> import numpy as np
    >>> from gaussmix import DegenerateComponentWarning, GaussianMixture
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", DegenerateComponentWarning)
    ...     gmm = GaussianMixture(3, random_state=0).fit(X)  # a repair would raise
    >>> gmm.converged_
    True
    """


class RegCovarWarning(UserWarning):
    """``reg_covar`` is a large part of some feature's variance.

    Added to every covariance, it then dominates that feature and can merge
    clusters that differ only there (data in very small units, or columns in
    very different units).

    Examples
    --------
    A column in units a million times smaller than the other:

    >>> import warnings
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture, RegCovarWarning
    >>> X = np.random.default_rng(0).normal(size=(300, 2)) * [1e-4, 1.0]
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = GaussianMixture(2, random_state=0).fit(X)
    >>> any(issubclass(w.category, RegCovarWarning) for w in caught)
    True

    ``reg_covar_scale="variance"`` makes ``reg_covar`` relative to each
    column's variance, and the warning goes away:

    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = GaussianMixture(2, reg_covar_scale="variance", random_state=0).fit(X)
    >>> any(issubclass(w.category, RegCovarWarning) for w in caught)
    False
    """


@dataclass
class RepairLog:
    """What the M-step may repair, and what it had to, for the caller's warning.

    ``dtype`` is the data's: variances below its resolution are raised to it
    (see :func:`resolution_floor`); ``floored`` is the largest such floor.
    """

    reseeded: list[int] = field(default_factory=list)
    jitter: float = 0.0
    reseeds_left: int = 0
    dtype: Any = np.float64
    floored: float = 0.0


def _means(stats: Stats) -> tuple[np.ndarray, np.ndarray]:
    nk = stats.resp_sum + EMPTY_WEIGHT_GUARD
    return nk, stats.means()


def safe_precision_cholesky(
    family: type[CovarianceFamily], covariances: np.ndarray, repairs: RepairLog
) -> tuple[np.ndarray, np.ndarray]:
    """Precision factors, adding diagonal jitter when a covariance is singular.

    ``reg_covar`` normally keeps every covariance positive definite; with
    ``reg_covar=0`` a constant column or a collapsed component would not be,
    and a growing multiple of the identity is added until the factorisation
    succeeds.
    """
    try:
        return covariances, family.precision_cholesky(covariances)
    except CholeskyError:
        pass
    scale = float(np.mean(np.abs(_diagonal_entries(covariances, family.matrix_layout))))
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    for exponent in range(-12, 3):
        jitter = scale * 10.0**exponent
        candidate = add_to_diagonal(family, covariances, jitter)
        try:
            factor = family.precision_cholesky(candidate)
        except CholeskyError:
            continue
        repairs.jitter = max(repairs.jitter, jitter)
        return candidate, factor
    raise ValueError(
        "Fitting the mixture failed: a covariance stays singular even after "
        "adding jitter. Check the data for infinite or extreme values, scale "
        "the columns, or increase reg_covar."
    )


def _diagonal_entries(covariances: np.ndarray, matrix_layout: bool) -> np.ndarray:
    if matrix_layout:
        return np.diagonal(covariances, axis1=-2, axis2=-1)
    return covariances


def add_to_diagonal(
    family: type[CovarianceFamily],
    covariances: np.ndarray,
    amount: float | np.ndarray,
) -> np.ndarray:
    """``covariances + diag(amount)`` in the family's own storage layout.

    ``amount`` broadcasts against the diagonals: a scalar, one value per
    column, or one row of them per component.
    """
    out = np.array(covariances, dtype=np.float64, copy=True)
    if family.matrix_layout:
        idx = np.arange(out.shape[-1])
        out[..., idx, idx] += amount
    else:
        out += amount
    return out


def m_step(
    stats: Stats,
    covariance_type: str,
    reg_covar: float,
    repairs: RepairLog | None = None,
    prior: ConjugatePrior | None = None,
) -> MixtureParams:
    """New parameters (float64) from Stats.

    With a resolved ``prior`` (:mod:`gaussmix.core.conjugate_prior`) the
    means and covariances are its MAP estimates; the weights stay the
    maximum-likelihood ones, and an empty component is not re-seeded.

    Components with (almost) no weight are re-seeded while ``repairs`` allows
    it: their mean moves to the worst-explained row seen in the E-step, their
    covariance to the average of the healthy components', their weight to the
    average weight. Each re-seed is recorded in ``repairs`` for the caller to
    warn about.
    """
    repairs = repairs if repairs is not None else RepairLog()
    family = get_family(covariance_type)
    nk, means = _means(stats)
    if prior is None:
        covariances = family.estimate(stats, means, reg_covar)
    else:
        covariances = map_covariances(stats, family, prior, reg_covar)
        means = map_means(stats, prior)
    weights = nk / nk.sum()

    total = max(float(stats.resp_sum.sum()), np.finfo(np.float64).tiny)
    collapsed = stats.resp_sum <= COLLAPSE_FRACTION * total
    # under a prior an empty component is still well defined (the prior's
    # mean and covariance) and is left empty, as mclust leaves it
    reseed = prior is None and repairs.reseeds_left > 0
    if collapsed.any() and reseed and stats.worst_point is not None:
        healthy = ~collapsed
        for index in np.flatnonzero(collapsed)[: repairs.reseeds_left]:
            means[index] = stats.worst_point
            covariances = family.replace_component(covariances, int(index), healthy)
            weights[index] = 1.0 / len(weights)
            repairs.reseeded.append(int(index))
            repairs.reseeds_left -= 1
        weights = weights / weights.sum()

    covariances, factors = safe_precision_cholesky(family, covariances, repairs)
    covariances, factors = floored_to_resolution(
        family,
        covariances,
        factors,
        resolution_floor(means, repairs.dtype, reg_covar),
        repairs,
    )
    return MixtureParams(
        weights=weights,
        means=means,
        covariances=covariances,
        precisions_cholesky=factors,
        covariance_type=covariance_type,
    )


def resolution_floor(
    means: np.ndarray, dtype: Any, reg_covar: float = 0.0
) -> np.ndarray:
    """The smallest variances, (n_components, n_features), that data of
    ``dtype`` can show about each component's mean.

    Values near ``m`` are known to ``eps * |m|``: a component whose rows
    spread less than that has collapsed onto one value, and a smaller
    variance is rounding noise whose inverse may not even be finite in
    ``dtype``. A positive ``reg_covar`` is the user's own floor and is
    kept where it is lower; the floor never falls below the dtype's
    smallest normal number nor exceeds its inverse, so that the precisions
    and their factors stay finite in ``dtype``.
    """
    info = np.finfo(dtype)
    eps, lowest = float(info.eps), float(info.tiny)
    magnitude = np.minimum(np.abs(means), 1.0 / (eps * np.sqrt(lowest)))
    floor = np.clip((eps * magnitude) ** 2, lowest, 1.0 / lowest)
    if reg_covar > 0:
        floor = np.minimum(floor, max(reg_covar, lowest))
    return floor


def floored_to_resolution(
    family: type[CovarianceFamily],
    covariances: np.ndarray,
    factors: np.ndarray,
    floor: np.ndarray,
    repairs: RepairLog,
) -> tuple[np.ndarray, np.ndarray]:
    """Covariances and precision factors with each component's ``floor``
    added to its diagonal where a precision exceeds the floor's inverse.

    Deciding costs one look at the factors; adding the floor bounds the
    precision's diagonal by ``1 / floor``. A covariance shared by all
    components takes the smallest floor of each column.
    """
    shared = covariances.ndim == (2 if family.matrix_layout else 0)
    if family.matrix_layout:
        amount = floor.min(axis=0) if shared else floor
        # row d of U scaled by sqrt(floor_d): its squares sum to P_dd * floor_d
        scaled = np.asarray(factors, np.float64) * np.sqrt(amount)[..., None]
    else:
        amount = floor if covariances.ndim == 2 else floor.max(axis=1)
        scaled = np.asarray(factors, np.float64) * np.sqrt(amount)
    with np.errstate(over="ignore"):
        # a square beyond float64 is far beyond the bound: the answer
        squares = scaled * scaled
        bounded = squares.sum(axis=-1) if family.matrix_layout else squares
    exceeded = bounded > 1.0
    if not exceeded.any():
        return covariances, factors
    candidate = np.array(covariances, dtype=np.float64, copy=True)
    if family.matrix_layout and shared:
        candidate = add_to_diagonal(family, candidate, amount)
    else:
        # only the collapsed components: the others keep their bits
        rows = exceeded.any(axis=-1) if exceeded.ndim == 2 else exceeded
        candidate[rows] = add_to_diagonal(family, candidate[rows], amount[rows])
    repairs.floored = max(repairs.floored, float(np.max(amount)))
    return candidate, family.precision_cholesky(candidate)


def warn_repairs(repairs: RepairLog) -> None:
    """Turn what the M-step repaired into one warning."""
    if repairs.reseeded:
        components = sorted(set(repairs.reseeded))
        warnings.warn(
            f"Mixture components {components} lost all their weight during EM "
            "and were re-seeded at the worst-explained data point. The data may "
            "have fewer distinct clusters than n_components; consider fewer "
            "components.",
            DegenerateComponentWarning,
            stacklevel=3,
        )
    if repairs.jitter > 0:
        warnings.warn(
            f"A covariance was singular (a constant column or a collapsed "
            f"component); {repairs.jitter:.3g} was added to its diagonal. "
            "Increase reg_covar to control this.",
            DegenerateComponentWarning,
            stacklevel=3,
        )
    if repairs.floored > 0:
        warnings.warn(
            f"A component collapsed onto a single value: its variance fell "
            f"below what {np.dtype(repairs.dtype).name} data can resolve, and "
            f"up to {repairs.floored:.3g} was added to the diagonal of the "
            "covariances. Increase reg_covar, or use fewer components.",
            DegenerateComponentWarning,
            stacklevel=3,
        )
