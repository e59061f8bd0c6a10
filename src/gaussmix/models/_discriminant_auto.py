"""The classifier's default: a discriminant chosen by BIC and cross-validation.

Two kinds of mixture discriminant (Fraley and Raftery 2002; mclust's
``MclustDA``):

- MclustDA: each class its own Gaussian mixture, its covariance model and
  number of components chosen by BIC on that class's rows;
- EDDA: one Gaussian per class, all classes under one covariance model (VVV
  is quadratic discriminant analysis, EEE linear discriminant analysis).

Every fit is a MAP fit under the conjugate prior
(:mod:`gaussmix.core.conjugate_prior`) whose mean and scale come from all
the labelled rows, rather than each class's own (mclust's choice): a
feature that is constant within one class, such as a pixel that is always
blank in one digit, then keeps a variance drawn from the others instead of
collapsing. Gross outliers (values more than 30 robust spreads from their
column's median) are left out of those moments, so that one wild value
cannot set the scale of every class. EDDA's VVV also enters without a
prior, as plain QDA.

The candidates are compared by their V-fold cross-validated error on the
training rows (mclust's ``cvMclustDA``): each refits its own structure (each
class's model and number of components for MclustDA) on every fold. The
lowest error wins; ties go to the candidate listed first.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold

from gaussmix.core.conjugate_prior import ConjugatePrior, default_prior
from gaussmix.core.covariance import get_family
from gaussmix.core.gross_outliers import gross_outlier_rows
from gaussmix.core.mstep import RegCovarWarning, RepairLog, m_step
from gaussmix.fit.chunks import responsibilities_stats
from gaussmix.models._missing import column_mean_filled
from gaussmix.models.gaussian_mixture import GaussianMixture

logger = logging.getLogger(__name__)

#: The covariance models MclustDA tries for each class.
MCLUSTDA_MODELS = ("EII", "VII", "EEI", "VVI", "EEE", "VVV")
#: The numbers of components MclustDA tries for each class.
MCLUSTDA_COMPONENTS = (1, 2, 3)
#: The EDDA candidates of ``'auto'``: (common model, under the prior).
EDDA_CANDIDATES = (("VVV", True),)
#: How the names of candidates without the prior end.
NO_PRIOR = " without prior"
#: Folds of the cross-validation that compares the candidates.
CV_FOLDS = 5
CRITERION = "error"
#: A held-out row's log-probability of its class counts no lower than this,
#: so that one row far outside its class cannot decide alone.
LOG_LOSS_FLOOR = -30.0

Mixtures = list[GaussianMixture]


@dataclass(frozen=True)
class Labelled:
    """Labelled rows, split by class, with what every candidate shares."""

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    classes: np.ndarray
    reg_covar: float
    seed: int

    def rows(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        mask = self.y == self.classes[index]
        return self.X[mask], None if self.weights is None else self.weights[mask]

    def subset(self, rows: np.ndarray) -> Labelled:
        return Labelled(
            self.X[rows],
            self.y[rows],
            None if self.weights is None else self.weights[rows],
            self.classes,
            self.reg_covar,
            self.seed,
        )

    def pooled_prior(self, n_components: int) -> ConjugatePrior:
        """mclust's default prior with the moments of the labelled rows.

        Gross outliers (:func:`~gaussmix.core.gross_outliers.gross_outlier_rows`)
        take no part: one value of 1e12 would otherwise give every
        covariance the prior shapes a variance of order 1e22 along its
        column, and the classes' densities would no longer tell them apart
        (iris with one such value in its training rows: 0.56 accuracy
        instead of 0.98). The outlier still belongs to its class's fit.
        """
        values = np.asarray(self.X, np.float64)
        if np.isnan(values).any():
            # the prior only has to be of the data's scale: missing values
            # take their column's mean here
            values = column_mean_filled(values)
        weights = (
            np.ones(len(values))
            if self.weights is None
            else np.asarray(self.weights, np.float64)
        )
        weights = np.where(gross_outlier_rows(values, self.weights), 0.0, weights)
        mean = np.average(values, axis=0, weights=weights)
        centred = values - mean
        covariance = (centred * weights[:, None]).T @ centred / weights.sum()
        return default_prior(ConjugatePrior(), mean, covariance, n_components)


def edda(data: Labelled, model: str, with_prior: bool) -> Mixtures:
    """One Gaussian per class, all under ``model``, from the class sums."""
    family = get_family(model)
    one_hot = (data.y[:, None] == data.classes[None, :]).astype(np.float64)
    stats = responsibilities_stats(data.X, one_hot, data.weights, family.scatter_kind)
    prior = data.pooled_prior(len(data.classes)) if with_prior else None
    repairs = RepairLog(dtype=data.X.dtype)
    params = m_step(stats, model, data.reg_covar, repairs, prior)
    n_classes, n_features = params.means.shape
    covariances = family.full_covariances(params.covariances, n_classes, n_features)
    mixtures = [
        GaussianMixture.from_params(
            [1.0],
            params.means[c : c + 1].astype(data.X.dtype),
            covariances[c : c + 1],
            "full",
        )
        for c in range(n_classes)
    ]
    for mixture in mixtures:
        # the labels are known: one M-step is the whole fit
        mixture.n_iter_ = 1
    return mixtures


def _class_mixture(
    data: Labelled, index: int, model: str, n_components: int
) -> GaussianMixture:
    X, weights = data.rows(index)
    mixture = GaussianMixture(
        n_components,
        covariance_type=model,
        reg_covar=data.reg_covar,
        prior=data.pooled_prior(n_components),
        random_state=data.seed,
    )
    with warnings.catch_warnings():
        # a class's column of tiny spread would warn once per pair tried;
        # the prior, not reg_covar, regularises these fits
        warnings.simplefilter("ignore", RegCovarWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return mixture.fit(X, sample_weight=weights)


def mclustda(data: Labelled) -> Mixtures:
    """Each class's mixture of lowest BIC over models and sizes.

    A pair whose covariances have more free entries than the class has
    rows is not tried (unless nothing else could be): the prior, not the
    rows, would set them, and such fits are the costliest.
    """
    chosen = []
    for index in range(len(data.classes)):
        X, weights = data.rows(index)
        n_rows = float(len(X) if weights is None else weights.sum())
        best, best_bic = None, np.inf
        for model in MCLUSTDA_MODELS:
            family = get_family(model)
            for k in MCLUSTDA_COMPONENTS:
                too_many = family.n_covariance_parameters(k, X.shape[1]) > n_rows
                if k > len(X) or (too_many and best is not None):
                    continue
                try:
                    mixture = _class_mixture(data, index, model, k)
                except ValueError as error:
                    logger.info("class %d, %s with %d: %s", index, model, k, error)
                    continue
                score = _bic(mixture, X, weights, n_rows)
                if score < best_bic:
                    best, best_bic = mixture, score
        chosen.append(best)
    return chosen


def _bic(mixture: GaussianMixture, X, weights, n_rows: float) -> float:
    log_lik = mixture.score(X, sample_weight=weights) * n_rows
    return -2.0 * log_lik + mixture.n_parameters() * np.log(n_rows)


def refit_mclustda(structure: Mixtures) -> Callable[[Labelled], Mixtures]:
    """MclustDA's chosen models and sizes, refitted on other rows."""

    def fit(data: Labelled) -> Mixtures:
        return [
            _class_mixture(data, index, m.covariance_type, m.n_components)
            for index, m in enumerate(structure)
        ]

    return fit


