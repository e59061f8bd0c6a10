"""GaussianMixture on rows with missing values (NaN).

EM runs the E-step of :mod:`gaussmix.core.missing` over the source's chunks
(the M-step is every family's own); the start is the ordinary one, computed
on the rows with each missing value replaced by its column's mean, which
only has to place the components roughly.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gaussmix.backend import get_backend
from gaussmix.core.covariance import get_family
from gaussmix.core.missing import (
    conditional_draws,
    conditional_means,
    missing_chunk_stats,
    observed_log_responsibilities,
)
from gaussmix.core.missing_blocks import refuse_empty_rows
from gaussmix.core.mstep import RepairLog
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.fit.batch import (
    EMResult,
    fit_with_progress,
    maximum_likelihood_update,
)
from gaussmix.fit.chunks import row_slices
from gaussmix.fit.dask import is_dask_array
from gaussmix.fit.initialise import initial_params
from gaussmix.fit.sources import InMemorySource
from gaussmix.fit.storage import is_out_of_core
from gaussmix.models._data_scale import DataScale, fit_units
from gaussmix.models._inputs import apply_by_rows, validate_in_memory
from gaussmix.models._noise import observed_noise_column
from gaussmix.models._prior import prior_in_units, resolve_prior
from gaussmix.models.tensors import is_tensor, numpy_dtype, to_device


def has_missing(source: Any) -> bool:
    """Whether a validated source holds NaN (missing values)."""
    if hasattr(source, "has_nan"):  # files and dask arrays: found when validated
        return bool(source.has_nan)
    X = source.X
    if isinstance(X, np.ndarray):
        return bool(np.isnan(X).any())
    return bool(get_backend(X).to_numpy(X != X).any())  # NaN != NaN, on any device


def column_mean_filled(X: np.ndarray) -> np.ndarray:
    """X with each NaN replaced by its column's mean over the observed rows."""
    return np.where(np.isnan(X), _column_means(_observed_sums(X, None)), X)


def _observed_sums(rows: np.ndarray, sample_weight: Any) -> np.ndarray:
    """Per column: the sum of the observed values and their count, (2, D)."""
    hidden = np.isnan(rows)
    return np.stack([np.where(hidden, 0.0, rows).sum(axis=0), (~hidden).sum(axis=0)])


def _column_means(sums: np.ndarray) -> np.ndarray:
    empty = np.flatnonzero(sums[1] == 0)
    if empty.size:
        raise ValueError(
            f"column {int(empty[0])} of X has no observed value; remove it "
            "before fitting."
        )
    return sums[0] / sums[1]


def column_means_of(source: Any) -> np.ndarray:
    """Each column's mean over its observed values, shape (n_features,);
    ValueError naming a column without any."""
    return _column_means(source.chunk_sums(_observed_sums, 1))


#: Chunks of the missing-value E-step are sized as for this many times fewer
#: components (at least one), so they hold up to this many times the rows.
MISSING_CHUNK_GROWTH = 8


