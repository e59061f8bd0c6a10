"""GaussianMixtureRegressor: Gaussian mixture regression (GMR).

A Gaussian mixture is fitted to the joint rows ``[x, y]``; a prediction is the
mixture of ``y`` conditioned on ``x``. Its mean is the usual point prediction,
and the whole conditional mixture keeps every branch of a multi-valued map
that a mean would average away.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.conditioning import ConditionalMixture
from gaussmix.core.missing import conditional_moments
from gaussmix.models import validation as check
from gaussmix.models.gaussian_mixture import GaussianMixture


class GaussianMixtureRegressor(RegressorMixin, BaseEstimator):
    """Regression by conditioning a Gaussian mixture of inputs and outputs.

    Parameters
    ----------
    n_components : int, default=1
        Components of the joint mixture. One component gives linear
        regression (the conditional mean of a Gaussian is linear in x); more
        give a locally linear, heteroscedastic, possibly multi-modal model.
    covariance_type : str, default='full'
        Covariance family of the joint mixture. ``'diag'`` and
        ``'spherical'`` make inputs and outputs independent within a
        component, so the prediction depends on x only through the weights.
    standardize : bool, default=True
        Centre and scale every input and output column (with the sample
        weights) before fitting, so that ``reg_covar`` and the k-means
        initialisation treat all columns alike; predictions are returned in
        the original units either way.
    tol, reg_covar, max_iter, n_init, init_params, random_state, chunk_size
        As in :class:`~gaussmix.GaussianMixture`, for the joint mixture.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The joint mixture of ``[X, y]`` (standardised when ``standardize``),
        inputs first.
    center_ : ndarray of shape (n_features_in_ + n_outputs_,)
        Subtracted from the joint columns before fitting (zeros when not
        standardising).
    scale_ : ndarray of shape (n_features_in_ + n_outputs_,)
        Divides the centred joint columns (ones when not standardising).
    n_outputs_ : int
    n_iter_ : int
        EM iterations of the joint mixture's best run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixtureRegressor
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 6, size=(500, 1))
    >>> y = np.sin(x[:, 0]) + 0.1 * rng.standard_normal(500)
    >>> reg = GaussianMixtureRegressor(n_components=6, random_state=0).fit(x, y)
    >>> mean, std = reg.predict([[1.5], [4.5]], return_std=True)
    >>> mean.round(1)
    array([ 1., -1.])
    >>> distribution = reg.predict_distribution([[1.5]])  # the whole p(y | x)
    >>> distribution.n_components
    6
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        standardize: bool = True,
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: RandomStateLike = None,
        chunk_size: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.standardize = standardize
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.chunk_size = chunk_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = True  # missing inputs are marginalised
        return tags

    def fit(self, X: Array, y: Array, sample_weight: Array | None = None):
        """Fit the joint mixture of ``[X, y]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GaussianMixtureRegressor
        """
        # checked here, so that errors name this estimator, not its mixture
        owner = type(self).__name__
        settings = check.em_settings(self)
        check.check_int("n_components", self.n_components, 1, owner=owner)
        check.check_covariance_type(self.covariance_type, owner=owner)
        check.check_bool("standardize", self.standardize, owner=owner)
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
            # NaN in X is a missing input; validation still refuses
            # infinity in X and anything but finite values in y
            ensure_all_finite="allow-nan",
        )
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        # standardised in float64: y in units beyond X's float32 range (1e40)
        # is brought back to unit scale before the mixture sees X's dtype
        joint = np.hstack([X, targets]).astype(np.float64, copy=False)
        weights = check.check_sample_weight(sample_weight, X.shape[0], np.float64)
        center, scale = _column_center_scale(joint, weights, self.standardize)
        mixture = GaussianMixture(
            self.n_components,
            covariance_type=self.covariance_type,
            **settings.em_kwargs(),
            random_state=self.random_state,
        )
        with np.errstate(over="ignore"):
            standardised = ((joint - center) / scale).astype(X.dtype, copy=False)
        if not np.all(np.isfinite(standardised[:, X.shape[1] :])):
            raise ValueError(
                f"y holds values up to {np.max(np.abs(targets)):.3g}, beyond the "
                f"range of X's dtype {X.dtype.name}; pass X as float64 or set "
                "standardize=True."
            )
        self.mixture_ = mixture.fit(standardised, sample_weight=weights)
        self.center_ = center
        self.scale_ = scale
        self.n_outputs_ = targets.shape[1]
        self.n_iter_ = self.mixture_.n_iter_
        self._single_output = y.ndim == 1
        return self

    def predict_distribution(self, X: Array) -> ConditionalMixture:
        """The conditional mixture of y given each row of X, in y's units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ConditionalMixture
            ``weights`` (n_samples, n_components), ``means``
            (n_samples, n_components, n_outputs) and shared covariances;
            ``mean()``, ``covariance()``, ``log_prob(Y)`` and ``sample()``
            summarise or use it.
        """
        n_inputs = self.n_features_in_
        with np.errstate(over="ignore"):
            # y's variances may exceed float64 where its deviations do not
            return self._standardised_distribution(X).rescaled(
                self.scale_[n_inputs:], self.center_[n_inputs:]
            )

    def _standardised_distribution(self, X: Array) -> ConditionalMixture:
        """The conditional mixture of the standardised targets."""
        standardised = self._standardised_inputs(X)
        if np.isnan(standardised).any():
            raise ValueError(
                "predict_distribution needs every input of a row, and X has "
                "missing values (NaN): each row would have a mixture of its "
                "own. Use predict or sample_y, which condition on what is "
                "observed."
            )
        n_inputs = self.n_features_in_
        return self.mixture_.condition(np.arange(n_inputs), standardised)

    def _standardised_inputs(self, X: Array) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            reset=False,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
        )
        n_inputs = self.n_features_in_
        return (X - self.center_[:n_inputs]) / self.scale_[:n_inputs]

    def _with_unknown_targets(self, standardised: np.ndarray) -> np.ndarray:
        """The rows followed by NaN targets: the joint mixture fills them in."""
        unknown = np.full((standardised.shape[0], self.n_outputs_), np.nan)
        return np.hstack([standardised, unknown.astype(standardised.dtype)])

    def predict(
        self, X: Array, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Conditional mean of y given X (and its standard deviation).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the standard deviation of the conditional mixture,
            which includes the spread between its components.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        y_std : ndarray, same shape, only when ``return_std``
        """
        # moments in standardised units, then scaled: a standard deviation
        # of 1e300 stays finite although its variance would not
        standardised = self._standardised_inputs(X)
        n_inputs = self.n_features_in_
        scale, center = self.scale_[n_inputs:], self.center_[n_inputs:]
        if np.isnan(standardised).any():
            # missing inputs: y given what each row shows, its other inputs
            # marginalised (the joint mixture's conditional moments)
            means, variances = conditional_moments(
                self._with_unknown_targets(standardised),
                self.mixture_.mixture_params(),
            )
            centre, spread = means[:, n_inputs:], np.sqrt(variances[:, n_inputs:])
        else:
            distribution = self.mixture_.condition(np.arange(n_inputs), standardised)
            centre = distribution.mean()
            spread = distribution.std() if return_std else None
        mean = self._shaped(center + scale * centre)
        if not return_std:
            return mean
        return mean, self._shaped(scale * spread)

    def sample_y(
        self, X: Array, n_samples: int = 1, random_state: RandomStateLike = 0
    ) -> np.ndarray:
        """Draw y from its conditional mixture given each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
        n_samples : int, default=1
            Draws per row.
        random_state : int, RandomState instance or None, default=0

        Returns
        -------
        ndarray of shape (n_samples_X, n_samples) for a 1-D y, else
        (n_samples_X, n_outputs, n_samples)
        """
        n_samples = check.check_int("n_samples", n_samples, 1)
        standardised = self._standardised_inputs(X)
        if np.isnan(standardised).any():
            n_inputs = self.n_features_in_
            filled = self.mixture_.impute(
                self._with_unknown_targets(standardised),
                n_draws=n_samples,
                random_state=check_random_state(random_state),
            )[:, :, n_inputs:]
            draws = self.center_[n_inputs:] + self.scale_[n_inputs:] * np.moveaxis(
                filled.astype(np.float64), 0, 1
            )
        else:
            draws = self.predict_distribution(X).sample(
                n_samples, check_random_state(random_state)
            )
        if self._single_output:
            return draws[:, :, 0]
        return np.swapaxes(draws, 1, 2)

    def _shaped(self, values: np.ndarray) -> np.ndarray:
        return values[:, 0] if self._single_output else values


def _column_center_scale(
    joint: np.ndarray, weights: np.ndarray | None, standardize: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted column means and standard deviations (ones for constants)."""
    n_columns = joint.shape[1]
    if not standardize:
        return np.zeros(n_columns), np.ones(n_columns)
    values = np.asarray(joint, dtype=np.float64)
    # missing values (NaN) count for nothing: each column's moments are
    # those of its observed rows
    seen = ~np.isnan(values)
    cell_weights = seen * (1.0 if weights is None else weights[:, None])
    if np.any(cell_weights.sum(axis=0) == 0):
        column = int(np.flatnonzero(cell_weights.sum(axis=0) == 0)[0])
        raise ValueError(
            f"column {column} of X has no observed value; remove it before fitting."
        )
    values = np.where(seen, values, 0.0)
    # halves, then a power of two per column: neither the mean nor the
    # squares overflow for columns of values near float64's limit
    center = 2.0 * np.average(values / 2.0, axis=0, weights=cell_weights)
    deviations = np.where(seen, values / 2.0 - center / 2.0, 0.0)
    unit = np.ldexp(1.0, np.frexp(np.abs(deviations).max(axis=0))[1])
    spread = (
        2.0
        * unit
        * np.sqrt(np.average((deviations / unit) ** 2, axis=0, weights=cell_weights))
    )
    # a constant column keeps its units; reg_covar then sets its variance
    scale = np.where(spread > 0, spread, 1.0)
    return center, scale