def candidates() -> list[tuple[str, Callable[[Labelled], Mixtures]]]:
    """The EDDA candidates, by name."""
    return [
        (
            f"EDDA {model}" + ("" if with_prior else NO_PRIOR),
            lambda data, model=model, with_prior=with_prior: edda(
                data, model, with_prior
            ),
        )
        for model, with_prior in EDDA_CANDIDATES
    ]


def total_bic(data: Labelled, mixtures: Mixtures, n_parameters: int) -> float:
    """BIC of the class densities on the labelled rows (lower is better)."""
    log_lik = 0.0
    for index, mixture in enumerate(mixtures):
        X, weights = data.rows(index)
        values = np.asarray(mixture.score_samples(X), np.float64)
        log_lik += float(values.sum() if weights is None else weights @ values)
    n_rows = float(len(data.X) if data.weights is None else data.weights.sum())
    return -2.0 * log_lik + n_parameters * np.log(n_rows)


def edda_parameters(model: str, n_classes: int, n_features: int) -> int:
    """Free parameters of EDDA's class densities (the class weights aside)."""
    return get_family(model).n_parameters(n_classes, n_features) - (n_classes - 1)


def edda_by_bic(data: Labelled) -> tuple[str, Mixtures]:
    """EDDA under the common model of lowest total BIC, with the prior."""
    n_classes, n_features = len(data.classes), data.X.shape[1]
    best = None
    for model in MCLUSTDA_MODELS:
        mixtures = edda(data, model, True)
        score = total_bic(data, mixtures, edda_parameters(model, n_classes, n_features))
        if best is None or score < best[0]:
            best = (score, f"EDDA {model}", mixtures)
    return best[1], best[2]


