"""GaussianMixtureOutlierDetector: a scikit-learn outlier detector on a mixture."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.estep import log_responsibilities
from gaussmix.core.missing_blocks import refuse_empty_rows
from gaussmix.core.pattern_scores import complete_scale_log_density
from gaussmix.models import validation as check
from gaussmix.models.gaussian_mixture import GaussianMixture


def weighted_lower_quantile(
    values: np.ndarray, weights: np.ndarray | None, fraction: float
) -> float:
    """A threshold with at most ``fraction`` of the weight strictly below it.

    The smallest value whose share of the weight at or below it exceeds
    ``fraction`` is the first one kept above the threshold: ``floor(fraction
    * n)`` of ``n`` distinct unweighted values fall below, scikit-learn's
    expected number of outliers. The threshold lies halfway between that
    value and the largest value below it (or, when none is, as far below
    it as the next larger value is above), not on it: a row scoring
    exactly the threshold would be an inlier or an outlier by the last
    bit of its score, which another batch of rows can round the other
    way. An integer weight acts as that many copies of the value, so that
    a threshold from weighted rows is the threshold from repeated rows.
    """
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    if weights is None:
        cumulative = np.arange(1, len(values) + 1, dtype=np.float64)
    else:
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
    target = fraction * cumulative[-1]
    index = int(np.searchsorted(cumulative, target, side="right"))
    kept = float(sorted_values[min(index, len(values) - 1)])
    if not np.isfinite(kept):
        return kept
    # the neighbours are rows that count: finite, and of positive weight
    # (a row of weight 0 is a row that is not there)
    counted = np.isfinite(sorted_values)
    if weights is not None:
        counted &= np.asarray(weights)[order] > 0
    neighbours = sorted_values[counted]
    below = neighbours[neighbours < kept]
    if below.size:
        return 0.5 * (float(below[-1]) + kept)
    above = neighbours[neighbours > kept]
    if above.size:
        return kept - 0.5 * (float(above[0]) - kept)
    # every value equal: below it by a margin far above rounding
    return kept - max(abs(kept), 1.0) * 1e-6


class GaussianMixtureOutlierDetector(OutlierMixin, BaseEstimator):
    """Outliers as the rows of lowest density under a fitted Gaussian mixture.

    A :class:`GaussianMixture` is fitted to the training rows; a row's score
    is its log-density under the mixture's Gaussian components, and rows
    scoring below ``offset_`` are outliers. With ``noise=True`` the mixture
    is fitted with a uniform noise component, so that the outliers in the
    training rows do not widen or drag the components; the score still
    comes from the Gaussian components alone (the noise's constant density
    would give every far row the same score).

    Integer sample weights act as repeated rows, except in the start of a
    fit with ``noise=True``: its nearest-neighbour clutter rule sees rows,
    not weights.

    Missing values (NaN) are marginalised in the fit, as by
    :class:`GaussianMixture`. A row's marginal density over its observed
    columns would not do as its score: a density over fewer dimensions, it
    is higher the fewer columns a row shows, so rows missing much would
    never be outliers. A row with missing values scores instead as a
    complete row whose squared Mahalanobis distance from each component
    lies at the chi-square upper-tail probability of its observed values'
    distance (:mod:`gaussmix.core.pattern_scores`): rows drawn from a
    component score alike whatever they miss, and share one ``offset_``
    with the complete rows. Values that are missing cannot make a row an
    outlier.

    Parameters
    ----------
    n_components : int, default=1
    contamination : float, default=0.1
        The share of the training rows' weight taken as outliers, in
        (0, 0.5]: ``offset_`` lies halfway between the smallest training
        score whose share of the weight at or below it exceeds
        ``contamination`` (a lower quantile, weighted by ``sample_weight``)
        and the training score below it, so that
        ``floor(contamination * n_samples)`` training rows score below it,
        up to ties, and no training row sits on it (where rounding in
        another batch of rows could move it to either side).
    threshold : float or None, default=None
        An absolute log-density threshold instead: ``offset_ = threshold``
        and ``contamination`` is not used.
    covariance_type, tol, reg_covar, max_iter, n_init, init_params, random_state, \
