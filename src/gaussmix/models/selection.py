"""Model selection over covariance models and numbers of components.

:func:`select_model` fits a grid of Gaussian mixtures, as mclust's ``Mclust``
does, and picks the one with the best BIC.

Sign conventions
----------------
scikit-learn's ``bic()`` is ``-2 log L + p log n``: lower is better. mclust
reports ``2 log L - p log n``: higher is better. The result holds both
(:attr:`ModelSelectionResult.bic` and :attr:`ModelSelectionResult.mclust_bic`,
likewise for ICL); the choice is the same either way.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.conjugate_prior import ConjugatePrior, default_prior
from gaussmix.core.covariance import get_family
from gaussmix.core.covariance.mclust_parts import MCLUST_MODELS, UNIVARIATE_MODELS
from gaussmix.core.criteria import bic, icl
from gaussmix.core.hierarchical import hierarchical_tree, partition_responsibilities
from gaussmix.core.mstep import DegenerateComponentWarning, m_step
from gaussmix.core.noise import clutter_mask
from gaussmix.core.seeding import INIT_METHODS
from gaussmix.fit.chunks import responsibilities_stats
from gaussmix.models import validation as check
from gaussmix.models._data_scale import column_halves, data_scale
from gaussmix.models._missing import column_mean_filled
from gaussmix.models._noise import check_noise_init
from gaussmix.models.gaussian_mixture import GaussianMixture

logger = logging.getLogger(__name__)

_OWNER = "select_model"

#: A fitted covariance with an eigenvalue below this multiple of
#: ``reg_covar`` has collapsed onto too few points: the fit is treated as
#: failed, as mclust treats a singular covariance.
COLLAPSE_FACTOR = 10.0

#: ... provided that, in some direction, the component's variance is also
#: below this fraction of the data's own variance plus ``reg_covar``. In
#: data whose variances are not large next to ``reg_covar`` (tiny units),
#: ``reg_covar`` sets every component's variance: a fit then gains little
#: from a component on few rows, and one that has the data's own spread (as
#: every one-component fit) is no collapse.
RELATIVE_COLLAPSE = 1e-2


@dataclass
class ModelSelectionResult:
    """The grid of fitted mixtures and their information criteria.

    Tables have one row per covariance model and one column per number of
    components; a fit that failed or collapsed is NaN.

    Attributes
    ----------
    covariance_types : tuple of str, length n_models
    n_components : tuple of int, length n_counts
    bic : ndarray of shape (n_models, n_counts)
        scikit-learn's convention, ``-2 log L + p log n`` (lower is better).
    icl : ndarray of shape (n_models, n_counts)
        BIC plus twice the entropy of the hard classification (lower is
        better).
    log_likelihood : ndarray of shape (n_models, n_counts)
        Total (weighted) log-likelihood of each fit.
    n_parameters : ndarray of shape (n_models, n_counts)
        Free parameters of each model (``df`` in mclust).
    best_model : GaussianMixture
        The fitted mixture with the lowest BIC.
    models : dict
        Every successful fit, keyed by ``(covariance_type, n_components)``.
    n_samples : float
        Number of rows (total sample weight when weights are given).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gaussmix
    >>> result = gaussmix.select_model(
    ...     load_iris().data, n_components=[1, 2, 3], covariance_types=["EEE", "VEV"]
    ... )
    >>> print(result.summary())  # doctest: +NORMALIZE_WHITESPACE
    Best BIC values (mclust convention, higher is better):
    ...
    >>> result.best_model.predict(load_iris().data[:3])
    array([0, 0, 0])
    """

    covariance_types: tuple[str, ...]
    n_components: tuple[int, ...]
    bic: np.ndarray
    icl: np.ndarray
    log_likelihood: np.ndarray
    n_parameters: np.ndarray
    best_model: GaussianMixture
    models: dict[tuple[str, int], GaussianMixture] = field(repr=False)
    n_samples: float = 0.0

    @property
    def mclust_bic(self) -> np.ndarray:
        """BIC in mclust's convention, ``2 log L - p log n`` (higher is better)."""
        return -self.bic

    @property
    def mclust_icl(self) -> np.ndarray:
        """ICL in mclust's convention (higher is better)."""
        return -self.icl

    @property
    def best_covariance_type(self) -> str:
        return str(self.best_model.covariance_type)

    @property
    def best_n_components(self) -> int:
        return int(self.best_model.n_components)

    def ranking(self, criterion: str = "bic") -> list[tuple[str, int, float]]:
        """All successful fits, best first, as ``(model, K, mclust value)``."""
        table = self._mclust_table(criterion)
        cells = [
            (model, k, float(table[i, j]))
            for i, model in enumerate(self.covariance_types)
            for j, k in enumerate(self.n_components)
            if np.isfinite(table[i, j])
        ]
        return sorted(cells, key=lambda cell: -cell[2])

    def _mclust_table(self, criterion: str) -> np.ndarray:
        tables = {"bic": self.mclust_bic, "icl": self.mclust_icl}
        if criterion not in tables:
            raise ValueError(f"criterion must be 'bic' or 'icl', got {criterion!r}.")
        return tables[criterion]

    def summary(self, n_best: int = 3, criterion: str = "bic") -> str:
        """The best models by BIC (or ICL), in mclust's layout and convention."""
        name = criterion.upper()
        top = self.ranking(criterion)[:n_best]
        if not top:
            return f"No model could be fitted; no {name} values."
        labels = [f"{model},{k}" for model, k, _ in top]
        values = [value for _, _, value in top]
        width = max(12, *(len(label) + 2 for label in labels))
        rows = [
            " " * 10 + "".join(label.rjust(width) for label in labels),
            f"{name:<10}" + "".join(f"{v:{width}.4f}" for v in values),
            f"{name + ' diff':<10}"
            + "".join(f"{v - values[0]:{width}.4f}" for v in values),
        ]
        return (
            f"Best {name} values (mclust convention, higher is better):\n"
            + "\n".join(rows)
        )

    def format_table(self, criterion: str = "bic") -> str:
        """The whole table, one row per K and one column per model (as mclust)."""
        table = self._mclust_table(criterion)
        width = max(11, *(len(model) + 2 for model in self.covariance_types))
        lines = ["   " + "".join(model.rjust(width) for model in self.covariance_types)]
        for j, k in enumerate(self.n_components):
            cells = "".join(
                f"{v:{width}.3f}" if np.isfinite(v) else "NA".rjust(width)
                for v in table[:, j]
            )
            lines.append(f"{k:<3}" + cells)
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts = self.n_components
        span = f"{min(counts)}..{max(counts)}" if len(counts) > 1 else str(counts[0])
        best = float(np.nanmin(self.bic))
        return (
            f"ModelSelectionResult(best={self.best_covariance_type},"
            f"{self.best_n_components}, bic={best:.2f}, "
            f"covariance_types={len(self.covariance_types)}, n_components={span})"
        )

    def __str__(self) -> str:
        return (
            "Bayesian Information Criterion (BIC), mclust convention:\n"
            + self.format_table("bic")
            + "\n\n"
            + self.summary()
        )


