"""MixtureOfFactorAnalyzers: mixtures with low-rank-plus-diagonal covariances."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.factor_mstep import (
    SHARING,
    FactorConstraints,
    FactorParams,
    factor_m_step,
    factor_m_step_projected,
    posterior_maps,
    ppca_closed_form,
    regularised,
)
from gaussmix.core.kmeans import squared_distances
from gaussmix.core.lowrank import (
    LowRankCovariances,
    ProjectedStats,
    lowrank_chunk_stats,
    projected_chunk_stats,
)
from gaussmix.core.mstep import DegenerateComponentWarning, resolution_floor
from gaussmix.core.stats import EMPTY_WEIGHT_GUARD, Stats
from gaussmix.fit.batch import fit_with_progress
from gaussmix.models import validation as check
from gaussmix.models._data_scale import refuse_overflowing_squares, source_halves
from gaussmix.models._inputs import make_source
from gaussmix.models._lowrank_fitted import LowRankMixtureMixin

SCATTERS = ("full", "projected")


@dataclass(frozen=True)
class FactorSettings(check.EMSettings):
    """The validated hyperparameters of a MixtureOfFactorAnalyzers."""

    n_components: int
    n_factors: int
    constraints: FactorConstraints
    scatter: str
    n_cycles: int
    verbose: int
    verbose_interval: int


def positivity_floor(reg_covar: float) -> float:
    """Least noise variance: a guard, not the regularisation.

    ``reg_covar`` added to the covariances keeps the noise near or above it;
    the floor catches only rounding (and ``reg_covar=0`` on constant
    features).
    """
    return max(1e-3 * reg_covar, 1e-300)


def noise_floor(means: np.ndarray, dtype: Any, reg_covar: float) -> np.ndarray:
    """Least noise variance of each component and feature, (K, D).

    :func:`positivity_floor`, raised where it is below what data of
    ``dtype`` can resolve about the component's mean, as
    :class:`~gaussmix.GaussianMixture` floors its variances
    (:func:`~gaussmix.core.mstep.resolution_floor`). With ``reg_covar=0``
    a constant column would otherwise leave a noise variance near 1e-300,
    and the rounding of the component's mean alone would then put every
    row billions of deviations away from it.
    """
    return np.maximum(
        positivity_floor(reg_covar), resolution_floor(means, dtype, reg_covar)
    )


def warn_noise_floored(floored: float, dtype: Any, reg_covar: float) -> None:
    """Report that :func:`noise_floor` raised a noise variance during EM."""
    if floored > 0:
        warnings.warn(
            f"A noise variance fell below what {np.dtype(dtype).name} data can "
            f"resolve (a constant column, or a component collapsed onto one "
            f"value, with reg_covar={reg_covar:g}) and was raised to "
            f"{floored:.3g}. Increase reg_covar to control this.",
            DegenerateComponentWarning,
            stacklevel=3,
        )


def covariance_of(stats: Stats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, means and covariances (K, D, D) about the means of full Stats."""
    means = stats.means()
    about = stats.recentred(means)
    safe = about.resp_sum + EMPTY_WEIGHT_GUARD
    return about.resp_sum, means, about.scatter / safe[:, None, None]


