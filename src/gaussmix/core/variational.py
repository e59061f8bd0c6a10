"""Variational Bayes for a Gaussian mixture: prior, posterior, update, bound.

The model puts a Dirichlet distribution (or a truncated Dirichlet process,
by stick breaking) on the weights and a Normal-Wishart distribution on each
component's mean and precision (Bishop 2006, section 10.2; Blei & Jordan
2006 for the process). Under the factorised posterior the E-step's
log-responsibilities are, up to a per-row constant,

    E[log pi_k] + E[log |Lambda_k|] / 2 - D / (2 beta_k)
    - nu_k (x - m_k)^T W_k (x - m_k) / 2,

the log-density of a Gaussian with mean ``m_k`` and precision ``nu_k W_k``
plus one constant per component. So the ordinary kernels compute the
variational E-step: they are handed :class:`MixtureParams` whose ``weights``
are the exponentials of those constants (which need not sum to one). The
update turns Stats plus the prior into the posterior, and the evidence
lower bound follows from the same Stats.

The parametrisation is scikit-learn's, so that a fit from the same start
matches ``sklearn.mixture.BayesianGaussianMixture``: ``covariances`` are
``W_k^-1 / nu_k``, and the bound leaves out the terms that do not change
during a fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln

from gaussmix.backend import CholeskyError
from gaussmix.core.covariance import get_family
from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import EMPTY_WEIGHT_GUARD, Stats

WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
#: The log of the smallest normal float64, a floor for the E-step's weights.
LOG_SMALLEST_WEIGHT = math.log(np.finfo(np.float64).tiny)
#: The covariance families with a conjugate Wishart update here.
VARIATIONAL_FAMILIES = ("full", "tied", "diag", "spherical")


@dataclass(frozen=True)
class VariationalPrior:
    """Hyperparameters of the prior, in scikit-learn's names.

    Attributes
    ----------
    weight_concentration_prior_type : str
        ``'dirichlet_process'`` or ``'dirichlet_distribution'``.
    weight_concentration : float
        Concentration of the Dirichlet (gamma of the process).
    mean_precision : float
        ``beta_0``: how strongly the means are drawn to ``mean``.
    mean : ndarray of shape (n_features,)
    degrees_of_freedom : float
        ``nu_0``, above ``n_features - 1``.
    covariance : ndarray
        The Wishart's scale inverse in the family's layout: (D, D) for full
        and tied, (D,) for diag, a 0-d array for spherical.
    """

    weight_concentration_prior_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray


@dataclass(frozen=True)
class VariationalPosterior:
    """The factorised posterior over weights, means and precisions.

    Attributes
    ----------
    weight_concentration : ndarray of shape (n_components,) or tuple
        Dirichlet parameters, or for the process the two Beta parameters of
        every stick ``(a_k, b_k)``.
    mean_precision : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    degrees_of_freedom : ndarray of shape (n_components,), or 0-d for tied
    covariances : ndarray
        ``W_k^-1 / nu_k`` in the family's layout.
    precisions_cholesky : ndarray
        Upper Cholesky factors of the inverses of ``covariances``.
    covariance_type : str
    weight_concentration_prior_type : str
    """

    weight_concentration: np.ndarray | tuple[np.ndarray, np.ndarray]
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    covariance_type: str
    weight_concentration_prior_type: str

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])

    def expected_log_weights(self) -> np.ndarray:
        """``E[log pi_k]`` under the posterior, shape (n_components,)."""
        if self.weight_concentration_prior_type == "dirichlet_process":
            a, b = self.weight_concentration
            log_total = digamma(a + b)
            log_stick = digamma(a) - log_total
            log_rest = digamma(b) - log_total
            return log_stick + np.hstack((0.0, np.cumsum(log_rest)[:-1]))
        concentration = np.asarray(self.weight_concentration)
        return digamma(concentration) - digamma(concentration.sum())

    def weights(self) -> np.ndarray:
        """Posterior mean weights, normalised, shape (n_components,)."""
        if self.weight_concentration_prior_type == "dirichlet_process":
            a, b = self.weight_concentration
            stick = a / (a + b)
            rest = b / (a + b)
            weights = stick * np.hstack((1.0, np.cumprod(rest[:-1])))
            return weights / weights.sum()
        concentration = np.asarray(self.weight_concentration)
        return concentration / concentration.sum()

    def log_density_offsets(self) -> np.ndarray:
        """Per-component constants of the expected log-densities.

        ``E[log pi_k] + (E[log |Lambda_k|] - log |nu_k W_k| - D / beta_k) / 2``:
        added to the log-density of a Gaussian with precision ``nu_k W_k``
        they give the E-step's log-responsibilities before normalisation.
        """
        n_features = self.n_features
        nu = np.asarray(self.degrees_of_freedom, dtype=np.float64)
        terms = digamma(0.5 * (nu - np.arange(n_features)[:, None])).sum(axis=0)
        log_lambda = n_features * math.log(2.0) + terms
        return self.expected_log_weights() + 0.5 * (
            log_lambda - n_features * np.log(nu) - n_features / self.mean_precision
        )

    def estep_log_weights(self) -> np.ndarray:
        """:meth:`log_density_offsets`, floored where their exponential underflows.

        A switched-off component's offset can fall to -1000 and beyond; its
        responsibilities are then below ``1e-300`` either way, and the floor
        keeps every weight the kernels see a positive float64.
        """
        return np.maximum(self.log_density_offsets(), LOG_SMALLEST_WEIGHT)

    def estep_params(self) -> MixtureParams:
        """What the kernels need to compute the variational E-step.

        The ``weights`` are ``exp`` of :meth:`estep_log_weights`.
        """
        weights = np.exp(self.estep_log_weights())
        return MixtureParams(
            weights=weights,
            means=self.means,
            covariances=self.covariances,
            precisions_cholesky=self.precisions_cholesky,
            covariance_type=self.covariance_type,
        )

    def point_params(self) -> MixtureParams:
        """The posterior means of the weights with ``means`` and ``covariances``."""
        return MixtureParams(
            weights=self.weights(),
            means=self.means,
            covariances=self.covariances,
            precisions_cholesky=self.precisions_cholesky,
            covariance_type=self.covariance_type,
        )


# ----------------------------------------------------------------------
# the update: Stats plus prior to posterior
WishartUpdate = Callable[
    [VariationalPrior, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int],
    tuple[np.ndarray, np.ndarray],
]


def _wishart_full(prior, nk, means, scatter, mean_precision, n_components):
    nu = prior.degrees_of_freedom + nk
    diff = means - prior.mean
    shrink = nk * prior.mean_precision / mean_precision
    matrices = (
        prior.covariance
        + nk[:, None, None] * scatter
        + shrink[:, None, None] * np.einsum("ki,kj->kij", diff, diff)
    )
    return nu, matrices / nu[:, None, None]


def _wishart_tied(prior, nk, means, scatter, mean_precision, n_components):
    share = nk.sum() / n_components
    nu = np.asarray(prior.degrees_of_freedom + share)
    diff = means - prior.mean
    spread = ((nk / mean_precision)[:, None] * diff).T @ diff
    matrix = (
        prior.covariance
        + scatter * share
        + prior.mean_precision / n_components * spread
    )
    return nu, matrix / nu


def _wishart_diag(prior, nk, means, scatter, mean_precision, n_components):
    nu = prior.degrees_of_freedom + nk
    shrink = prior.mean_precision / mean_precision
    diff = means - prior.mean
    variances = prior.covariance + nk[:, None] * (
        scatter + shrink[:, None] * diff * diff
    )
    return nu, variances / nu[:, None]


def _wishart_spherical(prior, nk, means, scatter, mean_precision, n_components):
    nu = prior.degrees_of_freedom + nk
    shrink = prior.mean_precision / mean_precision
    diff = means - prior.mean
    variances = prior.covariance + nk * (scatter + shrink * np.mean(diff * diff, 1))
    return nu, variances / nu


WISHART_UPDATES: dict[str, WishartUpdate] = {
    "full": _wishart_full,
    "tied": _wishart_tied,
    "diag": _wishart_diag,
    "spherical": _wishart_spherical,
}


def posterior_from_stats(
    stats: Stats, prior: VariationalPrior, covariance_type: str, reg_covar: float
) -> VariationalPosterior:
    """The variational update: the posterior given the E-step's Stats."""
    family = get_family(covariance_type)
    nk = stats.resp_sum + EMPTY_WEIGHT_GUARD
    sample_means = stats.means()
    scatter = family.estimate(stats, sample_means, reg_covar)
    if prior.weight_concentration_prior_type == "dirichlet_process":
        # the weight beyond each stick: the counts of the later components
        later = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0.0))
        concentration = (1.0 + nk, prior.weight_concentration + later)
    else:
        concentration = prior.weight_concentration + nk
    mean_precision = prior.mean_precision + nk
    means = (
        prior.mean_precision * prior.mean + nk[:, None] * sample_means
    ) / mean_precision[:, None]
    nu, covariances = WISHART_UPDATES[family.name](
        prior, nk, sample_means, scatter, mean_precision, len(nk)
    )
    try:
        factors = family.precision_cholesky(covariances)
    except CholeskyError:
        raise ValueError(
            "A posterior covariance is not positive definite. Give a "
            "positive-definite covariance_prior, or increase reg_covar."
        ) from None
    return VariationalPosterior(
        weight_concentration=concentration,
        mean_precision=mean_precision,
        means=means,
        degrees_of_freedom=nu,
        covariances=covariances,
        precisions_cholesky=factors,
        covariance_type=family.name,
        weight_concentration_prior_type=prior.weight_concentration_prior_type,
    )


