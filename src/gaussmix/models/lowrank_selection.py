"""BIC over a grid of high-dimensional mixtures (factor analysers, HDDC).

:func:`select_model` hands a grid here when it is given an ``estimator``:
each row of the tables is one setting of ``param_grid`` (say ``n_factors``
of a :class:`~gaussmix.MixtureOfFactorAnalyzers`, or ``model`` and
``threshold`` of an :class:`~gaussmix.HDDC`), each column a number of
components, and every cell a fit of a clone of the estimator.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ParameterGrid
from sklearn.utils import check_array, check_random_state

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.criteria import bic, icl
from gaussmix.models import validation as check
from gaussmix.models.selection import ModelSelectionResult

logger = logging.getLogger(__name__)

_OWNER = "select_model"

ParamGrid = Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]]


@dataclass(repr=False)
class EstimatorSelectionResult(ModelSelectionResult):
    """A :class:`ModelSelectionResult` whose rows are an estimator's settings.

    ``covariance_types`` holds each row's label (``"n_factors=2"``);
    ``settings`` the parameters each row set, in the same order.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> result = gaussmix.select_model(
    ...     X,
    ...     n_components=[1, 2],
    ...     estimator=gaussmix.MixtureOfFactorAnalyzers(max_iter=20),
    ...     param_grid={"n_factors": [0, 1]},
    ...     random_state=0,
    ... )
    >>> result.covariance_types
    ('n_factors=0', 'n_factors=1')
    """

    settings: tuple[dict[str, Any], ...] = ()

    @property
    def best_covariance_type(self) -> str:
        """The label of the best row (its parameters: :attr:`best_settings`)."""
        return self.covariance_types[self._best_row()]

    @property
    def best_settings(self) -> dict[str, Any]:
        """The parameters of the best row."""
        return dict(self.settings[self._best_row()])

    def _best_row(self) -> int:
        return int(np.unravel_index(np.nanargmin(self.bic), self.bic.shape)[0])


def check_estimator_grid(estimator: Any, param_grid: ParamGrid | None) -> list[dict]:
    """The rows of ``param_grid``, checked against ``estimator``'s parameters."""
    params = getattr(estimator, "get_params", None)
    if params is None or not callable(getattr(estimator, "fit", None)):
        raise check.InvalidParameterError(
            f"The 'estimator' parameter of {_OWNER} must be a gaussmix mixture "
            "such as MixtureOfFactorAnalyzers() or HDDC(). "
            f"Got {estimator!r} instead."
        )
    known = params()
    if "n_components" not in known:
        raise ValueError(
            f"{type(estimator).__name__} has no n_components parameter; "
            "select_model varies the number of components of a mixture."
        )
    rows = list(ParameterGrid({} if param_grid is None else param_grid))
    for row in rows:
        if "n_components" in row:
            raise ValueError(
                "param_grid must not set n_components: pass the counts as "
                "select_model's n_components."
            )
        unknown = sorted(set(row) - set(known))
        if unknown:
            raise ValueError(
                f"param_grid names {unknown}, which {type(estimator).__name__} "
                f"does not take; its parameters are {sorted(known)}."
            )
    return rows


def select_over_estimator(
    X: Array,
    n_components: list[int],
    estimator: Any,
    param_grid: ParamGrid | None,
    *,
    sample_weight: Array | None,
    random_state: RandomStateLike,
    **given: bool,
) -> EstimatorSelectionResult:
    """``select_model`` with an ``estimator``: refuse its GaussianMixture options.

    ``given`` says which of ``select_model``'s GaussianMixture-only options
    (``covariance_types``, ``noise``, ``prior``) were set.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import MixtureOfFactorAnalyzers
    >>> from gaussmix.models.lowrank_selection import select_over_estimator
    >>> X = np.random.default_rng(0).normal(size=(100, 4))
    >>> result = select_over_estimator(
    ...     X, [1], MixtureOfFactorAnalyzers(), None,
    ...     sample_weight=None, random_state=0, noise=False,
    ... )
    >>> result.covariance_types
    ('MixtureOfFactorAnalyzers',)
    """
    if estimator is None:
        raise ValueError("param_grid needs an estimator whose settings it varies.")
    named = [name for name, value in given.items() if value]
    if named:
        raise ValueError(
            f"{', '.join(named)} apply to GaussianMixture grids; with an "
            "estimator, leave them out (set its own options on the estimator)."
        )
    return select_estimator(
        X,
        estimator,
        n_components,
        param_grid,
        sample_weight=sample_weight,
        random_state=random_state,
    )