def select_model(
    X: Array,
    n_components: int | Iterable[int] = range(1, 10),
    covariance_types: str | Sequence[str] | None = None,
    *,
    init_params: str | Sequence[str] = "hc",
    sample_weight: Array | None = None,
    reg_covar: float = 1e-6,
    tol: float = 1e-5,
    max_iter: int = 1000,
    random_state: RandomStateLike = None,
    noise: bool = False,
    noise_init: Array | None = None,
    noise_volume: str | float = "auto",
    prior: bool | ConjugatePrior | None = None,
    estimator: Any = None,
    param_grid: Any = None,
) -> ModelSelectionResult:
    """Fit every (covariance model, number of components) pair; pick by BIC.

    Each pair is fitted by EM from each start in ``init_params`` and the
    start reaching the highest likelihood is kept. The default, ``"hc"``, is
    mclust's own start: the model-based hierarchical tree of the rows
    (:mod:`gaussmix.core.hierarchical`) is grown once, cut at each K, and EM
    starts from the M-step of that partition, so the tables follow mclust's.
    Any other name adds one start of :class:`GaussianMixture` with that
    ``init_params``; ``init_params=("hc", "kmeans")`` guards against a poor
    hierarchical start at the price of a second fit per pair.

    The best model is the one of lowest BIC in scikit-learn's convention,
    which is the highest in mclust's; ties go to the model listed first,
    then to fewer components.

    A fit fails (NaN in the tables, absent from ``models``) when EM raises
    an error, when a component had to be re-seeded or jittered, or when a
    fitted covariance has an eigenvalue below ``COLLAPSE_FACTOR * reg_covar``
    (below ``sqrt(eps)`` times the largest eigenvalue when ``reg_covar=0``):
    the component sits on too few points, the counterpart of the singular
    covariances for which mclust reports NA. With ``reg_covar > 0`` such an
    eigenvalue counts only where the component's variance is also below
    ``RELATIVE_COLLAPSE`` times the data's own (plus ``reg_covar``) in some
    direction: a direction in which every row is constant, or data in units
    so small that ``reg_covar`` sets every variance, do not make a fit fail.
    Scale the columns of data measured in tiny units: ``reg_covar`` then
    regularises without dominating.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        float32 rows whose squares would overflow float32 (a column spanning
        beyond about 4e9) are fitted, and the best model returned, in float64.
    n_components : int or iterable of int, default=range(1, 10)
    covariance_types : str or sequence of str, default=None
        Registered covariance families (mclust or scikit-learn names). None
        is mclust's choice: its 14 models, or on one feature its two
        univariate models, ``'E'`` (equal variances) and ``'V'`` (varying),
        to which the 14 reduce there.
    init_params : str or sequence of str, default="hc"
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; n in the BIC is their sum.
    reg_covar : float, default=1e-6
    tol : float, default=1e-5
        EM stops when the average log-likelihood gains less than this.
    max_iter : int, default=1000
    random_state : int, RandomState instance or None, default=None
    noise : bool, default=False
        Fit every pair with a uniform noise component
        (``GaussianMixture(noise=True)``; mclust's ``initialization$noise``):
        the BIC then counts the noise proportion as one more parameter and
        the likelihood includes the noise's density, so the tables compare
        with a grid without noise on the same rows. Every fit starts from the
        same noise mask, and ``init_params="hc"`` grows the hierarchical
        tree on the rows outside it, as mclust does.
    noise_init : array-like of bool, shape (n_samples,), default=None
        The rows first taken as noise; None: nearest-neighbour clutter
        removal on the rows (see ``GaussianMixture``'s
        ``noise_init_neighbors``), once for the whole grid.
    noise_volume : {'auto', 'box', 'pca_box'} or float, default='auto'
        The noise's region, as ``GaussianMixture``'s parameter.
    prior : bool, ConjugatePrior or None, default=None
        True fits every pair by maximum a posteriori under mclust's default
        conjugate prior (``GaussianMixture(prior='default')``, mclust's
        ``prior = priorControl()``), a :class:`~gaussmix.ConjugatePrior`
        under that one; its default fields follow each K. The tables keep
        the log-likelihood at the MAP estimate, as mclust's do. The prior
        keeps covariances off singularity, so far fewer cells fail. Not
        with ``noise=True``.
    estimator : MixtureOfFactorAnalyzers, HDDC or None, default=None
        Select among fits of this estimator instead of GaussianMixture: one
        table row per setting of ``param_grid``, one column per
        ``n_components``, each cell a clone fitted with its own settings
        and hyperparameters (``reg_covar``, ``tol``, ``max_iter``,
        ``init_params``) of its own; ``random_state``, when given, seeds
        every fit. Not with ``covariance_types``, ``noise`` or ``prior``.
        The BIC counts each fit's own parameters (HDDC's fitted
        dimensions included).
    param_grid : dict of lists, list of such dicts, or None, default=None
        With ``estimator``: the settings of the rows, as scikit-learn's
        ``ParameterGrid`` (``{"n_factors": [2, 5]}``, or ``{"model":
        ["AkjBkQkDk", "ABkQkD"], "threshold": [0.1, 0.2]}``); None, one row.

    Returns
    -------
    ModelSelectionResult
        ``str(result)`` prints the BIC table and the three best models. With
        ``estimator``, an ``EstimatorSelectionResult`` whose rows are
        labelled by their settings (``"n_factors=2"``) and whose
        ``best_settings`` are the best row's.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gaussmix
    >>> X = load_iris().data
    >>> result = gaussmix.select_model(
    ...     X, n_components=range(1, 4), covariance_types=["VII", "VEV", "VVV"]
    ... )
    >>> result.best_model.covariance_type, result.best_model.n_components
    ('VEV', 2)
    >>> result.bic.shape  # models x K, lower is better
    (3, 3)
    >>> mfa = gaussmix.select_model(
    ...     X,
    ...     n_components=[2, 3],
    ...     estimator=gaussmix.MixtureOfFactorAnalyzers(max_iter=50),
    ...     param_grid={"n_factors": [1, 2]},
    ...     random_state=0,
    ... )
    >>> mfa.bic.shape  # settings x K
    (2, 2)
    """
    if estimator is not None or param_grid is not None:
        from gaussmix.models.lowrank_selection import select_over_estimator

        return select_over_estimator(
            X,
            _check_counts(n_components),
            estimator,
            param_grid,
            sample_weight=sample_weight,
            random_state=random_state,
            covariance_types=covariance_types is not None,
            noise=noise is not False or noise_init is not None,
            prior=prior is not None and prior is not False,
        )
    # every argument is checked before any fit, so that a bad one is named
    # rather than reported as a grid on which nothing could be fitted
    counts = _check_counts(n_components)
    models = None if covariance_types is None else _check_models(covariance_types)
    starts = _check_starts(init_params)
    reg_covar = check.check_float("reg_covar", reg_covar, 0.0, True, owner=_OWNER)
    tol = check.check_float("tol", tol, 0.0, True, owner=_OWNER)
    max_iter = check.check_int("max_iter", max_iter, 0, owner=_OWNER)
    check.check_seed("random_state", random_state, owner=_OWNER)
    noise = check.check_bool("noise", noise, owner=_OWNER)
    prior = _check_prior(prior)
    if prior is not None and noise:
        raise ValueError(
            "prior is not available with noise=True; use one or the other."
        )
    if noise_init is not None and not noise:
        raise ValueError("noise_init is a start for noise=True only.")
    # named here rather than as a grid on which every fit failed
    GaussianMixture(noise=noise, noise_volume=noise_volume)._check_hyperparameters()
    names = _feature_names(X)
    X = check_array(
        X,
        dtype=[np.float64, np.float32],
        ensure_min_samples=2,
        ensure_all_finite="allow-nan",
    )
    if models is None:
        models = list(UNIVARIATE_MODELS if X.shape[1] == 1 else MCLUST_MODELS)
    # missing values (NaN) are marginalised by every fit; the starts and the
    # checks on the data's spread see them filled by their column's mean
    complete = column_mean_filled(X) if np.isnan(X).any() else X
    if (
        X.dtype == np.float32
        and data_scale(X.dtype, column_halves(complete)) is not None
    ):
        # the squares of these rows overflow float32: the starts' moments
        # and the fitted covariances need float64
        X = X.astype(np.float64)
    weights = check.check_sample_weight(sample_weight, X.shape[0], X.dtype)
    random_state = check_random_state(random_state)
    n_samples = float(X.shape[0] if weights is None else weights.sum())

    tree = None
    if "hc" in starts and not noise:
        tree = hierarchical_tree(complete, weights, random_state)
    shape = (len(models), len(counts))
    tables = {name: np.full(shape, np.nan) for name in ("bic", "icl", "loglik")}
    n_parameters = np.array(
        [[get_family(m).n_parameters(k, X.shape[1]) for k in counts] for m in models]
    ) + int(noise)
    fitted: dict[tuple[str, int], GaussianMixture] = {}
    settings = _GridSettings(
        reg_covar=reg_covar,
        tol=tol,
        max_iter=max_iter,
        noise=noise,
        noise_volume=noise_volume,
        noise_mask=_grid_noise_mask(complete, weights, noise, noise_init),
        prior=prior,
        moments=None if prior is None else _moments(complete, weights),
    )
    spread = _DataSpread(complete, weights, reg_covar)
    failures: list[str] = []
    for j, k in enumerate(counts):
        hc_resp = _hc_responsibilities(tree, X.shape[0], k)
        for i, model in enumerate(models):
            best, best_score = None, -math.inf
            for start in starts:
                model_fit, failure = _fit_one(
                    X, weights, model, k, start, hc_resp, settings, random_state
                )
                if model_fit is not None and spread.collapsed(model_fit):
                    model_fit, failure = None, "a covariance collapsed onto few rows"
                if model_fit is None:
                    failures.append(f"{model} with {k} components ({start}): {failure}")
                    continue
                score = model_fit.score(X, sample_weight=weights)
                if score > best_score:
                    best, best_score = model_fit, score
            if best is None:
                logger.info("%s with %d components failed", model, k)
                continue
            total = best_score * n_samples
            tables["loglik"][i, j] = total
            tables["bic"][i, j] = bic(total, n_parameters[i, j], n_samples)
            tables["icl"][i, j] = icl(
                total,
                n_parameters[i, j],
                n_samples,
                best.predict_proba(X),
                sample_weight=weights,
            )
            fitted[model, k] = best
    if not fitted:
        shown = "; ".join(failures[:3])
        more = "" if len(failures) <= 3 else f"; and {len(failures) - 3} more"
        raise ValueError(
            f"No mixture could be fitted on this grid: {shown}{more}. Check the "
            "data for duplicated rows, or try fewer components."
        )
    if names is not None:
        # the models answer to the table's column names, as if fitted on it
        for model_fit in fitted.values():
            model_fit.feature_names_in_ = names
    i, j = np.unravel_index(np.nanargmin(tables["bic"]), shape)
    return ModelSelectionResult(
        covariance_types=tuple(models),
        n_components=tuple(counts),
        bic=tables["bic"],
        icl=tables["icl"],
        log_likelihood=tables["loglik"],
        n_parameters=n_parameters,
        best_model=fitted[models[i], counts[j]],
        models=fitted,
        n_samples=n_samples,
    )