# ----------------------------------------------------------------------
# the evidence lower bound
def log_det_cholesky(factors: np.ndarray, covariance_type: str, n_features: int):
    """``log |U_k|`` of precision factors in the family's layout."""
    factors = np.asarray(factors, dtype=np.float64)
    name = get_family(covariance_type).name
    if name == "full":
        return np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    if name == "tied":
        return np.log(np.diagonal(factors)).sum()
    if name == "diag":
        return np.log(factors).sum(axis=1)
    return n_features * np.log(factors)


def log_wishart_norm(nu: np.ndarray, log_det_factor: np.ndarray, n_features: int):
    """Log normaliser of the Wishart, without its ``log pi`` term.

    ``log_det_factor`` is ``log |W|^(1/2)``.
    """
    nu = np.asarray(nu, dtype=np.float64)
    return -(
        nu * log_det_factor
        + nu * n_features * 0.5 * math.log(2.0)
        + gammaln(0.5 * (nu - np.arange(n_features)[:, None])).sum(axis=0)
    )


def log_dirichlet_norm(concentration: np.ndarray) -> float:
    """Log normaliser of the Dirichlet distribution."""
    return float(gammaln(concentration.sum()) - gammaln(concentration).sum())


def _quadratic_total(stats: Stats, params: MixtureParams) -> float:
    """``sum_i w_i sum_k r_ik (x_i - mu_k)^T P_k (x_i - mu_k)`` from Stats.

    The sums are about each component's shift ``c_k``; with
    ``d_k = mu_k - c_k`` the scatter about ``mu_k`` is
    ``S_k - s_k d_k^T - d_k s_k^T + n_k d_k d_k^T``.
    """
    family = params.family
    precisions = family.precisions(np.asarray(params.precisions_cholesky, np.float64))
    offset = np.asarray(params.means, dtype=np.float64) - stats.shift
    first, n = stats.centred_sum, stats.resp_sum
    if stats.scatter_kind == "diag":
        if precisions.ndim == 1:
            precisions = precisions[:, None]
        moments = stats.scatter - 2.0 * offset * first + n[:, None] * offset**2
        return float((precisions * moments).sum())
    if stats.scatter_kind == "full":
        cross = np.einsum("kij,kj->ki", precisions, first)
        return float(
            np.einsum("kij,kij->", precisions, stats.scatter)
            - 2.0 * np.einsum("ki,ki->", offset, cross)
            + np.einsum("k,ki,kij,kj->", n, offset, precisions, offset)
        )
    moved = first.T @ offset
    pooled = stats.scatter - moved - moved.T + (n[:, None] * offset).T @ offset
    return float(np.einsum("ij,ij->", precisions, pooled))