def _label(row: Mapping[str, Any], estimator: Any) -> str:
    if not row:
        return type(estimator).__name__
    return ", ".join(f"{name}={value}" for name, value in row.items())


def select_estimator(
    X: Array,
    estimator: Any,
    n_components: Iterable[int],
    param_grid: ParamGrid | None = None,
    *,
    sample_weight: Array | None = None,
    random_state: RandomStateLike = None,
) -> EstimatorSelectionResult:
    """Fit ``estimator`` at every (setting, number of components); pick by BIC.

    The engine of ``select_model(X, n_components, estimator=...,
    param_grid=...)``; see :func:`~gaussmix.select_model`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    estimator : MixtureOfFactorAnalyzers, HDDC or another gaussmix mixture
        The template: every cell fits a clone with its own settings.
    n_components : iterable of int
    param_grid : dict of lists, list of such dicts, or None
        As scikit-learn's ``ParameterGrid``: one row per combination.
    sample_weight : array-like of shape (n_samples,), default=None
    random_state : int, RandomState instance or None, default=None
        Seeds every fit when given; None keeps the template's own.

    Returns
    -------
    EstimatorSelectionResult

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import HDDC
    >>> from gaussmix.models.lowrank_selection import select_estimator
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> result = select_estimator(X, HDDC(max_iter=10), [1, 2], {"n_dims": [1, 2]})
    >>> result.bic.shape
    (2, 2)
    """
    counts = sorted(
        {check.check_int("n_components", k, 1, owner=_OWNER) for k in n_components}
    )
    rows = check_estimator_grid(estimator, param_grid)
    check.check_seed("random_state", random_state, owner=_OWNER)
    X = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2)
    weights = check.check_sample_weight(sample_weight, X.shape[0], X.dtype)
    n_samples = float(X.shape[0] if weights is None else weights.sum())
    rng = None if random_state is None else check_random_state(random_state)
    shape = (len(rows), len(counts))
    tables = {name: np.full(shape, np.nan) for name in ("bic", "icl", "loglik", "p")}
    labels = tuple(_label(row, estimator) for row in rows)
    fitted: dict[tuple[str, int], Any] = {}
    failures: list[str] = []
    for i, row in enumerate(rows):
        for j, k in enumerate(counts):
            model = clone(estimator).set_params(n_components=k, **row)
            if rng is not None:
                model.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                try:
                    model.fit(X, sample_weight=weights)
                except ValueError as error:
                    logger.info("%s with %d components: %s", labels[i], k, error)
                    failures.append(f"{labels[i]} with {k} components: {error}")
                    continue
            total = model.score(X, sample_weight=weights) * n_samples
            n_parameters = model.n_parameters()
            tables["loglik"][i, j] = total
            tables["p"][i, j] = n_parameters
            tables["bic"][i, j] = bic(total, n_parameters, n_samples)
            tables["icl"][i, j] = icl(
                total, n_parameters, n_samples, model.predict_proba(X), weights
            )
            fitted[labels[i], k] = model
    if not fitted:
        shown = "; ".join(failures[:3])
        raise ValueError(f"No mixture could be fitted on this grid: {shown}.")
    i, j = np.unravel_index(np.nanargmin(tables["bic"]), shape)
    return EstimatorSelectionResult(
        covariance_types=labels,
        n_components=tuple(counts),
        bic=tables["bic"],
        icl=tables["icl"],
        log_likelihood=tables["loglik"],
        n_parameters=tables["p"],
        best_model=fitted[labels[i], counts[j]],
        models=fitted,
        n_samples=n_samples,
        settings=tuple(dict(row) for row in rows),
    )
