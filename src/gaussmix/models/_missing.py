"""GaussianMixture on rows with missing values (NaN), in memory.

EM runs the E-step of :mod:`gaussmix.core.missing` over the source's chunks
(the M-step is every family's own); the start is the ordinary one, computed
on the rows with each missing value replaced by its column's mean, which
only has to place the components roughly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.validation import check_is_fitted

from gaussmix.core.missing import (
    conditional_means,
    missing_chunk_stats,
    observed_log_prob,
)
from gaussmix.core.mstep import RepairLog
from gaussmix.core.params import MixtureParams
from gaussmix.fit.batch import (
    EMResult,
    fit_with_progress,
    maximum_likelihood_update,
)
from gaussmix.fit.initialise import initial_params
from gaussmix.fit.sources import InMemorySource
from gaussmix.models._inputs import validate_in_memory
from gaussmix.models._prior import resolve_prior


def has_missing(source: Any) -> bool:
    """Whether an in-memory numpy source holds NaN."""
    X = getattr(source, "X", None)
    return isinstance(X, np.ndarray) and bool(np.isnan(X).any())


def column_mean_filled(X: np.ndarray) -> np.ndarray:
    """X with each NaN replaced by its column's mean over the observed rows."""
    hidden = np.isnan(X)
    empty = np.flatnonzero(hidden.all(axis=0))
    if empty.size:
        raise ValueError(
            f"column {int(empty[0])} of X has no observed value; remove it "
            "before fitting."
        )
    return np.where(hidden, np.nanmean(X, axis=0), X)


def fit_with_missing(
    estimator: Any,
    settings: Any,
    source: InMemorySource,
    *,
    user_init: dict[str, Any],
    do_init: bool,
    random_state: np.random.RandomState,
    repairs: RepairLog,
) -> EMResult:
    """EM for ``estimator`` on rows with missing values; the best run."""
    if settings.noise:
        raise ValueError(
            "noise=True does not take missing values (NaN) yet; impute them "
            "first, or fit without the noise component."
        )
    if settings.reg_covar_scale != "absolute":
        raise ValueError(
            "reg_covar_scale='variance' does not take missing values (NaN) "
            "yet; scale the columns beforehand and use reg_covar_scale="
            "'absolute'."
        )
    n_components = settings.n_components
    filled = InMemorySource(
        column_mean_filled(source.X), source.sample_weight, source.chunk_size
    )
    # the default prior's moments are those of the mean-filled rows: the
    # observed means, and variances a little low where values are missing
    prior = resolve_prior(settings.prior, filled, n_components)
    if prior is not None:
        estimator.prior_ = prior

    def start() -> tuple[MixtureParams, float]:
        if not do_init:
            return estimator.mixture_params(), estimator.lower_bound_
        params = initial_params(
            filled,
            covariance_type=estimator.covariance_type,
            init_params=settings.init_params,
            n_components=n_components,
            reg_covar=settings.reg_covar,
            user_init=user_init,
            random_state=random_state,
            repairs=repairs,
            prior=prior,
        )
        return params, -math.inf

    def e_step(params: MixtureParams):
        return source.chunk_sums(missing_chunk_stats, n_components, params)

    return fit_with_progress(
        e_step,
        maximum_likelihood_update(settings.reg_covar, repairs, prior),
        start,
        settings,
        restarts=do_init,
    )


def _rows_with_nan(X: Any) -> bool:
    """Whether X is an in-memory array (or nested list) holding NaN.

    Arrays on disk, tensors and dask arrays are left to the ordinary
    validation, which refuses NaN without reading them twice.
    """
    if isinstance(X, np.memmap) or not isinstance(X, np.ndarray | list | tuple):
        return False
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return bool(np.isnan(values).any())


class MissingValuesMixin:
    """Scores, labels and imputations of rows with missing values (NaN).

    A row's log-density is the mixture's marginal density over its observed
    columns; its responsibilities follow from those, and ``impute`` fills
    the missing values with their conditional means. Rows without NaN take
    the ordinary, faster path.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # NaN marks a missing value (not yet with a noise component);
        # infinities are still refused
        tags.input_tags.allow_nan = not getattr(self, "noise", False)
        return tags

    def _observed_log_prob(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        if getattr(self, "noise_volume_", None) is not None:
            raise ValueError(
                "a mixture with a noise component does not score missing "
                "values (NaN) yet; impute them first."
            )
        values = validate_in_memory(self, X, reset=False, allow_nan=True)
        return observed_log_prob(values, self.mixture_params())

    def score_samples(self, X: Any) -> Any:
        if not _rows_with_nan(X):
            return super().score_samples(X)
        log_prob = self._observed_log_prob(X)
        return logsumexp(log_prob, axis=1).astype(self.means_.dtype)

    def predict_proba(self, X: Any) -> Any:
        if not _rows_with_nan(X):
            return super().predict_proba(X)
        log_prob = self._observed_log_prob(X)
        proba = np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))
        return proba.astype(self.means_.dtype)

    def predict(self, X: Any) -> Any:
        if not _rows_with_nan(X):
            return super().predict(X)
        return np.argmax(self._observed_log_prob(X), axis=1)

    def impute(self, X: Any) -> np.ndarray:
        """X with each missing value (NaN) replaced by its conditional mean.

        ``E[x_m | x_o]`` under the fitted mixture: the components'
        conditional means weighted by the row's responsibilities given its
        observed values. Observed values are returned unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        values = validate_in_memory(self, X, reset=False, allow_nan=True)
        filled = conditional_means(values, self.mixture_params())
        return filled.astype(self.means_.dtype)