def responsibility_log_sum(
    stats: Stats, params: MixtureParams, log_offsets: np.ndarray
) -> float:
    """``sum_i w_i sum_k r_ik log r_ik`` of an E-step, from its Stats.

    ``params`` and ``log_offsets`` (the log of its weights, kept finite)
    are what the E-step ran with: ``log r_ik = log rho_ik - log p(x_i)``,
    and the sum of the ``log rho_ik`` is a function of the Stats.
    """
    n_features = params.n_features
    log_det = log_det_cholesky(
        params.precisions_cholesky, params.covariance_type, n_features
    )
    constants = log_offsets + log_det - 0.5 * n_features * LOG_2PI
    joint = float(np.dot(stats.resp_sum, constants)) - 0.5 * _quadratic_total(
        stats, params
    )
    return joint - stats.log_likelihood


def lower_bound(
    stats: Stats,
    estep: VariationalPosterior,
    posterior: VariationalPosterior,
) -> float:
    """The evidence lower bound after an update, up to a constant.

    ``stats`` are the E-step's under ``estep``; ``posterior`` is the update
    that followed. Constant terms are left out as scikit-learn leaves them
    out, so that the values match its ``lower_bound_``.
    """
    n_features = posterior.n_features
    entropy_sum = responsibility_log_sum(
        stats, estep.estep_params(), estep.estep_log_weights()
    )
    nu = np.asarray(posterior.degrees_of_freedom, dtype=np.float64)
    log_det = log_det_cholesky(
        posterior.precisions_cholesky, posterior.covariance_type, n_features
    ) - 0.5 * n_features * np.log(nu)
    wishart = log_wishart_norm(nu, log_det, n_features)
    n_components = len(posterior.mean_precision)
    if np.ndim(nu) == 0:
        log_wishart = n_components * float(np.squeeze(wishart))
    else:
        log_wishart = float(np.sum(wishart))
    if posterior.weight_concentration_prior_type == "dirichlet_process":
        a, b = posterior.weight_concentration
        log_weight_norm = -float(np.sum(betaln(a, b)))
    else:
        log_weight_norm = log_dirichlet_norm(np.asarray(posterior.weight_concentration))
    return (
        -entropy_sum
        - log_wishart
        - log_weight_norm
        - 0.5 * n_features * float(np.sum(np.log(posterior.mean_precision)))
    )
