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
from gaussmix.core.far_rows import imprecise_rows, log_responsibilities_by_differences
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
    # rows far from every component overflow here: their squares are
    # +inf (or inf - inf), and their log-density -inf
    with np.errstate(over="ignore", invalid="ignore"):
        if _moves_are_exact(means, centre, factors):
            squared, magnitude = _batched_squared_distances(
                X - centre, means - centre, cov, factors
            )
        else:
            pairs = [
                _squared_distances(X, means[k], cov.basis[k], factors, k)
                for k in range(cov.n_components)
            ]
            squared = np.column_stack([pair[0] for pair in pairs])
            magnitude = np.column_stack([pair[1] for pair in pairs])
        _redo_cancelled(X, means, cov, factors, squared, magnitude)
        squared[np.isnan(squared)] = np.inf
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
    first = (centred * centred) @ inverse.T
    last = (inverse * offsets**2).sum(1)
    diagonal = first - 2.0 * centred @ (inverse * offsets).T + last
    scaled_basis = cov.basis * inverse[:, :, None]
    stacked = np.swapaxes(scaled_basis, 0, 1).reshape(n_features, -1)
    projected = (centred @ stacked).reshape(len(centred), n_components, rank)
    projected -= np.einsum("kd,kdq->kq", offsets, scaled_basis)
    inner = np.einsum("nkq,kqr->nkr", projected, factors.inner)
    quadratic = (inner * projected).sum(-1)
    # the terms' size bounds the rounding of their sum
    magnitude = first + last + np.abs(quadratic)
    return np.maximum(diagonal - quadratic, 0.0), magnitude


def _squared_distances(X, mean, basis, factors: Woodbury, k: int):
    """One component's Mahalanobis distances by Woodbury, and the size of
    the terms that were subtracted."""
    diff = X - mean
    scaled = diff * factors.noise_inverse[k]
    projected = scaled @ basis
    quadratic = ((projected @ factors.inner[k]) * projected).sum(1)
    diagonal = np.einsum("nd,nd->n", diff, scaled)
    return np.maximum(diagonal - quadratic, 0.0), diagonal + np.abs(quadratic)


#: A Mahalanobis distance is recomputed when the rounding of the Woodbury
#: form, ``eps * magnitude / 2`` nats of log-density, could exceed this.
WOODBURY_ROUNDING_LIMIT = 1e-3


def _redo_cancelled(X, means, cov, factors: Woodbury, squared, magnitude) -> None:
    """Recompute, in place, the distances whose Woodbury form cancelled.

    ``x^T Psi^-1 x - p^T G p`` subtracts two nearly equal numbers when a row
    lies along a direction whose variance is far above the noise (a column
    in units 1e8 times the others'): its rounding is about ``eps`` times the
    terms. Those pairs of row and component are recomputed from sums of
    squares (:func:`_accurate_squared_distances`); ordinary rows keep the
    one-pass result.
    """
    eps = np.finfo(np.float64).eps
    limit = 2.0 * WOODBURY_ROUNDING_LIMIT / eps
    flagged = ~(magnitude <= limit)
    for k in np.flatnonzero(flagged.any(0)):
        rows = np.flatnonzero(flagged[:, k])
        redone = _accurate_squared_distances(X[rows] - means[k], cov, factors, k)
        if redone is not None:
            squared[rows, k] = redone


def _accurate_squared_distances(diff, cov, factors: Woodbury, k: int):
    """``diff^T Sigma_k^-1 diff`` as sums of squares, or None.

    With positive coefficients ``C`` it is the minimum over ``z`` of
    ``(d - U z)^T Psi^-1 (d - U z) + z^T C^-1 z``, reached at ``z = G p``;
    with an orthonormal basis and isotropic noise (HDDC, whose
    coefficients may be negative) it is ``sum_j (q_j^T d)^2 / a_j`` plus
    the residual's squared norm over the noise. Neither subtracts large
    numbers. Other covariances (negative coefficients on a general basis)
    have no such form: None.
    """
    basis = cov.basis[k]
    coefficients = cov.coefficients[k]
    noise = cov.noise[k]
    inverse = factors.noise_inverse[k]
    used = coefficients != 0
    if np.all(coefficients[used] > 0):
        latent = ((diff * inverse) @ basis) @ factors.inner[k]
        residual = diff - latent @ basis.T
        signal = (latent[:, used] ** 2 / coefficients[used]).sum(1)
        return np.einsum("nd,d,nd->n", residual, inverse, residual) + signal
    gram = basis[:, used].T @ basis[:, used]
    isotropic = np.all(noise == noise[0])
    if not (isotropic and np.allclose(gram, np.eye(len(gram)), atol=1e-10)):
        return None
    projected = diff @ basis[:, used]
    residual = diff - projected @ basis[:, used].T
    variances = coefficients[used] + noise[0]
    signal = (projected**2 / variances).sum(1)
    return np.einsum("nd,nd->n", residual, residual) * inverse[0] + signal


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


