"""What a fitted low-rank-plus-diagonal mixture does: densities, labels, samples.

Shared by MixtureOfFactorAnalyzers and HDDC; each provides
``_lowrank_covariances()`` and ``_n_parameters()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array
from gaussmix.core.lowrank import LowRankCovariances, log_responsibilities
from gaussmix.models import validation as check
from gaussmix.models._fitted_mixture import InformationCriteriaMixin
from gaussmix.models._inputs import apply_by_rows


class LowRankMixtureMixin(InformationCriteriaMixin):
    """Inference methods of a fitted mixture with low-rank covariances.

    ``n_parameters``, ``bic`` and ``aic`` are the Gaussian mixtures'; the
    estimators count their own free parameters (``_n_parameters``).
    """

    def __sklearn_tags__(self):
        # transform gives per-component coordinates; scikit-learn's checks
        # of transformers run on them
        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

    def _lowrank_covariances(self) -> LowRankCovariances:
        raise NotImplementedError

    def _n_parameters(self) -> int:
        raise NotImplementedError

    def _by_rows(self, X: Array, function, n_outputs: int | None) -> Any:
        check_is_fitted(self)
        return apply_by_rows(self, X, function, n_outputs, self.means_.dtype)

    def _log_responsibilities(self, X: Array, part: int) -> Any:
        """``log p(x_i)`` (``part=0``, one per row) or the rows'
        log-responsibilities (``part=1``), exact for rows far from every
        component (:func:`~gaussmix.core.lowrank.log_responsibilities`)."""
        cov = self._lowrank_covariances()

        def rows(chunk: np.ndarray) -> np.ndarray:
            return log_responsibilities(chunk, self.weights_, self.means_, cov)[part]

        return self._by_rows(X, rows, None if part == 0 else len(self.weights_))

    def score_samples(self, X: Array) -> np.ndarray:
        """Log-density of each row under the mixture, shape (n_samples,).

        ``-inf`` for a row so far from every component that its density is
        below float64's range.
        """
        return self._log_responsibilities(X, 0)

    def score(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> float:
        """Average log-likelihood of the rows (weighted when weights are given)."""
        values = np.asarray(self.score_samples(X))
        if sample_weight is None:
            return float(values.mean())
        weights = check.check_sample_weight(
            sample_weight, len(values), np.float64, normalise=True
        )
        return float(np.average(values, weights=weights))

    def predict_proba(self, X: Array) -> np.ndarray:
        """Posterior probability of each component, (n_samples, n_components).

        Every row sums to one, however far it lies from the components.
        """
        log_resp = np.asarray(self._log_responsibilities(X, 1))
        return np.exp(log_resp).astype(self.means_.dtype)

    def predict(self, X: Array) -> np.ndarray:
        """Most likely component of each row, shape (n_samples,)."""
        return np.argmax(self._log_responsibilities(X, 1), axis=1)

    def fit_predict(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> np.ndarray:
        """Fit the mixture and return the most likely component of each row."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    def fit_transform(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> np.ndarray:
        """Fit the mixture and return ``transform(X)``."""
        return self.fit(X, y, sample_weight=sample_weight).transform(X)

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw rows from the fitted mixture, in O(D q) per row.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component each row came from.
        """
        check_is_fitted(self)
        n_samples = check.check_n_samples(n_samples)
        rng = check_random_state(self.random_state)
        cov = self._lowrank_covariances()
        counts = rng.multinomial(n_samples, np.asarray(self.weights_, np.float64))
        n_features = self.means_.shape[1]
        blocks = []
        for k, count in enumerate(counts):
            # U diag(c) U^T has the square root U diag(sqrt c) when c >= 0;
            # negative c (HDDC with a shared noise) needs the dense factor
            coefficients = cov.coefficients[k]
            if np.all(coefficients >= 0):
                latent = rng.standard_normal((count, len(coefficients)))
                low = (latent * np.sqrt(coefficients)) @ cov.basis[k].T
                noise = rng.standard_normal((count, n_features)) * np.sqrt(cov.noise[k])
                blocks.append(self.means_[k] + low + noise)
            else:
                dense = cov.dense()[k]
                blocks.append(rng.multivariate_normal(self.means_[k], dense, count))
        X = np.vstack(blocks).astype(self.means_.dtype, copy=False)
        y = np.concatenate([np.full(c, k, dtype=int) for k, c in enumerate(counts)])
        return X, y
