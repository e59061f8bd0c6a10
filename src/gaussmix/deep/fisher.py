"""FisherVectorEncoder: a set of local descriptors as one Fisher vector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import RandomStateLike
from gaussmix.io import register_estimator
from gaussmix.io.checks_deep import check_fisher_vector_encoder
from gaussmix.models import GaussianMixture
from gaussmix.models import validation as check

DescriptorSets = Sequence[np.ndarray] | np.ndarray


@register_estimator(validate=check_fisher_vector_encoder)
class FisherVectorEncoder(TransformerMixin, BaseEstimator):
    """Fisher vectors of descriptor sets under a diagonal Gaussian mixture.

    ``fit`` learns a diagonal :class:`gaussmix.GaussianMixture` (the visual
    vocabulary) from the descriptors of all samples; ``transform`` maps each
    sample's set of ``T`` descriptors to the normalised gradient of its
    average log-likelihood with respect to the mixture's parameters
    (Perronnin et al. 2010; Sanchez et al. 2013). With responsibilities
    ``g_tk``, weights ``w_k``, means ``mu_k`` and standard deviations
    ``s_k``:

    - ``G_w[k] = sum_t (g_tk - w_k) / (T sqrt(w_k))``
    - ``G_mu[k] = sum_t g_tk (x_t - mu_k) / s_k / (T sqrt(w_k))``
    - ``G_s[k] = sum_t g_tk ((x_t - mu_k)^2 / s_k^2 - 1) / (T sqrt(2 w_k))``

    Parameters
    ----------
    n_components : int, default=16
        Components of the mixture.
    improved : bool, default=True
        Apply the improved Fisher vector's normalisation: a signed power
        ``sign(v) |v|^alpha`` followed by L2 normalisation.
    alpha : float, default=0.5
        Exponent of the signed power (0.5 is the signed square root).
    max_iter, n_init, reg_covar, tol :
        Passed to the mixture's EM.
    random_state : int, RandomState instance or None, default=None
        Seeds the mixture's EM starts; a seed gives the same fit with one
        thread or many (the E-step adds its chunks in order).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_descriptor_features)
    covariances_ : ndarray of shape (n_components, n_descriptor_features)
        The fitted diagonal mixture.
    n_descriptor_features_ : int
        Dimension ``D`` of one descriptor.

    Notes
    -----
    The output of length ``K + 2 K D`` is laid out as ``[G_w (K), G_mu (K, D)
    row-major, G_s (K, D) row-major]``. This is the layout of
    ``skimage.feature.fisher_vector``, whose variance block has the opposite
    sign (it differentiates with respect to the variance's inverse
    direction); negate ``[K + K D:]`` before its power and L2 normalisation
    to go from one to the other. Input is a list of ``(T_i, D)`` arrays
    (sets may differ in size) or a 3-D array ``(n_samples, T, D)``.

    Examples
    --------
    Sets of descriptors (here 50 of dimension 4 per sample) become vectors of
    length ``K + 2 K D``:

    >>> import numpy as np
    >>> from gaussmix.deep import FisherVectorEncoder
    >>> rng = np.random.default_rng(0)
    >>> sets = [rng.normal(size=(50, 4)) for _ in range(20)]
    >>> encoder = FisherVectorEncoder(n_components=3, random_state=0).fit(sets)
    >>> vectors = encoder.transform(sets)
    >>> vectors.shape
    (20, 27)
    >>> np.allclose(np.linalg.norm(vectors, axis=1), 1.0)  # improved: L2-normalised
    True
    """

    def __init__(
        self,
        n_components: int = 16,
        *,
        improved: bool = True,
        alpha: float = 0.5,
        max_iter: int = 100,
        n_init: int = 1,
        reg_covar: float = 1e-6,
        tol: float = 1e-3,
        random_state: RandomStateLike = None,
    ) -> None:
        self.n_components = n_components
        self.improved = improved
        self.alpha = alpha
        self.max_iter = max_iter
        self.n_init = n_init
        self.reg_covar = reg_covar
        self.tol = tol
        self.random_state = random_state

    def _descriptor_sets(self, X: Any, n_features: int | None) -> list[np.ndarray]:
        if isinstance(X, np.ndarray) and X.dtype != object:
            if X.ndim != 3:
                raise ValueError(
                    "X must be a list of (n_descriptors, n_features) arrays or a "
                    f"3-D array (n_samples, n_descriptors, n_features); got an "
                    f"array of shape {X.shape}. Wrap one set as X[None]."
                )
            sets = list(X)
        elif isinstance(X, (list, tuple, np.ndarray)):
            sets = [np.asarray(item) for item in X]
        else:
            raise TypeError(
                "X must be a list of descriptor arrays or a 3-D array, got "
                f"{type(X).__name__}."
            )
        if not sets:
            raise ValueError("X holds no descriptor sets; give at least one.")
        expected = n_features
        checked = []
        for index, descriptors in enumerate(sets):
            if descriptors.ndim != 2 or len(descriptors) == 0:
                raise ValueError(
                    f"descriptor set {index} must be a non-empty 2-D array "
                    f"(n_descriptors, n_features), got shape {descriptors.shape}."
                )
            if not np.issubdtype(descriptors.dtype, np.number):
                raise TypeError(f"descriptor set {index} must hold numbers.")
            if expected is None:
                expected = descriptors.shape[1]
            if descriptors.shape[1] != expected:
                raise ValueError(
                    f"descriptor set {index} has {descriptors.shape[1]} features "
                    f"but the others have {expected}; every descriptor must have "
                    "the same dimension."
                )
            descriptors = descriptors.astype(np.float64)
            if not np.all(np.isfinite(descriptors)):
                raise ValueError(
                    f"descriptor set {index} contains NaN or infinity; remove or "
                    "impute those descriptors."
                )
            checked.append(descriptors)
        return checked

    def fit(self, X: DescriptorSets, y: Any = None) -> FisherVectorEncoder:
        """Learn the diagonal mixture from every descriptor of every sample.

        Parameters
        ----------
        X : list of arrays of shape (n_descriptors_i, n_features) or array of
            shape (n_samples, n_descriptors, n_features)
        y : ignored

        Returns
        -------
        self : FisherVectorEncoder
        """
        if not isinstance(self.improved, (bool, np.bool_)):
            raise TypeError(f"improved must be True or False, got {self.improved!r}.")
        if check.check_float("alpha", self.alpha, 0.0, inclusive=False) > 1:
            raise ValueError(f"alpha must lie in (0, 1], got {self.alpha!r}.")
        check.check_int("n_components", self.n_components, 1)
        sets = self._descriptor_sets(X, None)
        descriptors = np.concatenate(sets)
        mixture = GaussianMixture(
            self.n_components,
            covariance_type="diag",
            max_iter=self.max_iter,
            n_init=self.n_init,
            reg_covar=self.reg_covar,
            tol=self.tol,
            random_state=self.random_state,
        ).fit(descriptors)
        self._mixture = mixture
        self.weights_ = np.asarray(mixture.weights_, dtype=np.float64)
        self.means_ = np.asarray(mixture.means_, dtype=np.float64)
        self.covariances_ = np.asarray(mixture.covariances_, dtype=np.float64)
        self.n_descriptor_features_ = int(descriptors.shape[1])
        return self

    def _responsibilities(self, descriptors: np.ndarray) -> np.ndarray:
        mixture = getattr(self, "_mixture", None)
        if mixture is None:
            # restored from plain arrays: rebuild the mixture once
            mixture = GaussianMixture.from_params(
                self.weights_, self.means_, self.covariances_, "diag"
            )
            self._mixture = mixture
        return mixture.predict_proba(descriptors)

    def _encode(self, descriptors: np.ndarray, index: int) -> np.ndarray:
        resp = self._responsibilities(descriptors)
        n_descriptors = len(descriptors)
        std = np.sqrt(self.covariances_)
        sqrt_weights = np.sqrt(self.weights_)
        occupancy = resp.mean(axis=0)
        weighted = resp[:, :, None]
        grad_weights = (occupancy - self.weights_) / sqrt_weights
        normaliser = n_descriptors * sqrt_weights[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            # centred about each mean: the uncentred form E[x^2] - mu^2 cancels
            whitened = (descriptors[:, None, :] - self.means_) / std
            grad_means = (weighted * whitened).sum(0) / normaliser
            grad_scales = (weighted * (whitened**2 - 1.0)).sum(0) / (
                np.sqrt(2.0) * normaliser
            )
        vector = np.concatenate([grad_weights, grad_means.ravel(), grad_scales.ravel()])
        if not np.all(np.isfinite(vector)):
            raise ValueError(
                f"descriptor set {index} lies about "
                f"{float(np.max(np.abs(whitened))):.3g} standard deviations from "
                "the mixture's components: its Fisher vector (squares of those "
                "distances) overflows float64. Scale the descriptors as those the "
                "encoder was fitted to, or remove the extreme ones."
            )
        if self.improved:
            vector = np.sign(vector) * np.abs(vector) ** self.alpha
            norm = np.linalg.norm(vector)
            # an all-zero vector (descriptors exactly at the model) stays zero
            vector = vector / norm if norm > 0 else vector
        return vector

    def transform(self, X: DescriptorSets) -> np.ndarray:
        """The Fisher vector of each descriptor set.

        Parameters
        ----------
        X : list of arrays of shape (n_descriptors_i, n_features) or array of
            shape (n_samples, n_descriptors, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_components * (1 + 2 * n_features))
        """
        check_is_fitted(self, "weights_")
        sets = self._descriptor_sets(X, self.n_descriptor_features_)
        return np.stack(
            [self._encode(descriptors, index) for index, descriptors in enumerate(sets)]
        )
