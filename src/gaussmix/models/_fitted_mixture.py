"""What a fitted mixture does: densities, labels, samples, criteria, conditionals.

Kept apart from fitting so that each module stays small; GaussianMixture
inherits these methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.covariance import available_families, get_family
from gaussmix.core.criteria import aic, bic
from gaussmix.core.estep import (
    likeliest_components,
    log_responsibilities,
    weighted_log_prob,
)
from gaussmix.core.noise import noisy_log_prob, noisy_log_responsibilities
from gaussmix.core.params import MixtureParams
from gaussmix.fit.chunks import resolve_chunk_size, row_slices
from gaussmix.models import validation as check
from gaussmix.models._inputs import apply_by_rows
from gaussmix.models.tensors import is_tensor, numpy_dtype


class FittedMixtureMixin:
    """Methods of a fitted Gaussian mixture.

    Expects ``weights_``, ``means_``, ``covariances_``,
    ``precisions_cholesky_``, ``covariance_type``, ``chunk_size`` and
    ``random_state`` on the instance; the fitted attributes define the
    mixture, whatever the hyperparameters were set to since the fit.
    """

    def _fitted_covariance_type(self) -> str:
        """The covariance family of the fitted attributes.

        ``set_params`` may change ``covariance_type`` after a fit; until the
        next fit the fitted attributes, not the hyperparameters, define the
        model. Models restored from files written before the family was
        recorded use ``covariance_type``, which their files check.
        """
        fitted = getattr(self, "_covariance_type_fitted", None)
        if isinstance(fitted, str) and fitted in available_families():
            return fitted
        return self.covariance_type

    def _fitted_matches(self, n_components: int, n_features: int) -> bool:
        """Whether a previous fit has these shapes and the current family."""
        if not hasattr(self, "converged_"):
            return False
        return (
            tuple(self.means_.shape) == (n_components, n_features)
            and self._fitted_covariance_type() == self.covariance_type
        )

    def _check_continuable(
        self, wanted: dict[str, Any], fitted_extra: dict[str, Any] | None = None
    ) -> None:
        """Raise unless partial_fit can continue the fitted mixture.

        ``wanted`` holds the validated settings that must equal the fitted
        model's: its size and covariance type, and ``fitted_extra``.
        """
        fitted = {
            "n_components": len(self.weights_),
            "covariance_type": self._fitted_covariance_type(),
            **(fitted_extra or {}),
        }
        for name, value in fitted.items():
            if wanted[name] != value:
                raise ValueError(
                    f"{name}={wanted[name]!r} but the fitted mixture has "
                    f"{name}={value!r}; partial_fit continues the fitted mixture. "
                    f"Call fit to start a new one with {name}={wanted[name]!r}, "
                    f"or set {name} back to {value!r}."
                )

    def mixture_params(self) -> MixtureParams:
        """The fitted mixture as one value: weights, means, covariances.

        Returns
        -------
        MixtureParams
            float64 numpy arrays; ``GaussianMixture.from_params`` or
            ``precisions_init`` accept them back, and
            :mod:`gaussmix.core` functions take them as they are.
        """
        check_is_fitted(self)
        return MixtureParams(
            weights=self.weights_,
            means=self.means_,
            covariances=self.covariances_,
            precisions_cholesky=self.precisions_cholesky_,
            covariance_type=self._fitted_covariance_type(),
        ).to_numpy()

    def _set_params_from(
        self, params: MixtureParams, dtype: Any, like: Array | None = None
    ) -> None:
        """Set the fitted attributes, as numpy or on ``like``'s device.

        Arrays are stored C-contiguous so that a model and its saved copy
        compute with the same memory layout, hence bit for bit the same.
        """
        params = params.to_numpy(dtype).contiguous()
        precisions = params.family.precisions(
            params.precisions_cholesky.astype(np.float64)
        ).astype(dtype)
        if like is not None:
            params = params.cast(like)
            precisions = get_backend(like).asarray(precisions, like=like)
        self.weights_ = params.weights
        self.means_ = params.means
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = precisions
        self._covariance_type_fitted = params.covariance_type

    # ------------------------------------------------------------------
    # inference
    def _fitted_params(self, like: Array) -> MixtureParams:
        check_is_fitted(self)
        params = MixtureParams(
            self.weights_,
            self.means_,
            self.covariances_,
            self.precisions_cholesky_,
            self._fitted_covariance_type(),
        )
        if is_tensor(self.means_) and not is_tensor(like):
            params = params.to_numpy()
        return params.cast(like)

    def _log_noise(self) -> float | None:
        """``log pi_0 - log V`` of a fit with noise; None without noise."""
        volume = getattr(self, "noise_volume_", None)
        if volume is None:
            return None
        with np.errstate(divide="ignore"):
            return float(np.log(self.noise_proportion_) - np.log(volume))

    def _apply(
        self, X: Array, row_function, per_component: bool, extra_columns: int = 0
    ) -> Any:
        """``row_function(chunk, params)`` over validated rows of X, chunk by chunk.

        The function returns one value per row, or one per row and component
        (plus ``extra_columns``) when ``per_component``.
        """
        check_is_fitted(self)
        n_components = len(self.weights_)
        model_dtype = np.dtype(numpy_dtype(self.means_))
        width = self._row_width()

        def on_array(A: Array) -> Array:
            if isinstance(A, np.ndarray) and A.dtype.itemsize < model_dtype.itemsize:
                # a float64 model scores float32 rows in float64, as numpy
                # promotes them: its parameters may not fit float32
                A = A.astype(model_dtype)
            size = resolve_chunk_size(self.chunk_size, width, 1, A)
            params = self._fitted_params(A)
            parts = [
                row_function(A[rows], params) for rows in row_slices(A.shape[0], size)
            ]
            return get_backend(A).concatenate(parts, axis=0)

        n_outputs = n_components + extra_columns if per_component else None
        # rows from files and dask arrays come in the slices numpy rows in
        # memory are cut into, so that each row gives the same bits
        return apply_by_rows(
            self,
            X,
            on_array,
            n_outputs,
            model_dtype,
            chunk_rows=self._host_chunk_rows(),
        )

    def _row_width(self) -> int:
        """Numbers a scored row takes in the fitted family's E-step."""
        family = get_family(self._fitted_covariance_type())
        return family.row_width(len(self.weights_), self.means_.shape[1])

    def _host_chunk_rows(self) -> int:
        """Rows per slice of numpy rows scored in memory."""
        return resolve_chunk_size(self.chunk_size, self._row_width(), 1)

    def _estimate_weighted_log_prob(self, X: Array) -> Any:
        return self._apply(X, weighted_log_prob, per_component=True)

    def score_samples(self, X: Array) -> Any:
        """Log-density of each row under the mixture, shape (n_samples,).

        Tensors give tensors on their device, dask arrays give dask arrays,
        everything else numpy arrays. With a noise component the density is
        ``noise_proportion_ / noise_volume_`` plus the Gaussians'.
        """
        log_noise = self._log_noise()
        if log_noise is not None:
            return self._apply(
                X,
                lambda x, p: noisy_log_responsibilities(x, p, log_noise)[0],
                per_component=False,
            )
        return self._apply(
            X, lambda x, p: log_responsibilities(x, p)[0], per_component=False
        )

    def score(
        self, X: Array, y: Any = None, sample_weight: Array | None = None
    ) -> float:
        """Average log-likelihood of the rows (weighted when weights are given)."""
        values = self.score_samples(X)
        values = np.asarray(get_backend(values).to_numpy(values))
        if sample_weight is None:
            return float(values.mean())
        weights = check.check_sample_weight(
            sample_weight, len(values), np.float64, normalise=True
        )
        return float(np.average(values, weights=weights))

    def predict_proba(self, X: Array) -> Any:
        """Posterior probability of each component, shape (n_samples, n_components).

        With a noise component, shape (n_samples, n_components + 1): the
        last column is the noise's (mclust's ``z``).
        """
        log_noise = self._log_noise()
        if log_noise is not None:
            return self._apply(
                X,
                lambda x, p: get_backend(x).exp(
                    noisy_log_responsibilities(x, p, log_noise)[1]
                ),
                per_component=True,
                extra_columns=1,
            )
        return self._apply(
            X,
            lambda x, p: get_backend(x).exp(log_responsibilities(x, p)[1]),
            per_component=True,
        )

    def predict(self, X: Array) -> Any:
        """Most likely component of each row, shape (n_samples,).

        With a noise component, -1 for rows whose likeliest is the noise.
        """
        log_noise = self._log_noise()
        if log_noise is not None:
            return self._apply(
                X,
                lambda x, p: _noisy_labels(x, p, log_noise),
                per_component=False,
            )
        return self._apply(X, likeliest_components, per_component=False)

    def sample(self, n_samples: int = 1) -> tuple[Array, Array]:
        """Draw rows from the fitted mixture.

        Draws are made on the host with ``random_state``; after a torch fit
        they are returned as tensors on the attributes' device. With a noise
        component, the rows are drawn from the Gaussian components alone,
        their weights renormalised.

        Returns
        -------
        X : ndarray or Tensor of shape (n_samples, n_features)
        y : ndarray or Tensor of shape (n_samples,)
            The component each row came from.

        Raises
        ------
        ValueError
            With a noise component that holds all the weight (``weights_``
            all zero): there is no Gaussian component to draw from.
        """
        check_is_fitted(self)
        n_samples = check.check_n_samples(n_samples)
        rng = check_random_state(self.random_state)
        xp = get_backend(self.means_)
        means = xp.to_numpy(self.means_)
        weights = np.asarray(xp.to_numpy(self.weights_), np.float64)
        # with noise the Gaussians' weights sum to 1 - noise_proportion_;
        # only they are sampled (the noise's region is not kept)
        if self._log_noise() is not None:
            total = float(weights.sum())
            if not 0.0 < total < np.inf:
                # renormalising would divide 0 by 0; the uniform noise cannot
                # stand in, as only its volume and extents are kept, not where
                # its region lies
                raise ValueError(
                    "the noise component holds all of this mixture's weight "
                    f"(noise_proportion_={float(self.noise_proportion_):.6g}, "
                    "weights_ all zero): sample draws from the Gaussian "
                    "components alone and none has any weight. Refit in units "
                    "where reg_covar does not dominate the data (for example "
                    "with reg_covar_scale='variance'), or without noise."
                )
            weights = weights / total
        counts = rng.multinomial(n_samples, weights)
        n_components, n_features = means.shape
        family = get_family(self._fitted_covariance_type())
        covariances = np.asarray(xp.to_numpy(self.covariances_), dtype=np.float64)
        if family.matrix_layout:
            covariances = family.full_covariances(covariances, n_components, n_features)
        blocks = []
        for k, (mean, count) in enumerate(zip(means, counts, strict=False)):
            if family.matrix_layout:
                blocks.append(rng.multivariate_normal(mean, covariances[k], int(count)))
            else:
                scale = np.sqrt(covariances[k])
                blocks.append(
                    mean + rng.standard_normal(size=(count, n_features)) * scale
                )
        X = np.vstack(blocks).astype(means.dtype, copy=False)
        y = np.concatenate([np.full(c, k, dtype=int) for k, c in enumerate(counts)])
        return xp.asarray(X, like=self.means_), xp.asarray(y, like=self.means_)

    @staticmethod
    def supported_covariance_types() -> list[str]:
        """Names accepted by ``covariance_type``."""
        return available_families()

    # ------------------------------------------------------------------
    # conditioning and marginals
    def condition(self, input_indices: Sequence[int], values: Array):
        """The mixture of the other variables given some variables' values.

        Parameters
        ----------
        input_indices : sequence of int
            Columns whose values are known, in the order of ``values``.
        values : array-like of shape (n_rows, len(input_indices))

        Returns
        -------
        ConditionalMixture
            Per row, the weights (n_rows, n_components) and means
            (n_rows, n_components, n_outputs) of the mixture of the remaining
            columns (in increasing order), with covariances shared by all rows.
        """
        from gaussmix.core.conditioning import condition

        return condition(self.mixture_params(), input_indices, values)

    def marginal(self, indices: Sequence[int]) -> Any:
        """The fitted mixture of the variables ``indices`` (in that order).

        Returns
        -------
        GaussianMixture
            Same weights and covariance type (an unstructured family gives
            ``'full'``), ``len(indices)`` features.
        """
        from gaussmix.core.conditioning import marginal_params

        params = marginal_params(self.mixture_params(), indices)
        # a variational fit's marginal is a fitted mixture of the point estimate
        factory = getattr(type(self), "from_params", None)
        if factory is None:
            from gaussmix.models.gaussian_mixture import GaussianMixture

            factory = GaussianMixture.from_params
        return factory(
            params.weights,
            params.means.astype(self.means_.dtype),
            params.covariances,
            params.covariance_type,
            random_state=self.random_state,
        )


