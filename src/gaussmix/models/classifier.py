"""GaussianMixtureClassifier: one Gaussian mixture per class, Bayes' rule."""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.criteria import bic
from gaussmix.core.discriminant import (
    SHARED_FAMILY,
    class_log_posteriors,
    exact_class_log_posteriors,
    log_priors_from,
)
from gaussmix.core.far_rows import imprecise_rows
from gaussmix.core.mstep import warn_repairs
from gaussmix.fit.class_em import ClassData, run_class_em
from gaussmix.models import _discriminant_auto as auto
from gaussmix.models import validation as check
from gaussmix.models.gaussian_mixture import GaussianMixture

logger = logging.getLogger(__name__)

#: ``covariance_type`` value for one covariance shared by all classes.
SHARED = "shared"
#: The default of ``n_components`` and ``covariance_type``.
AUTO = "auto"
#: ``covariance_type`` values that choose models (and sizes) by the data.
CHOOSERS = (AUTO, "MclustDA", "EDDA")


class GaussianMixtureClassifier(ClassifierMixin, BaseEstimator):
    """Classifier with one Gaussian mixture per class (mixture discriminant).

    Each class ``c`` has a density ``p_c(x)``, a Gaussian mixture, and a prior
    ``pi_c``; a row is assigned the class of highest ``pi_c p_c(x)``. With one
    full-covariance component per class this is quadratic discriminant
    analysis, with ``covariance_type='shared'`` and one component it is
    linear discriminant analysis, and with more components it models
    classes made of several clusters (mclust's ``MclustDA``).

    By default every label in ``y`` is a class, ``-1`` included. For
    semi-supervised learning, name the label that marks rows without a class
    (``unlabeled_label=-1``, scikit-learn's convention): EM over those rows'
    unknown classes then fits the mixtures and priors to labelled and
    unlabelled rows together.

    Parameters
    ----------
    n_components : 'auto', int, sequence of int, or dict, default='auto'
        Components per class. ``'auto'``: chosen with the covariance model
        when ``covariance_type`` is ``'auto'``, ``'MclustDA'`` or ``'EDDA'``,
        otherwise 1. An int applies to every class; a sequence of ints
        (``range(1, 6)``) lists candidates, and each class keeps the one of
        lowest BIC on its labelled rows; a dict maps each class label to an
        int or a sequence of candidates.
    covariance_type : str or dict, default='auto'
        ``'auto'`` chooses the discriminant by the data: MclustDA (each
        class a mixture whose covariance model, among EII, VII, EEI, VVI,
        EEE and VVV, and number of components, 1 to 3, are chosen by BIC on
        the class's rows; pairs whose covariances have more free entries
        than the class has rows are not tried) and EDDA with VVV (one
        Gaussian per class: regularised quadratic discriminant analysis)
        compete by 5-fold cross-validated error on the training rows, ties
        going to the lower BIC (mclust's ``MclustDA``, ``EDDA`` and
        ``cvMclustDA``). Both are MAP fits under mclust's conjugate prior
        (see ``GaussianMixture``'s ``prior``) whose mean and scale are the
        moments of all labelled rows, so that a feature constant within one
        class keeps a variance; rows with a value more than 30 robust
        spreads (median absolute deviations) from its column's median are
        left out of those moments, so that one wild value does not set
        every class's scale. With ``n_components`` given, ``'auto'``
        fits ``'full'`` mixtures of those sizes by maximum likelihood.
        ``'MclustDA'`` and ``'EDDA'`` (the common model of lowest total BIC
        among those six) fit that kind alone. Otherwise: the covariance
        family of each class's mixture (``'full'``, ``'tied'``, ``'diag'``,
        ``'spherical'`` or another registered family) fitted by maximum
        likelihood, a dict mapping each class label to one, or
        ``'shared'``: a single covariance for all components of all
        classes. ``n_components=1, covariance_type='full'`` is quadratic
        discriminant analysis, the default before ``'auto'``.
    priors : array-like of shape (n_classes,), default=None
        Class priors, positive and summing to one, in the order of
        ``classes_``; None estimates them from the (weighted) class counts,
        including the unlabelled rows' posteriors.
    unlabeled_label : int, str or None, default=None
        The label marking rows without a class (``-1`` for scikit-learn's
        semi-supervised convention). None: every label is a class, so no
        label is ever dropped without being asked for.
    tol : float, default=1e-3
        Convergence threshold of EM (per class and over class labels).
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
        EM iterations (per class, and over class labels).
    n_init : int, default=1
        Initialisations of each class's mixture; the best is kept.
    init_params : str, default='kmeans'
        Initialisation of each class's mixture, as in
        :class:`~gaussmix.GaussianMixture`.
    random_state : int, RandomState instance or None, default=None
    chunk_size : int or None, default=None
        Rows per E-step chunk, as in :class:`~gaussmix.GaussianMixture`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    priors_ : ndarray of shape (n_classes,)
    mixtures_ : list of GaussianMixture
        The fitted density of each class, in the order of ``classes_``.
    n_components_ : ndarray of shape (n_classes,)
        Components of each class's mixture (chosen by BIC for candidates).
    discriminant_ : str
        What was fitted: the candidate chosen by ``'auto'`` (``'MclustDA'``
        or ``'EDDA VVV'``), ``'MclustDA'``, ``'EDDA <model>'``, or
        ``'mixture'`` for a given covariance family.
    cv_errors_ : dict of str to float
        Only with ``covariance_type='auto'``: each candidate's
        cross-validated error (weighted share of rows misclassified).
    n_iter_ : int
        Iterations of the last EM run: over class labels when some rows are
        unlabelled or covariances are shared, otherwise the most any class's
        own fit took.
    converged_ : bool
        Whether that run (or every class's fit) converged.
    lower_bounds_ : list of float
        Average observed log-likelihood at each EM iteration over labels
        (empty when that EM did not run).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from gaussmix import GaussianMixtureClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GaussianMixtureClassifier(random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    >>> sorted(clf.cv_errors_)
    ['EDDA VVV', 'MclustDA']

    Per-class sizes chosen by BIC among given ones, by maximum likelihood:

    >>> sized = GaussianMixtureClassifier([1, 2], covariance_type="full")
    >>> sized.fit(X, y).n_components_.shape
    (3,)

    With ``unlabeled_label=-1``, rows labelled -1 take part through EM over
    their unknown classes:

    >>> import numpy as np
    >>> y_partial = np.where(np.arange(len(y)) % 3 == 0, y, -1)
    >>> semi = GaussianMixtureClassifier(covariance_type="diag", unlabeled_label=-1)
    >>> semi.fit(X, y_partial).classes_
    array([0, 1, 2])
    """

    def __init__(
        self,
        n_components: int | Any = AUTO,
        *,
        covariance_type: str | Mapping[Any, str] = AUTO,
        priors: Array | None = None,
        unlabeled_label: Any = None,
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
        self.priors = priors
        self.unlabeled_label = unlabeled_label
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.chunk_size = chunk_size

    # ------------------------------------------------------------------
    # validation
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # the class mixtures marginalise NaN
        return tags

    def _check_settings(self) -> check.EMSettings:
        """The EM hyperparameters, checked before any data is read.

        ``n_components``, ``covariance_type`` and ``priors`` are checked
        once the classes are known, since they may be given per class.
        """
        return check.em_settings(self, min_iter=1)

    def _split_labels(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The classes and a mask of the unlabelled rows."""
        marker = self.unlabeled_label
        if marker is None:
            unlabelled = np.zeros(y.shape[0], dtype=bool)
        elif y.dtype.kind in "OUS":
            unlabelled = np.array([value == marker for value in y.tolist()], bool)
        else:
            unlabelled = y == marker
        labelled = y[~unlabelled]
        check_classification_targets(labelled)
        classes = np.unique(labelled)
        if classes.size < 2:
            hint = (
                ""
                if marker is None or not unlabelled.any()
                else f" Rows labelled {marker!r} are unlabelled because "
                f"unlabeled_label={marker!r}; pass unlabeled_label=None to make "
                f"{marker!r} a class."
            )
            raise ValueError(
                f"y has only one class ({classes.tolist()}) among its labelled "
                f"rows; a classifier needs at least two classes.{hint}"
            )
        return classes, unlabelled

    def _check_priors(self, n_classes: int) -> np.ndarray | None:
        if self.priors is None:
            return None
        priors = np.asarray(self.priors)
        if not np.issubdtype(priors.dtype, np.number) or np.iscomplexobj(priors):
            raise TypeError("priors must be real numbers.")
        priors = priors.astype(np.float64)
        if priors.shape != (n_classes,):
            raise ValueError(
                f"priors must have one entry per class ({n_classes}), got shape "
                f"{priors.shape}."
            )
        if not np.all(np.isfinite(priors)) or np.any(priors <= 0):
            raise ValueError("priors must be finite and strictly positive.")
        if abs(priors.sum() - 1.0) > 1e-8:
            raise ValueError(f"priors must sum to 1, got {priors.sum():.8g}.")
        return priors

    def _per_class(self, value: Any, name: str, classes: np.ndarray) -> list[Any]:
        if not isinstance(value, Mapping):
            return [value] * len(classes)
        missing = [c for c in classes.tolist() if c not in value]
        unknown = [key for key in value if key not in set(classes.tolist())]
        if missing or unknown:
            raise ValueError(
                f"{name} as a dict needs one entry per class {classes.tolist()}; "
                f"missing {missing}, unknown {unknown}."
            )
        return [value[c] for c in classes.tolist()]

    def _chooser(self) -> str | None:
        """The ``covariance_type`` that chooses the models, or None."""
        value = self.covariance_type
        if not (isinstance(value, str) and value in CHOOSERS):
            return None
        if not (isinstance(self.n_components, str) and self.n_components == AUTO):
            if value == AUTO:
                # given sizes: full covariances per class, as before 'auto'
                return None
            raise ValueError(
                f"covariance_type={value!r} chooses the numbers of components "
                "too; leave n_components='auto', or name a covariance family "
                "(for example covariance_type='full') to give n_components."
            )
        return value

    def _component_candidates(self, classes: np.ndarray) -> list[list[int]]:
        candidates = []
        n_components = self.n_components
        if isinstance(n_components, str) and n_components == AUTO:
            n_components = 1
        for value in self._per_class(n_components, "n_components", classes):
            if isinstance(value, str) or not (
                isinstance(value, numbers.Integral) or np.iterable(value)
            ):
                raise TypeError(
                    "n_components must be an int, a sequence of candidate ints "
                    f"(chosen by BIC), or a dict of those per class; got {value!r}."
                )
            values = [value] if isinstance(value, numbers.Integral) else list(value)
            if not values:
                raise ValueError("n_components must list at least one candidate.")
            candidates.append(
                [
                    check.check_int("n_components", k, 1, owner=type(self).__name__)
                    for k in values
                ]
            )
        return candidates

    def _covariance_types(self, classes: np.ndarray) -> tuple[list[str], bool]:
        covariance_type = self.covariance_type
        if isinstance(covariance_type, str) and covariance_type == AUTO:
            covariance_type = "full"
        if isinstance(covariance_type, str) and covariance_type == SHARED:
            return [SHARED_FAMILY] * len(classes), True
        types = self._per_class(covariance_type, "covariance_type", classes)
        for value in types:
            if value == SHARED:
                raise ValueError(
                    "covariance_type='shared' applies to all classes at once; "
                    "give it as a string, not inside a dict."
                )
            check.check_covariance_type(value, owner=type(self).__name__)
        return list(types), False

    # ------------------------------------------------------------------
    # fitting
    def fit(self, X: Array, y: Array, sample_weight: Array | None = None):
        """Fit each class's mixture, then EM over the labels of unlabelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels; ``unlabeled_label`` marks rows without one.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GaussianMixtureClassifier
        """
        settings = self._check_settings()
        X, y = validate_data(
            self,
            X,
            y,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
            # NaN is a missing value; validation still refuses infinity
            ensure_all_finite="allow-nan",
        )
        classes, unlabelled = self._split_labels(y)
        priors = self._check_priors(len(classes))
        chooser = self._chooser()
        if chooser is None:
            candidates = self._component_candidates(classes)
            covariance_types, shared = self._covariance_types(classes)
        else:
            shared = False
        weights = check.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=len(classes)
        )

        labelled = []
        for label in classes.tolist():
            rows = ~unlabelled & (y == label)
            labelled.append((X[rows], None if weights is None else weights[rows]))
        self.__dict__.pop("cv_errors_", None)
        if chooser is None:
            self.discriminant_ = "mixture"
            mixtures = [
                self._fit_class(
                    label,
                    X_c,
                    w_c,
                    candidates[index],
                    covariance_types[index],
                    settings,
                    int(seeds[index]),
                )
                for index, (label, (X_c, w_c)) in enumerate(
                    zip(classes.tolist(), labelled, strict=True)
                )
            ]
        else:
            mixtures = self._choose(
                chooser, classes, labelled, settings.reg_covar, int(seeds[0])
            )
        data = ClassData(
            labelled,
            X[unlabelled] if unlabelled.any() else None,
            None if weights is None or not unlabelled.any() else weights[unlabelled],
        )
        label_weights = np.array([data.labelled_weight(c) for c in range(len(classes))])
        start_priors = label_weights / label_weights.sum() if priors is None else priors

        self.n_iter_ = max(mixture.n_iter_ for mixture in mixtures)
        self.converged_ = all(mixture.converged_ for mixture in mixtures)
        self.lower_bounds_ = []
        if (data.unlabelled is not None or shared) and np.isnan(X).any():
            raise ValueError(
                "X has missing values (NaN); the EM over unlabelled rows and "
                "shared covariances does not take them yet. Impute them first "
                "(gaussmix.GaussianMixtureImputer), or fit the labelled rows "
                "alone with a per-class covariance_type."
            )
        if data.unlabelled is not None or shared:
            result = run_class_em(
                data,
                [mixture.mixture_params() for mixture in mixtures],
                start_priors,
                estimate_priors=priors is None,
                shared_covariance=shared,
                reg_covar=settings.reg_covar,
                tol=settings.tol,
                max_iter=settings.max_iter,
                chunk_size=settings.chunk_size,
            )
            warn_repairs(result.repairs)
            mixtures = [
                GaussianMixture.from_params(
                    params.weights,
                    params.means.astype(X.dtype),
                    params.covariances,
                    params.covariance_type,
                    **_mixture_settings(settings, mixture.random_state),
                )
                for params, mixture in zip(result.class_params, mixtures, strict=True)
            ]
            start_priors = result.priors
            self.n_iter_ = result.n_iter
            self.converged_ = result.converged
            self.lower_bounds_ = result.lower_bounds
        self.classes_ = classes
        self.priors_ = np.asarray(start_priors, dtype=np.float64)
        self.mixtures_ = mixtures
        self.n_components_ = np.array([len(m.weights_) for m in mixtures])
        return self

    def _choose(
        self,
        chooser: str,
        classes: np.ndarray,
        labelled: list,
        reg_covar: float,
        seed: int,
    ) -> list[GaussianMixture]:
        """The class mixtures of MclustDA, EDDA, or the better by CV error."""
        for label, (X_c, w_c) in zip(classes.tolist(), labelled, strict=True):
            total = len(X_c) if w_c is None else float(w_c.sum())
            if len(X_c) < 2 or total <= 0:
                raise ValueError(
                    f"class {label!r} has {len(X_c)} labelled rows of total weight "
                    f"{total:g}; each class needs at least 2 labelled rows of "
                    "positive weight."
                )
        data = auto.Labelled(
            np.concatenate([X_c for X_c, _ in labelled]),
            np.concatenate(
                [np.full(len(X_c), i) for i, (X_c, _) in enumerate(labelled)]
            ),
            None
            if labelled[0][1] is None
            else np.concatenate([w_c for _, w_c in labelled]),
            np.arange(len(classes)),
            reg_covar,
            seed,
        )
        if chooser == "MclustDA":
            self.discriminant_ = "MclustDA"
            return auto.mclustda(data)
        if chooser == "EDDA" and np.isnan(data.X).any():
            raise ValueError(
                "covariance_type='EDDA' fits each class from its sums and needs "
                "every value; X has missing values (NaN). Use 'MclustDA' or "
                "'auto', whose mixtures marginalise them."
            )
        if chooser == "EDDA":
            self.discriminant_, mixtures = auto.edda_by_bic(data)
            return mixtures
        self.discriminant_, mixtures, self.cv_errors_ = auto.choose_discriminant(data)
        return mixtures

    def _fit_class(
        self,
        label: Any,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        candidates: list[int],
        covariance_type: str,
        settings: check.EMSettings,
        seed: int,
    ) -> GaussianMixture:
        """The class's mixture; among several sizes, the one of lowest BIC."""
        n_rows = X.shape[0]
        if n_rows < 2:
            raise ValueError(
                f"class {label!r} has {n_rows} labelled row; each class needs at "
                "least 2 labelled rows to fit its mixture."
            )
        feasible = [k for k in candidates if k <= n_rows]
        if not feasible:
            raise ValueError(
                f"class {label!r} has {n_rows} labelled rows, fewer than "
                f"n_components={min(candidates)}; lower n_components for it."
            )
        total = n_rows if sample_weight is None else float(sample_weight.sum())
        if total <= 0:
            raise ValueError(
                f"class {label!r} has a total sample_weight of zero; every class "
                "needs rows of positive weight (drop the class from y instead)."
            )
        best, best_bic = None, np.inf
        for n_components in feasible:
            mixture = GaussianMixture(
                n_components,
                covariance_type=covariance_type,
                **_mixture_settings(settings, seed),
            ).fit(X, sample_weight=sample_weight)
            if len(feasible) == 1:
                return mixture
            score = bic(
                mixture.score(X, sample_weight=sample_weight) * total,
                mixture.n_parameters(),
                total,
            )
            logger.debug(
                "class %r, %d components: BIC %.6g", label, n_components, score
            )
            if score < best_bic:
                best, best_bic = mixture, score
        logger.info("class %r: %d components by BIC", label, len(best.weights_))
        return best

    # ------------------------------------------------------------------
    # inference
    def predict_log_proba(self, X: Array) -> np.ndarray:
        """Log posterior of each class, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            reset=False,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
        )
        class_log_likelihood = np.stack(
            [
                np.asarray(mixture.score_samples(X), np.float64)
                for mixture in self.mixtures_
            ],
            axis=1,
        )
        log_priors = log_priors_from(self.priors_)
        log_norm, log_post = class_log_posteriors(class_log_likelihood, log_priors)
        rows = imprecise_rows(log_norm, X.dtype)
        if rows.size:
            log_post[rows] = exact_class_log_posteriors(
                X[rows],
                [mixture.mixture_params() for mixture in self.mixtures_],
                log_priors,
            )[1]
        return log_post

    def predict_proba(self, X: Array) -> np.ndarray:
        """Posterior probability of each class, shape (n_samples, n_classes)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Array) -> np.ndarray:
        """Most probable class of each row, shape (n_samples,)."""
        log_proba = self.predict_log_proba(X)
        return self.classes_[np.argmax(log_proba, axis=1)]


def _mixture_settings(settings: check.EMSettings, seed: Any) -> dict[str, Any]:
    return {**settings.em_kwargs(), "random_state": seed}
