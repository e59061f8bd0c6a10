"""Conjugate prior on the means and covariances: MAP estimation by EM.

Fraley & Raftery (2007), "Bayesian regularization for normal mixture
estimation and model-based clustering", Journal of Classification 24. With
hyperparameters shrinkage ``kappa``, mean ``mu_P``, degrees of freedom
``nu`` and scale ``Lambda``:

- each mean, given its covariance: ``mu_k | Sigma_k ~ N(mu_P, Sigma_k / kappa)``
  (no prior on the means when ``kappa = 0``);
- ellipsoidal families: an inverse Wishart ``IW(nu, Lambda)``, density
  ``|Sigma|^-(nu+d+1)/2 exp(-tr(Sigma^-1 Lambda) / 2)``;
- diagonal families: an inverse gamma ``IG(nu/2, lambda_j/2)`` on each
  variance, ``lambda_j`` the diagonal of ``Lambda``;
- spherical families: ``IG(nu/2, s^2/2)`` on the variance, ``s^2`` the mean
  of that diagonal.

Families whose whole covariance is shared (EII, EEI, EEE/tied) carry one
prior on it; every other family carries one per component, evaluated at
that component's (constrained) covariance. The mixing weights have no prior.

Every such prior adds, per component, a count ``a_k`` to the power of
``|Sigma_k|`` and a matrix ``B_k`` to the scatter, so the M-step maximises

    -1/2 sum_k [ c_k log|Sigma_k| + tr(Sigma_k^-1 T_k) ]

with ``c_k = n_k + [kappa > 0] + a_k`` and
``T_k = W_k + kappa n_k / (kappa + n_k) (xbar_k - mu_P)(xbar_k - mu_P)^T + B_k``
(``W_k`` the scatter about the class mean ``xbar_k``). That is the
maximum-likelihood objective with weights ``c_k`` and scatter ``T_k``, so the
MAP M-step of every family is its own ML M-step on those sums: nothing is
re-derived per model. The means are ``(n_k xbar_k + kappa mu_P) / (n_k + kappa)``.

mclust offers the prior for ten models (not EVE, VEE, VVE, EVV); here the
construction above gives it to all fourteen. mclust's Fortran departs from
the textbook update in a few models (EII's scale, EEI's means, VEV's
denominators); those departures are not reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaussmix.core.covariance import CovarianceFamily
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import EMPTY_WEIGHT_GUARD, Stats

#: mclust's default shrinkage of the means towards the prior mean.
DEFAULT_SHRINKAGE = 0.01
#: Added to the default scale's diagonal, relative to the average variance.
SCALE_RIDGE = 1e-6


@dataclass(frozen=True)
class ConjugatePrior:
    """Hyperparameters of the normal-inverse-Wishart (or -gamma) prior.

    Fields left None take mclust's ``defaultPrior`` values from the data
    when a mixture is fitted (:func:`default_prior`).

    Parameters
    ----------
    shrinkage : float, default=0.01
        ``kappa``, the prior's weight on the means in rows; 0 puts no prior
        on the means.
    mean : array-like of shape (n_features,), default=None
        ``mu_P``; None: the data's (weighted) mean.
    dof : float, default=None
        ``nu``, positive; None: ``n_features + 2``.
    scale : float or array-like, default=None
        ``Lambda``: a (n_features, n_features) matrix, a diagonal of
        n_features entries, or a multiple of the identity; None: the data's
        covariance divided by ``n_components ** (2 / n_features)``.
        Diagonal families use its diagonal, spherical ones its mean.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import ConjugatePrior, GaussianMixture
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> prior = ConjugatePrior(shrinkage=0.1, dof=5.0)
    >>> gmm = GaussianMixture(2, prior=prior, random_state=0).fit(X)
    >>> gmm.prior_.dof, gmm.prior_.scale.shape
    (5.0, (2, 2))
    """

    shrinkage: float = DEFAULT_SHRINKAGE
    mean: np.ndarray | None = None
    dof: float | None = None
    scale: np.ndarray | float | None = None

    def check(self, n_features: int | None = None) -> None:
        """Raise ValueError naming the field that is not a valid hyperparameter."""
        if not (np.isscalar(self.shrinkage) and np.isfinite(self.shrinkage)) or (
            self.shrinkage < 0
        ):
            raise ValueError(
                f"ConjugatePrior.shrinkage must be a finite number >= 0, got "
                f"{self.shrinkage!r}."
            )
        if self.dof is not None and not (
            np.isscalar(self.dof) and np.isfinite(self.dof) and self.dof > 0
        ):
            raise ValueError(
                f"ConjugatePrior.dof must be a finite number > 0, got {self.dof!r}."
            )
        if self.mean is not None:
            mean = np.asarray(self.mean, dtype=np.float64)
            if mean.ndim != 1 or not np.all(np.isfinite(mean)):
                raise ValueError("ConjugatePrior.mean must be a finite 1-D array.")
            if n_features is not None and mean.shape != (n_features,):
                raise ValueError(
                    f"ConjugatePrior.mean has {mean.size} entries; X has "
                    f"{n_features} features."
                )
        if self.scale is not None:
            _check_scale(np.asarray(self.scale, dtype=np.float64), n_features)


def _check_scale(scale: np.ndarray, n_features: int | None) -> None:
    if not np.all(np.isfinite(scale)):
        raise ValueError("ConjugatePrior.scale must be finite.")
    if scale.ndim == 0 or scale.ndim == 1:
        if np.any(scale <= 0):
            raise ValueError("ConjugatePrior.scale must be positive.")
        if scale.ndim == 1 and n_features is not None and scale.size != n_features:
            raise ValueError(
                f"ConjugatePrior.scale has {scale.size} entries; X has "
                f"{n_features} features."
            )
        return
    square = scale.ndim == 2 and scale.shape[0] == scale.shape[1]
    if not square or (n_features is not None and scale.shape[0] != n_features):
        raise ValueError(
            "ConjugatePrior.scale must be a number, a diagonal of n_features "
            f"entries or an (n_features, n_features) matrix; got shape {scale.shape}."
        )
    if not np.allclose(scale, scale.T) or np.linalg.eigvalsh(scale).min() <= 0:
        raise ValueError("ConjugatePrior.scale must be symmetric positive definite.")


def default_prior(
    prior: ConjugatePrior,
    data_mean: np.ndarray,
    data_covariance: np.ndarray,
    n_components: int,
) -> ConjugatePrior:
    """``prior`` with its None fields set to mclust's ``defaultPrior`` values.

    Parameters
    ----------
    prior : ConjugatePrior
    data_mean : ndarray of shape (n_features,)
    data_covariance : ndarray of shape (n_features, n_features)
    n_components : int

    Returns
    -------
    ConjugatePrior
        Every field set: mean (D,), dof, scale (D, D) or as given.

    Examples
    --------
    >>> import numpy as np
    >>> p = default_prior(ConjugatePrior(), np.zeros(2), np.eye(2), n_components=4)
    >>> p.dof, round(float(p.scale[0, 0]), 6)
    (4.0, 0.25)
    """
    n_features = len(data_mean)
    prior.check(n_features)
    mean = data_mean if prior.mean is None else prior.mean
    dof = float(n_features + 2) if prior.dof is None else float(prior.dof)
    if prior.scale is None:
        scale = np.asarray(data_covariance, np.float64) / n_components ** (
            2.0 / n_features
        )
        # fewer rows than features, or a constant column, leave the data's
        # covariance singular; a ridge of SCALE_RIDGE times the average
        # variance makes the scale positive definite, as a prior's must be
        average = float(np.mean(np.diagonal(scale)))
        ridge = SCALE_RIDGE * (average if average > 0 else 1.0)
        scale = scale + ridge * np.eye(n_features)
    else:
        scale = np.asarray(prior.scale, np.float64)
    return ConjugatePrior(
        float(prior.shrinkage), np.asarray(mean, np.float64).copy(), dof, scale
    )


def _layout(family: type[CovarianceFamily], n_features: int) -> str:
    """'matrix', 'diag' or 'spherical': which prior the family's storage takes."""
    if family.matrix_layout:
        return "matrix"
    return "spherical" if len(family.covariance_shape(1, n_features)) == 1 else "diag"


