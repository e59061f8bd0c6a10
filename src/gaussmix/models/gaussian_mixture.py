"""GaussianMixture: a drop-in for scikit-learn's, on gaussmix's EM core."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.covariance import available_families, get_family
from gaussmix.core.mstep import RepairLog, m_step, warn_repairs
from gaussmix.core.params import MixtureParams
from gaussmix.fit.batch import fit_with_progress, maximum_likelihood_update
from gaussmix.fit.initialise import initial_params
from gaussmix.fit.online import parameter_stats, step_size, stepwise_update
from gaussmix.models import validation as check
from gaussmix.models._data_scale import batch_stats, fit_units
from gaussmix.models._fitted_mixture import (
    FittedMixtureMixin,
    InformationCriteriaMixin,
)
from gaussmix.models._inputs import make_source
from gaussmix.models._missing import (
    MissingValuesMixin,
    fit_with_missing,
    has_missing,
    missing_batch_stats,
    missing_fit_units,
    observed_log_shift,
)
from gaussmix.models._noise import (
    NOISE_ATTRIBUTES,
    check_noise_settings,
    column_extents,
    fit_with_noise,
    noise_batch_sums,
)
from gaussmix.models._noise_missing import fit_noise_with_missing
from gaussmix.models._prior import check_prior, prior_in_units, resolve_prior
from gaussmix.models.tensors import is_tensor, numpy_dtype


@dataclass(frozen=True)
class GaussianMixtureSettings(check.MixtureSettings):
    """GaussianMixture's hyperparameters, validated once per fit."""

    reg_covar_scale: str
    noise: bool
    noise_volume: str | float
    noise_init_neighbors: int
    prior: Any = None