chunk_size, noise, noise_volume :
        As :class:`GaussianMixture`'s.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The fitted mixture.
    offset_ : float
        The log-density below which a row is an outlier;
        ``decision_function = score_samples - offset_``.
    n_iter_ : int
        EM iterations of the mixture's best start.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names.

    Examples
    --------
    Two clusters and 60 scattered rows:

    >>> import numpy as np
    >>> from gaussmix import GaussianMixtureOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> clusters = np.vstack([rng.normal(0, 1, (300, 2)), rng.normal(8, 1, (300, 2))])
    >>> X = np.vstack([clusters, rng.uniform(-40, 48, (60, 2))])
    >>> detector = GaussianMixtureOutlierDetector(
    ...     2, contamination=0.1, noise=True, random_state=0
    ... ).fit(X)
    >>> labels = detector.predict(X)  # +1 inlier, -1 outlier
    >>> round(float(np.mean(labels == -1)), 2)
    0.1
    >>> bool(np.mean(labels[-60:] == -1) > 0.9)  # the scattered rows
    True
    >>> detector.decision_function(X[:2]).shape  # score_samples - offset_
    (2,)
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        contamination: float = 0.1,
        threshold: float | None = None,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: RandomStateLike = None,
        chunk_size: int | None = None,
        noise: bool = False,
        noise_volume: str | float = "auto",
    ) -> None:
        self.n_components = n_components
        self.contamination = contamination
        self.threshold = threshold
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.noise = noise
        self.noise_volume = noise_volume

    def _mixture(self) -> GaussianMixture:
        return GaussianMixture(
            self.n_components,
            covariance_type=self.covariance_type,
            tol=self.tol,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            init_params=self.init_params,
            random_state=self.random_state,
            chunk_size=self.chunk_size,
            noise=self.noise,
            noise_volume=self.noise_volume,
        )

    def fit(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> GaussianMixtureOutlierDetector:
        """Fit the mixture and set ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GaussianMixtureOutlierDetector
        """
        contamination, threshold = self._check_settings()
        X = self._validated(X, reset=True)
        weights = check.check_sample_weight(sample_weight, X.shape[0], np.float64)
        self.mixture_ = self._mixture().fit(X, sample_weight=weights)
        self.n_iter_ = self.mixture_.n_iter_
        if threshold is None:
            self.offset_ = weighted_lower_quantile(
                np.asarray(self._scores(X), dtype=np.float64), weights, contamination
            )
        else:
            self.offset_ = threshold
        return self

    def _check_settings(self) -> tuple[float, float | None]:
        """The validated ``contamination`` and ``threshold``, after checking the
        mixture's hyperparameters."""
        owner = type(self).__name__
        self._mixture()._check_hyperparameters()
        contamination = check.check_float(
            "contamination", self.contamination, 0.0, False, owner=owner, maximum=0.5
        )
        threshold = None
        if self.threshold is not None:
            threshold = check.check_float(
                "threshold", self.threshold, -np.inf, True, owner=owner
            )
        return contamination, threshold

    def _validated(self, X: Array, reset: bool) -> np.ndarray:
        # the mixture needs two rows to fit; checked here, so that the
        # message names this estimator rather than the mixture inside it
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2 if reset else 1,
            ensure_all_finite="allow-nan",
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # NaN marks a missing value; infinities are still refused
        tags.input_tags.allow_nan = True
        return tags

    def _scores(self, X: np.ndarray) -> np.ndarray:
        # the Gaussian components' log-density, without a noise floor
        holes = np.isnan(X).any(axis=1)
        if not holes.any():
            return self.mixture_._apply(
                X, lambda x, p: log_responsibilities(x, p)[0], per_component=False
            )
        # refused before the rows are split, so that the message counts
        # rows from X's start, not from the first row with a missing value
        refuse_empty_rows(~np.isnan(X))
        # the complete rows' dtype: a float64 model scores float32 rows in float64
        scores = np.empty(X.shape[0], np.result_type(X.dtype, self.mixture_.means_))
        if not holes.all():
            scores[~holes] = self._scores(X[~holes])
        params = self.mixture_.mixture_params()
        scores[holes] = complete_scale_log_density(X[holes], params)
        return scores

    def score_samples(self, X: Array) -> np.ndarray:
        """Log-density of each row under the Gaussian components (higher:
        inlier); a row with missing values (NaN) on the complete rows' scale
        (see the class's notes)."""
        check_is_fitted(self)
        return self._scores(self._validated(X, reset=False))

    def decision_function(self, X: Array) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Array) -> np.ndarray:
        """+1 for inliers, -1 for outliers, shape (n_samples,)."""
        return np.where(self.decision_function(X) < 0, -1, 1)
