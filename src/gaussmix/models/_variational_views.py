"""What a variational fit offers beyond the expected log-densities.

The number of components in use, and the posterior predictive density: a
mixture of multivariate Student-t distributions (Bishop 2006, eq. 10.81),
heavier-tailed than the plug-in Gaussian mixture because it integrates over
the uncertainty of each component's mean and precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.student import student_log_prob


class VariationalViewsMixin:
    """Methods of a fitted BayesianGaussianMixture beyond scikit-learn's."""

    def effective_n_components(self, threshold: float = 0.01) -> int:
        """Components whose posterior mean weight exceeds ``threshold``.

        With a Dirichlet-process prior the weights of components the data
        do not need fall far below any sensible threshold; the count is the
        number of clusters the fit found.
        """
        check_is_fitted(self)
        weights = np.asarray(get_backend(self.weights_).to_numpy(self.weights_))
        return int(np.count_nonzero(weights > threshold))

    def _predictive_log_prob(self, X: Array) -> Any:
        """``log w_k + log St(x | m_k, L_k, nu_k + 1 - D)`` per row and component."""
        posterior = self._current_posterior()
        point = posterior.point_params()
        n_features = posterior.n_features
        beta = posterior.mean_precision
        nu = np.broadcast_to(posterior.degrees_of_freedom, beta.shape)
        dof = nu + 1.0 - n_features
        # the Student-t's precision is the point precision divided by this
        scale = nu * (1.0 + beta) / (dof * beta)

        def rows(chunk: Array, _params: Any) -> Array:
            values = np.asarray(get_backend(chunk).to_numpy(chunk), dtype=np.float64)
            log_t, _ = student_log_prob(values, point, dof, scale)
            return get_backend(chunk).asarray(log_t, dtype=chunk.dtype, like=chunk)

        return self._apply(X, rows, per_component=True)

    def predictive_score_samples(self, X: Array) -> Any:
        """Log-density of each row under the posterior predictive, (n_samples,)."""
        log_prob = self._predictive_log_prob(X)
        xp = get_backend(log_prob)
        return xp.logsumexp(log_prob, axis=1)

    def predictive_proba(self, X: Array) -> Any:
        """Component probabilities under the posterior predictive.

        Shape (n_samples, n_components); each row sums to one.
        """
        log_prob = self._predictive_log_prob(X)
        xp = get_backend(log_prob)
        values = np.asarray(xp.to_numpy(log_prob), dtype=np.float64)
        proba = np.exp(values - logsumexp(values, axis=1, keepdims=True))
        return xp.asarray(proba, dtype=log_prob.dtype, like=log_prob)
