"""Mixtures of multivariate Student-t distributions: E-step, M-step, dof.

A t component is a Gaussian scale mixture: given a latent weight ``u``,
``x ~ N(mu, Sigma / u)`` with ``u ~ Gamma(nu / 2, nu / 2)``. EM (Peel &
McLachlan 2000) then needs, besides the responsibilities ``r_ik``, each
row's expected weight under component ``k``,

    u_ik = (nu_k + D) / (nu_k + delta_ik),
    delta_ik = (x_i - mu_k)^T Sigma_k^-1 (x_i - mu_k),

which shrinks the pull of far rows. The means and scatters are the ordinary
Stats with ``r_ik u_ik`` as the rows' weights; the mixing weights and the
covariances' denominators use ``r_ik``; the degrees of freedom need one more
sum per component, ``sum_i r_ik (log u_ik - u_ik)``. So the E-step returns
:class:`StudentStats` (Stats plus two sums, all additive) and the M-step
reuses the Gaussian M-step of every covariance family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma, gammaln, logsumexp

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.estep import exp_without_subnormals, responsibility_stats
from gaussmix.core.far_rows import row_scales
from gaussmix.core.mstep import RepairLog, m_step
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats

#: The degrees of freedom are estimated within these bounds; at the upper
#: one a component is Gaussian for any practical purpose.
DOF_BOUNDS = (1e-2, 1e6)


@dataclass(frozen=True)
class StudentStats:
    """Sums of a t-mixture E-step over a set of rows; they add.

    Attributes
    ----------
    moments : Stats
        Moments with ``w_i r_ik u_ik`` as the weights: ``resp_sum`` is
        ``sum_i w_i r_ik u_ik``; ``log_likelihood`` and ``total_weight`` are
        the mixture's.
    counts : ndarray of shape (n_components,)
        ``sum_i w_i r_ik``.
    log_weight_sum : ndarray of shape (n_components,)
        ``sum_i w_i r_ik (log u_ik - u_ik)``, for the degrees of freedom.
    """

    moments: Stats
    counts: np.ndarray
    log_weight_sum: np.ndarray

    def __add__(self, other: StudentStats) -> StudentStats:
        return StudentStats(
            self.moments + other.moments,
            self.counts + other.counts,
            self.log_weight_sum + other.log_weight_sum,
        )


def log_det_factors(
    factors: np.ndarray, matrix_layout: bool, n_features: int
) -> np.ndarray | float:
    """``log |U_k|`` of precision factors in any family's layout."""
    factors = np.asarray(factors, dtype=np.float64)
    if matrix_layout:
        return np.log(np.diagonal(factors, axis1=-2, axis2=-1)).sum(-1)
    if factors.ndim == 2:
        return np.log(factors).sum(1)
    return n_features * np.log(factors)