def _scale_as(scale: np.ndarray, layout: str, n_features: int) -> np.ndarray:
    """The scale as a (D, D) matrix or, for variance layouts, a (D,) diagonal."""
    scale = np.asarray(scale, np.float64)
    if scale.ndim == 0:
        diagonal = np.full(n_features, float(scale))
    elif scale.ndim == 1:
        diagonal = scale
    else:
        diagonal = np.diagonal(scale)
    if layout == "matrix":
        return np.diag(diagonal) if scale.ndim < 2 else scale
    if layout == "diag":
        return diagonal.copy()
    # IG(nu/2, s^2/2) on sigma^2 is tr(Sigma^-1 B)/2 with tr(B) = s^2
    return np.full(n_features, float(diagonal.mean()) / n_features)


def prior_terms(
    prior: ConjugatePrior, family: type[CovarianceFamily], n_components: int
) -> tuple[np.ndarray, np.ndarray]:
    """What the covariance prior adds per component: counts and scatter.

    Parameters
    ----------
    prior : ConjugatePrior
        Resolved (every field set, see :func:`default_prior`).
    family : CovarianceFamily subclass
    n_components : int

    Returns
    -------
    counts : ndarray of shape (n_components,)
        ``a_k``, added to the power of ``|Sigma_k|`` (in units of ``-1/2``).
    scatter : ndarray of shape (n_components, D, D) or (n_components, D)
        ``B_k``: matrices for ellipsoidal families, diagonals otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.covariance import get_family
    >>> prior = ConjugatePrior(0.01, np.zeros(2), 4.0, np.eye(2))
    >>> counts, scatter = prior_terms(prior, get_family("VVV"), 3)
    >>> counts, scatter.shape
    (array([7., 7., 7.]), (3, 2, 2))
    """
    n_features = len(prior.mean)
    layout = _layout(family, n_features)
    count = {
        "matrix": prior.dof + n_features + 1.0,
        "diag": prior.dof + 2.0,
        "spherical": (prior.dof + 2.0) / n_features,
    }[layout]
    scatter = _scale_as(prior.scale, layout, n_features)
    # one prior on a covariance all components share: split it evenly
    share = 1.0 / n_components if family.shared_covariance else 1.0
    counts = np.full(n_components, count * share)
    scatter = np.broadcast_to(scatter * share, (n_components, *scatter.shape)).copy()
    return counts, scatter


