"""HDDAClassifier: high-dimensional discriminant analysis, one subspace per class."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from gaussmix._typing import Array
from gaussmix.core.estep import responsibility_stats
from gaussmix.core.lowrank import log_responsibilities, mixture_log_prob
from gaussmix.models import validation as check
from gaussmix.models._data_scale import column_halves, refuse_overflowing_squares
from gaussmix.models.factor_analyzers import covariance_of
from gaussmix.models.hddc import (
    check_subspace_settings,
    fitted_subspaces,
    subspace_attributes,
)


class HDDAClassifier(ClassifierMixin, BaseEstimator):
    """High-dimensional discriminant analysis (HDclassif's ``hdda``).

    Each class is one HDDC component fitted on its rows (no EM: the labels
    are the responsibilities): its mean, its subspace of intrinsic
    dimension ``d_k`` from Cattell's scree test (or BIC, or fixed) and the
    variances inside and outside it, constrained as ``model`` says. Rows
    are assigned by Bayes' rule with the class proportions as priors. With
    many more features than rows per class it keeps the full covariance's
    leading directions where quadratic discriminant analysis breaks down.

    Parameters
    ----------
    model : str, default='AkjBkQkDk'
        Any model of :class:`~gaussmix.HDDC`.
    threshold : float, default=0.2
    dim_select : {'cattell', 'bic'}, default='cattell'
    n_dims : int or None, default=None
        Fix every class's intrinsic dimension.
    reg_covar : float, default=1e-6
        Added to the diagonal of each class's covariance before its
        eigen-decomposition, as :class:`~gaussmix.GaussianMixture` adds it.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    weights_ : ndarray of shape (n_classes,)
        The class proportions (priors).
    means_ : ndarray of shape (n_classes, n_features)
    components_ : ndarray of shape (n_classes, n_features, max_dim)
    signal_variances_ : ndarray of shape (n_classes, max_dim)
    noise_variances_ : ndarray of shape (n_classes,)
    dims_ : ndarray of int of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from gaussmix import HDDAClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = HDDAClassifier(reg_covar=1e-2).fit(X_train, y_train)
    >>> bool(clf.score(X_test, y_test) > 0.9)
    True
    """

    def __init__(
        self,
        *,
        model: str = "AkjBkQkDk",
        threshold: float = 0.2,
        dim_select: str = "cattell",
        n_dims: int | None = None,
        reg_covar: float = 1e-6,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.dim_select = dim_select
        self.n_dims = n_dims
        self.reg_covar = reg_covar

    def fit(self, X: Array, y: Array, sample_weight: Array | None = None):
        """Fit one subspace model per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : HDDAClassifier
        """
        subspaces = check_subspace_settings(self)
        owner = type(self).__name__
        reg_covar = check.check_float(
            "reg_covar", self.reg_covar, 0.0, True, owner=owner
        )
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        refuse_overflowing_squares(column_halves(X))
        check_classification_targets(y)
        if X.shape[1] < 2:
            raise ValueError(
                "HDDAClassifier needs at least 2 features (a subspace and the "
                f"noise around it), got n_features = {X.shape[1]}."
            )
        classes, labels = np.unique(y, return_inverse=True)
        weights = check.check_sample_weight(
            sample_weight, X.shape[0], np.float64, normalise=True
        )
        one_hot = np.zeros((X.shape[0], len(classes)))
        one_hot[np.arange(X.shape[0]), labels] = 1.0
        if weights is not None:
            one_hot *= weights[:, None]
        X64 = np.asarray(X, np.float64)
        shift = np.array([X64[labels == k].mean(0) for k in range(len(classes))])
        stats = responsibility_stats(X64, one_hot, weights, shift, "full")
        counts, means, covariances = covariance_of(stats)
        params = subspaces.m_step(counts, means, covariances, reg_covar)
        self.classes_ = classes
        subspace_attributes(self, params, X.dtype)
        return self

    def _class_densities(self, X: Array) -> tuple[np.ndarray, Any]:
        """X validated, and the classes' weights, means and covariances."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        params = fitted_subspaces(self)
        return X, (params.weights, params.means, params.covariances())

    def predict_log_proba(self, X: Array) -> np.ndarray:
        """Log-posterior of each class, (n_samples, n_classes).

        Rows far from every class, whose joint log-likelihoods all overflow,
        are compared without overflow: their posteriors are a distribution
        too, never NaN.
        """
        X, classes = self._class_densities(X)
        return log_responsibilities(X, *classes)[1]

    def predict_proba(self, X: Array) -> np.ndarray:
        """Posterior probability of each class, (n_samples, n_classes)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Array) -> np.ndarray:
        """The most probable class of each row, shape (n_samples,)."""
        log_proba = self.predict_log_proba(X)
        return self.classes_[np.argmax(log_proba, axis=1)]

    def decision_function(self, X: Array) -> np.ndarray:
        """``log p(class) + log p(x | class)``, (n_samples, n_classes).

        With two classes, the log-odds of the second, shape (n_samples,).
        """
        X, classes = self._class_densities(X)
        joint = mixture_log_prob(X, *classes)
        if len(self.classes_) != 2:
            return joint
        with np.errstate(invalid="ignore"):
            margin = joint[:, 1] - joint[:, 0]
        # rows far from both classes: -inf - -inf; the log-odds are the
        # difference of the log-posteriors, which compare the classes
        # without overflow (and are +-inf only beyond float64's range)
        far = np.flatnonzero(np.isnan(margin))
        if far.size:
            _, log_post = log_responsibilities(X[far], *classes)
            margin[far] = log_post[:, 1] - log_post[:, 0]
        return margin