def class_log_posterior(mixtures: Mixtures, X: np.ndarray, log_priors) -> np.ndarray:
    return np.stack(
        [np.asarray(m.score_samples(X), np.float64) for m in mixtures], axis=1
    ) + np.asarray(log_priors)


def cv_error(
    data: Labelled, fit: Callable[[Labelled], Mixtures], splits: Sequence
) -> float:
    """Weighted share of held-out rows misclassified, over the folds."""
    wrong = total = 0.0
    for train, test in splits:
        part = data.subset(train)
        try:
            mixtures = fit(part)
        except ValueError as error:
            logger.info("a fold's fit failed: %s", error)
            return np.inf
        counts = np.array(
            [
                np.sum(part.y == c)
                if part.weights is None
                else part.weights[part.y == c].sum()
                for c in data.classes
            ],
            dtype=np.float64,
        )
        with np.errstate(divide="ignore"):
            log_priors = np.log(counts / counts.sum())
        scores = class_log_posterior(mixtures, data.X[test], log_priors)
        weights = np.ones(len(test)) if data.weights is None else data.weights[test]
        if CRITERION == "error":
            missed = data.classes[np.argmax(scores, axis=1)] != data.y[test]
        else:
            scores = scores - logsumexp(scores, axis=1, keepdims=True)
            truth = np.searchsorted(data.classes, data.y[test])
            missed = -np.maximum(scores[np.arange(len(test)), truth], LOG_LOSS_FLOOR)
        wrong += float(weights @ missed)
        total += float(weights.sum())
    return wrong / total if total > 0 else np.inf


def choose_discriminant(data: Labelled) -> tuple[str, Mixtures, dict[str, float]]:
    """The candidate of lowest cross-validated error, fitted on all rows.

    Returns its name, its class mixtures (in the order of ``classes``) and
    every candidate's error.
    """
    smallest = min(int(np.sum(data.y == c)) for c in data.classes)
    folds = min(CV_FOLDS, smallest)
    fitted: dict[str, Mixtures] = {}
    errors: dict[str, float] = {}
    structure = mclustda(data)
    fitted["MclustDA"] = structure
    if folds < 2:
        return "MclustDA", structure, {"MclustDA": np.nan}
    splits = list(
        StratifiedKFold(folds, shuffle=True, random_state=data.seed).split(
            data.X, data.y
        )
    )
    errors["MclustDA"] = cv_error(data, refit_mclustda(structure), splits)
    n_features = data.X.shape[1]
    bics = {
        "MclustDA": total_bic(data, structure, sum(m.n_parameters() for m in structure))
    }
    # EDDA's one-pass fit from the class sums needs every value
    complete = not np.isnan(data.X).any()
    for name, fit in candidates() if complete else []:
        errors[name] = cv_error(data, fit, splits)
        fitted[name] = fit(data)
        model = name.split()[1]
        bics[name] = total_bic(
            data, fitted[name], edda_parameters(model, len(data.classes), n_features)
        )
    # the lowest error; among equal errors, a fit under the prior before
    # one without (at the same size the likelier, so BIC would always
    # prefer the unregularised fit), then the lowest BIC
    best = min(
        errors,
        key=lambda name: (errors[name], name.endswith(NO_PRIOR), bics[name]),
    )
    logger.info("discriminant by cross-validation: %s (%s)", best, errors)
    return best, fitted[best], errors
