"""Directions that show a fitted mixture's clusters (mclust's ``MclustDR``).

The kernel and the generalised eigen-problem are in
:mod:`gaussmix.core.dimension_reduction`; this module takes them from a
fitted mixture and projects rows onto the directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array
from gaussmix.core.dimension_reduction import dr_directions, dr_kernel
from gaussmix.models._arrays import full_covariances

#: Eigenvalues below this share of the largest are round-off: their
#: directions carry no difference between the clusters.
RELATIVE_EIGENVALUE_TOLERANCE = 1e-10


@dataclass(frozen=True)
class DimensionReduction:
    """The directions of a mixture's clusters (Scrucca, 2010).

    Attributes
    ----------
    eigenvalues : ndarray of shape (n_directions,)
        Decreasing; each the share of the kernel ``M`` relative to the
        marginal covariance ``Sigma`` along its direction.
    directions : ndarray of shape (n_features, n_directions)
        Column ``j`` solves ``M v = eigenvalues[j] Sigma v`` with
        ``v^T Sigma v = 1``.
    basis : ndarray of shape (n_features, n_directions)
        The directions scaled to unit length (mclust's ``basis``).
    mean : ndarray of shape (n_features,)
        The mixture's mean; ``transform`` centres the rows on it.
    kernel, marginal_covariance : ndarray of shape (n_features, n_features)
    model : object
        The fitted mixture the directions come from.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gaussmix
    >>> X = load_iris().data
    >>> model = gaussmix.GaussianMixture(3, covariance_type="VEV", random_state=0)
    >>> dr = gaussmix.dimension_reduction(model.fit(X))
    >>> dr.transform(X).shape
    (150, 4)
    >>> bool(dr.eigenvalues[0] >= dr.eigenvalues[1] >= dr.eigenvalues[-1])
    True
    """

    eigenvalues: np.ndarray
    directions: np.ndarray = field(repr=False)
    mean: np.ndarray = field(repr=False)
    kernel: np.ndarray = field(repr=False)
    marginal_covariance: np.ndarray = field(repr=False)
    model: object = field(repr=False, default=None)

    @property
    def basis(self) -> np.ndarray:
        return self.directions / np.linalg.norm(self.directions, axis=0)

    @property
    def n_directions(self) -> int:
        return int(self.eigenvalues.size)

    def transform(self, X: Array, n_directions: int | None = None) -> np.ndarray:
        """Rows projected on the directions: ``(X - mean) @ basis``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_directions : int, default=None
            The leading directions to keep (None: all).

        Returns
        -------
        ndarray of shape (n_samples, n_directions)
        """
        X = check_array(X, dtype=[np.float64, np.float32])
        if X.shape[1] != self.mean.size:
            raise ValueError(
                f"X has {X.shape[1]} features but the directions have {self.mean.size}."
            )
        basis = self.basis if n_directions is None else self.basis[:, :n_directions]
        return (np.asarray(X, np.float64) - self.mean) @ basis

    def __str__(self) -> str:
        share = self.eigenvalues / self.eigenvalues.sum()
        lines = [
            "Dimension reduction for model-based clustering",
            f"{'direction':>10}{'eigenvalue':>14}{'cumulative %':>15}",
        ]
        for j, (value, cum) in enumerate(
            zip(self.eigenvalues, 100 * np.cumsum(share), strict=True), 1
        ):
            lines.append(f"{j:10d}{value:14.6f}{cum:15.2f}")
        return "\n".join(lines)


def dimension_reduction(model: object) -> DimensionReduction:
    """The directions that show a fitted mixture's clusters (mclust's ``MclustDR``).

    Scrucca (2010): with the between-cluster covariance ``Sigma_B`` of the
    component means, the pooled within-cluster covariance ``Sigma_bar`` and
    the marginal ``Sigma = Sigma_B + Sigma_bar``, the kernel
    ``M = Sigma_B Sigma^-1 Sigma_B + sum_k pi_k (Sigma_k - Sigma_bar)
    Sigma^-1 (Sigma_k - Sigma_bar)`` holds the differences in location and
    in spread between the components; the directions solve
    ``M v = lambda Sigma v``, by decreasing ``lambda``. Directions of zero
    eigenvalue are dropped. ``Sigma`` is the mixture's own covariance, which
    for a mixture with unconstrained covariances fitted by maximum
    likelihood is the rows' covariance.

    Parameters
    ----------
    model : fitted mixture
        ``weights_``, ``means_`` and ``covariances_`` of any family.

    Returns
    -------
    DimensionReduction
        ``transform(X)`` projects rows; draw the first two directions with
        :func:`gaussmix.plot.plot_dimension_reduction`.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (100, 3)), rng.normal(0, 1, (100, 3)) + 4])
    >>> dr = gaussmix.dimension_reduction(gaussmix.GaussianMixture(2).fit(X))
    >>> dr.directions.shape[0], dr.transform(X[:5], n_directions=2).shape
    (3, (5, 2))
    """
    check_is_fitted(model, ["weights_", "means_", "covariances_"])
    weights = np.asarray(model.weights_, np.float64)
    kernel, marginal, mean = dr_kernel(
        weights / weights.sum(), np.asarray(model.means_), full_covariances(model)
    )
    values, vectors = dr_directions(kernel, marginal)
    keep = values > RELATIVE_EIGENVALUE_TOLERANCE * max(values[0], np.finfo(float).tiny)
    keep[0] = True
    return DimensionReduction(
        eigenvalues=values[keep],
        directions=vectors[:, keep],
        mean=mean,
        kernel=kernel,
        marginal_covariance=marginal,
        model=model,
    )