def _feature_names(X: object) -> np.ndarray | None:
    """The column names of a table (pandas, pyarrow, ...), when all are strings."""
    # pyarrow's tables name their columns in column_names (their columns
    # are the arrays); pandas' in columns
    columns = getattr(X, "column_names", None)
    if columns is None:
        columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = [str(name) for name in columns if isinstance(name, str)]
    if len(names) != len(columns):
        return None
    return np.asarray(names, dtype=object)


def _hc_responsibilities(tree, n_samples: int, n_components: int):
    if tree is None:
        return None
    hc_tree, rows = tree
    try:
        return partition_responsibilities(hc_tree, rows, n_samples, n_components)
    except ValueError as error:
        logger.info("no hierarchical start for %d components: %s", n_components, error)
        return None


def _grid_noise_mask(X, weights, noise: bool, noise_init) -> np.ndarray | None:
    """The noise mask every fit of the grid starts from (None: no noise, or
    no clutter found, when each fit makes its own tiny start)."""
    if not noise:
        return None
    if noise_init is not None:
        return check_noise_init(noise_init, X.shape[0])
    present = np.ones(X.shape[0], dtype=bool) if weights is None else weights > 0
    mask = np.zeros(X.shape[0], dtype=bool)
    mask[present] = clutter_mask(np.asarray(X[present], dtype=np.float64), 10)
    return mask if mask.any() and not mask[present].all() else None


