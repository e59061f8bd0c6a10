"""StudentMixture: a mixture of multivariate t distributions, fitted by EM."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.covariance import get_family
from gaussmix.core.mstep import RepairLog, warn_repairs
from gaussmix.core.params import MixtureParams
from gaussmix.core.student import (
    StudentStats,
    student_chunk_stats,
    student_log_prob,
    student_m_step,
)
from gaussmix.fit.batch import fit_with_progress
from gaussmix.fit.initialise import initial_params
from gaussmix.models import validation as check
from gaussmix.models._data_scale import refuse_overflowing_squares, source_halves
from gaussmix.models._fitted_mixture import (
    FittedMixtureMixin,
    InformationCriteriaMixin,
)
from gaussmix.models._inputs import make_source
from gaussmix.models.tensors import numpy_dtype

DOF_MODES = ("per_component", "shared")
_OWNER = "StudentMixture"
#: Where estimated degrees of freedom start: heavy enough tails to shrink
#: outliers' pull from the first iteration, light enough to stay near the
#: Gaussian start.
INITIAL_DOF = 10.0

State = tuple[MixtureParams, np.ndarray]


@dataclass(frozen=True)
class StudentMixtureSettings(check.EMSettings):
    """The validated hyperparameters of a StudentMixture."""

    n_components: int
    covariance_type: str
    dof: str | float
    warm_start: bool
    verbose: int
    verbose_interval: int


class StudentMixture(
    InformationCriteriaMixin, FittedMixtureMixin, DensityMixin, BaseEstimator
):
    """Mixture of multivariate Student-t distributions, robust to outliers.

    Each component is a t distribution with its own location, scale matrix
    (any covariance family, as for :class:`~gaussmix.GaussianMixture`) and
    degrees of freedom ``nu``. EM weighs each row by ``(nu + D) / (nu +
    delta)`` (``delta`` its squared Mahalanobis distance), so far rows pull
    the means and covariances much less than under a Gaussian (Peel &
    McLachlan 2000). As ``nu`` grows the fit tends to the Gaussian one.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default='full'
        Any registered covariance family: scikit-learn's four and mclust's
        models. ``covariances_`` are the t distributions' scale matrices
        (the covariance is ``nu / (nu - 2)`` times that, for ``nu > 2``).
    dof : {'per_component', 'shared'} or float, default='per_component'
        Degrees of freedom estimated per component, one value shared by all
        components, or fixed at the number given.
    tol : float, default=1e-3
        EM stops when the average log-likelihood gains less than this.
    reg_covar : float, default=1e-6
    max_iter : int, default=100
    n_init : int, default=1
    init_params : str, default='trimmed_kmeans'
        The initial partition, as for :class:`~gaussmix.GaussianMixture`;
        the default, trimmed k-means, leaves the 10% of rows farthest from
        every centre out of the start, so that scattered outliers neither
        draw a component nor pull one. On a panel of clean data (iris, wine,
        digits, breast cancer, blobs) it reaches the log-likelihood of
        k-means to within 0.5%; with 5% of the rows replaced by scattered
        noise it finds the clusters where k-means starts do not (see
        BENCHMARKS.md).
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
        Iterations between printed lines (and log records) when
        ``verbose >= 2``.
    chunk_size : int or None, default=None
        Rows per E-step chunk; None bounds temporaries to about 16 MB.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Scale matrices, shaped as GaussianMixture's covariances.
    precisions_, precisions_cholesky_ : ndarray
    degrees_of_freedom_ : ndarray of shape (n_components,)
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Average log-likelihood at the last iteration.
    lower_bounds_ : list of float
    n_features_in_ : int

    Notes
    -----
    The E-step runs on the host in numpy, chunk by chunk, from memory, files
    or Dask (tensors are copied to the host); its sums are the Gaussian
    E-step's Stats with ``r_ik u_ik`` as the rows' weights, plus two sums
    per component.

    Examples
    --------
    Three groups and 10% scattered noise:

    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from gaussmix import StudentMixture
    >>> centres = [[0, 0], [8, 0], [0, 8]]
    >>> X, _ = make_blobs(n_samples=900, centers=centres, random_state=0)
    >>> X[:90] = np.random.default_rng(0).uniform(-60, 70, size=(90, 2))
    >>> tm = StudentMixture(n_components=3, random_state=0).fit(X)
    >>> tm.means_[np.lexsort(tm.means_.T)].round().astype(int)  # the true centres
    array([[0, 0],
           [8, 0],
           [0, 8]])
    >>> bool(tm.outlier_weights(X[:90]).mean() < tm.outlier_weights(X[90:]).mean())
    True
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        dof: str | float = "per_component",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "trimmed_kmeans",
        random_state: RandomStateLike = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.dof = dof
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size

    def _check_dof(self) -> str | float:
        if isinstance(self.dof, str):
            return check.check_choice(
                "dof", self.dof, DOF_MODES, owner="StudentMixture"
            )
        return check.check_float("dof", self.dof, 0.0, False, owner="StudentMixture")

    def _check_hyperparameters(self) -> StudentMixtureSettings:
        """Every hyperparameter checked, before any data is read."""
        owner = type(self).__name__
        return StudentMixtureSettings(
            **check.em_settings(self).em_kwargs(),
            n_components=check.check_int(
                "n_components", self.n_components, 1, owner=owner
            ),
            covariance_type=check.check_covariance_type(
                self.covariance_type, owner=owner
            ),
            dof=self._check_dof(),
            warm_start=check.check_bool("warm_start", self.warm_start, owner=owner),
            verbose=check.check_int("verbose", self.verbose, 0, owner=owner),
            verbose_interval=check.check_int(
                "verbose_interval", self.verbose_interval, 1, owner=owner
            ),
        )

    def fit(self, X: Array, y: Any = None, sample_weight: Array | None = None):
        """Fit the t mixture by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : StudentMixture
        """
        settings = self._check_hyperparameters()
        n_components = settings.n_components
        covariance_type, dof_mode = settings.covariance_type, settings.dof
        source = make_source(self, X, sample_weight, settings.chunk_size)
        check.check_enough_rows(source.n_samples, n_components)
        refuse_overflowing_squares(source_halves(source))
        dtype = numpy_dtype(source)
        repairs = RepairLog(reseeds_left=4 * n_components, dtype=dtype)
        do_init = not (
            settings.warm_start
            and self._fitted_matches(n_components, source.n_features)
        )
        random_state = check_random_state(self.random_state)
        first_dof = dof_mode if not isinstance(dof_mode, str) else INITIAL_DOF

        def start() -> tuple[State, float]:
            if not do_init:
                state = (self.mixture_params(), np.asarray(self.degrees_of_freedom_))
                return state, self.lower_bound_
            params = initial_params(
                source,
                covariance_type=covariance_type,
                init_params=settings.init_params,
                n_components=n_components,
                reg_covar=settings.reg_covar,
                user_init={},
                random_state=random_state,
                repairs=repairs,
            )
            return (params, np.full(n_components, float(first_dof))), -math.inf

        def e_step(state: State) -> StudentStats:
            params, dof = state
            return source.chunk_sums(student_chunk_stats, n_components, params, dof)

        def update(stats: StudentStats, state: State) -> tuple[State, float]:
            params, dof = state
            if stats.moments.total_weight <= 0:
                raise ValueError("the data's total sample weight is zero.")
            new = student_m_step(
                stats,
                params,
                dof,
                reg_covar=settings.reg_covar,
                repairs=repairs,
                dof_mode=dof_mode,
            )
            return new, stats.moments.log_likelihood / stats.moments.total_weight

        best = fit_with_progress(
            e_step,
            update,
            start,
            settings,
            restarts=do_init,
        )
        warn_repairs(repairs)
        if not best.converged and settings.max_iter > 0:
            check.warn_not_converged()
        params, dof = best.params
        self._set_params_from(params, dtype)
        self.degrees_of_freedom_ = np.array(dof, dtype=np.float64)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = list(best.lower_bounds)
        return self

    def fit_predict(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> np.ndarray:
        """Fit the mixture and return the most likely component of each row."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    # ------------------------------------------------------------------
    # inference with t components
    def _weighted_log_prob(self, X: Array) -> Any:
        check_is_fitted(self)
        dof = self.degrees_of_freedom_

        def rows(chunk: Array, params: MixtureParams) -> np.ndarray:
            host = params.to_numpy()
            values = np.asarray(chunk)
            log_prob, _ = student_log_prob(values, host, dof)
            return log_prob.astype(values.dtype)

        return self._apply(X, rows, per_component=True)

    def score_samples(self, X: Array) -> Any:
        """Log-density of each row under the t mixture, shape (n_samples,)."""
        return logsumexp(self._weighted_log_prob(X), axis=1)

    def predict_proba(self, X: Array) -> Any:
        """Posterior probability of each component, (n_samples, n_components)."""
        log_prob = np.asarray(self._weighted_log_prob(X), np.float64)
        proba = np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))
        return proba.astype(self.means_.dtype)

    def predict(self, X: Array) -> Any:
        """Most likely component of each row, shape (n_samples,)."""
        return np.argmax(self._weighted_log_prob(X), axis=1)

    def outlier_weights(self, X: Array) -> np.ndarray:
        """Each row's expected weight ``u`` under its most likely component.

        Below 1 for rows farther than the component's typical spread: the
        smaller, the less the row pulled the fit (an outlier score).
        """
        check_is_fitted(self)
        values = np.asarray(X, dtype=np.float64)
        log_prob, squared = student_log_prob(
            values, self.mixture_params(), self.degrees_of_freedom_
        )
        best = np.argmax(log_prob, axis=1)
        nu = self.degrees_of_freedom_[best]
        return (nu + values.shape[1]) / (nu + squared[np.arange(len(values)), best])

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw rows from the fitted t mixture.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component each row came from.
        """
        check_is_fitted(self)
        n_samples = check.check_n_samples(n_samples)
        rng = check_random_state(self.random_state)
        params = self.mixture_params()
        counts = rng.multinomial(n_samples, params.weights)
        n_components, n_features = params.means.shape
        family = get_family(params.covariance_type)
        scales = (
            family.full_covariances(
                np.asarray(params.covariances), n_components, n_features
            )
            if family.matrix_layout
            else None
        )
        blocks = []
        for k, count in enumerate(counts):
            if family.matrix_layout:
                gaussian = rng.multivariate_normal(
                    np.zeros(n_features), scales[k], int(count)
                )
            else:
                spread = np.sqrt(np.broadcast_to(params.covariances[k], (n_features,)))
                gaussian = rng.standard_normal((count, n_features)) * spread
            mixing = rng.chisquare(self.degrees_of_freedom_[k], size=count)
            mixing = mixing / self.degrees_of_freedom_[k]
            blocks.append(params.means[k] + gaussian / np.sqrt(mixing)[:, None])
        X = np.vstack(blocks).astype(self.means_.dtype, copy=False)
        y = np.concatenate([np.full(c, k, dtype=int) for k, c in enumerate(counts)])
        return X, y

    def _n_parameters(self) -> int:
        """The Gaussian mixture's free parameters plus the degrees of freedom."""
        n_dof = {"per_component": len(self.weights_), "shared": 1}
        extra = n_dof.get(self.dof, 0) if isinstance(self.dof, str) else 0
        return super()._n_parameters() + extra