def map_means(stats: Stats, prior: ConjugatePrior) -> np.ndarray:
    """``(n_k xbar_k + kappa mu_P) / (n_k + kappa)``, (n_components, n_features)."""
    nk = stats.resp_sum
    kappa = prior.shrinkage
    return (nk[:, None] * stats.means() + kappa * prior.mean) / (
        nk + kappa + EMPTY_WEIGHT_GUARD
    )[:, None]


def _within_scatter(stats: Stats, centres: np.ndarray) -> np.ndarray:
    """Scatter about ``centres``: (K, D, D), (K, D) or pooled (D, D)."""
    nk = stats.resp_sum
    offset = centres - stats.shift
    if stats.scatter_kind == "full":
        out = stats.scatter - nk[:, None, None] * np.einsum(
            "ki,kj->kij", offset, offset
        )
        return 0.5 * (out + np.swapaxes(out, -1, -2))
    if stats.scatter_kind == "diag":
        return np.maximum(stats.scatter - nk[:, None] * offset**2, 0.0)
    offset = centres - stats.shift[0]
    out = stats.scatter - np.einsum("k,ki,kj->ij", nk, offset, offset)
    return 0.5 * (out + out.T)


def map_covariances(
    stats: Stats,
    family: type[CovarianceFamily],
    prior: ConjugatePrior,
    reg_covar: float,
) -> np.ndarray:
    """The family's MAP covariances under ``prior`` (float64, family layout).

    The family's own M-step applied to the prior-augmented weights and
    scatter (see the module's description); ``reg_covar`` enters as in the
    maximum-likelihood M-step.

    Examples
    --------
    One component, flat data: the prior keeps the variance positive.

    >>> import numpy as np
    >>> from gaussmix.core.covariance import get_family
    >>> from gaussmix.core.stats import Stats
    >>> stats = Stats(np.array([5.0]), np.zeros((1, 2)), np.zeros((1, 2, 2)),
    ...               np.zeros((1, 2)), "full")
    >>> prior = ConjugatePrior(0.0, np.zeros(2), 4.0, np.eye(2))
    >>> map_covariances(stats, get_family("VVV"), prior, 0.0)[0].round(3)
    array([[0.083, 0.   ],
           [0.   , 0.083]])
    """
    n_components, n_features = stats.centred_sum.shape
    counts, added = prior_terms(prior, family, n_components)
    nk = stats.resp_sum
    kappa = prior.shrinkage
    class_means = stats.means()
    away = class_means - prior.mean
    shrink = (kappa * nk / (kappa + nk + EMPTY_WEIGHT_GUARD))[:, None] * away
    within = _within_scatter(stats, class_means)
    if stats.scatter_kind == "full":
        scatter = within + np.einsum("ki,kj->kij", shrink, away) + added
    elif stats.scatter_kind == "diag":
        scatter = within + shrink * away + added
    else:
        scatter = within + np.einsum("ki,kj->ij", shrink, away) + added.sum(0)
    weights = nk + float(kappa > 0) + counts
    zeros = np.zeros((n_components, n_features))
    augmented = Stats(weights, zeros, scatter, zeros, stats.scatter_kind)
    return family.estimate(augmented, zeros, reg_covar)


def log_prior(params: MixtureParams, prior: ConjugatePrior) -> float:
    """Log-density of the prior at ``params``, up to a constant.

    The constant does not depend on the parameters, so the log-posterior it
    gives is the one each MAP M-step never lowers.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> params = GaussianMixture.from_params([1.0], [[0.0]], [[[1.0]]]).mixture_params()
    >>> log_prior(params, ConjugatePrior(0.0, np.zeros(1), 1.0, np.eye(1)))
    -0.5
    """
    family = params.family
    means = np.asarray(params.means, np.float64)
    n_components, n_features = means.shape
    covariances = family.full_covariances(
        np.asarray(params.covariances, np.float64), n_components, n_features
    )
    counts, added = prior_terms(prior, family, n_components)
    if added.ndim == 2:
        added = np.einsum("ki,ij->kij", added, np.eye(n_features))
    inverse = np.linalg.inv(covariances)
    log_det = np.linalg.slogdet(covariances)[1]
    away = means - prior.mean
    mean_term = 0.0
    if prior.shrinkage > 0:
        mahalanobis = np.einsum("ki,kij,kj->k", away, inverse, away)
        mean_term = -0.5 * float(np.sum(log_det + prior.shrinkage * mahalanobis))
    traces = np.einsum("kij,kji->k", inverse, added)
    return mean_term - 0.5 * float(np.sum(counts * log_det + traces))