@dataclass(frozen=True)
class _GridSettings:
    """The EM hyperparameters every fit on the grid shares, validated."""

    reg_covar: float
    tol: float
    max_iter: int
    noise: bool = False
    noise_volume: str | float = "auto"
    noise_mask: np.ndarray | None = None
    prior: ConjugatePrior | None = None
    moments: tuple[np.ndarray, np.ndarray] | None = None

    def kwargs(self) -> dict[str, Any]:
        """As keyword arguments of a GaussianMixture."""
        kwargs: dict[str, Any] = {
            "reg_covar": self.reg_covar,
            "tol": self.tol,
            "max_iter": self.max_iter,
        }
        if self.noise:
            kwargs.update(noise=True, noise_volume=self.noise_volume)
        if self.prior is not None:
            kwargs.update(prior=self.prior)
        return kwargs

    def resolved_prior(self, n_components: int) -> ConjugatePrior | None:
        """The prior of a fit with ``n_components``, every field set."""
        if self.prior is None:
            return None
        return default_prior(self.prior, *self.moments, n_components)


def _check_prior(prior: Any) -> ConjugatePrior | None:
    if prior is None or prior is False:
        return None
    if prior is True:
        return ConjugatePrior()
    if isinstance(prior, ConjugatePrior):
        prior.check()
        return prior
    raise check.InvalidParameterError(
        f"The 'prior' parameter of {_OWNER} must be a bool, a "
        f"gaussmix.ConjugatePrior or None. Got {prior!r} instead."
    )


