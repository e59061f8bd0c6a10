"""HDDC: clustering of high-dimensional data in per-component subspaces."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.hddc import (
    DIM_SELECTIONS,
    HDDC_MODELS,
    HDDCModel,
    HDDCParams,
    hddc_m_step,
    hddc_n_parameters,
)
from gaussmix.core.lowrank import LowRankCovariances, lowrank_chunk_stats
from gaussmix.core.stats import Stats
from gaussmix.fit.batch import fit_with_progress
from gaussmix.models import validation as check
from gaussmix.models._data_scale import refuse_overflowing_squares, source_halves
from gaussmix.models._inputs import make_source
from gaussmix.models._lowrank_fitted import LowRankMixtureMixin
from gaussmix.models.factor_analyzers import covariance_of, positivity_floor


@dataclass(frozen=True)
class SubspaceSettings:
    """The validated settings of an HDDC model's M-step."""

    model: HDDCModel
    threshold: float
    dim_select: str
    n_dims: int | None

    def m_step(
        self, counts, means, covariances, reg_covar: float, previous=None
    ) -> HDDCParams:
        """The M-step with ``reg_covar`` added to every covariance."""
        return hddc_m_step(
            counts,
            means,
            covariances,
            self.model,
            threshold=self.threshold,
            dim_select=self.dim_select,
            n_dims=self.n_dims,
            floor=positivity_floor(reg_covar),
            reg_covar=reg_covar,
            previous=previous,
        )


def check_subspace_settings(estimator: Any) -> SubspaceSettings:
    """``model``, ``threshold``, ``dim_select`` and ``n_dims`` of an estimator."""
    owner = type(estimator).__name__
    name = check.check_choice("model", estimator.model, HDDC_MODELS, owner=owner)
    return SubspaceSettings(
        HDDC_MODELS[name],
        check.check_float("threshold", estimator.threshold, 0.0, True, owner=owner),
        check.check_choice(
            "dim_select", estimator.dim_select, DIM_SELECTIONS, owner=owner
        ),
        check.check_int("n_dims", estimator.n_dims, 1, owner=owner, allow_none=True),
    )


def subspace_attributes(estimator: Any, params: HDDCParams, dtype: Any) -> None:
    """Set the fitted attributes HDDC and HDDAClassifier share."""
    estimator.weights_ = np.asarray(params.weights, np.float64)
    estimator.means_ = np.ascontiguousarray(params.means, dtype=dtype)
    estimator.components_ = np.ascontiguousarray(params.components, np.float64)
    estimator.signal_variances_ = np.ascontiguousarray(params.signal, np.float64)
    estimator.noise_variances_ = np.ascontiguousarray(params.noise, np.float64)
    estimator.dims_ = np.asarray(params.dims, dtype=np.int64)


def fitted_subspaces(estimator: Any) -> HDDCParams:
    """The fitted HDDC parameters of an estimator."""
    return HDDCParams(
        estimator.weights_,
        estimator.means_,
        estimator.components_,
        estimator.signal_variances_,
        estimator.noise_variances_,
        estimator.dims_,
    )


def subspace_coordinates(estimator: Any, X: np.ndarray) -> np.ndarray:
    """``Q_k^T (x - mu_k)`` flattened to (n_samples, n_components * max_dim)."""
    diff = np.asarray(X, np.float64)[:, None, :] - estimator.means_
    return np.einsum("kdj,nkd->nkj", estimator.components_, diff).reshape(len(X), -1)


