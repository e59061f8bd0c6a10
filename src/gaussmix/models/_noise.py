"""GaussianMixture's noise component: its settings and its fit.

Kept apart from :mod:`gaussmix.models.gaussian_mixture` so that each module
stays small; the EM itself is :mod:`gaussmix.fit.noise`'s.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from gaussmix.core.missing import missing_noise_chunk_sums
from gaussmix.core.mstep import DegenerateComponentWarning
from gaussmix.core.noise import (
    NOISE_VOLUMES,
    NoiseParams,
    noise_chunk_sums,
    observed_log_noise,
    observed_range,
)
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.fit.noise import fit_noise_mixture, region_log_volume
from gaussmix.fit.progress import EMProgress
from gaussmix.models import validation as check

#: The fitted attributes only a mixture with noise has.
NOISE_ATTRIBUTES = ("noise_proportion_", "noise_volume_", "noise_extents_")


def check_noise_settings(estimator: Any) -> dict[str, Any]:
    """``noise``, ``noise_volume`` and ``noise_init_neighbors``, validated."""
    owner = type(estimator).__name__
    volume = estimator.noise_volume
    if isinstance(volume, str):
        volume = check.check_choice("noise_volume", volume, NOISE_VOLUMES, owner=owner)
    elif isinstance(volume, numbers.Real) and not isinstance(volume, bool):
        volume = check.check_float("noise_volume", volume, 0.0, False, owner=owner)
    else:
        raise check.InvalidParameterError(
            f"The 'noise_volume' parameter of {owner} must be a str among "
            f"{set(NOISE_VOLUMES)} or a float in (0, inf). Got {volume!r} instead."
        )
    return {
        "noise": check.check_bool("noise", estimator.noise, owner=owner),
        "noise_volume": volume,
        "noise_init_neighbors": check.check_int(
            "noise_init_neighbors", estimator.noise_init_neighbors, 1, owner=owner
        ),
    }


def check_noise_init(noise_init: Any, n_samples: int) -> np.ndarray:
    """A boolean mask of the rows first taken as noise, shape (n_samples,)."""
    mask = np.asarray(noise_init)
    if mask.dtype != bool or mask.shape != (n_samples,):
        raise ValueError(
            f"noise_init must be a boolean array of shape ({n_samples},), one "
            f"value per row; got dtype {mask.dtype} and shape {mask.shape}."
        )
    if mask.all() or not mask.any():
        raise ValueError(
            "noise_init must mark some rows, and not all of them, as noise."
        )
    return mask


def noise_params(model: Any, log_shift: float = 0.0) -> NoiseParams:
    """A fitted noise mixture as NoiseParams, volume in rescaled units."""
    gaussian = model.mixture_params()
    return NoiseParams(
        gaussian,
        float(model.noise_proportion_),
        math.log(model.noise_volume_) + log_shift,
    )


def fit_with_noise(
    model: Any,
    settings: Any,
    source: Any,
    *,
    noise_init: Any,
    user_init: dict[str, Any],
    do_init: bool,
    random_state: np.random.RandomState,
    repairs: Any,
    reg_covar: float,
    scale: Any,
    log_shift: float,
) -> tuple[MixtureParams, Any]:
    """Run the noise EM for ``model``'s ``fit``; set the noise attributes.

    Returns the Gaussian components' parameters (in the source's units) and
    the EM result, for ``fit`` to finish as it does without noise.
    """
    volume = settings.noise_volume
    if not isinstance(volume, str):
        # a volume given in the data's units, in the rescaled units
        volume = math.exp(math.log(volume) + log_shift)
    log_volume = region_log_volume(source, volume)
    warm = None
    if not do_init:
        warm = (noise_params(model, log_shift), model.lower_bound_ - log_shift)
        if scale is not None:
            params = warm[0]
            warm = (
                NoiseParams(
                    scale.to_rescaled(params.gaussian),
                    params.noise_proportion,
                    params.log_volume,
                ),
                warm[1],
            )
    best = run_noise_em(
        source,
        settings,
        do_init=do_init,
        reg_covar=reg_covar,
        user_init=user_init,
        random_state=random_state,
        repairs=repairs,
        log_volume=log_volume,
        noise_init=noise_init,
        warm=warm,
    )
    model.noise_proportion_ = float(best.params.noise_proportion)
    model.noise_volume_ = float(math.exp(best.params.log_volume - log_shift))
    warn_if_all_noise(best.params, reg_covar, settings.reg_covar)
    return best.params.gaussian, best


def warn_if_all_noise(
    params: NoiseParams, reg_covar: float, user_reg_covar: float
) -> None:
    """Warn when the noise component took the whole weight of a fit.

    The Gaussian components are then left with zero weight: every row is
    labelled noise and :meth:`sample`, which draws from the Gaussians alone,
    has nothing to draw from.

    Parameters
    ----------
    params : NoiseParams
        The fitted mixture, in the units the EM ran in.
    reg_covar : float
        ``reg_covar`` in those units.
    user_reg_covar : float
        ``reg_covar`` as the user gave it, for the message.
    """
    weights = np.asarray(params.gaussian.weights, dtype=np.float64)
    if float(weights.sum()) > 0.0 and params.noise_proportion < 1.0:
        return
    n_features = np.shape(params.gaussian.means)[1]
    # every covariance is at least reg_covar * I, so no Gaussian's density
    # exceeds its value at the mean with covariance reg_covar * I; below
    # the noise's 1 / V, the noise explains every row better, whatever the
    # start (the usual cause: data in units far smaller than reg_covar's)
    cause = ""
    if reg_covar > 0.0:
        log_peak = -0.5 * n_features * math.log(2.0 * math.pi * reg_covar)
        if log_peak <= -params.log_volume:
            cause = (
                f" reg_covar={user_reg_covar:.3g} is added to every covariance "
                "in the data's units, which keeps each Gaussian's density "
                "below the noise's uniform density 1/noise_volume_ everywhere "
                "(data in units small against reg_covar): use "
                "reg_covar_scale='variance', rescale X, or lower reg_covar."
            )
    warnings.warn(
        "the noise component took all the weight (noise_proportion_=1, "
        "weights_ all zero): every row is labelled noise (-1) and sample() "
        "has no Gaussian component to draw from." + cause,
        DegenerateComponentWarning,
        stacklevel=4,
    )


def run_noise_em(
    source: Any, settings: Any, *, do_init: bool, noise_init: Any, **options: Any
) -> Any:
    """:func:`~gaussmix.fit.noise.fit_noise_mixture` with the estimator's
    settings (starts, tolerance, iterations, progress bar) and its checked
    ``noise_init`` rows (used only when the fit starts afresh); ``options``
    are the fit's own (regularisation, start, volume, kernel, ...)."""
    mask = None
    if noise_init is not None and do_init:
        mask = check_noise_init(noise_init, source.n_samples)
    with EMProgress(
        settings.verbose, settings.verbose_interval, settings.max_iter
    ) as progress:
        return fit_noise_mixture(
            source,
            covariance_type=settings.covariance_type,
            n_components=settings.n_components,
            init_params=settings.init_params,
            n_init=settings.n_init if do_init else 1,
            tol=settings.tol,
            max_iter=settings.max_iter,
            progress=progress,
            init_neighbors=settings.noise_init_neighbors,
            noise_mask=mask,
            **options,
        )


