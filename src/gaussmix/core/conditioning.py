"""Marginal and conditional mixtures of a Gaussian mixture.

Marginalising a Gaussian mixture keeps its weights and takes the matching
blocks of every component; conditioning some variables on observed values
gives, per row, a mixture of the remaining variables whose weights are the
responsibilities of the inputs' marginal mixture and whose components are the
Gaussian conditionals

    mean_k(x) = mu_O,k + Sigma_OI,k Sigma_II,k^-1 (x - mu_I,k)
    cov_k     = Sigma_OO,k - Sigma_OI,k Sigma_II,k^-1 Sigma_IO,k .

scikit-learn's four covariance types keep their structure: ``full`` and
``tied`` stay full and tied, and ``diag`` and ``spherical`` components make
inputs and outputs independent, so their conditional means do not depend on
the inputs and only the weights do. Any other registered family is handled
through its full covariance matrices.

Everything here is float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from gaussmix.core.covariance import get_family
from gaussmix.core.covariance.base import LOG_2PI, symmetric
from gaussmix.core.covariance.full import FullRepresentation
from gaussmix.core.estep import log_responsibilities
from gaussmix.core.params import MixtureParams

#: Families whose structure survives marginalisation and conditioning.
STRUCTURED_TYPES = ("full", "tied", "diag", "spherical")


@dataclass(frozen=True)
class ConditionalMixture:
    """A Gaussian mixture over some variables, one per conditioning row.

    Every row has its own weights and means; the covariances do not depend
    on the conditioning values and are shared by all rows.

    Attributes
    ----------
    weights : ndarray of shape (n_rows, n_components)
        Posterior probability of each component given the row's inputs;
        each row sums to one.
    means : ndarray of shape (n_rows, n_components, n_outputs)
    covariances : ndarray
        In the layout of ``covariance_type``: full (K, d, d), tied (d, d),
        diag (K, d), spherical (K,), with ``d = n_outputs``.
    covariance_type : str
        One of ``'full'``, ``'tied'``, ``'diag'``, ``'spherical'``.
    output_indices : tuple of int
        Columns of the original mixture that the outputs are.

    Examples
    --------
    A mixture of two correlated components, conditioned on its first variable:

    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> gmm = GaussianMixture.from_params(
    ...     weights=[0.5, 0.5],
    ...     means=[[0.0, 0.0], [4.0, 4.0]],
    ...     covariances=[[[1.0, 0.8], [0.8, 1.0]], np.eye(2)],
    ... )
    >>> given = gmm.condition([0], [[0.0], [4.0]])  # p(x1 | x0), at x0 = 0 and 4
    >>> given.n_rows, given.n_components, given.n_outputs
    (2, 2, 1)
    >>> given.weights.round(3)  # each row: p(component | x0)
    array([[1., 0.],
           [0., 1.]])
    >>> given.mean().round(1), given.std().round(1)
    (array([[0.],
           [4.]]), array([[0.6],
           [1. ]]))
    >>> given.log_prob(np.array([[0.0], [4.0]])).round(3)
    array([-0.408, -0.919])
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str
    output_indices: tuple[int, ...]

    @property
    def n_rows(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_components(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.means.shape[2])

    def full_covariances(self) -> np.ndarray:
        """The component covariances as an (n_components, d, d) array."""
        family = get_family(self.covariance_type)
        return family.full_covariances(
            self.covariances, self.n_components, self.n_outputs
        )

    def mean(self) -> np.ndarray:
        """Mean of each row's mixture, shape (n_rows, n_outputs)."""
        return np.einsum("nk,nkd->nd", self.weights, self.means)

    def covariance(self) -> np.ndarray:
        """Covariance of each row's mixture, shape (n_rows, d, d).

        The law of total covariance: the weighted component covariances plus
        the spread of the component means about the row's mean (taken about
        that mean rather than as ``E[yy^T] - m m^T``, which cancels).
        """
        spread = self.means - self.mean()[:, None, :]
        within = np.einsum("nk,kij->nij", self.weights, self.full_covariances())
        between = np.einsum("nk,nki,nkj->nij", self.weights, spread, spread)
        return symmetric(within + between)

    def variance(self) -> np.ndarray:
        """Variance of each output per row, shape (n_rows, n_outputs).

        ``inf`` where it exceeds float64's range (see :meth:`std`).
        """
        with np.errstate(over="ignore"):
            return self.std() ** 2

    def std(self) -> np.ndarray:
        """Standard deviation of each output per row, shape (n_rows, n_outputs).

        The law of total variance, taken in units of a power of two near the
        largest term so that rows far from the data, whose component means
        spread over 1e200, keep a finite deviation.
        """
        spread = self.means - self.mean()[:, None, :]
        component = np.diagonal(self.full_covariances(), axis1=-2, axis2=-1)
        # sqrt(w_k) * spread: a component of weight zero adds nothing, even
        # where its mean is infinitely far
        weighted = np.sqrt(self.weights)[:, :, None] * spread
        largest = np.maximum(
            np.abs(weighted).max(axis=1), np.sqrt(component.max(axis=0))
        )
        unit = np.ldexp(1.0, np.frexp(largest)[1])[:, None, :]
        with np.errstate(under="ignore"):
            within = np.einsum("nk,nkd->nd", self.weights, (component / unit) / unit)
            between = ((weighted / unit) ** 2).sum(axis=1)
        total = within + between
        return unit[:, 0, :] * np.sqrt(total)

    def log_prob(self, Y: np.ndarray) -> np.ndarray:
        """Log-density of row ``i`` of ``Y`` under row ``i``'s mixture.

        Parameters
        ----------
        Y : array-like of shape (n_rows, n_outputs)

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim == 1 and self.n_outputs == 1:
            Y = Y[:, None]
        if Y.shape != (self.n_rows, self.n_outputs):
            raise ValueError(
                f"Y must have shape ({self.n_rows}, {self.n_outputs}), one row "
                f"per conditioning row, got {Y.shape}."
            )
        factors = FullRepresentation.precision_cholesky(self.full_covariances())
        whitened = np.einsum("nkd,kde->nke", Y[:, None, :] - self.means, factors)
        log_det = np.log(np.diagonal(factors, axis1=-2, axis2=-1)).sum(-1)
        log_components = (
            -0.5 * (self.n_outputs * LOG_2PI + (whitened * whitened).sum(-1)) + log_det
        )
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights)
        return logsumexp(log_weights + log_components, axis=1)

    def sample(
        self, n_samples: int = 1, random_state: np.random.RandomState | None = None
    ) -> np.ndarray:
        """Draws from each row's mixture, shape (n_rows, n_samples, n_outputs)."""
        rng = random_state if random_state is not None else np.random.RandomState()
        cumulative = np.cumsum(self.weights, axis=1)
        uniform = rng.uniform(size=(self.n_rows, n_samples, 1))
        # the last column is clipped so rounding of the cumulative sum never
        # sends a draw past the final component
        chosen = np.minimum(
            (uniform > cumulative[:, None, :]).sum(-1), self.n_components - 1
        )
        lower = np.linalg.cholesky(self.full_covariances())
        noise = rng.standard_normal(size=(self.n_rows, n_samples, self.n_outputs))
        rows = np.arange(self.n_rows)[:, None]
        centres = self.means[rows, chosen]
        return centres + np.einsum("nsij,nsj->nsi", lower[chosen], noise)

    def rescaled(self, scale: np.ndarray, offset: np.ndarray) -> ConditionalMixture:
        """The mixture of ``offset + scale * y`` (per-output scale and offset).

        Spherical components stay spherical only when every output has the
        same scale; otherwise they become diagonal.
        """
        scale = np.asarray(scale, dtype=np.float64)
        offset = np.asarray(offset, dtype=np.float64)
        means = offset + scale * self.means
        covariance_type = self.covariance_type
        covariances = np.asarray(self.covariances, dtype=np.float64)
        if covariance_type in ("full", "tied"):
            covariances = covariances * np.multiply.outer(scale, scale)
        elif covariance_type == "diag":
            covariances = covariances * scale**2
        elif np.all(scale == scale[0]):
            covariances = covariances * scale[0] ** 2
        else:
            covariance_type = "diag"
            covariances = covariances[:, None] * scale**2
        return ConditionalMixture(
            self.weights, means, covariances, covariance_type, self.output_indices
        )


def check_indices(
    indices: Sequence[int], n_features: int, name: str, allow_all: bool = True
) -> np.ndarray:
    """``indices`` as a 1-D int array of distinct columns in ``[0, n_features)``."""
    array = np.asarray(indices)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty list of column indices.")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integer column indices, got {indices!r}.")
    if array.min() < 0 or array.max() >= n_features:
        raise ValueError(
            f"{name} must lie in [0, {n_features}) for a mixture of "
            f"{n_features} variables, got {array.tolist()}."
        )
    if len(np.unique(array)) != array.size:
        raise ValueError(f"{name} must not repeat a column, got {array.tolist()}.")
    if not allow_all and array.size == n_features:
        raise ValueError(
            f"{name} must leave at least one variable to condition on it; it "
            f"lists all {n_features}."
        )
    return array.astype(np.intp)