class MixtureOfFactorAnalyzers(LowRankMixtureMixin, DensityMixin, BaseEstimator):
    """Mixture of factor analysers (MFA), PPCA mixtures and the PGMM family.

    Component ``k`` has covariance ``W_k W_k^T + Psi_k`` with loadings
    ``W_k`` (D x q) and diagonal noise ``Psi_k`` (Ghahramani & Hinton 1996):
    ``n_components * (D q + D)`` numbers instead of ``n_components * D^2``,
    and densities in O(D q) per row and component (Woodbury identity). The
    constraints of McNicholas & Murphy (2008) share the loadings and/or the
    noise between components and make the noise isotropic;
    ``isotropic=True`` alone is the mixture of probabilistic PCA (Tipping &
    Bishop 1999), whose M-step is exact, from each component's eigenvectors.

    Parameters
    ----------
    n_components : int, default=1
    n_factors : int, default=1
        ``q``, the number of latent factors, at most ``n_features``; 0 gives
        the diagonal mixture (``GaussianMixture(covariance_type='diag')``).
    loadings : {'per_component', 'common'}, default='per_component'
    noise : {'per_component', 'common'}, default='per_component'
    isotropic : bool, default=False
        Noise ``psi I`` rather than a diagonal.
    scatter : {'full', 'projected'}, default='full'
        What the E-step sums: each component's full scatter (O(N K D^2) per
        pass; allows ``n_cycles`` M-step cycles and the PPCA closed form) or
        its projection on the current posterior maps (O(N K D q), for large
        D; one AECM cycle per pass).
    n_cycles : int, default=1
        AECM cycles per M-step with ``scatter='full'``.
    tol : float, default=1e-3
        EM stops when the average log-likelihood gains less than this.
    reg_covar : float, default=1e-6
        Added to the diagonal of each component's covariance about its mean
        before every M-step, as :class:`~gaussmix.GaussianMixture` adds it:
        the fit is the maximum-likelihood one for those covariances. With
        ``n_factors=0`` the noise variances are the diagonal mixture's.
    max_iter : int, default=100
    n_init : int, default=1
    init_params : str, default='kmeans'
        The initial partition, as for :class:`~gaussmix.GaussianMixture`;
        the loadings start from each part's principal components.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    verbose_interval : int, default=10
    chunk_size : int or None, default=None
        Rows per E-step chunk; None bounds temporaries to about 16 MB.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    loadings_ : ndarray of shape (n_components, n_features, n_factors)
        ``W_k`` (identical for all components when common).
    noise_variance_ : ndarray of shape (n_components, n_features)
        The diagonal of ``Psi_k`` (expanded when common or isotropic).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Average log-likelihood of the parameters entering the last E-step.
    lower_bounds_ : list of float
        The same at every iteration (never decreasing, up to rounding).
    n_features_in_ : int

    Notes
    -----
    The E-step runs on the host in float64, chunk by chunk, from memory,
    files (memmap) or Dask, through the data source's ``chunk_sums``.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import MixtureOfFactorAnalyzers
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(400, 2))
    >>> W = rng.normal(size=(2, 10))
    >>> X = np.vstack([z[:200] @ W, z[200:] @ W + 8]) + 0.1 * rng.normal(size=(400, 10))
    >>> mfa = MixtureOfFactorAnalyzers(2, n_factors=2, random_state=0).fit(X)
    >>> np.bincount(mfa.predict(X)).tolist()
    [200, 200]
    >>> mfa.transform(X[:3]).shape  # each row's factors under each component
    (3, 2, 2)
    """

    def __init__(
        self,
        n_components: int = 1,
        n_factors: int = 1,
        *,
        loadings: str = "per_component",
        noise: str = "per_component",
        isotropic: bool = False,
        scatter: str = "full",
        n_cycles: int = 1,
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: RandomStateLike = None,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.n_factors = n_factors
        self.loadings = loadings
        self.noise = noise
        self.isotropic = isotropic
        self.scatter = scatter
        self.n_cycles = n_cycles
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size

    def _check_hyperparameters(self) -> FactorSettings:
        owner = type(self).__name__
        return FactorSettings(
            **check.em_settings(self).em_kwargs(),
            n_components=check.check_int(
                "n_components", self.n_components, 1, owner=owner
            ),
            n_factors=check.check_int("n_factors", self.n_factors, 0, owner=owner),
            constraints=FactorConstraints(
                check.check_choice("loadings", self.loadings, SHARING, owner=owner),
                check.check_choice("noise", self.noise, SHARING, owner=owner),
                check.check_bool("isotropic", self.isotropic, owner=owner),
            ),
            scatter=check.check_choice("scatter", self.scatter, SCATTERS, owner=owner),
            n_cycles=check.check_int("n_cycles", self.n_cycles, 1, owner=owner),
            verbose=check.check_int("verbose", self.verbose, 0, owner=owner),
            verbose_interval=check.check_int(
                "verbose_interval", self.verbose_interval, 1, owner=owner
            ),
        )

    def fit(self, X: Array, y: Any = None, sample_weight: Array | None = None):
        """Fit the mixture by EM (AECM for the constrained models).

        Parameters
        ----------
        X : array-like, memmap or dask array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MixtureOfFactorAnalyzers
        """
        settings = self._check_hyperparameters()
        source = make_source(self, X, sample_weight, settings.chunk_size)
        refuse_overflowing_squares(source_halves(source))
        n_components, rank = settings.n_components, settings.n_factors
        check.check_enough_rows(source.n_samples, n_components)
        if rank > source.n_features:
            raise ValueError(
                f"n_factors={rank} exceeds the {source.n_features} features of X; "
                f"choose n_factors <= {source.n_features}."
            )
        constraints, reg_covar = settings.constraints, settings.reg_covar
        base_floor = positivity_floor(reg_covar)
        # the largest noise variance that the resolution floor had to raise
        floored = 0.0

        def floor_of(means: np.ndarray) -> np.ndarray:
            return noise_floor(means, source.dtype, reg_covar)

        def note_floored(params: FactorParams, floor: np.ndarray) -> FactorParams:
            nonlocal floored
            raised = (params.noise <= floor) & (floor > base_floor)
            if raised.any():
                floored = max(floored, float(floor[raised].max()))
            return params

        random_state = check_random_state(self.random_state)

        def start() -> tuple[FactorParams, float]:
            if settings.scatter == "full":
                stats = source.initial_stats(
                    settings.init_params, n_components, "full", random_state
                )
                counts, means, covariances = covariance_of(stats)
            else:
                # a full scatter of every row would cost what projecting saves
                stats = source.initial_stats(
                    settings.init_params, n_components, "diag", random_state
                )
                counts, means = stats.resp_sum, stats.means()
                covariances = _sampled_covariances(source, means, random_state)
            covariances = regularised(covariances, reg_covar)
            floor = floor_of(means)
            first = _initial_factors(counts, means, covariances, rank, floor)
            # one M-step from the unconstrained start puts it in the model
            params = factor_m_step(
                counts, means, covariances, first, constraints, floor
            )
            return note_floored(params, floor), -math.inf

        def e_step(params: FactorParams) -> Stats | ProjectedStats:
            cov = params.covariances()
            if settings.scatter == "full":
                return source.chunk_sums(
                    lowrank_chunk_stats, n_components, params.weights, params.means, cov
                )
            beta = posterior_maps(params.loadings, params.noise)
            return source.chunk_sums(
                projected_chunk_stats,
                n_components,
                params.weights,
                params.means,
                cov,
                beta,
            )

        def update(sums, params: FactorParams) -> tuple[FactorParams, float]:
            moments = sums if isinstance(sums, Stats) else sums.moments
            if moments.total_weight <= 0:
                raise ValueError("the data's total sample weight is zero.")
            if isinstance(sums, Stats):
                counts, means, covariances = covariance_of(sums)
                floor = floor_of(means)
                new = factor_m_step(
                    counts,
                    means,
                    covariances,
                    params,
                    constraints,
                    floor,
                    settings.n_cycles,
                    reg_covar,
                )
            else:
                means, diagonal, projected = sums.about_means()
                floor = floor_of(means)
                new = factor_m_step_projected(
                    moments.resp_sum,
                    means,
                    diagonal,
                    projected,
                    sums.projection,
                    params,
                    constraints,
                    floor,
                    reg_covar,
                )
            new = note_floored(new, floor)
            return new, moments.log_likelihood / moments.total_weight

        best = fit_with_progress(e_step, update, start, settings, restarts=True)
        warn_noise_floored(floored, source.dtype, reg_covar)
        if not best.converged and settings.max_iter > 0:
            check.warn_not_converged()
        dtype = source.dtype if source.dtype == np.float32 else np.float64
        params = best.params
        self.weights_ = np.asarray(params.weights, np.float64)
        self.means_ = np.ascontiguousarray(params.means, dtype=dtype)
        self.loadings_ = np.ascontiguousarray(params.loadings, dtype=np.float64)
        self.noise_variance_ = np.ascontiguousarray(params.noise, dtype=np.float64)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = list(best.lower_bounds)
        return self

    def _lowrank_covariances(self) -> LowRankCovariances:
        check_is_fitted(self)
        return LowRankCovariances.factor_analysers(self.loadings_, self.noise_variance_)

    def _fitted_constraints(self) -> FactorConstraints:
        return self._check_hyperparameters().constraints

    def _n_parameters(self) -> int:
        n_components, n_features, rank = self.loadings_.shape
        return self._fitted_constraints().n_parameters(n_components, n_features, rank)

    def get_covariances(self) -> np.ndarray:
        """The dense covariances ``W_k W_k^T + Psi_k``, (n_components, D, D)."""
        return self._lowrank_covariances().dense()

    def transform(self, X: Array) -> np.ndarray:
        """Each row's expected factors under each component, ``E[z | x, k]``.

        Returns
        -------
        ndarray of shape (n_samples, n_components, n_factors)
            ``beta_k (x_i - mu_k)`` with ``beta_k = W_k^T Sigma_k^-1``.
        """
        check_is_fitted(self)
        beta = posterior_maps(self.loadings_, self.noise_variance_)
        n_components, rank = beta.shape[:2]

        def rows(chunk: np.ndarray) -> np.ndarray:
            diff = np.asarray(chunk, np.float64)[:, None, :] - self.means_
            return np.einsum("kqd,nkd->nkq", beta, diff).reshape(len(chunk), -1)

        flat = self._by_rows(X, rows, n_components * rank)
        return np.asarray(flat).reshape(-1, n_components, rank)


#: Rows whose covariances start the loadings of a projected fit.
INIT_ROWS = 5000


def _sampled_covariances(
    source: Any, means: np.ndarray, random_state: np.random.RandomState
) -> np.ndarray:
    """Covariances of up to ``INIT_ROWS`` rows, each with its nearest mean."""
    n_components, n_features = means.shape
    chosen = None
    if source.n_samples > INIT_ROWS:
        chosen = np.sort(random_state.choice(source.n_samples, INIT_ROWS, False))
    rows, weights = source.rows(chosen)
    rows = np.asarray(rows, np.float64)
    weights = np.ones(len(rows)) if weights is None else np.asarray(weights)
    labels = np.argmin(squared_distances(rows, means), axis=1)
    covariances = np.empty((n_components, n_features, n_features))
    spread = np.average((rows - rows.mean(0)) ** 2, axis=0, weights=weights + 1e-300)
    for k in range(n_components):
        mine = labels == k
        total = weights[mine].sum()
        if mine.sum() < 2 or total <= 0:
            covariances[k] = np.diag(spread)
            continue
        diff = rows[mine] - means[k]
        covariances[k] = (diff * weights[mine, None]).T @ diff / total
    return covariances


def _initial_factors(
    counts: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    rank: int,
    floor: np.ndarray,
) -> FactorParams:
    """PPCA of each initial part: the loadings along its principal axes."""
    loadings = np.empty((len(counts), means.shape[1], rank))
    noise = np.empty(means.shape)
    for k in range(len(counts)):
        loadings[k], noise[k] = ppca_closed_form(
            covariances[k], rank, float(floor[k].max())
        )
    return FactorParams(counts / counts.sum(), means, loadings, noise)