def column_extents(source: Any) -> np.ndarray:
    """Each column's range over its observed values (rows of positive
    weight), shape (n_features,); zero for a constant column.

    Kept as ``noise_extents_``: a row with missing values has the noise
    density ``pi_0 / prod_{j observed} extent_j``.
    """
    box = source.chunk_sums(observed_range, 1)
    with np.errstate(invalid="ignore"):
        extents = box.upper - box.lower
    # only a column without any observed value has no finite range
    return np.where(np.isfinite(extents), extents, 0.0)


def noise_batch_sums(
    source: Any, model: Any, missing: bool = False
) -> tuple[Stats, float]:
    """A batch's Gaussian Stats under a fitted noise mixture, and the noise's
    share of the batch's weight (for ``partial_fit``); with ``missing``, the
    batch's NaN are missing values, marginalised."""
    params = noise_params(model)
    kernel = noise_chunk_sums
    if missing:
        log_extents = observed_noise_extents(model)
        params = NoiseParams(
            params.gaussian, params.noise_proportion, params.log_volume, log_extents
        )
        kernel = missing_noise_chunk_sums
    sums = source.chunk_sums(kernel, params.gaussian.n_components + 1, params)
    return sums.stats, sums.noise_sum / sums.stats.total_weight


def checked_log_extents(extents: np.ndarray) -> np.ndarray:
    """``log extents``, refusing columns a uniform marginal cannot span."""
    flat = np.flatnonzero(~(np.isfinite(extents) & (extents > 0)))
    if flat.size:
        raise ValueError(
            f"column {int(flat[0])}'s observed values span no range (a constant "
            "column) or one beyond float64: the noise component cannot give "
            "rows with missing values a uniform density over it; remove or "
            "rescale the column."
        )
    return np.log(extents)


def observed_noise_extents(model: Any) -> np.ndarray:
    """``log noise_extents_`` of a fitted noise mixture, checked."""
    extents = getattr(model, "noise_extents_", None)
    if extents is None:
        raise ValueError(
            "this noise mixture has no noise_extents_ (it was saved by an "
            "earlier version): refit it to take rows with missing values, "
            "or impute them first."
        )
    return checked_log_extents(np.asarray(extents, dtype=np.float64))


def observed_noise_column(model: Any, hidden: np.ndarray) -> np.ndarray:
    """A fitted noise mixture's noise column ``log pi_0 - log V_o`` of rows
    with missing values ``hidden`` (n, D), for scores and labels."""
    if hidden.any(axis=1).any():
        log_extents = observed_noise_extents(model)
    else:
        # complete rows use the volume alone
        log_extents = np.zeros(hidden.shape[1])
    return observed_log_noise(
        hidden,
        float(model.noise_proportion_),
        math.log(model.noise_volume_),
        log_extents,
    )