def log_responsibilities(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, cov: LowRankCovariances
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-density ``log p(x_i)`` and log-responsibilities.

    Rows far from every component, whose log-densities overflow or are too
    large for their differences to survive rounding, are recomputed
    without overflow (:func:`_exact_far_rows`): their log-density is
    ``-inf`` only where it lies below float64's range, and their
    responsibilities are a distribution, never NaN.

    Returns
    -------
    log_norm : ndarray of shape (n_samples,)
    log_resp : ndarray of shape (n_samples, n_components)
        Finite or ``-inf``; their exponentials sum to one in every row.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.lowrank import LowRankCovariances, log_responsibilities
    >>> cov = LowRankCovariances.factor_analysers(np.zeros((2, 2, 1)), np.ones((2, 2)))
    >>> means = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> log_norm, log_resp = log_responsibilities(
    ...     np.array([[1e200, 0.0]]), np.array([0.5, 0.5]), means, cov
    ... )
    >>> log_norm, np.exp(log_resp)
    (array([-inf]), array([[0., 1.]]))
    """
    X = np.asarray(X, np.float64)
    log_prob = mixture_log_prob(X, weights, means, cov)
    peak = log_prob.max(axis=1, initial=-np.inf)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    shifted = log_prob - peak[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_total = logsumexp(shifted, axis=1)
        log_norm = peak + log_total
        log_resp = shifted - log_total[:, None]
    rows = imprecise_rows(log_norm, np.dtype(np.float64))
    if rows.size:
        log_norm[rows], log_resp[rows] = _exact_far_rows(X[rows], weights, means, cov)
    return log_norm, log_resp


def _exact_far_rows(X, weights, means, cov: LowRankCovariances):
    """:func:`log_responsibilities` of rows far from every component.

    :func:`gaussmix.core.far_rows.log_responsibilities_by_differences`,
    with the precisions in their Woodbury form so that no D x D matrix is
    formed.
    """
    factors = woodbury(cov)
    means = np.asarray(means, np.float64)
    n_features = X.shape[1]
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(weights, np.float64))
    constants = log_weights - 0.5 * factors.log_det - 0.5 * n_features * LOG_2PI

    def differences(
        rows: np.ndarray, scale: np.ndarray, reference: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return _differences(rows, scale, reference, constants, means, cov, factors)

    return log_responsibilities_by_differences(X, constants, means, differences)


def _differences(X, scale, reference, constants, means, cov, factors: Woodbury):
    """``log w_k p_k(x) - log w_r p_r(x)`` per row in units of ``scale**2``,
    and ``log w_r p_r(x)`` in nats.

    With ``v = (x - mu_r) / s``, ``d_k = (mu_k - mu_r) / s`` and ``P`` the
    precisions, ``q_k - q_r = v^T (P_k - P_r) v - 2 v^T P_k d_k + d_k^T P_k
    d_k``; the first term is exactly zero for components whose precision
    is the reference's (shared covariances), so that the terms that tell
    them apart survive.
    """
    inverse = factors.noise_inverse
    scaled_basis = cov.basis * inverse[:, :, None]
    inner = factors.inner
    relative = np.empty((X.shape[0], len(constants)))
    reference_log = np.empty(X.shape[0])
    for r in np.unique(reference):
        rows = np.flatnonzero(reference == r)
        s = scale[rows]
        v = X[rows] / s[:, None] - means[r] / s[:, None]
        d = (means[None, :, :] - means[r][None, None, :]) / s[:, None, None]
        seen_v = np.einsum("nd,kdq->nkq", v, scaled_basis)
        seen_d = np.einsum("nkd,kdq->nkq", d, scaled_basis)
        own = (v * v) @ inverse.T - np.einsum("nkq,kqr,nkr->nk", seen_v, inner, seen_v)
        linear = np.einsum("nd,kd,nkd->nk", v, inverse, d) - np.einsum(
            "nkq,kqr,nkr->nk", seen_v, inner, seen_d
        )
        offset = np.einsum("nkd,kd,nkd->nk", d, inverse, d) - np.einsum(
            "nkq,kqr,nkr->nk", seen_d, inner, seen_d
        )
        quadratic = own - own[:, r, None]
        quadratic[:, _same_precision(inverse, scaled_basis, inner, r)] = 0.0
        with np.errstate(under="ignore"):
            # constants are a few nats: in units of a huge scale**2 they vanish
            constant = ((constants - constants[r]) / s[:, None]) / s[:, None]
        relative[rows] = constant - 0.5 * (quadratic - 2.0 * linear + offset)
        accurate = _accurate_squared_distances(v, cov, factors, int(r))
        distance = np.maximum(own[:, r], 0.0) if accurate is None else accurate
        with np.errstate(over="ignore"):
            # (s * q) * s overflows only to -inf: the row is that improbable
            reference_log[rows] = constants[r] - 0.5 * ((distance * s) * s)
    # a product of an overflowed and a vanishing term: such a component
    # cannot be compared, and is not taken for the likeliest
    relative[np.isnan(relative)] = -np.inf
    return relative, reference_log


def _same_precision(inverse, scaled_basis, inner, r) -> np.ndarray:
    """Components whose Woodbury factors are bit for bit component ``r``'s."""
    return np.array(
        [
            np.array_equal(inverse[k], inverse[r])
            and np.array_equal(scaled_basis[k], scaled_basis[r])
            and np.array_equal(inner[k], inner[r])
            for k in range(len(inverse))
        ]
    )


def _responsibilities(X, sample_weight, weights, means, cov):
    """Sample-weighted responsibilities, the rows' weights and log-densities."""
    log_norm, log_resp = log_responsibilities(X, weights, means, cov)
    resp = exp_without_subnormals(log_resp)
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