def _moments(X: np.ndarray, weights: np.ndarray | None):
    """The rows' weighted mean and covariance (for the default prior)."""
    values = np.asarray(X, dtype=np.float64)
    mean = np.average(values, axis=0, weights=weights)
    centred = values - mean
    scaled = centred if weights is None else centred * weights[:, None]
    total = float(len(values) if weights is None else np.sum(weights))
    return mean, scaled.T @ centred / total


def _fit_one(X, weights, model, n_components, start, hc_resp, settings, rng):
    """One EM fit from one start, or None and why it failed."""
    if start == "hc" and not settings.noise:
        if hc_resp is None:
            return None, "the hierarchical tree has fewer distinct groups"
        family = get_family(model)
        # the partition's moments need every value: a missing one takes its
        # column's mean, as only the start depends on it
        rows = column_mean_filled(X) if np.isnan(X).any() else X
        stats = responsibilities_stats(rows, hc_resp, weights, family.scatter_kind)
        params = m_step(
            stats,
            model,
            settings.reg_covar,
            prior=settings.resolved_prior(n_components),
        )
        # EM continues from the partition's parameters themselves: precision
        # matrices would not survive a check of definiteness where the
        # covariances span more than float64's digits (a constant column)
        estimator = GaussianMixture.from_params(
            params.weights,
            params.means,
            params.covariances,
            model,
            warm_start=True,
            **settings.kwargs(),
        )
    else:
        estimator = GaussianMixture(
            n_components,
            covariance_type=model,
            init_params=start,
            random_state=rng.randint(np.iinfo(np.int32).max),
            **settings.kwargs(),
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DegenerateComponentWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            if settings.noise:
                estimator.fit(X, sample_weight=weights, noise_init=settings.noise_mask)
            else:
                estimator.fit(X, sample_weight=weights)
        except ValueError as error:
            logger.info("%s, K=%d, start %s: %s", model, n_components, start, error)
            return None, str(error)
    if any(issubclass(w.category, DegenerateComponentWarning) for w in caught):
        return None, "a component lost its rows or had to be jittered"
    # a refit of the returned model starts afresh, as for any other
    return estimator.set_params(warm_start=False), None


class _DataSpread:
    """The data's covariance, to judge fitted covariances against.

    Held in units of a power of two near the rows' largest deviation, so
    that neither the deviations nor their squares overflow.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,) or None
    reg_covar : float
        Added to the data's variances, as to every fitted covariance.
    """

    def __init__(self, X: np.ndarray, weights: np.ndarray | None, reg_covar: float):
        values = np.asarray(X, dtype=np.float64)
        # halves: the deviation of two finite numbers can overflow, halves cannot
        half_deviations = values / 2.0 - np.average(values / 2.0, 0, weights)
        # rows in (-1, 1), in units of 2**exponent: a power of two (exact)
        # that may itself exceed float64's range; no smaller than reg_covar's
        # deviation, so that variances in these units stay finite
        largest = max(float(np.max(np.abs(half_deviations))), math.sqrt(reg_covar))
        exponent = int(np.frexp(largest)[1]) if largest > 0 else 0
        self.exponent = exponent + 1
        rows = np.ldexp(half_deviations, -exponent)
        weighted = rows if weights is None else rows * weights[:, None]
        total = float(len(rows) if weights is None else np.sum(weights))
        covariance = weighted.T @ rows / total
        # a constant direction still gets a positive variance to compare with
        floor = max(self._in_units(reg_covar), np.finfo(np.float64).tiny)
        self.reference = covariance + floor * np.eye(len(covariance))
        self.reg_covar = reg_covar

    def collapsed(self, estimator: GaussianMixture) -> bool:
        """Whether a fitted covariance is (nearly) singular beyond ``reg_covar``."""
        family = get_family(estimator.covariance_type)
        n_components, n_features = estimator.means_.shape
        covariances = family.full_covariances(
            np.asarray(estimator.covariances_, dtype=np.float64),
            n_components,
            n_features,
        )
        eigenvalues = np.linalg.eigvalsh(covariances)
        if self.reg_covar == 0:
            floor = math.sqrt(np.finfo(np.float64).eps) * float(eigenvalues.max())
            return bool(eigenvalues.min() <= floor)
        if eigenvalues.min() > COLLAPSE_FACTOR * self.reg_covar:
            return False
        # the smallest ratio, over directions, of a component's variance to
        # the data's: a generalised eigenvalue
        relative = min(
            float(linalg.eigh(self._in_units(c), self.reference, eigvals_only=True)[0])
            for c in covariances
        )
        return relative <= RELATIVE_COLLAPSE

    def _in_units(self, variance):
        """A variance (or covariance) of the data, in the held units."""
        return np.ldexp(variance, -2 * self.exponent)


def _listed(name: str, value: object) -> list:
    """A scalar as a one-item list, an iterable as a non-empty list."""
    if isinstance(value, str) or np.isscalar(value):
        return [value]
    if not isinstance(value, Iterable):
        raise check.InvalidParameterError(
            f"The {name!r} parameter of {_OWNER} must be a value or an iterable "
            f"of values. Got {value!r} instead."
        )
    values = list(value)
    if not values:
        raise check.InvalidParameterError(
            f"The {name!r} parameter of {_OWNER} must list at least one value. "
            "Got an empty list instead."
        )
    return values


def _check_counts(n_components) -> list[int]:
    values = _listed("n_components", n_components)
    return sorted({check.check_int("n_components", k, 1, owner=_OWNER) for k in values})


def _check_models(covariance_types) -> list[str]:
    names = _listed("covariance_types", covariance_types)
    for name in names:
        check.check_covariance_type(name, owner=_OWNER, name="covariance_types")
    return list(dict.fromkeys(names))


def _check_starts(init_params) -> list[str]:
    names = _listed("init_params", init_params)
    for name in names:
        check.check_choice("init_params", name, INIT_METHODS, owner=_OWNER)
    return list(dict.fromkeys(names))
