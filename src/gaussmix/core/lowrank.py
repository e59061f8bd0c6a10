"""Gaussian components with low-rank-plus-diagonal covariances.

Each component's covariance is

    Sigma_k = U_k diag(c_k) U_k^T + diag(psi_k),

with ``U_k`` of shape (D, q), ``c_k`` of length q and ``psi_k > 0`` of length
D. A mixture of factor analysers has ``U_k = W_k`` (the loadings) and
``c_k = 1``; HDDC has ``U_k = Q_k`` (orthonormal), ``c_kj = a_kj - b_k`` and
``psi_k = b_k``, where ``c_kj`` may be negative when the noise variance is
shared. Zero columns (or zero coefficients) pad components of smaller rank.

Densities use the Woodbury identity and the matrix determinant lemma with
``A_k = U_k^T Psi_k^-1 U_k`` and ``M_k = I + C_k A_k`` (q x q):

    Sigma_k^-1 = Psi_k^-1 - Psi_k^-1 U_k G_k U_k^T Psi_k^-1,  G_k = M_k^-1 C_k
    log |Sigma_k| = sum_j log psi_kj + log det M_k

so a row costs O(D q) per component and no D x D matrix is formed. The
E-step returns the ordinary full-scatter :class:`~gaussmix.core.stats.Stats`
(their M-step works from the scatter) or, for large D,
:class:`ProjectedStats`, the scatter seen through a q x D matrix per
component, at O(N K D q) per pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import logsumexp

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.estep import exp_without_subnormals, responsibility_stats
from gaussmix.core.stats import Stats


@dataclass(frozen=True)
class LowRankCovariances:
    """Covariances ``U_k diag(c_k) U_k^T + diag(psi_k)`` of K components.

    Attributes
    ----------
    basis : ndarray of shape (n_components, n_features, rank)
        ``U_k``.
    coefficients : ndarray of shape (n_components, rank)
        ``c_k`` (ones for factor analysers).
    noise : ndarray of shape (n_components, n_features)
        ``psi_k``, positive.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.lowrank import LowRankCovariances
    >>> cov = LowRankCovariances(np.ones((1, 3, 1)), np.ones((1, 1)), np.ones((1, 3)))
    >>> cov.dense()[0]
    array([[2., 1., 1.],
           [1., 2., 1.],
           [1., 1., 2.]])
    """

    basis: np.ndarray
    coefficients: np.ndarray
    noise: np.ndarray

    @classmethod
    def factor_analysers(
        cls, loadings: np.ndarray, noise: np.ndarray
    ) -> LowRankCovariances:
        """``W_k W_k^T + diag(psi_k)`` from loadings (K, D, q) and noise (K, D)."""
        loadings = np.asarray(loadings, np.float64)
        ones = np.ones(loadings.shape[::2])
        return cls(loadings, ones, np.asarray(noise, np.float64))

    @property
    def n_components(self) -> int:
        return self.basis.shape[0]

    def dense(self) -> np.ndarray:
        """The full covariance matrices, (n_components, n_features, n_features)."""
        scaled = self.basis * self.coefficients[:, None, :]
        full = np.einsum("kdq,keq->kde", scaled, self.basis)
        index = np.arange(self.basis.shape[1])
        full[:, index, index] += self.noise
        return full


@dataclass(frozen=True)
class Woodbury:
    """What the densities need of :class:`LowRankCovariances`, computed once.

    Attributes
    ----------
    noise_inverse : ndarray of shape (n_components, n_features)
    inner : ndarray of shape (n_components, rank, rank)
        ``G_k = M_k^-1 C_k`` (symmetric).
    log_det : ndarray of shape (n_components,)
        ``log |Sigma_k|``.
    """

    noise_inverse: np.ndarray
    inner: np.ndarray
    log_det: np.ndarray


def woodbury(cov: LowRankCovariances) -> Woodbury:
    """The Woodbury and determinant-lemma factors of ``cov``.

    Raises ValueError when a covariance is not positive definite (possible
    only with negative coefficients) or the noise is not positive.
    """
    noise = np.asarray(cov.noise, np.float64)
    if not np.all(noise > 0):
        raise ValueError("the noise variances must be positive.")
    noise_inverse = 1.0 / noise
    basis = np.asarray(cov.basis, np.float64)
    coefficients = np.asarray(cov.coefficients, np.float64)
    rank = basis.shape[2]
    gram = np.einsum("kdq,kd,kdr->kqr", basis, noise_inverse, basis)
    middle = np.eye(rank) + coefficients[:, :, None] * gram
    sign, log_det_middle = np.linalg.slogdet(middle)
    if np.any(sign <= 0):
        raise ValueError(
            "a low-rank covariance is not positive definite; its negative "
            "coefficients exceed the noise variance."
        )
    inner = np.linalg.solve(middle, np.eye(rank) * coefficients[:, None, :])
    inner = 0.5 * (inner + np.swapaxes(inner, 1, 2))
    log_det = np.log(noise).sum(1) + log_det_middle
    return Woodbury(noise_inverse, inner, log_det)


def log_gaussian(
    X: np.ndarray, means: np.ndarray, cov: LowRankCovariances
) -> np.ndarray:
    """``log N(x_i | mu_k, Sigma_k)``, shape (n_samples, n_components), float64.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import multivariate_normal
    >>> from gaussmix.core.lowrank import LowRankCovariances, log_gaussian
    >>> rng = np.random.default_rng(0)
    >>> cov = LowRankCovariances.factor_analysers(
    ...     rng.normal(size=(1, 5, 2)), np.ones((1, 5))
    ... )
    >>> X = rng.normal(size=(3, 5))
    >>> dense = multivariate_normal(np.zeros(5), cov.dense()[0]).logpdf(X)
    >>> bool(np.allclose(log_gaussian(X, np.zeros((1, 5)), cov)[:, 0], dense))
    True
    """
    X = np.asarray(X, np.float64)
    factors = woodbury(cov)
    n_features = X.shape[1]
    means = np.asarray(means, np.float64)
    centre = means.mean(0)
    if _moves_are_exact(means, centre, factors):
        squared = _batched_squared_distances(X - centre, means - centre, cov, factors)
    else:
        squared = np.column_stack(
            [
                _squared_distances(X, means[k], cov.basis[k], factors, k)
                for k in range(cov.n_components)
            ]
        )
    return -0.5 * (n_features * LOG_2PI + factors.log_det + squared)


#: Moments about one centre are moved to each component's mean while the
#: means lie within this many (noise) standard deviations of it, squared,
#: per feature: the rounding of the move stays below ~1e-16 times it.
EXACT_MOVE = 1e4


def _moves_are_exact(means, centre, factors: Woodbury) -> bool:
    offsets = (means - centre) ** 2 * factors.noise_inverse
    return bool(offsets.max(initial=0.0) <= EXACT_MOVE)


def _batched_squared_distances(centred, offsets, cov, factors: Woodbury):
    """Mahalanobis distances of all components from a few GEMMs.

    ``centred`` (N, D) are the rows about a common centre, ``offsets``
    (K, D) the means about it; O(N D (K q + 2 K)) in BLAS.
    """
    n_components, n_features, rank = cov.basis.shape
    inverse = factors.noise_inverse
    diagonal = (
        (centred * centred) @ inverse.T
        - 2.0 * centred @ (inverse * offsets).T
        + (inverse * offsets**2).sum(1)
    )
    scaled_basis = cov.basis * inverse[:, :, None]
    stacked = np.swapaxes(scaled_basis, 0, 1).reshape(n_features, -1)
    projected = (centred @ stacked).reshape(len(centred), n_components, rank)
    projected -= np.einsum("kd,kdq->kq", offsets, scaled_basis)
    inner = np.einsum("nkq,kqr->nkr", projected, factors.inner)
    return np.maximum(diagonal - (inner * projected).sum(-1), 0.0)


def _squared_distances(X, mean, basis, factors: Woodbury, k: int) -> np.ndarray:
    diff = X - mean
    scaled = diff * factors.noise_inverse[k]
    projected = scaled @ basis
    quadratic = ((projected @ factors.inner[k]) * projected).sum(1)
    return np.maximum(np.einsum("nd,nd->n", diff, scaled) - quadratic, 0.0)


def log_gaussian_gradient(
    X: np.ndarray, means: np.ndarray, cov: LowRankCovariances
) -> np.ndarray:
    """``d/dx log N(x_i | mu_k, Sigma_k) = -Sigma_k^-1 (x_i - mu_k)``.

    Returns
    -------
    ndarray of shape (n_samples, n_components, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.lowrank import LowRankCovariances, log_gaussian_gradient
    >>> cov = LowRankCovariances.factor_analysers(np.zeros((1, 2, 1)), np.ones((1, 2)))
    >>> log_gaussian_gradient(np.array([[1.0, 2.0]]), np.zeros((1, 2)), cov)
    array([[[-1., -2.]]])
    """
    X = np.asarray(X, np.float64)
    factors = woodbury(cov)
    out = np.empty((X.shape[0], cov.n_components, X.shape[1]))
    for k in range(cov.n_components):
        diff = X - means[k]
        scaled = diff * factors.noise_inverse[k]
        correction = (scaled @ cov.basis[k]) @ factors.inner[k] @ cov.basis[k].T
        out[:, k] = -(scaled - correction * factors.noise_inverse[k])
    return out


def mixture_log_prob(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, cov: LowRankCovariances
) -> np.ndarray:
    """``log w_k + log N(x_i | mu_k, Sigma_k)``, (n_samples, n_components)."""
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(weights, np.float64))
    return log_gaussian(X, means, cov) + log_weights


def _responsibilities(X, sample_weight, weights, means, cov):
    """Sample-weighted responsibilities, the rows' weights and log-densities."""
    log_prob = mixture_log_prob(X, weights, means, cov)
    log_norm = logsumexp(log_prob, axis=1)
    resp = exp_without_subnormals(log_prob - log_norm[:, None])
    row_weights = (
        np.ones(X.shape[0])
        if sample_weight is None
        else np.asarray(sample_weight, np.float64)
    )
    return resp * row_weights[:, None], row_weights, log_norm


def _with_likelihood(stats: Stats, X, row_weights, log_norm) -> Stats:
    positive = row_weights > 0
    worst = int(np.argmin(np.where(positive, log_norm, np.inf)))
    return replace(
        stats,
        log_likelihood=float(row_weights @ log_norm),
        total_weight=float(row_weights.sum()),
        worst_log_density=float(log_norm[worst]),
        worst_point=np.asarray(X[worst], np.float64),
    )


def lowrank_chunk_stats(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    weights: np.ndarray,
    means: np.ndarray,
    cov: LowRankCovariances,
) -> Stats:
    """E-step on one chunk: full-scatter Stats about the current means.

    The chunk is computed in float64 (the scatter costs O(N K D^2); use
    :func:`projected_chunk_stats` when D is large).
    """
    X = np.asarray(X, np.float64)
    counted, row_weights, log_norm = _responsibilities(
        X, sample_weight, weights, means, cov
    )
    stats = responsibility_stats(X, counted, sample_weight, means, "full")
    return _with_likelihood(stats, X, row_weights, log_norm)


@dataclass(frozen=True)
class ProjectedStats:
    """Sums of an E-step, the scatter seen through fixed matrices; they add.

    With ``B_k`` (q x D) fixed for the pass and the shift ``c_k``:

    Attributes
    ----------
    moments : Stats
        ``scatter_kind="diag"``: counts, first moments about ``c_k``, the
        diagonal of the scatter, the log-likelihood.
    projected : ndarray of shape (n_components, n_features, rank)
        ``sum_i w_i r_ik (x_i - c_k)(x_i - c_k)^T B_k^T``.
    projection : ndarray of shape (n_components, rank, n_features)
        ``B_k``.
    """

    moments: Stats
    projected: np.ndarray
    projection: np.ndarray

    def __add__(self, other: ProjectedStats) -> ProjectedStats:
        if not np.array_equal(self.projection, other.projection):
            raise ValueError("cannot add sums projected on different matrices")
        return ProjectedStats(
            self.moments + other.moments,
            self.projected + other.projected,
            self.projection,
        )

    def about_means(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Means, diagonal scatter and projected scatter about the means.

        ``S(m) = S(c) - n (m - c)(m - c)^T`` moves both the diagonal and
        ``S B^T`` exactly; the scatters are sums, not divided by the counts.
        """
        moments = self.moments
        means = moments.means()
        offset = means - moments.shift
        n = moments.resp_sum
        diagonal = moments.scatter - n[:, None] * offset**2
        moved = np.einsum("kd,kqd->kq", offset, self.projection)
        projected = self.projected - n[:, None, None] * np.einsum(
            "kd,kq->kdq", offset, moved
        )
        return means, np.maximum(diagonal, 0.0), projected


def projected_chunk_stats(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    weights: np.ndarray,
    means: np.ndarray,
    cov: LowRankCovariances,
    projection: np.ndarray,
) -> ProjectedStats:
    """E-step on one chunk at O(N K D q): :class:`ProjectedStats` about the means.

    ``projection`` (K, q, D) is ``B_k``; for factor analysers the posterior
    map ``beta_k = W_k^T Sigma_k^-1`` of the parameters of the pass.
    """
    X = np.asarray(X, np.float64)
    counted, row_weights, log_norm = _responsibilities(
        X, sample_weight, weights, means, cov
    )
    n_components, n_features = means.shape
    means = np.asarray(means, np.float64)
    centre = means.mean(0)
    if _moves_are_exact(means, centre, woodbury(cov)):
        first, diagonal, projected = _batched_projected_moments(
            X - centre, counted, means - centre, projection
        )
    else:
        first = np.empty((n_components, n_features))
        diagonal = np.empty((n_components, n_features))
        projected = np.empty((n_components, n_features, projection.shape[1]))
        for k in range(n_components):
            diff = X - means[k]
            weighted = diff * counted[:, k, None]
            first[k] = weighted.sum(0)
            diagonal[k] = np.einsum("nd,nd->d", weighted, diff)
            projected[k] = weighted.T @ (diff @ projection[k].T)
    moments = Stats(
        resp_sum=counted.sum(0),
        centred_sum=first,
        scatter=diagonal,
        shift=np.asarray(means, np.float64),
        scatter_kind="diag",
    )
    moments = _with_likelihood(moments, X, row_weights, log_norm)
    return ProjectedStats(moments, projected, np.asarray(projection, np.float64))


def _batched_projected_moments(centred, counted, offsets, projection):
    """First, diagonal and projected moments about the means, from one centre.

    Sums about the centre by GEMMs over all components, then moved: with
    ``d_k`` the offset of mean k and ``f_k`` the first moment about the
    centre, ``S_k B^T = S_c B^T - f d^T B^T - d f^T B^T + n d d^T B^T``.
    """
    n_components, rank, n_features = projection.shape
    counts = counted.sum(0)
    first_c = (counted.T @ centred).reshape(n_components, n_features)
    second_c = counted.T @ (centred * centred)
    first = first_c - counts[:, None] * offsets
    diagonal = second_c - 2.0 * offsets * first_c + counts[:, None] * offsets**2
    stacked = np.swapaxes(projection, 1, 2).transpose(1, 0, 2).reshape(n_features, -1)
    seen = (centred @ stacked).reshape(len(centred), n_components, rank)
    seen *= counted[:, :, None]
    about_c = (centred.T @ seen.reshape(len(centred), -1)).reshape(
        n_features, n_components, rank
    )
    about_c = about_c.transpose(1, 0, 2)
    seen_offset = np.einsum("kqd,kd->kq", projection, offsets)
    seen_first = np.einsum("kqd,kd->kq", projection, first_c)
    projected = (
        about_c
        - np.einsum("kd,kq->kdq", first_c, seen_offset)
        - np.einsum("kd,kq->kdq", offsets, seen_first)
        + counts[:, None, None] * np.einsum("kd,kq->kdq", offsets, seen_offset)
    )
    return first, np.maximum(diagonal, 0.0), projected