class HDDC(LowRankMixtureMixin, DensityMixin, BaseEstimator):
    """High-dimensional data clustering (Bouveyron, Girard & Schmid 2007).

    Each component lives near an affine subspace of its own intrinsic
    dimension ``d_k``: covariance ``Q_k diag(a_k) Q_k^T + b_k (I - Q_k
    Q_k^T)``, with ``Q_k`` the ``d_k`` leading eigenvectors of the
    component's covariance, chosen anew at each M-step by Cattell's scree
    test (or BIC). The models of R's HDclassif are named as there.

    Parameters
    ----------
    n_components : int, default=1
    model : str, default='AkjBkQkDk'
        One of ``AkjBkQkDk, AkBkQkDk, ABkQkDk, AkjBQkDk, AkBQkDk, ABQkDk``
        (dimensions per component), the same with ``D`` for one common
        dimension (``AkjBkQkD`` ... ``ABQkD``), and the models with one
        orientation ``Q`` and dimension for all components: ``AkjBkQD,
        AkjBQD, AkBkQD, AkBQD, ABkQD, AjBkQD`` (variances per component
        along and off it; ``Q`` from the pooled covariance's eigenvectors,
        as in HDclassif) and ``AjBQD, ABQD`` (one covariance for all).
    threshold : float, default=0.2
        Cattell's scree test keeps the dimensions up to the last gap between
        successive eigenvalues of at least ``threshold`` times the largest.
    dim_select : {'cattell', 'bic'}, default='cattell'
    n_dims : int or None, default=None
        Fix every intrinsic dimension at this value (HDclassif's
        ``com_dim``); EM then never lowers the likelihood. Re-chosen
        dimensions may lower it at the iteration they change.
    tol : float, default=1e-3
    reg_covar : float, default=1e-6
        Added to the diagonal of each component's covariance before its
        eigen-decomposition, as :class:`~gaussmix.GaussianMixture` adds it:
        every variance inside and outside the subspaces grows by it.
    max_iter : int, default=100
    n_init : int, default=1
    init_params : str, default='kmeans'
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    verbose_interval : int, default=10
    chunk_size : int or None, default=None

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    components_ : ndarray of shape (n_components, n_features, max_dim)
        ``Q_k`` in the first ``dims_[k]`` columns, zeros after.
    signal_variances_ : ndarray of shape (n_components, max_dim)
        ``a_kj``, zeros beyond ``dims_[k]``.
    noise_variances_ : ndarray of shape (n_components,)
        ``b_k``.
    dims_ : ndarray of int of shape (n_components,)
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import HDDC
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([
    ...     rng.normal(size=(300, 2)) @ rng.normal(size=(2, 30)) + shift
    ...     for shift in (0, 10)
    ... ]) + 0.1 * rng.normal(size=(600, 30))
    >>> hddc = HDDC(2, random_state=0).fit(X)
    >>> hddc.dims_.tolist(), np.bincount(hddc.predict(X)).tolist()
    ([2, 2], [300, 300])
    >>> hddc.transform(X[:4]).shape  # coordinates in each subspace
    (4, 2, 2)
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        model: str = "AkjBkQkDk",
        threshold: float = 0.2,
        dim_select: str = "cattell",
        n_dims: int | None = None,
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
        self.model = model
        self.threshold = threshold
        self.dim_select = dim_select
        self.n_dims = n_dims
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size

    def fit(self, X: Array, y: Any = None, sample_weight: Array | None = None):
        """Fit by EM; each M-step re-chooses the intrinsic dimensions.

        Parameters
        ----------
        X : array-like, memmap or dask array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : HDDC
        """
        owner = type(self).__name__
        settings = check.em_settings(self)
        subspaces = check_subspace_settings(self)
        n_components = check.check_int(
            "n_components", self.n_components, 1, owner=owner
        )
        progress = _Progress(
            check.check_int("verbose", self.verbose, 0, owner=owner),
            check.check_int("verbose_interval", self.verbose_interval, 1, owner=owner),
            settings,
        )
        source = make_source(self, X, sample_weight, settings.chunk_size)
        refuse_overflowing_squares(source_halves(source))
        check.check_enough_rows(source.n_samples, n_components)
        if source.n_features < 2:
            raise ValueError(
                "HDDC needs at least 2 features (a subspace and the noise "
                f"around it), got n_features = {source.n_features}; use "
                "GaussianMixture for one feature."
            )
        reg_covar = settings.reg_covar
        random_state = check_random_state(self.random_state)

        def start() -> tuple[HDDCParams, float]:
            stats = source.initial_stats(
                settings.init_params, n_components, "full", random_state
            )
            counts, means, covariances = covariance_of(stats)
            return subspaces.m_step(counts, means, covariances, reg_covar), -math.inf

        def e_step(params: HDDCParams) -> Stats:
            return source.chunk_sums(
                lowrank_chunk_stats,
                n_components,
                params.weights,
                params.means,
                params.covariances(),
            )

        def update(stats: Stats, params: HDDCParams) -> tuple[HDDCParams, float]:
            if stats.total_weight <= 0:
                raise ValueError("the data's total sample weight is zero.")
            counts, means, covariances = covariance_of(stats)
            new = subspaces.m_step(counts, means, covariances, reg_covar, params)
            return new, stats.log_likelihood / stats.total_weight

        best = fit_with_progress(e_step, update, start, progress, restarts=True)
        if not best.converged and settings.max_iter > 0:
            check.warn_not_converged()
        dtype = source.dtype if source.dtype == np.float32 else np.float64
        subspace_attributes(self, best.params, dtype)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = list(best.lower_bounds)
        return self

    def _lowrank_covariances(self) -> LowRankCovariances:
        check_is_fitted(self)
        return fitted_subspaces(self).covariances()

    def _n_parameters(self) -> int:
        model = check_subspace_settings(self).model
        return hddc_n_parameters(model, self.dims_, self.means_.shape[1])

    def get_covariances(self) -> np.ndarray:
        """The dense covariances, (n_components, n_features, n_features)."""
        return self._lowrank_covariances().dense()

    def transform(self, X: Array) -> np.ndarray:
        """Each row's coordinates in each component's subspace.

        Returns
        -------
        ndarray of shape (n_samples, n_components, max_dim)
            ``Q_k^T (x_i - mu_k)``, with ``max_dim = dims_.max()``; zeros
            beyond ``dims_[k]``.
        """
        check_is_fitted(self)
        n_components, _, max_dim = self.components_.shape

        def rows(chunk: np.ndarray) -> np.ndarray:
            return subspace_coordinates(self, chunk)

        flat = self._by_rows(X, rows, n_components * max_dim)
        return np.asarray(flat).reshape(-1, n_components, max_dim)


@dataclass(frozen=True)
class _Progress:
    """The settings ``fit_with_progress`` reads."""

    verbose: int
    verbose_interval: int
    em: check.EMSettings

    def __getattr__(self, name: str) -> Any:
        return getattr(self.em, name)
