"""M-steps of mixtures of factor analysers under the PGMM constraints.

Component ``k`` is ``x = mu_k + W_k z + e`` with ``z ~ N(0, I_q)`` and
``e ~ N(0, Psi_k)``, ``Psi_k`` diagonal (Ghahramani & Hinton 1996). The
constraints of McNicholas & Murphy (2008) make the loadings common or per
component, the noise common or per component, and the noise isotropic or
not; isotropic noise with per-component loadings and noise is the mixture
of probabilistic PCA (Tipping & Bishop 1999), whose M-step has a closed
form from each component's eigen-decomposition.

The other models take one AECM cycle per call: with
``beta_k = W_k^T Sigma_k^-1`` and ``S_k`` a component's covariance about its
new mean,

    Theta_k = I - beta_k W_k + beta_k S_k beta_k^T
    W_k'    = S_k beta_k^T Theta_k^-1                       (per component)
    w_i'    = [sum_k n_k/psi_ki (S_k beta_k^T)_i] [sum_k n_k/psi_ki Theta_k]^-1
                                                            (common, row i)
    psi_k'  = diag(S_k - 2 W_k' beta_k S_k + W_k' Theta_k W_k'^T)

then pooled (weights n_k / n) and/or averaged over features as the noise
constraint asks. Each update maximises the expected complete-data
log-likelihood given the others, so a cycle never lowers the likelihood.
The updates need only ``diag S_k`` and ``S_k beta_k^T``: the full scatter
gives them for any ``beta`` (and so several cycles per E-step), the
projected E-step for the ``beta`` of its pass.

Regularisation: ``reg_covar`` is added to the diagonal of every ``S_k``
before the updates, exactly as :class:`~gaussmix.GaussianMixture` adds it
to its covariances: the M-step maximises the likelihood of ``S_k + r I``.
With no factors the noise is then ``diag S_k + r``, the diagonal mixture's
variance, and a noise variance can no longer collapse onto a feature that
the loadings explain (a Heywood case): ``tr(Sigma_k^-1 (S_k + r I))``
grows like ``r / psi_ki``. A floor on the noise alone would let the
loadings absorb every near-constant feature and leave its variance at the
floor, far below the spread of new rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaussmix.core.lowrank import LowRankCovariances, woodbury

SHARING = ("per_component", "common")


@dataclass(frozen=True)
class FactorConstraints:
    """Which parameters are shared: a PGMM model.

    Attributes
    ----------
    loadings : {'per_component', 'common'}
    noise : {'per_component', 'common'}
    isotropic : bool
        ``Psi = psi I`` rather than a diagonal.
    """

    loadings: str = "per_component"
    noise: str = "per_component"
    isotropic: bool = False

    @property
    def pgmm_name(self) -> str:
        """McNicholas & Murphy's three letters (C constrained, U not)."""
        letters = [
            "C" if self.loadings == "common" else "U",
            "C" if self.noise == "common" else "U",
            "C" if self.isotropic else "U",
        ]
        return "".join(letters)

    @property
    def closed_form(self) -> bool:
        """Mixture of PPCA: eigen-decomposition gives the exact maximiser."""
        return (
            self.isotropic
            and self.loadings == "per_component"
            and self.noise == "per_component"
        )

    def n_parameters(self, n_components: int, n_features: int, rank: int) -> int:
        """Free parameters of the mixture: weights, means, loadings, noise."""
        loading = n_features * rank - rank * (rank - 1) // 2
        loadings = loading * (n_components if self.loadings == "per_component" else 1)
        per_noise = 1 if self.isotropic else n_features
        noise = per_noise * (n_components if self.noise == "per_component" else 1)
        return n_components - 1 + n_components * n_features + loadings + noise


def check_finite_covariances(*moments: np.ndarray) -> None:
    """Raise a clear ValueError unless every covariance entry is finite.

    A value beyond about 1e154 (float64) has a square beyond float64's
    range: the covariances the M-step starts from are then infinite or NaN,
    and an eigen-decomposition or a solve would fail with no hint of why.
    """
    if all(np.all(np.isfinite(m)) for m in moments):
        return
    raise ValueError(
        "A component's covariance is not finite: the data hold values too "
        "large for the squares the fit computes (about 1e154 and beyond in "
        "float64). Rescale the data, for example divide X by a common factor "
        "or use sklearn.preprocessing.StandardScaler, or remove the extreme "
        "values."
    )