class InformationCriteriaMixin:
    """BIC and AIC of a mixture fitted by maximum likelihood."""

    def _n_parameters(self) -> int:
        """Free parameters of the fitted model."""
        n_components, n_features = self.means_.shape
        family = get_family(self._fitted_covariance_type())
        # the noise proportion is one more free parameter; V is the data's
        extra = 1 if getattr(self, "noise_volume_", None) is not None else 0
        return family.n_parameters(n_components, n_features) + extra

    def n_parameters(self) -> int:
        """Free parameters: weights, means and the covariance family's."""
        check_is_fitted(self)
        return self._n_parameters()

    def bic(self, X: Array) -> float:
        """Bayesian information criterion on X (lower is better)."""
        n = np.shape(X)[0]
        return bic(self.score(X) * n, self._n_parameters(), n)

    def aic(self, X: Array) -> float:
        """Akaike information criterion on X (lower is better)."""
        return aic(self.score(X) * np.shape(X)[0], self._n_parameters())


def _noisy_labels(X: Array, params: MixtureParams, log_noise: float) -> Array:
    """Likeliest column of each row, the noise's (the last) as -1."""
    xp = get_backend(X)
    labels = xp.argmax(noisy_log_prob(X, params, log_noise), axis=1)
    return xp.where(labels == params.n_components, -1, labels)