class GaussianMixture(
    MissingValuesMixin,
    InformationCriteriaMixin,
    FittedMixtureMixin,
    DensityMixin,
    BaseEstimator,
):
    """Gaussian mixture model fitted by expectation-maximisation.

    Same parameters, attributes and methods as
    :class:`sklearn.mixture.GaussianMixture`, plus sample weights, float32
    end to end, chunked E-steps with bounded memory, every covariance family
    registered with gaussmix, and :meth:`from_params`.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : str, default='full'
        ``'full'``, ``'tied'``, ``'diag'``, ``'spherical'``, or another
        registered covariance family (for example an mclust model name).
    tol : float, default=1e-3
        EM stops when the average log-likelihood gains less than this.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, keeping them positive
        definite. In the data's units unless ``reg_covar_scale='variance'``.
    reg_covar_scale : {'absolute', 'variance'}, default='absolute'
        ``'absolute'`` (scikit-learn's behaviour) adds ``reg_covar`` as is,
        which dominates columns of variance near or below it (data in small
        units; a :class:`~gaussmix.RegCovarWarning` says so). ``'variance'``
        adds ``reg_covar`` times each column's weighted variance, so that the
        fit does not depend on the units of any column: the columns are
        fitted in units of their own deviation (one common unit, their
        root-mean-square deviation, for the families that are not the same
        model in every column's units: spherical ones and mclust's models
        with shared orientations or shapes). Needs X in memory as numpy.
        With missing values (NaN), each column's deviation is that of its
        observed values.
    max_iter : int, default=100
        EM iterations per initialisation.
    n_init : int, default=1
        Initialisations; the one with the highest lower bound is kept.
    init_params : str, default='kmeans'
        How the initial responsibilities are chosen: ``'kmeans'``,
        ``'k-means++'``, ``'random'``, ``'random_from_data'`` or ``'hc'``
        (mclust's model-based hierarchical clustering, see
        :mod:`gaussmix.core.hierarchical`). Beyond 20,000 rows (k-means) or
        100,000 rows (the others) the initialisation sees a uniform sample of
        that many rows, chosen from the number of rows and ``random_state``
        alone: in memory, on disk and on Dask the same rows give the same
        start.
    weights_init : array-like of shape (n_components,), default=None
    means_init : array-like of shape (n_components, n_features), default=None
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped as the covariances.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start each ``fit`` from the previous solution (``n_init`` is then 1)
        when it has the current ``n_components``, ``covariance_type`` and
        number of features; otherwise ``fit`` starts anew, as the first fit
        did.
    verbose : int, default=0
        1 shows a progress bar per initialisation, 2 also logs iterations.
    verbose_interval : int, default=10
        Iterations between printed lines (and log records) when
        ``verbose >= 2``.
    chunk_size : int or None, default=None
        Rows per E-step chunk; None sizes chunks so temporaries stay about
        16 MB (more on a GPU). Each thread's temporaries are
        O(chunk_size * n_components * n_features); rows in memory may also
        keep per-chunk work between iterations (1 GiB at most), and fits
        from files hold their reads (see the user guide's "Bounded memory").
    learning_decay : float, default=0.6
        ``kappa`` in the step ``rho_t = (t + learning_offset) ** -kappa`` of
        :meth:`partial_fit`; in (0.5, 1]. Smaller values forget old batches
        faster.
    learning_offset : float, default=10.0
        ``t0`` in that step; larger values make early batches move the model
        less.
    device : str or torch.device, default=None
        A torch device (``'cuda'``, ``'cpu'``, ...) on which to compute for
        numpy input; results and fitted attributes stay numpy. Needs the
        ``torch`` extra. Torch tensors are always computed on their own
        device and dtype, and then the fitted attributes are tensors there.
    noise : bool, default=False
        Add a uniform noise component of density ``1 / V`` over the data's
        region (mclust's ``noise``; Banfield and Raftery, 1993): rows that
        no Gaussian explains better are given to it instead of widening or
        dragging a component. False fits exactly the mixture without it.
    noise_volume : {'auto', 'box', 'pca_box'} or float, default='auto'
        ``V``, the hypervolume of the noise's region: ``'box'``, the
        bounding box of the rows (product of the columns' ranges);
        ``'pca_box'``, the bounding box in the rows' principal axes;
        ``'auto'``, the smaller of the two (mclust's ``hypvol``); a float,
        the volume itself in the data's units. Only with ``noise=True``.
        With missing values (NaN) in X, ``'auto'`` is the box of the
        observed values and ``'pca_box'`` is refused (it needs every
        coordinate of every row).
    noise_init_neighbors : int, default=10
        Without a ``noise_init`` mask in :meth:`fit`, the rows first taken
        as noise are found by nearest-neighbour clutter removal (Byers and
        Raftery, 1998; R's ``NNclean``) with this many neighbours, on a
        sample of at most 20,000 rows: a two-intensity Poisson model of the
        volumes reaching each row's ``k``-th neighbour marks the rows of the
        sparse one. The Gaussians start from the other rows and the noise
        proportion from their share; EM then moves rows between the noise
        and the Gaussians freely.
    prior : None, 'default' or ConjugatePrior, default=None
        None fits by maximum likelihood. Otherwise EM finds the maximum a
        posteriori means and covariances under a conjugate prior (Fraley
        and Raftery, 2007; mclust's ``priorControl``): ``'default'`` is
        mclust's ``defaultPrior`` (shrinkage 0.01 towards the data's mean,
        ``n_features + 2`` degrees of freedom, scale the data's covariance
        over ``n_components ** (2 / n_features)``), a
        :class:`~gaussmix.ConjugatePrior` sets its own fields (unset ones
        default alike). Every covariance family takes it; it keeps
        components off singular covariances. ``lower_bound_`` is then the
        average log-posterior (up to a constant), while ``score``, ``bic``
        and ``aic`` use the log-likelihood at the MAP estimate, as mclust
        does. Not available with ``noise=True``; with missing values the
        default's moments are those of the column-mean-filled rows.

    Attributes
    ----------
    weights_ : ndarray or Tensor of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        full (K, D, D), tied (D, D), diag (K, D), spherical (K,).
    precisions_ : ndarray
        Inverses of the covariances, same shapes.
    precisions_cholesky_ : ndarray
        Upper Cholesky factors ``U`` of the precisions (``P = U U^T``).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Average log-likelihood of the best run at its last iteration.
    lower_bounds_ : list of float
        The lower bound of every iteration of the best run.
    n_batches_ : int
        Batches the parameters stand for: 1 after ``fit``, one more after
        each ``partial_fit`` that continues a fitted model.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names.
    noise_proportion_ : float
        Only with ``noise=True``: the noise's weight ``pi_0``. ``weights_``
        then sum to ``1 - noise_proportion_`` (mclust's ``pro`` without its
        last entry), so that ``weights_`` and ``noise_proportion_`` together
        sum to one.
    noise_volume_ : float
        Only with ``noise=True``: ``V`` in the data's units; the noise's
        density is ``noise_proportion_ / noise_volume_`` everywhere (also
        outside the fitted region, so that far new rows are noise).
    noise_extents_ : ndarray of shape (n_features,)
        Only with ``noise=True``: each column's range over its observed
        values in the fitted rows. A row with missing values has the noise
        density ``noise_proportion_ / prod(noise_extents_[observed])``,
        the uniform density over its observed columns' box (the marginal of
        the box, and an approximation to that of a ``'pca_box'`` or a given
        volume); complete rows keep ``noise_proportion_ / noise_volume_``.
    prior_ : ConjugatePrior
        Only with a ``prior``: its hyperparameters, every field set, in the
        data's units.

    Notes
    -----
    The fitted attributes define the model until the next fit: after
    ``set_params(n_components=...)`` or ``set_params(covariance_type=...)``,
    ``predict``, ``score_samples`` and ``sample`` still use the fitted
    mixture.

    float32 input gives float32 parameters; the sums behind each M-step are
    accumulated in float64 and the M-step itself runs in float64, so float32
    fits keep positive variances where float64 fits do.

    With torch input every E-step runs on the tensors' device through the
    same core; the M-step, on ``K * D**2`` numbers, runs in float64 on the
    host, and the initialisation methods run on a host copy of the rows, so
    a torch fit starts where a numpy fit of the same rows starts.

    With ``noise=True``: ``predict_proba`` has ``n_components + 1`` columns,
    the noise's last; ``predict`` gives -1 to rows whose likeliest component
    is the noise; ``score_samples`` includes the noise's density;
    ``n_parameters``, ``bic`` and ``aic`` count ``noise_proportion_`` as one
    more free parameter (``V`` is fixed by the data, as in mclust);
    ``sample`` draws from the Gaussian components alone, their weights
    renormalised; ``partial_fit`` keeps the first fit's ``noise_volume_``
    and blends the noise's share of each batch as it blends the Stats.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> left, right = rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))
    >>> X = np.vstack([left, right])
    >>> gmm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.sort(gmm.means_[:, 0]).round()
    array([-3.,  3.])
    >>> gmm.predict([[-3.0, -3.0], [3.0, 3.0]]).shape
    (2,)
    >>> gmm.predict_proba([[0.0, 0.0]]).sum().round(6)
    np.float64(1.0)

    Any of mclust's covariance models, by name:

    >>> GaussianMixture(2, covariance_type="VEV", random_state=0).fit(X).converged_
    True

    A uniform noise component takes the scattered rows (``predict`` gives them
    -1):

    >>> noisy = np.vstack([X, rng.uniform(-15, 15, size=(20, 2))])
    >>> with_noise = GaussianMixture(2, noise=True, random_state=0).fit(noisy)
    >>> bool(0 < with_noise.noise_proportion_ < 0.2)
    True

    Missing values (NaN) are marginalised, the noise's density included:

    >>> holed = noisy.copy()
    >>> holed[::7, 1] = np.nan
    >>> GaussianMixture(2, noise=True, random_state=0).fit(holed).predict(holed).shape
    (220,)

    A fitted mixture from known parameters:

    >>> known = GaussianMixture.from_params(
    ...     weights=[0.3, 0.7],
    ...     means=[[0.0, 0.0], [3.0, 3.0]],
    ...     covariances=[np.eye(2), 2 * np.eye(2)],
    ... )
    >>> known.score_samples([[0.0, 0.0]]).round(3)
    array([-3.029])
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        reg_covar_scale: str = "absolute",
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Array | None = None,
        means_init: Array | None = None,
        precisions_init: Array | None = None,
        random_state: RandomStateLike = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        learning_decay: float = 0.6,
        learning_offset: float = 10.0,
        device: Any = None,
        noise: bool = False,
        noise_volume: str | float = "auto",
        noise_init_neighbors: int = 10,
        prior: Any = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.reg_covar_scale = reg_covar_scale
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.device = device
        self.noise = noise
        self.noise_volume = noise_volume
        self.noise_init_neighbors = noise_init_neighbors
        self.prior = prior

    # ------------------------------------------------------------------
    # validation
    def _check_hyperparameters(self) -> GaussianMixtureSettings:
        """Every hyperparameter checked, before any data is read."""
        return GaussianMixtureSettings(
            **check.em_settings(self).em_kwargs(),
            **check.mixture_fields(self, available_families()),
            reg_covar_scale=check.check_choice(
                "reg_covar_scale",
                self.reg_covar_scale,
                ["absolute", "variance"],
                owner=type(self).__name__,
            ),
            **check_noise_settings(self),
            prior=check_prior(self.prior, type(self).__name__),
        )

    # ------------------------------------------------------------------
    # fitting
    def fit(
        self,
        X: Array,
        y: Any = None,
        sample_weight: Array | None = None,
        noise_init: Array | None = None,
    ):
        """Estimate the mixture's parameters with EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight acts as that many copies
            of the row, a zero weight as the row's absence.
        noise_init : array-like of bool, shape (n_samples,), default=None
            With ``noise=True``: the rows first taken as noise (mclust's
            ``initialization$noise``); the Gaussian components are
            initialised on the other rows. None: see
            ``noise_init_neighbors``. A fit argument, as it belongs to the
            rows, so that ``clone`` and grids keep working.

        Returns
        -------
        self : GaussianMixture
        """
        settings = self._check_hyperparameters()
        if noise_init is not None and not settings.noise:
            raise ValueError("noise_init is a start for noise=True only.")
        self.__dict__.pop("prior_", None)
        if settings.prior is not None and settings.noise:
            raise ValueError(
                "prior is not available with noise=True; use one or the other."
            )
        # a prior weighs as many rows: the weights' scale counts then
        source = make_source(
            self,
            X,
            sample_weight,
            settings.chunk_size,
            allow_nan=True,
            normalise_weights=settings.prior is None,
        )
        n_components = settings.n_components
        check.check_enough_rows(source.n_samples, n_components)
        user_init = self._check_user_init(n_components, source.n_features)
        # a warm start needs a previous solution of the same shape and family;
        # otherwise the fit starts anew, as the first one did
        do_init = not (
            settings.warm_start
            and self._fitted_matches(n_components, source.n_features)
            and hasattr(self, "noise_proportion_") == settings.noise
        )
        random_state = check_random_state(self.random_state)
        dtype = numpy_dtype(source)
        repairs = RepairLog(reseeds_left=4 * n_components, dtype=dtype)
        if has_missing(source):
            scale = missing_fit_units(
                source, settings.reg_covar_scale, self.covariance_type
            )
            if settings.noise:
                params, best, log_shift = fit_noise_with_missing(
                    self,
                    settings,
                    source,
                    noise_init=noise_init,
                    user_init=user_init,
                    do_init=do_init,
                    random_state=random_state,
                    repairs=repairs,
                    scale=scale,
                )
            else:
                best = fit_with_missing(
                    self,
                    settings,
                    source,
                    user_init=user_init,
                    do_init=do_init,
                    random_state=random_state,
                    repairs=repairs,
                    scale=scale,
                )
                params = best.params
                log_shift = 0.0 if scale is None else observed_log_shift(source, scale)
                self._forget_noise()
            like = source.X if is_tensor(X) else None
            return self._finish_fit(
                params, best, scale, dtype, repairs, like, log_shift
            )
        # in the data's units, before any rescaling of the rows
        data_prior = resolve_prior(settings.prior, source, n_components)
        # where rows with missing values scored later meet the noise
        extents = column_extents(source) if settings.noise else None
        reg_covar = settings.reg_covar
        scale = fit_units(
            source, reg_covar, settings.reg_covar_scale, self.covariance_type
        )
        log_shift = 0.0
        if scale is not None:
            # fit the rows in other units (see gaussmix.models._data_scale)
            source = source.rescaled(scale.units)
            reg_covar = scale.reg_covar(reg_covar)
            user_init = scale.user_init(
                user_init, get_family(self.covariance_type).matrix_layout
            )
            log_shift = scale.log_density_shift(source.n_features)
        if settings.noise:
            params, best = fit_with_noise(
                self,
                settings,
                source,
                noise_init=noise_init,
                user_init=user_init,
                do_init=do_init,
                random_state=random_state,
                repairs=repairs,
                reg_covar=reg_covar,
                scale=scale,
                log_shift=log_shift,
            )
            self.noise_extents_ = extents
            like = source.X if is_tensor(X) else None
            return self._finish_fit(
                params, best, scale, dtype, repairs, like, log_shift
            )
        self._forget_noise()
        prior = None
        if data_prior is not None:
            self.prior_ = data_prior
            prior = (
                data_prior if scale is None else prior_in_units(data_prior, scale.units)
            )

        def start() -> tuple[MixtureParams, float]:
            if not do_init:
                current = self.mixture_params()
                if scale is not None:
                    current = scale.to_rescaled(current)
                return current, self.lower_bound_ - log_shift
            params = initial_params(
                source,
                covariance_type=self.covariance_type,
                init_params=settings.init_params,
                n_components=n_components,
                reg_covar=reg_covar,
                user_init=user_init,
                random_state=random_state,
                repairs=repairs,
                prior=prior,
            )
            return params, -math.inf

        best = fit_with_progress(
            source.stats,
            maximum_likelihood_update(reg_covar, repairs, prior),
            start,
            settings,
            restarts=do_init,
        )
        like = source.X if is_tensor(X) else None
        self._finish_fit(best.params, best, scale, dtype, repairs, like, log_shift)
        if prior is not None:
            # what a prior weighs against when partial_fit continues the fit
            self._seen_weight = _rows_weight(source)
        return self

    def _forget_noise(self) -> None:
        """A refit without noise leaves no trace of an earlier one with it."""
        for name in (*NOISE_ATTRIBUTES, "_running_noise_share"):
            self.__dict__.pop(name, None)

    def _finish_fit(self, params, best, scale, dtype, repairs, like, log_shift):
        """Set the fitted attributes from the best EM run."""
        if scale is not None:
            params = scale.to_data_units(params, dtype)
        # a fit that cannot be returned reports only why (raised just above)
        warn_repairs(repairs)
        if not best.converged and self.max_iter > 0:
            check.warn_not_converged()
        self._set_params_from(params, dtype, like)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound + log_shift
        self.lower_bounds_ = [value + log_shift for value in best.lower_bounds]
        # the fit is the first batch of any stream that continues it: its
        # running Stats are derived from its parameters when one does
        self._running_stats = None
        for name in ("_running_noise_share", "_seen_weight"):
            self.__dict__.pop(name, None)
        self.n_batches_ = 1
        return self

    def partial_fit(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> GaussianMixture:
        """Update the mixture with one batch of rows (stepwise EM).

        The first call on an unfitted model runs a full ``fit`` on the batch.
        Each later batch is summarised by its Stats under the current
        parameters, blended into running Stats with step
        ``rho_t = (t + learning_offset) ** -learning_decay``, and one M-step
        gives the new parameters. Memory does not grow with the number of
        batches.

        A fit counts as the first batch (``n_batches_`` is 1 after it), and
        its running Stats are those the M-step turns back into its
        parameters (per unit of weight, each component's weight, mean, and
        covariance less ``reg_covar``: the expected Stats of the fitted rows
        at a fixed point of EM). The next batch gets step ``rho_2``, whether
        the model came from ``fit``, a warm-started fit, ``from_params``, a
        model file or a first ``partial_fit``, so ``fit(A).partial_fit(B)``
        and ``partial_fit(A).partial_fit(B)`` give the same mixture. The
        step does not depend on the batch's size: a one-row batch moves the
        model as far as any other (raise ``learning_offset`` for smaller
        steps). With a ``prior``, the running Stats meet it at the total
        weight of the rows seen (the fit's and every batch's), as a fit of
        those rows would, rather than at one row's weight.

        A later call continues the fitted mixture: it raises ``ValueError``
        when ``n_components`` or ``covariance_type`` were changed since the
        fit (call ``fit`` to start the new model), and when X has another
        number of features.

        Parameters
        ----------
        X : array-like of shape (n_batch_rows, n_features)
        y : ignored
        sample_weight : array-like of shape (n_batch_rows,), default=None

        Returns
        -------
        self : GaussianMixture
        """
        settings = self._check_hyperparameters()
        decay, offset = settings.learning_decay, settings.learning_offset
        if not hasattr(self, "converged_"):
            # the first batch is fitted to convergence; it counts as batch 1
            return self.fit(X, sample_weight=sample_weight)
        self._check_continuable(
            {
                "n_components": settings.n_components,
                "covariance_type": settings.covariance_type,
                "noise": settings.noise,
            },
            {"noise": hasattr(self, "noise_proportion_")},
        )
        source = make_source(
            self,
            X,
            sample_weight,
            settings.chunk_size,
            reset=False,
            allow_nan=True,
            normalise_weights=settings.prior is None,
        )
        if settings.noise:
            stats, noise_share = noise_batch_sums(source, self, has_missing(source))
            scale = None
        elif has_missing(source):
            stats, scale = missing_batch_stats(source, self.mixture_params()), None
        else:
            stats, scale = batch_stats(source, self.mixture_params())
        running = getattr(self, "_running_stats", None)
        seen = getattr(self, "n_batches_", 0)
        if running is None:
            # a fitted model (fit, warm start, from_params, a model file)
            # continues as a stream after its first batch would: its
            # parameters are the running Stats, as at a fixed point of EM
            running = parameter_stats(self.mixture_params(), settings.reg_covar)
            seen = max(seen, 1)
        batch_index = seen + 1
        rho = step_size(batch_index, decay, offset)
        running = stepwise_update(running, stats, rho)
        prior = getattr(self, "prior_", None)
        weighed = running
        if prior is not None:
            # the running Stats are per unit of weight: a prior must meet
            # them at the weight of the rows seen, as in a fit of those rows,
            # or it outweighs them all
            seen_weight = getattr(self, "_seen_weight", 0.0) + stats.total_weight
            weighed = running.scaled(seen_weight)
        if settings.noise:
            # the noise's share of the running (unit) weight, blended alike
            previous = getattr(self, "_running_noise_share", self.noise_proportion_)
            noise_share = (1.0 - rho) * previous + rho * noise_share
        dtype = numpy_dtype(source)
        repairs = RepairLog(reseeds_left=settings.n_components, dtype=dtype)
        params = m_step(
            weighed, self.covariance_type, settings.reg_covar, repairs, prior
        )
        if settings.noise:
            params = replace(params, weights=params.weights * (1.0 - noise_share))
            self.noise_proportion_ = noise_share
            self._running_noise_share = noise_share
        if scale is not None:
            # raises, naming the fix, where the parameters exceed the dtype
            params = scale.to_data_units(params, dtype)
        warn_repairs(repairs)
        self._set_params_from(params, dtype, source.X if is_tensor(X) else None)
        self._running_stats = running
        if prior is not None:
            self._seen_weight = seen_weight
        self.n_batches_ = batch_index
        self.lower_bound_ = stats.log_likelihood / stats.total_weight
        return self

    def fit_predict(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> np.ndarray:
        """Fit the mixture and return the most likely component of each row."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    def _check_user_init(self, n_components: int, n_features: int) -> dict[str, Any]:
        owner = type(self).__name__
        return {
            "weights": None
            if self.weights_init is None
            else check.check_weights_init(self.weights_init, n_components, owner=owner),
            "means": None
            if self.means_init is None
            else check.check_means_init(
                self.means_init, n_components, n_features, owner
            ),
            "precisions": None
            if self.precisions_init is None
            else check.check_precisions_init(
                self.precisions_init,
                self.covariance_type,
                n_components,
                n_features,
                owner,
            ),
        }

    # ------------------------------------------------------------------
    # construction from known parameters
    @classmethod
    def from_params(
        cls,
        weights: Array,
        means: Array,
        covariances: Array,
        covariance_type: str = "full",
        **kwargs: Any,
    ) -> GaussianMixture:
        """A fitted mixture with the given parameters, ready to score or sample.

        Parameters
        ----------
        weights : array-like of shape (n_components,)
            Non-negative and summing to one.
        means : array-like of shape (n_components, n_features)
        covariances : array-like
            Shaped for ``covariance_type`` (full (K, D, D), tied (D, D),
            diag (K, D), spherical (K,)); each must be positive definite.
        covariance_type : str, default='full'
        **kwargs
            Other constructor parameters (``random_state`` for ``sample``...).
        """
        family = get_family(covariance_type)
        means = np.asarray(means)
        if means.ndim != 2:
            raise ValueError(
                f"means must be 2-D (n_components, n_features), got {means.shape}."
            )
        n_components, n_features = means.shape
        dtype = means.dtype if means.dtype in (np.float32, np.float64) else np.float64
        weights = check.check_weights_init(
            weights, n_components, argument="weights", optional=False
        )
        covariances = np.asarray(covariances, dtype=np.float64)
        expected = family.covariance_shape(n_components, n_features)
        if covariances.shape != expected:
            raise ValueError(
                f"covariances for covariance_type={covariance_type!r} must have "
                f"shape {expected}, got {covariances.shape}."
            )
        if not np.all(np.isfinite(covariances)) or not np.all(np.isfinite(means)):
            raise ValueError("means and covariances must be finite.")
        try:
            factors = family.precision_cholesky(covariances)
        except ValueError:
            raise ValueError(
                "covariances must be symmetric positive definite."
            ) from None
        model = cls(
            n_components=n_components, covariance_type=covariance_type, **kwargs
        )
        params = MixtureParams(
            np.asarray(weights, np.float64),
            means.astype(np.float64),
            covariances,
            factors,
            covariance_type,
        )
        model._set_params_from(params, dtype)
        model.n_features_in_ = n_features
        model.converged_ = True
        model.n_iter_ = 0
        model.lower_bound_ = -math.inf
        model.lower_bounds_ = []
        return model


def _rows_weight(source: Any) -> float:
    """The total weight of a source's rows (their number when unweighted)."""
    weights = getattr(source, "sample_weight", None)
    if weights is None:
        return float(source.n_samples)
    return float(weights.sum())
