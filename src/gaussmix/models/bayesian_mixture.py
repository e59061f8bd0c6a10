"""BayesianGaussianMixture: variational Bayes on gaussmix's EM core."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.covariance import get_family
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.core.variational import (
    VARIATIONAL_FAMILIES,
    VariationalPosterior,
    VariationalPrior,
    lower_bound,
    posterior_from_stats,
)
from gaussmix.fit.batch import fit_with_progress
from gaussmix.fit.online import step_size, stepwise_update
from gaussmix.models import validation as check
from gaussmix.models._data_scale import batch_stats, data_scale, source_halves
from gaussmix.models._fitted_mixture import FittedMixtureMixin
from gaussmix.models._inputs import make_source
from gaussmix.models._variational_prior import (
    PriorSettings,
    prior_settings,
    variational_prior,
)
from gaussmix.models._variational_views import VariationalViewsMixin
from gaussmix.models.tensors import is_tensor, numpy_dtype


@dataclass(frozen=True)
class BayesianMixtureSettings(check.MixtureSettings):
    """BayesianGaussianMixture's scalar hyperparameters, validated once per fit."""

    prior: PriorSettings


class BayesianGaussianMixture(
    VariationalViewsMixin, FittedMixtureMixin, DensityMixin, BaseEstimator
):
    """Variational Bayesian estimation of a Gaussian mixture.

    Same parameters, attributes and methods as
    :class:`sklearn.mixture.BayesianGaussianMixture`, plus sample weights,
    float32 end to end, chunked E-steps with bounded memory, data on disk,
    on Dask or in torch tensors, and :meth:`partial_fit` by stochastic
    variational inference.

    With a Dirichlet-process prior (the default) and a small
    ``weight_concentration_prior``, surplus components get weights near
    zero: fit with more components than you expect and read the number in
    use from :meth:`effective_n_components`.

    Parameters
    ----------
    n_components : int, default=1
        Upper bound on the number of components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        The fit stops when the lower bound (a sum over rows) gains less.
    reg_covar : float, default=1e-6
        Added to the diagonal of every component's sample covariance.
    max_iter : int, default=100
    n_init : int, default=1
        Initialisations; the one with the highest lower bound is kept.
    init_params : str, default='kmeans'
        ``'kmeans'``, ``'k-means++'``, ``'random'``, ``'random_from_data'``
        or ``'hc'``, as for :class:`~gaussmix.GaussianMixture`; the draws
        are scikit-learn's.
    weight_concentration_prior_type : {'dirichlet_process', \
'dirichlet_distribution'}, default='dirichlet_process'
    weight_concentration_prior : float or None, default=None
        Concentration of the weights' prior; None means
        ``1 / n_components``. Smaller values favour fewer components.
    mean_precision_prior : float or None, default=None
        How strongly the means are drawn to ``mean_prior``; None means 1.
    mean_prior : array-like of shape (n_features,) or None, default=None
        None means the (weighted) mean of X.
    degrees_of_freedom_prior : float or None, default=None
        Of the Wishart prior on the precisions, above ``n_features - 1``;
        None means ``n_features``.
    covariance_prior : float or array-like, default=None
        The Wishart's scale inverse: (n_features, n_features) for full and
        tied, (n_features,) for diag, a float for spherical. None means the
        (weighted, unbiased) covariance of X in that layout.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start each ``fit`` from the previous posterior when it has the same
        shape and covariance type.
    verbose : int, default=0
        1 shows a progress bar per initialisation, 2 also logs iterations.
    verbose_interval : int, default=10
        Iterations between printed lines (and log records) when
        ``verbose >= 2``.
    chunk_size : int or None, default=None
        Rows per E-step chunk; None bounds temporaries to about 16 MB.
    learning_decay : float, default=0.6
        ``kappa`` in the step ``rho_t = (t + learning_offset) ** -kappa`` of
        :meth:`partial_fit`, in (0.5, 1].
    learning_offset : float, default=10.0
        ``tau_0`` in that step.
    device : str or torch.device, default=None
        A torch device on which to compute for numpy input.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean weights.
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        ``W_k^-1 / nu_k``, shaped as for GaussianMixture.
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
    weight_concentration_prior_ : float
    weight_concentration_ : ndarray of shape (n_components,) or tuple
        Dirichlet parameters, or the Beta parameters ``(a, b)`` of the
        sticks for the Dirichlet process.
    mean_precision_prior_ : float
    mean_precision_ : ndarray of shape (n_components,)
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_ : float
    degrees_of_freedom_ : ndarray of shape (n_components,), float for tied
    covariance_prior_ : float or ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Evidence lower bound of the best run, up to a constant, summed over
        rows as in scikit-learn.
    lower_bounds_ : list of float
    n_batches_ : int
        Batches the posterior stands for: 1 after ``fit``, one more after
        each ``partial_fit`` that continues a fitted model.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    ``predict``, ``predict_proba`` and ``score_samples`` use the expected
    log-densities of the variational E-step, as scikit-learn's do; the
    posterior predictive (a mixture of Student-t distributions) is
    :meth:`predictive_score_samples` and :meth:`predictive_proba`.

    Sample weights count as repetitions of their rows: the prior weighs the
    same against ``w`` as against ``w`` copies, so their scale matters,
    unlike for :class:`~gaussmix.GaussianMixture`.

    Examples
    --------
    Ten components offered, three used:

    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from gaussmix import BayesianGaussianMixture
    >>> centres = [[-5, 0], [0, 5], [5, 0]]
    >>> X, _ = make_blobs(n_samples=600, centers=centres, random_state=5)
    >>> bgm = BayesianGaussianMixture(
    ...     n_components=10, weight_concentration_prior=1e-3, random_state=0
    ... ).fit(X)
    >>> bgm.effective_n_components()
    3
    >>> bgm.predictive_proba(X[:2]).shape  # under the posterior predictive
    (2, 10)
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weight_concentration_prior_type: str = "dirichlet_process",
        weight_concentration_prior: float | None = None,
        mean_precision_prior: float | None = None,
        mean_prior: Array | None = None,
        degrees_of_freedom_prior: float | None = None,
        covariance_prior: Any = None,
        random_state: RandomStateLike = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        learning_decay: float = 0.6,
        learning_offset: float = 10.0,
        device: Any = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.device = device

    # ------------------------------------------------------------------
    # validation
    def _check_hyperparameters(self) -> BayesianMixtureSettings:
        """Every scalar hyperparameter checked, before any data is read."""
        return BayesianMixtureSettings(
            **check.em_settings(self).em_kwargs(),
            **check.mixture_fields(self, VARIATIONAL_FAMILIES),
            prior=prior_settings(self),
        )

    # ------------------------------------------------------------------
    # fitting
    def fit(self, X: Array, y: Any = None, sample_weight: Array | None = None):
        """Fit the variational posterior by coordinate ascent on the bound.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            In memory, on disk (memmap, HDF5, Zarr), a dask array or a
            torch tensor.
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight acts as that many copies
            of the row.

        Returns
        -------
        self : BayesianGaussianMixture
        """
        settings = self._check_hyperparameters()
        source = make_source(
            self, X, sample_weight, settings.chunk_size, normalise_weights=False
        )
        n_components = settings.n_components
        covariance_type = settings.covariance_type
        dtype = numpy_dtype(source)
        check.check_enough_rows(source.n_samples, n_components)
        # rows whose squares would overflow are fitted in other units (see
        # gaussmix.models._data_scale), the prior with them
        halves = source_halves(source)
        scale = None if halves is None else data_scale(source.dtype, halves)
        reg_covar = settings.reg_covar
        if scale is not None:
            with np.errstate(over="ignore"):
                squares_overflow = not np.all(np.isfinite(scale.units**2))
            if squares_overflow:
                # the default prior is the data's covariance, in data units:
                # a column spanning beyond 1e154 squares beyond float64
                raise scale.out_of_range(np.float64)
            source = source.rescaled(scale.units)
            reg_covar = scale.reg_covar(reg_covar)
        prior = variational_prior(
            self, source, settings.prior, n_components, covariance_type, scale
        )
        do_init = not (
            settings.warm_start
            and self._fitted_matches(n_components, source.n_features)
        )
        random_state = check_random_state(self.random_state)
        scatter_kind = get_family(covariance_type).scatter_kind
        # each run's latest posterior with the Stats it was updated from: a
        # stream that continues the fit starts from the best run's Stats
        behind: list[tuple[VariationalPosterior, Stats] | None] = []

        def start() -> tuple[VariationalPosterior, float]:
            if not do_init:
                behind.append(None)
                current = self._current_posterior()
                if scale is None:
                    return current, self.lower_bound_
                rescaled = scale.posterior_to_rescaled(current)
                return rescaled, self.lower_bound_ - scale.bound_shift(current)
            stats = source.initial_stats(
                settings.init_params, n_components, scatter_kind, random_state
            )
            posterior = posterior_from_stats(stats, prior, covariance_type, reg_covar)
            behind.append((posterior, stats))
            return posterior, -math.inf

        def e_step(posterior: VariationalPosterior) -> Stats:
            return source.stats(posterior.estep_params())

        def update(
            stats: Stats, posterior: VariationalPosterior
        ) -> tuple[VariationalPosterior, float]:
            new = posterior_from_stats(stats, prior, covariance_type, reg_covar)
            behind[-1] = (new, stats)
            return new, lower_bound(stats, posterior, new)

        best = fit_with_progress(
            e_step,
            update,
            start,
            settings,
            restarts=do_init,
        )
        if not best.converged and settings.max_iter > 0:
            check.warn_not_converged()
        posterior, shift = best.params, 0.0
        fitted = next(
            (stats for state, stats in filter(None, behind) if state is posterior),
            None,
        )
        # per unit of weight, as partial_fit keeps them
        running = None if fitted is None else stepwise_update(None, fitted, 1.0)
        if scale is not None:
            # raises, naming the fix, where the posterior exceeds the dtype
            posterior = scale.posterior_to_data_units(posterior, dtype)
            prior = scale.prior_to_data_units(prior)
            shift = scale.bound_shift(posterior)
            if running is not None:
                running = scale.stats_to_data_units(running)
        self._set_prior(prior)
        self._set_posterior(posterior, dtype, X)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound + shift
        self.lower_bounds_ = [value + shift for value in best.lower_bounds]
        if fitted is not None:
            # the fit is the first batch of any stream that continues it; a
            # warm start that ran no iteration keeps the state it had
            self._running_stats = running
            self._seen_weight = 0.0 if running is None else fitted.total_weight
            self.n_batches_ = 1
        return self

    def partial_fit(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> BayesianGaussianMixture:
        """Update the posterior with one batch (stochastic variational inference).

        The first call on an unfitted model runs ``fit`` on the batch. Each
        later batch's Stats, per unit of weight, are blended into running
        Stats with step ``rho_t = (t + learning_offset) ** -learning_decay``;
        the posterior is the prior updated by the running Stats scaled to the
        total weight seen so far. Since the posterior's natural parameters
        are linear in the Stats, this is the natural-gradient step of
        Hoffman et al. (2013) with the data size taken as the weight seen.
        The prior stays the one of the first call.

        A fit counts as the first batch (``n_batches_`` is 1 after it): its
        running Stats are those of its last iteration, from which its
        posterior was computed, and the weight seen is its rows' total
        weight. So ``fit(A).partial_fit(B)`` and
        ``partial_fit(A).partial_fit(B)`` give the same posterior, and the
        next batch gets step ``rho_2`` whatever its size.
        """
        settings = self._check_hyperparameters()
        fresh = not hasattr(self, "converged_")
        if fresh:
            # the first batch is fitted to convergence; it counts as batch 1
            return self.fit(X, sample_weight=sample_weight)
        self._check_continuable(
            {
                "n_components": settings.n_components,
                "covariance_type": settings.covariance_type,
                "weight_concentration_prior_type": (
                    settings.prior.weight_concentration_prior_type
                ),
            },
            {"weight_concentration_prior_type": self._fitted_prior_type()},
        )
        source = make_source(
            self,
            X,
            sample_weight,
            settings.chunk_size,
            reset=False,
            normalise_weights=False,
        )
        posterior = self._current_posterior()
        # raises, naming the fix, where the batch cannot be summed in float64
        stats, scale = batch_stats(source, posterior.estep_params())
        running = getattr(self, "_running_stats", None)
        seen = getattr(self, "_seen_weight", 0.0) + stats.total_weight
        if running is None:
            # a fitted model without Stats of its fit (as in model files of
            # earlier versions) has nothing to blend: the batch starts anew
            running = stepwise_update(None, stats, 1.0)
            self.n_batches_ = getattr(self, "n_batches_", 0) + 1
        else:
            batch_index = self.n_batches_ + 1
            rho = step_size(
                batch_index, settings.learning_decay, settings.learning_offset
            )
            running = stepwise_update(running, stats, rho)
            self.n_batches_ = batch_index
        prior = self._current_prior()
        new = posterior_from_stats(
            running.scaled(seen), prior, self.covariance_type, settings.reg_covar
        )
        if scale is not None:
            # raises, naming the fix, where the parameters exceed the dtype
            scale.to_data_units(new.point_params(), numpy_dtype(source))
        self._set_posterior(new, numpy_dtype(source), X)
        self._running_stats = running
        self._seen_weight = seen
        self.lower_bound_ = lower_bound(
            stats.scaled(seen / stats.total_weight), posterior, new
        )
        return self

    def fit_predict(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> np.ndarray:
        """Fit the posterior and return the most likely component of each row."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    # ------------------------------------------------------------------
    # the fitted posterior
    def _fitted_prior_type(self) -> str:
        if isinstance(self.weight_concentration_, tuple):
            return "dirichlet_process"
        return "dirichlet_distribution"

    def _set_prior(self, prior: VariationalPrior) -> None:
        self.weight_concentration_prior_ = float(prior.weight_concentration)
        self.mean_precision_prior_ = float(prior.mean_precision)
        self.mean_prior_ = prior.mean
        self.degrees_of_freedom_prior_ = float(prior.degrees_of_freedom)
        covariance = prior.covariance
        self.covariance_prior_ = (
            float(covariance) if covariance.ndim == 0 else covariance
        )

    def _current_prior(self) -> VariationalPrior:
        return VariationalPrior(
            weight_concentration_prior_type=self._fitted_prior_type(),
            weight_concentration=self.weight_concentration_prior_,
            mean_precision=self.mean_precision_prior_,
            mean=np.asarray(self.mean_prior_, dtype=np.float64),
            degrees_of_freedom=self.degrees_of_freedom_prior_,
            covariance=np.asarray(self.covariance_prior_, dtype=np.float64),
        )

    def _set_posterior(
        self, posterior: VariationalPosterior, dtype: Any, X: Any
    ) -> None:
        self._set_params_from(
            posterior.point_params(), dtype, X if is_tensor(X) else None
        )
        concentration = posterior.weight_concentration
        if isinstance(concentration, tuple):
            self.weight_concentration_ = tuple(np.array(c) for c in concentration)
        else:
            self.weight_concentration_ = np.array(concentration)
        self.mean_precision_ = np.array(posterior.mean_precision)
        nu = np.asarray(posterior.degrees_of_freedom, dtype=np.float64)
        self.degrees_of_freedom_ = float(nu) if nu.ndim == 0 else nu.copy()

    def _current_posterior(self) -> VariationalPosterior:
        """The fitted posterior in float64, from the public attributes alone."""
        check_is_fitted(self)
        point = self.mixture_params()
        concentration = self.weight_concentration_
        if isinstance(concentration, tuple):
            concentration = tuple(np.asarray(c, np.float64) for c in concentration)
        else:
            concentration = np.asarray(concentration, np.float64)
        return VariationalPosterior(
            weight_concentration=concentration,
            mean_precision=np.asarray(self.mean_precision_, np.float64),
            means=point.means,
            degrees_of_freedom=np.asarray(self.degrees_of_freedom_, np.float64),
            covariances=point.covariances,
            precisions_cholesky=point.precisions_cholesky,
            covariance_type=point.covariance_type,
            weight_concentration_prior_type=self._fitted_prior_type(),
        )

    def _fitted_params(self, like: Array) -> MixtureParams:
        """The variational E-step's parameters, on ``like``'s backend."""
        return self._current_posterior().estep_params().cast(like)
