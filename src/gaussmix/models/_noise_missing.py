"""GaussianMixture(noise=True) on rows with missing values (NaN).

Under missing-at-random a row's density is the mixture's marginal over its
observed columns; the noise component's marginal is uniform over the
observed columns' box, ``pi_0 / prod_{j observed} extent_j``, with each
column's extent the range of its observed values (``noise_extents_``).
Complete rows keep ``pi_0 / noise_volume_``. The EM is
:func:`gaussmix.fit.noise.fit_noise_mixture` with the E-step of
:func:`gaussmix.core.missing.missing_noise_chunk_sums`; its start sees each
missing value as its column's mean, as the fit without noise does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gaussmix.core.covariance import get_family
from gaussmix.core.missing import missing_noise_chunk_sums
from gaussmix.core.noise import NoiseParams
from gaussmix.core.params import MixtureParams
from gaussmix.fit.batch import EMResult
from gaussmix.models._data_scale import DataScale
from gaussmix.models._missing import (
    column_means_of,
    observed_log_shift,
    refuse_empty_rows_of,
)
from gaussmix.models._noise import (
    checked_log_extents,
    column_extents,
    noise_params,
    run_noise_em,
    warn_if_all_noise,
)


def fit_noise_with_missing(
    model: Any,
    settings: Any,
    source: Any,
    *,
    noise_init: Any,
    user_init: dict[str, Any],
    do_init: bool,
    random_state: np.random.RandomState,
    repairs: Any,
    scale: DataScale | None,
) -> tuple[MixtureParams, EMResult, float]:
    """Run the noise EM on rows with missing values; set the noise attributes.

    Returns the Gaussian components' parameters (in the fit's units), the
    EM result, and what the average log-likelihood gains in the data's
    units (see :func:`~gaussmix.models._missing.observed_log_shift`).

    The region: ``'box'`` and ``'auto'`` take the box of the observed
    values, whose marginals are exactly the observed columns' boxes (the
    principal-axes box needs every coordinate of a row, so ``'pca_box'``
    is refused); a given volume is used for complete rows, the columns'
    ranges for the others.
    """
    rule = settings.noise_volume
    if rule == "pca_box":
        raise ValueError(
            "noise_volume='pca_box' needs every coordinate of every row; with "
            "missing values (NaN) use noise_volume='box' (or 'auto', which "
            "then is the box) or a number."
        )
    means = column_means_of(source)
    extents = column_extents(source)
    log_extents = checked_log_extents(extents)
    if isinstance(rule, str):
        log_volume = float(np.sum(log_extents))
    else:
        log_volume = math.log(rule)
    volume = math.exp(log_volume) if log_volume < 709.0 else math.inf
    if not 0.0 < volume < math.inf:
        raise ValueError(
            f"the noise component's volume is exp({log_volume:.6g}), not a "
            "positive finite number (ranges beyond float64); pass "
            "noise_volume as a number."
        )
    reg_covar = settings.reg_covar
    log_shift = 0.0
    warm = None
    if not do_init:
        warm = (noise_params(model), model.lower_bound_)
    if scale is not None:
        log_shift = observed_log_shift(source, scale)
        log_units = np.log(scale.units)
        source = source.rescaled(scale.units)
        means = means / scale.units
        reg_covar = scale.reg_covar(reg_covar)
        user_init = scale.user_init(
            user_init, get_family(model.covariance_type).matrix_layout
        )
        # a row's noise density gains the units of its observed columns
        log_extents = log_extents - log_units
        log_volume = log_volume - float(np.sum(log_units))
        if warm is not None:
            params = warm[0]
            warm = (
                NoiseParams(
                    scale.to_rescaled(params.gaussian),
                    params.noise_proportion,
                    log_volume,
                ),
                warm[1] - log_shift,
            )
    refuse_empty_rows_of(source)
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
        kernel=missing_noise_chunk_sums,
        log_extents=log_extents,
        # the start only has to place the components roughly
        start_source=source.filled(means),
    )
    model.noise_proportion_ = float(best.params.noise_proportion)
    model.noise_volume_ = volume
    model.noise_extents_ = extents
    warn_if_all_noise(best.params, reg_covar, settings.reg_covar)
    return best.params.gaussian, best, log_shift
