"""Starting parameters: the user's, or the M-step of an initial partition."""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.core.conjugate_prior import ConjugatePrior
from gaussmix.core.covariance import CovarianceFamily, get_family
from gaussmix.core.mstep import RepairLog, m_step
from gaussmix.core.params import MixtureParams
from gaussmix.fit.sources import DataSource


def covariances_from_precisions(
    family: type[CovarianceFamily], precisions: np.ndarray
) -> np.ndarray:
    """Covariances from precisions, in the family's storage layout."""
    if family.matrix_layout:
        return np.linalg.inv(precisions)
    return 1.0 / precisions


def initial_params(
    source: DataSource,
    *,
    covariance_type: str,
    init_params: str,
    n_components: int,
    reg_covar: float,
    user_init: dict[str, Any],
    random_state: np.random.RandomState,
    repairs: RepairLog,
    prior: ConjugatePrior | None = None,
) -> MixtureParams:
    """Parameters EM starts from.

    With a resolved conjugate ``prior`` the partition's M-step is its MAP
    step, as every later one.

    Given weights, means and precisions replace the corresponding estimates
    of the initial partition; when all three are given no partition is
    computed at all.
    """
    family = get_family(covariance_type)
    given = {key: value for key, value in user_init.items() if value is not None}
    if len(given) == 3:
        params = None
    else:
        stats = source.initial_stats(
            init_params, n_components, family.scatter_kind, random_state
        )
        params = m_step(stats, covariance_type, reg_covar, repairs, prior)
    weights = given.get("weights", None if params is None else params.weights)
    means = given.get("means", None if params is None else params.means)
    if "precisions" in given:
        precisions = np.asarray(given["precisions"], dtype=np.float64)
        factors = family.cholesky_from_precisions(precisions)
        covariances = covariances_from_precisions(family, precisions)
    else:
        factors, covariances = params.precisions_cholesky, params.covariances
    return MixtureParams(
        weights=np.asarray(weights, dtype=np.float64),
        means=np.asarray(means, dtype=np.float64),
        covariances=np.asarray(covariances, dtype=np.float64),
        precisions_cholesky=np.asarray(factors, dtype=np.float64),
        covariance_type=covariance_type,
    )