def fit_with_missing(
    estimator: Any,
    settings: Any,
    source: Any,
    *,
    user_init: dict[str, Any],
    do_init: bool,
    random_state: np.random.RandomState,
    repairs: RepairLog,
    scale: DataScale | None = None,
) -> EMResult:
    """EM for ``estimator`` on rows with missing values; the best run.

    Without a noise component: with one, see
    :func:`gaussmix.models._noise_missing.fit_noise_with_missing`.

    With ``scale`` (see :func:`missing_fit_units`), EM runs on the rows
    divided by ``scale.units`` and so does the result; the caller turns it
    back into the data's units.
    """
    n_components = settings.n_components
    reg_covar = settings.reg_covar
    # the start only has to place the components roughly: it sees each
    # missing value as its column's mean
    means = column_means_of(source)
    # the default prior's moments are those of the mean-filled rows: the
    # observed means, and variances a little low where values are missing;
    # found in the data's units, as without missing values
    prior = None
    if settings.prior is not None:
        prior = resolve_prior(settings.prior, source.filled(means), n_components)
    if prior is not None:
        estimator.prior_ = prior
    log_shift = 0.0
    if scale is not None:
        log_shift = observed_log_shift(source, scale)
        source = source.rescaled(scale.units)
        means = means / scale.units
        reg_covar = scale.reg_covar(reg_covar)
        user_init = scale.user_init(
            user_init, get_family(estimator.covariance_type).matrix_layout
        )
        if prior is not None:
            prior = prior_in_units(prior, scale.units)
    filled = source.filled(means)

    def start() -> tuple[MixtureParams, float]:
        if not do_init:
            current = estimator.mixture_params()
            if scale is not None:
                current = scale.to_rescaled(current)
            return current, estimator.lower_bound_ - log_shift
        params = initial_params(
            filled,
            covariance_type=estimator.covariance_type,
            init_params=settings.init_params,
            n_components=n_components,
            reg_covar=reg_covar,
            user_init=user_init,
            random_state=random_state,
            repairs=repairs,
            prior=prior,
        )
        return params, -math.inf

    refuse_empty_rows_of(source)

    # larger chunks, whatever the storage: within a chunk the E-step brings
    # rows of one pattern together, and a larger chunk holds more rows of
    # each pattern to share their factorisations
    sized_as = max(1, n_components // MISSING_CHUNK_GROWTH)

    def e_step(params: MixtureParams):
        return source.chunk_sums(missing_chunk_stats, sized_as, params)

    return fit_with_progress(
        e_step,
        maximum_likelihood_update(reg_covar, repairs, prior),
        start,
        settings,
        restarts=do_init,
    )


def missing_fit_units(
    source: Any, reg_covar_scale: str, covariance_type: str
) -> DataScale | None:
    """The units a fit of rows with missing values runs in, or None.

    With ``reg_covar_scale='variance'``, each column's standard deviation
    over its observed values (see :func:`~gaussmix.models._data_scale.fit_units`);
    otherwise the data's own units.
    """
    if reg_covar_scale == "absolute":
        return None
    return fit_units(source, 0.0, reg_covar_scale, covariance_type)


def observed_log_shift(source: Any, scale: DataScale) -> float:
    """What the average log-likelihood of rows in ``scale``'s units gains in
    the data's units: a row's marginal density changes by the units of its
    observed columns only, ``-sum_{j observed} log units_j``."""
    seen = ~np.isnan(np.asarray(source.X))
    weights = source.sample_weight
    weights = np.ones(len(seen)) if weights is None else np.asarray(weights, float)
    per_row = seen @ np.log(scale.units)
    return -float(weights @ per_row / weights.sum())


def refuse_empty_rows_of(source: Any) -> None:
    """Refuse a row with every value missing, named by its place in X.

    The E-step refuses such rows too, but sees one chunk at a time; rows
    in memory are checked here first so the message counts from X's start.
    """
    X = getattr(source, "X", None)
    if isinstance(source, InMemorySource) and isinstance(X, np.ndarray):
        refuse_empty_rows(~np.isnan(X))


def missing_batch_stats(source: Any, params: MixtureParams) -> Stats:
    """A batch's Stats under ``params``, its missing values marginalised."""
    return source.chunk_sums(missing_chunk_stats, len(params.weights), params)


def _rows_with_nan(X: Any) -> bool:
    """Whether X is an array in memory (numpy, nested lists, a tensor)
    holding NaN.

    Arrays on disk and dask arrays are left to the ordinary validation,
    which refuses NaN without reading them twice.
    """
    if is_tensor(X):
        return bool((X != X).any())  # NaN != NaN, on any device
    if isinstance(X, np.memmap) or not isinstance(X, np.ndarray | list | tuple):
        return False
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return bool(np.isnan(values).any())


def _on_host(values: Any) -> np.ndarray:
    return get_backend(values).to_numpy(values) if is_tensor(values) else values


def _like_input(values: np.ndarray, X: Any) -> Any:
    """Numpy for numpy input, a tensor on X's device for a tensor."""
    return to_device(values, X.device) if is_tensor(X) else values


class MissingValuesMixin:
    """Scores, labels and imputations of rows with missing values (NaN).

    A row's log-density is the mixture's marginal density over its observed
    columns; its responsibilities follow from those, and ``impute`` fills
    the missing values with their conditional means. Rows without NaN take
    the ordinary, faster path.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # NaN marks a missing value; infinities are still refused
        tags.input_tags.allow_nan = True
        return tags

    def _observed_log_responsibilities(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``log p(x_o)`` of each row, (n,), and its log-responsibilities,
        (n, K), and with a noise component the noise's last, (n, K + 1)."""
        check_is_fitted(self)
        values = _on_host(validate_in_memory(self, X, reset=False, allow_nan=True))
        log_norm, log_resp = observed_log_responsibilities(
            values, self.mixture_params()
        )
        if getattr(self, "noise_volume_", None) is None:
            return log_norm, log_resp
        noise = observed_noise_column(self, np.isnan(np.asarray(values)))
        log_total = np.logaddexp(log_norm, noise)
        with np.errstate(invalid="ignore"):
            gaussian = log_resp + (log_norm - log_total)[:, None]
            noise_share = noise - log_total
        # rows the noise cannot hold either keep the components' ordering
        lost = np.isneginf(log_total)
        gaussian[lost], noise_share[lost] = log_resp[lost], -np.inf
        return log_total, np.column_stack([gaussian, noise_share])

    def _by_rows(
        self,
        X: Any,
        complete: Callable[[Any], Any],
        missing: Callable[[Any], np.ndarray],
        n_outputs: int | None,
    ) -> Any:
        """``complete(rows)`` where no value is missing, ``missing(rows)``
        where some are; block by block for files and dask arrays."""
        check_is_fitted(self)

        def on_block(rows: np.ndarray) -> np.ndarray:
            return missing(rows) if np.isnan(rows).any() else complete(rows)

        if is_dask_array(X) or is_out_of_core(X):
            # the slices rows in memory are cut into: complete rows give the
            # bits they give in memory
            return apply_by_rows(
                self,
                X,
                on_block,
                n_outputs,
                self._dtype(),
                allow_nan=True,
                chunk_rows=self._host_chunk_rows(),
            )
        if not _rows_with_nan(X):
            return complete(X)
        if is_tensor(X):
            return _like_input(missing(X), X)
        # slice by slice, as rows from files and dask arrays are: a slice
        # without NaN takes the complete rows' path there too
        rows = X if isinstance(X, np.ndarray) else np.asarray(X)
        slices = row_slices(rows.shape[0], self._host_chunk_rows())
        return np.concatenate([on_block(rows[part]) for part in slices], axis=0)

    def _missing_scores(self, X: Any) -> np.ndarray:
        return self._observed_log_responsibilities(X)[0].astype(self._dtype())

    def _missing_proba(self, X: Any) -> np.ndarray:
        return np.exp(self._observed_log_responsibilities(X)[1]).astype(self._dtype())

    def _missing_labels(self, X: Any) -> np.ndarray:
        labels = np.argmax(self._observed_log_responsibilities(X)[1], axis=1)
        if getattr(self, "noise_volume_", None) is None:
            return labels
        # the noise's column is the last: -1, as for complete rows
        return np.where(labels == len(self.weights_), -1, labels)

    def score_samples(self, X: Any) -> Any:
        complete = super().score_samples
        return self._by_rows(X, complete, self._missing_scores, None)

    def predict_proba(self, X: Any) -> Any:
        check_is_fitted(self)
        complete = super().predict_proba
        noise = getattr(self, "noise_volume_", None) is not None
        n_outputs = len(self.weights_) + int(noise)
        return self._by_rows(X, complete, self._missing_proba, n_outputs)

    def predict(self, X: Any) -> Any:
        return self._by_rows(X, super().predict, self._missing_labels, None)

    def _dtype(self) -> type:
        return numpy_dtype(self.means_)

    def impute(
        self,
        X: Any,
        n_draws: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> np.ndarray:
        """X with each missing value (NaN) filled in under the fitted mixture.

        By default each missing value becomes its conditional mean
        ``E[x_m | x_o]``: the components' conditional means weighted by the
        row's responsibilities given its observed values. With ``n_draws``,
        multiple imputations instead: each draw picks a component from those
        responsibilities, then the missing values from that component's
        conditional Gaussian, so that analyses repeated over the draws carry
        the uncertainty of what was not observed. Observed values are
        returned unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_draws : int, optional
            Number of imputations to draw; None for the conditional means.
        random_state : int, RandomState instance or None
            Seed of the draws.

        Returns
        -------
        ndarray of shape (n_samples, n_features), or (n_draws, n_samples,
        n_features) with ``n_draws``; a tensor on X's device for a tensor.
        """
        check_is_fitted(self)
        values = _on_host(validate_in_memory(self, X, reset=False, allow_nan=True))
        if n_draws is None:
            filled = conditional_means(values, self.mixture_params())
            return _like_input(filled.astype(self._dtype()), X)
        if isinstance(n_draws, bool) or not isinstance(n_draws, numbers.Integral):
            raise TypeError(f"n_draws must be an int or None, got {n_draws!r}.")
        if n_draws < 1:
            raise ValueError(f"n_draws must be at least 1, got {n_draws}.")
        draws = conditional_draws(
            values,
            self.mixture_params(),
            int(n_draws),
            check_random_state(random_state),
        )
        return _like_input(draws.astype(self._dtype()), X)
