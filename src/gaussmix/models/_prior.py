"""The ``prior`` hyperparameter of GaussianMixture: checked, then resolved.

``prior=None`` fits by maximum likelihood; ``"default"`` or a
:class:`~gaussmix.core.conjugate_prior.ConjugatePrior` by maximum a
posteriori, its unset fields taken from the rows being fitted (mclust's
``defaultPrior``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix.core.conjugate_prior import ConjugatePrior, default_prior
from gaussmix.core.params import MixtureParams


def check_prior(value: Any, owner: str) -> ConjugatePrior | None:
    """The prior a fit uses (fields possibly unset), or None.

    ValueError names the fix for anything else.
    """
    if value is None:
        return None
    if isinstance(value, str) and value == "default":
        return ConjugatePrior()
    if isinstance(value, ConjugatePrior):
        value.check()
        return value
    raise ValueError(
        f"The 'prior' parameter of {owner} must be None, 'default' or a "
        f"gaussmix.ConjugatePrior; got {value!r}."
    )


def _one_component(mean: np.ndarray) -> MixtureParams:
    n_features = len(mean)
    eye = np.eye(n_features)[None]
    return MixtureParams(np.ones(1), mean[None].copy(), eye, eye.copy(), "full")


def data_moments(source: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean (D,) and covariance (D, D) of a data source's rows.

    Two passes: the second takes the scatter about the first's mean, so
    data far from the origin lose no digits.
    """
    first = source.stats(_one_component(np.zeros(source.n_features)))
    mean = first.means()[0]
    second = source.stats(_one_component(mean))
    total = max(float(second.resp_sum[0]), np.finfo(np.float64).tiny)
    offset = second.centred_sum[0] / total
    covariance = second.scatter[0] / total - np.outer(offset, offset)
    return mean + offset, 0.5 * (covariance + covariance.T)


def resolve_prior(
    prior: ConjugatePrior | None, source: Any, n_components: int
) -> ConjugatePrior | None:
    """``prior`` with every field set from the rows of ``source``."""
    if prior is None:
        return None
    prior.check(source.n_features)
    if prior.mean is not None and prior.scale is not None and prior.dof is not None:
        return default_prior(
            prior, np.asarray(prior.mean, np.float64), np.eye(1), n_components
        )
    mean, covariance = data_moments(source)
    return default_prior(prior, mean, covariance, n_components)


def prior_in_units(prior: ConjugatePrior, units: np.ndarray) -> ConjugatePrior:
    """A resolved prior for rows divided by ``units`` (column by column)."""
    scale = np.asarray(prior.scale, np.float64)
    if scale.ndim == 2:
        scale = scale / np.multiply.outer(units, units)
    elif scale.ndim == 1:
        scale = scale / units**2
    else:
        scale = float(scale) / units**2
    return ConjugatePrior(
        prior.shrinkage, np.asarray(prior.mean, np.float64) / units, prior.dof, scale
    )