def posterior_maps(loadings: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """``beta_k = W_k^T Sigma_k^-1 = (I + W^T Psi^-1 W)^-1 W^T Psi^-1``, (K, q, D)."""
    scaled = np.swapaxes(loadings, 1, 2) / noise[:, None, :]
    middle = np.eye(loadings.shape[2]) + scaled @ loadings
    return np.linalg.solve(middle, scaled)


def ppca_closed_form(
    covariance: np.ndarray, rank: int, floor: float
) -> tuple[np.ndarray, float]:
    """Tipping & Bishop's maximiser for one component's covariance (D, D).

    ``W = U_q (L_q - s I)^(1/2)``, ``s`` the mean of the ``D - q`` smallest
    eigenvalues (at least ``floor``); returns ``(W, s)``.
    """
    check_finite_covariances(covariance)
    values, vectors = np.linalg.eigh(covariance)
    values, vectors = values[::-1], vectors[:, ::-1]
    n_features = len(values)
    trailing = values[rank:].mean() if rank < n_features else 0.0
    variance = max(float(trailing), floor)
    spread = np.sqrt(np.maximum(values[:rank] - variance, 0.0))
    return vectors[:, :rank] * spread, variance


def aecm_cycle(
    counts: np.ndarray,
    diagonal: np.ndarray,
    projected: np.ndarray,
    beta: np.ndarray,
    loadings: np.ndarray,
    noise: np.ndarray,
    constraints: FactorConstraints,
    floor: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One conditional update of the loadings, then of the noise.

    Parameters
    ----------
    counts : ndarray of shape (n_components,)
        ``n_k``.
    diagonal : ndarray of shape (n_components, n_features)
        ``diag S_k`` (covariances: scatters divided by ``n_k``).
    projected : ndarray of shape (n_components, n_features, rank)
        ``S_k beta_k^T``.
    beta : ndarray of shape (n_components, rank, n_features)
        The posterior maps of ``loadings`` and ``noise``.
    loadings, noise : ndarray
        Current ``W_k`` (K, D, q) and ``psi_k`` (K, D).
    floor : float or ndarray of shape (n_components, n_features)
        Least noise variance; the constrained maximiser clips at it.

    Returns
    -------
    loadings, noise : the updated (K, D, q) and (K, D) arrays.
    """
    rank = loadings.shape[2]
    theta = np.eye(rank) - beta @ loadings + np.einsum("kqd,kdr->kqr", beta, projected)
    theta = 0.5 * (theta + np.swapaxes(theta, 1, 2))
    # a component with no weight keeps its parameters (the callers discard
    # its update), but its theta may be singular (a covariance of zeros):
    # the identity stands in so that the solve does not fail
    theta = np.where((counts > 0)[:, None, None], theta, np.eye(rank))
    if constraints.loadings == "per_component":
        new = np.linalg.solve(theta, np.swapaxes(projected, 1, 2))
        new = np.swapaxes(new, 1, 2)
    else:
        # row i weighs component k by n_k / psi_ki; solved row by row
        row_weights = counts[:, None] / noise
        left = np.einsum("kd,kdq->dq", row_weights, projected)
        right = np.einsum("kd,kqr->dqr", row_weights, theta)
        rows = np.linalg.solve(right, left[:, :, None])[:, :, 0]
        new = np.broadcast_to(rows, loadings.shape).copy()
    cross = np.einsum("kdq,kdq->kd", new, projected)
    spread = np.einsum("kdq,kqr,kdr->kd", new, theta, new)
    raw = np.maximum(diagonal - 2.0 * cross + spread, 0.0)
    return new, _constrain_noise(raw, counts, constraints, floor)


def _constrain_noise(
    raw: np.ndarray,
    counts: np.ndarray,
    constraints: FactorConstraints,
    floor: float | np.ndarray,
) -> np.ndarray:
    floor = np.broadcast_to(np.asarray(floor, np.float64), raw.shape)
    if constraints.noise == "common":
        total = counts.sum()
        share = counts / total if total > 0 else np.full_like(counts, 1 / len(counts))
        raw = np.broadcast_to(share @ raw, raw.shape)
        # a shared noise takes the largest floor, so that it stays shared
        floor = np.broadcast_to(floor.max(0), raw.shape)
    if constraints.isotropic:
        raw = np.broadcast_to(raw.mean(1, keepdims=True), raw.shape)
        floor = np.broadcast_to(floor.max(1, keepdims=True), raw.shape)
    return np.maximum(raw, floor)


@dataclass(frozen=True)
class FactorParams:
    """Weights, means, loadings (K, D, q) and noise (K, D) of an MFA."""

    weights: np.ndarray
    means: np.ndarray
    loadings: np.ndarray
    noise: np.ndarray

    def covariances(self) -> LowRankCovariances:
        return LowRankCovariances.factor_analysers(self.loadings, self.noise)


def _alive(counts: np.ndarray) -> np.ndarray:
    # a component with (nearly) no weight keeps its loadings and noise
    return counts > 1e3 * np.finfo(np.float64).eps * max(counts.sum(), 1.0)


def regularised(covariances: np.ndarray, reg_covar: float) -> np.ndarray:
    """``S_k + reg_covar I`` for covariances (K, D, D), as a new array."""
    out = np.array(covariances, dtype=np.float64)
    index = np.arange(out.shape[1])
    out[:, index, index] += reg_covar
    return out


def factor_m_step(
    counts: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    previous: FactorParams,
    constraints: FactorConstraints,
    floor: float | np.ndarray,
    n_cycles: int = 1,
    reg_covar: float = 0.0,
) -> FactorParams:
    """The M-step from each component's covariance about its new mean.

    ``covariances`` (K, D, D) are the scatters divided by ``n_k``;
    ``reg_covar`` is added to their diagonals first. The mixture of PPCA
    takes its closed form; the other models ``n_cycles`` AECM cycles, each
    recomputing ``beta`` from the last. ``floor`` (a number, or one per
    component and feature) only keeps the noise positive and resolvable.
    """
    check_finite_covariances(covariances)
    if reg_covar:
        covariances = regularised(covariances, reg_covar)
    weights = counts / counts.sum()
    alive = _alive(counts)
    loadings, noise = previous.loadings.copy(), previous.noise.copy()
    rank = loadings.shape[2]
    if constraints.closed_form:
        floors = np.broadcast_to(np.asarray(floor, np.float64), noise.shape)
        for k in np.flatnonzero(alive):
            # one variance per component: the largest of its floors
            w, s = ppca_closed_form(covariances[k], rank, float(floors[k].max()))
            loadings[k], noise[k] = w, s
        return FactorParams(weights, means, loadings, noise)
    diagonal = np.diagonal(covariances, axis1=1, axis2=2)
    used = np.where(alive, counts, 0.0)
    for _ in range(n_cycles):
        beta = posterior_maps(loadings, noise)
        projected = covariances @ np.swapaxes(beta, 1, 2)
        new_loadings, new_noise = aecm_cycle(
            used, diagonal, projected, beta, loadings, noise, constraints, floor
        )
        loadings = np.where(alive[:, None, None], new_loadings, loadings)
        noise = np.where(alive[:, None], new_noise, noise)
    return FactorParams(weights, means, loadings, noise)


def factor_m_step_projected(
    counts: np.ndarray,
    means: np.ndarray,
    diagonal_scatter: np.ndarray,
    projected_scatter: np.ndarray,
    beta: np.ndarray,
    previous: FactorParams,
    constraints: FactorConstraints,
    floor: float | np.ndarray,
    reg_covar: float = 0.0,
) -> FactorParams:
    """One AECM cycle from the projected E-step (scatters about the new means).

    ``diagonal_scatter`` (K, D) and ``projected_scatter`` (K, D, q) are sums,
    ``beta`` the maps the E-step projected with. The covariances are
    regularised as in :func:`factor_m_step`: ``(S_k + r I) beta_k^T`` adds
    ``r beta_k^T`` to the projection.
    """
    check_finite_covariances(diagonal_scatter, projected_scatter)
    weights = counts / counts.sum()
    alive = _alive(counts)
    safe = np.where(alive, counts, 1.0)
    new_loadings, new_noise = aecm_cycle(
        np.where(alive, counts, 0.0),
        diagonal_scatter / safe[:, None] + reg_covar,
        projected_scatter / safe[:, None, None] + reg_covar * np.swapaxes(beta, 1, 2),
        beta,
        previous.loadings,
        previous.noise,
        constraints,
        floor,
    )
    loadings = np.where(alive[:, None, None], new_loadings, previous.loadings)
    noise = np.where(alive[:, None], new_noise, previous.noise)
    return FactorParams(weights, means, loadings, noise)


def expected_log_likelihood(
    counts: np.ndarray, covariances: np.ndarray, params: FactorParams
) -> float:
    """``sum_k n_k (log w_k - 1/2 [log|Sigma_k| + tr(Sigma_k^-1 S_k)])`` + const.

    The Gaussian part of EM's objective with the responsibilities fixed and
    the means at their maximisers (``S_k`` the covariances about them): the
    quantity each M-step increases. Costs O(K D^3); for tests and checks.
    """
    factors = woodbury(params.covariances())
    dense = params.covariances().dense()
    trace = np.einsum("kde,ked->k", np.linalg.inv(dense), covariances)
    with np.errstate(divide="ignore"):
        log_weights = np.where(counts > 0, np.log(params.weights), 0.0)
    return float(counts @ (log_weights - 0.5 * (factors.log_det + trace)))
