"""The prior of BayesianGaussianMixture: the user's values, or the data's.

Defaults follow scikit-learn: the weights' concentration is
``1 / n_components``, the means are drawn to the data's mean with precision
1, the Wishart has ``n_features`` degrees of freedom and the data's
covariance as its scale inverse. The data's moments come from two passes of
Stats, so that every storage (memory, files, Dask, torch) gives the same
prior; sample weights count as repetitions of their rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gaussmix.core.covariance import get_family
from gaussmix.core.variational import VariationalPrior
from gaussmix.models import validation as check


def data_moments(source: Any, matrix: bool) -> tuple[float, np.ndarray, np.ndarray]:
    """Total weight, weighted mean and scatter about the mean of all rows.

    The scatter is a (D, D) matrix when ``matrix``, else its diagonal; the
    first pass finds the mean, the second sums the squares about it, so
    that no uncentred moment is ever formed.
    """
    origin = np.zeros((1, source.n_features))
    first = source.assignment_stats(origin, "diag")
    total = float(first.resp_sum[0])
    guess = first.shift + first.centred_sum / total
    second = source.assignment_stats(guess, "full" if matrix else "diag")
    mean = second.shift + second.centred_sum / total
    centred = second.recentred(mean)
    return total, mean[0], centred.scatter[0]


def _covariance_default(
    moments: tuple[float, np.ndarray, np.ndarray], covariance_type: str
) -> np.ndarray:
    total, _, scatter = moments
    # unbiased, as numpy's cov and var(ddof=1); weights count as repetitions
    covariance = scatter / (total - 1.0 if total > 1.0 else total)
    if covariance_type == "spherical":
        return np.asarray(covariance.mean())
    return covariance


def _checked_covariance(
    value: Any, covariance_type: str, n_features: int, owner: str
) -> np.ndarray:
    name = f"{covariance_type} covariance_prior"
    if covariance_type == "spherical":
        number = check.check_float("covariance_prior", value, 0.0, True)
        if number <= 0:
            raise ValueError(
                f"The parameter '{name}' should be greater than 0., but got "
                f"{number:.3f}."
            )
        return np.asarray(number)
    array = check.check_array_parameter(
        value, "covariance_prior", owner, dtype=np.float64, ensure_2d=False
    )
    shape = (n_features, n_features) if covariance_type != "diag" else (n_features,)
    if array.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got "
            f"{array.shape}: give covariance_prior of shape {shape}."
        )
    family = get_family(covariance_type)
    try:
        family.check_precisions(array)
    except ValueError as error:
        requirement = "symmetric, positive-definite" if array.ndim == 2 else "positive"
        raise ValueError(f"'{name}' should be {requirement}: {error}") from None
    return array


def _checked_mean(value: Any, n_features: int, owner: str) -> np.ndarray:
    mean = check.check_array_parameter(
        value, "mean_prior", owner, dtype=np.float64, ensure_2d=False
    )
    if mean.shape != (n_features,):
        raise ValueError(
            f"The parameter 'means' should have the shape of {(n_features,)}, but "
            f"got {mean.shape}: give mean_prior of shape {(n_features,)}."
        )
    return mean


@dataclass(frozen=True)
class PriorSettings:
    """The scalar prior hyperparameters, validated; None takes the default."""

    weight_concentration_prior_type: str
    weight_concentration_prior: float | None
    mean_precision_prior: float | None
    degrees_of_freedom_prior: float | None


def prior_settings(estimator: Any) -> PriorSettings:
    """The scalar prior hyperparameters, checked before any data is read.

    The array ones (``mean_prior``, ``covariance_prior``) need the number of
    features and are checked by :func:`variational_prior`.
    """
    owner = type(estimator).__name__

    def positive_or_none(name: str) -> float | None:
        value = getattr(estimator, name)
        if value is None:
            return None
        return check.check_float(name, value, 0.0, False, owner=owner)

    return PriorSettings(
        weight_concentration_prior_type=check.check_choice(
            "weight_concentration_prior_type",
            estimator.weight_concentration_prior_type,
            ["dirichlet_process", "dirichlet_distribution"],
            owner=owner,
        ),
        weight_concentration_prior=positive_or_none("weight_concentration_prior"),
        mean_precision_prior=positive_or_none("mean_precision_prior"),
        degrees_of_freedom_prior=positive_or_none("degrees_of_freedom_prior"),
    )


def variational_prior(
    estimator: Any,
    source: Any,
    settings: PriorSettings,
    n_components: int,
    covariance_type: str,
    scale: Any = None,
) -> VariationalPrior:
    """The prior of a fit of ``source``: given values, or the data's defaults.

    ``source`` may hold rows rescaled by ``scale`` (a
    :class:`~gaussmix.models._data_scale.DataScale`): the prior is then the
    rescaled rows' prior, the given values moved to their units.
    """
    n_features = source.n_features
    degrees = settings.degrees_of_freedom_prior
    if degrees is None:
        degrees = float(n_features)
    elif degrees <= n_features - 1:
        raise ValueError(
            f"The parameter 'degrees_of_freedom_prior' should be greater than "
            f"{n_features - 1}, but got {degrees:.3f}."
        )
    owner = type(estimator).__name__
    moments = None
    if estimator.mean_prior is None or estimator.covariance_prior is None:
        moments = data_moments(source, covariance_type in ("full", "tied"))
    if estimator.mean_prior is None:
        mean = moments[1]
    else:
        mean = _checked_mean(estimator.mean_prior, n_features, owner)
    if estimator.covariance_prior is None:
        covariance = _covariance_default(moments, covariance_type)
    else:
        covariance = _checked_covariance(
            estimator.covariance_prior, covariance_type, n_features, owner
        )
    concentration = settings.weight_concentration_prior
    precision = settings.mean_precision_prior
    if scale is not None:
        given = VariationalPrior("", 0.0, 0.0, mean, 0.0, covariance)
        rescaled = scale.prior_to_rescaled(given)
        if estimator.mean_prior is not None:
            mean = rescaled.mean
        if estimator.covariance_prior is not None:
            covariance = rescaled.covariance
    return VariationalPrior(
        weight_concentration_prior_type=settings.weight_concentration_prior_type,
        weight_concentration=(
            1.0 / n_components if concentration is None else concentration
        ),
        mean_precision=1.0 if precision is None else precision,
        mean=np.asarray(mean, dtype=np.float64),
        degrees_of_freedom=degrees,
        covariance=np.asarray(covariance, dtype=np.float64),
    )