def student_log_prob(
    X: np.ndarray,
    params: MixtureParams,
    dof: np.ndarray,
    scale: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``log w_k + log t(x_i | mu_k, c_k Sigma_k, nu_k)`` and ``delta_ik``.

    Both (n_samples, n_components), in float64; ``delta_ik`` is measured in
    ``Sigma_k``, ``c_k`` is ``scale`` (one number per component, or one for
    all: the posterior predictive of a variational fit widens each
    component by its own). The squared distances come from the family's
    Gaussian log-density, so every covariance family (mclust's included) has
    its t counterpart.
    """
    n_features = X.shape[1]
    family = params.family
    with np.errstate(over="ignore", invalid="ignore"):
        log_gauss = np.asarray(
            family.log_prob(X, params.means, params.precisions_cholesky), np.float64
        )
    log_det = log_det_factors(
        params.precisions_cholesky, family.matrix_layout, n_features
    )
    squared = np.maximum(-2.0 * (log_gauss - log_det + 0.5 * n_features * LOG_2PI), 0.0)
    dof = np.broadcast_to(np.asarray(dof, np.float64), (params.n_components,))
    scale = np.broadcast_to(np.asarray(scale, np.float64), (params.n_components,))
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(params.weights, np.float64))
    constant = (
        log_weights
        + gammaln(0.5 * (dof + n_features))
        - gammaln(0.5 * dof)
        - 0.5 * n_features * np.log(dof * math.pi * scale)
        + log_det
    )
    log_t = constant - 0.5 * (dof + n_features) * np.log1p(squared / (dof * scale))
    far = np.flatnonzero(~np.all(np.isfinite(squared), axis=1))
    if far.size:
        # the squares overflowed, but a t density falls only like a power of
        # the distance: its logarithm is finite, and it is taken from the
        # distance's logarithm, log1p(delta / c) = logaddexp(0, log delta - log c)
        log_squared = log_scaled_distances(X[far], params)
        gap = log_squared - np.log(dof * scale)
        log_t[far] = constant - 0.5 * (dof + n_features) * np.logaddexp(0.0, gap)
        with np.errstate(over="ignore"):
            squared[far] = np.exp(log_squared)
    return log_t, squared


def log_scaled_distances(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``log delta_ik`` of rows whose squared distances overflow float64.

    Each row and the means are divided by a power of two near the row's
    largest entry (:func:`~gaussmix.core.far_rows.row_scales`), whitened
    by the precisions' Cholesky factors (in any family's layout) and
    squared there, where nothing overflows; the scale comes back as
    ``2 log s``. Returns (n_samples, n_components), float64.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.params import MixtureParams
    >>> from gaussmix.core.student import log_scaled_distances
    >>> ones = np.ones((1, 2))
    >>> params = MixtureParams(np.ones(1), np.zeros((1, 2)), ones, ones, "diag")
    >>> log_delta = log_scaled_distances(np.array([[1e200, 0.0]]), params)
    >>> bool(np.isclose(log_delta[0, 0], 400 * np.log(10)))
    True
    """
    X = np.asarray(X, np.float64)
    means = np.asarray(params.means, np.float64)
    factors = np.asarray(params.precisions_cholesky, np.float64)
    scale = row_scales(X, means)
    # divided before subtracting: x - mu itself may overflow
    s = scale[:, None, None]
    offsets = X[:, None, :] / s - means[None, :, :] / s
    if factors.ndim == 3:
        whitened = np.einsum("nkd,kde->nke", offsets, factors)
    elif params.family.matrix_layout:
        whitened = offsets @ factors
    elif factors.ndim == 2:
        whitened = offsets * factors
    else:
        whitened = offsets * factors[:, None]
    with np.errstate(over="ignore", divide="ignore"):
        # a precision so large that even the scaled square overflows: +inf
        return np.log((whitened * whitened).sum(-1)) + 2.0 * np.log(scale)[:, None]


def student_chunk_stats(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    params: MixtureParams,
    dof: np.ndarray,
) -> StudentStats:
    """E-step of a t mixture on one chunk, about the current means."""
    n_features = X.shape[1]
    log_prob, squared = student_log_prob(X, params, dof)
    log_norm = logsumexp(log_prob, axis=1)
    resp = exp_without_subnormals(log_prob - log_norm[:, None])
    dof = np.broadcast_to(np.asarray(dof, np.float64), (params.n_components,))
    u = (dof + n_features) / (dof + squared)
    weights = (
        np.ones(X.shape[0])
        if sample_weight is None
        else np.asarray(sample_weight, np.float64)
    )
    counted = resp * weights[:, None]
    moments = responsibility_stats(
        X,
        (counted * u).astype(X.dtype),
        sample_weight,
        np.asarray(params.means, np.float64),
        params.family.scatter_kind,
    )
    positive = weights > 0
    worst = int(np.argmin(np.where(positive, log_norm, np.inf)))
    moments = replace(
        moments,
        log_likelihood=float(weights @ log_norm),
        total_weight=float(weights.sum()),
        worst_log_density=float(log_norm[worst]),
        worst_point=np.asarray(X[worst], np.float64),
    )
    return StudentStats(
        moments=moments,
        counts=counted.sum(0),
        log_weight_sum=(counted * (np.log(u) - u)).sum(0),
    )


def counted_stats(stats: StudentStats) -> Stats:
    """Stats for the Gaussian M-step: the u-weighted means and scatter,
    with the counts ``sum_i w_i r_ik`` as the components' totals.

    The means are the u-weighted ones; the scatter about them is divided by
    the counts, as the t M-step requires.
    """
    moments = stats.moments
    means = moments.means()
    if moments.scatter_kind != "pooled":
        about_means = moments.recentred(means)
        return replace(
            about_means,
            resp_sum=stats.counts,
            centred_sum=np.zeros_like(about_means.centred_sum),
        )
    # one common shift c: keep it, and give the counts the same means and
    # within-component scatter W
    offset = means - moments.shift
    first = moments.centred_sum
    moved = first.T @ offset
    within = (
        moments.scatter
        - moved
        - moved.T
        + (moments.resp_sum[:, None] * offset).T @ offset
    )
    counts = stats.counts
    return replace(
        moments,
        resp_sum=counts,
        centred_sum=counts[:, None] * offset,
        scatter=within + (counts[:, None] * offset).T @ offset,
    )


def update_dof(
    stats: StudentStats, dof: np.ndarray, n_features: int, shared: bool
) -> np.ndarray:
    """The conditional maximisation of the degrees of freedom.

    Solves ``log(nu / 2) - psi(nu / 2) = 1 + mean(log u - u)
    + psi((nu_old + D) / 2) - log((nu_old + D) / 2)`` per component (or
    once, with the components' sums pooled, when ``shared``); the left side
    falls from infinity to 0, the right side is positive, so the root is
    unique. It is clipped to :data:`DOF_BOUNDS`.
    """
    dof = np.broadcast_to(np.asarray(dof, np.float64), stats.counts.shape)
    old = 0.5 * (dof + n_features)
    drift = digamma(old) - np.log(old)
    counts = np.maximum(stats.counts, np.finfo(np.float64).tiny)
    if shared:
        target = 1.0 + stats.log_weight_sum.sum() / counts.sum() + drift[0]
        return np.full_like(dof, _solve_dof(-target))
    targets = 1.0 + stats.log_weight_sum / counts + drift
    return np.array([_solve_dof(-t) for t in targets])


def _solve_dof(level: float) -> float:
    """The ``nu`` where ``log(nu / 2) - psi(nu / 2)`` equals ``level``."""
    low, high = DOF_BOUNDS

    def gap(nu: float) -> float:
        return math.log(0.5 * nu) - digamma(0.5 * nu) - level

    if not np.isfinite(level) or gap(high) >= 0:
        # the rows are as light-tailed as a Gaussian's (or the component
        # has no rows): the largest value allowed
        return high
    if gap(low) <= 0:
        return low
    return float(brentq(gap, low, high, xtol=1e-10, rtol=1e-12))


def student_m_step(
    stats: StudentStats,
    params: MixtureParams,
    dof: np.ndarray,
    *,
    reg_covar: float,
    repairs: RepairLog,
    dof_mode: str | float,
) -> tuple[MixtureParams, np.ndarray]:
    """New parameters and degrees of freedom from a t mixture's E-step.

    ``dof_mode`` is ``"per_component"``, ``"shared"`` or a fixed number.
    """
    new = m_step(counted_stats(stats), params.covariance_type, reg_covar, repairs)
    if isinstance(dof_mode, str):
        dof = update_dof(stats, dof, params.n_features, dof_mode == "shared")
    return new, np.asarray(dof, np.float64)