def _structured(params: MixtureParams) -> tuple[str, np.ndarray]:
    """The covariance type and covariances, as full matrices if unstructured."""
    params = params.to_numpy()
    name = params.family.name
    if name in STRUCTURED_TYPES:
        return name, params.covariances
    return "full", params.family.full_covariances(
        params.covariances, params.n_components, params.n_features
    )


def _covariance_block(
    covariance_type: str, covariances: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    if covariance_type == "full":
        return covariances[:, rows[:, None], cols[None, :]]
    if covariance_type == "tied":
        return covariances[rows[:, None], cols[None, :]]
    if covariance_type == "diag":
        return covariances[:, rows]
    return covariances


def marginal_params(params: MixtureParams, indices: Sequence[int]) -> MixtureParams:
    """The mixture of the variables ``indices`` (in that order), float64.

    The weights are unchanged; each component keeps the matching block of its
    mean and covariance, in the same covariance type (an unstructured family
    gives ``'full'``).
    """
    columns = check_indices(indices, params.n_features, "indices")
    covariance_type, covariances = _structured(params)
    block = _covariance_block(covariance_type, covariances, columns, columns)
    family = get_family(covariance_type)
    return MixtureParams(
        weights=np.asarray(params.weights, dtype=np.float64),
        means=np.asarray(params.means, dtype=np.float64)[:, columns],
        covariances=block,
        precisions_cholesky=family.precision_cholesky(block),
        covariance_type=covariance_type,
    )


def check_values(values: object, n_inputs: int) -> np.ndarray:
    """Conditioning values as a finite float64 array (n_rows, n_inputs)."""
    array = np.asarray(values)
    if np.iscomplexobj(array) or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise TypeError("values must be real numbers.")
    array = array.astype(np.float64)
    if array.ndim != 2:
        raise ValueError(
            f"values must be 2-D (n_rows, {n_inputs}), one row per condition; "
            f"got shape {array.shape}. Reshape a single row with "
            "values.reshape(1, -1)."
        )
    if array.shape[1] != n_inputs:
        raise ValueError(
            f"values has {array.shape[1]} columns but {n_inputs} input indices "
            "were given; give one column per input index."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("values contains NaN or infinity; give finite values.")
    return array


def condition(
    params: MixtureParams, input_indices: Sequence[int], values: object
) -> ConditionalMixture:
    """The mixture of the remaining variables given the inputs' values.

    Parameters
    ----------
    params : MixtureParams
        The joint mixture over ``n_features`` variables.
    input_indices : sequence of int
        Columns observed; ``values`` gives them in this order.
    values : array-like of shape (n_rows, len(input_indices))

    Returns
    -------
    ConditionalMixture
        Over the remaining columns in increasing order, one mixture per row.
    """
    inputs = check_indices(
        input_indices, params.n_features, "input_indices", allow_all=False
    )
    x = check_values(values, inputs.size)
    outputs = np.setdiff1d(np.arange(params.n_features), inputs)
    input_params = marginal_params(params, inputs)
    _, log_resp = log_responsibilities(x, input_params)

    covariance_type, covariances = _structured(params)
    means = np.asarray(params.means, dtype=np.float64)
    out_means = means[:, outputs]
    out_block = _covariance_block(covariance_type, covariances, outputs, outputs)
    if covariance_type in ("diag", "spherical"):
        conditional_means = np.broadcast_to(
            out_means, (x.shape[0], *out_means.shape)
        ).copy()
        conditional_covariances = out_block
    else:
        cross = _covariance_block(covariance_type, covariances, inputs, outputs)
        # coefficients^T = Sigma_II^-1 Sigma_IO, shape (..., d_in, d_out)
        coefficients = np.linalg.solve(input_params.covariances, cross)
        conditional_covariances = symmetric(
            out_block - np.swapaxes(cross, -1, -2) @ coefficients
        )
        offsets = x[:, None, :] - input_params.means[None, :, :]
        if covariance_type == "tied":
            shifts = offsets @ coefficients
        else:
            shifts = np.einsum("nki,kio->nko", offsets, coefficients)
        conditional_means = out_means[None, :, :] + shifts
    return ConditionalMixture(
        weights=np.exp(log_resp),
        means=conditional_means,
        covariances=conditional_covariances,
        covariance_type=covariance_type,
        output_indices=tuple(int(i) for i in outputs),
    )
