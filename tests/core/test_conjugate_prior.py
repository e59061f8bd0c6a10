"""The MAP M-step under the conjugate prior, against a numerical maximisation
of the expected complete-data log-posterior written out from the prior's
definition, and its maximum-likelihood limit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from gaussmix.core.conjugate_prior import (
    ConjugatePrior,
    default_prior,
    log_prior,
)
from gaussmix.core.covariance import get_family
from gaussmix.core.covariance.mclust_parts import MCLUST_MODELS
from gaussmix.core.mstep import m_step
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from tests.core.moments import weighted_sums

PRIOR = ConjugatePrior(
    shrinkage=0.3,
    mean=np.array([0.2, -0.1]),
    dof=3.5,
    scale=np.array([[1.0, 0.3], [0.3, 0.5]]),
)
SHARED = {"EII", "EEI", "EEE"}


def small_problem(covariance_type: str, n_rows: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.vstack(
        [
            rng.normal([-1.0, 0.0], 0.7, (n_rows // 2, 2)),
            rng.normal([1.5, 1.0], 0.4, (n_rows - n_rows // 2, 2)),
        ]
    )
    resp = rng.dirichlet([1.0, 1.0], size=n_rows)
    kind = get_family(covariance_type).scatter_kind
    shift = np.zeros((2, 2))
    stats = Stats(
        **weighted_sums(X, resp, shift, kind),
        shift=shift,
        scatter_kind=kind,
        total_weight=float(n_rows),
    )
    return X, resp, stats


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def covariances_from(model: str, theta: np.ndarray, n_components: int = 2):
    """Sigma_k = exp(l_k) R(a_k) diag(e^s_k, e^-s_k) R(a_k)^T in two dimensions,
    each of volume, shape and orientation equal (one parameter), variable
    (one per component) or the identity (none), as mclust's name says."""
    out, used = [], 0
    blocks = []
    for letter in model:
        count = {"E": 1, "V": n_components, "I": 0}[letter]
        blocks.append(theta[used : used + count])
        used += count
    volumes, shapes, angles = blocks

    def pick(values, k):
        return 0.0 if len(values) == 0 else values[min(k, len(values) - 1)]

    for k in range(n_components):
        rot = _rotation(pick(angles, k))
        shape = np.exp(pick(shapes, k))
        out.append(
            np.exp(pick(volumes, k)) * rot @ np.diag([shape, 1.0 / shape]) @ rot.T
        )
    return np.array(out), used


def expected_log_posterior(X, resp, means, covariances, model, prior):
    """sum_ik r_ik log N(x_i | mu_k, Sigma_k) + log p(mu, Sigma), from the
    definitions (constants dropped)."""
    total = 0.0
    for k in range(len(means)):
        inverse = np.linalg.inv(covariances[k])
        log_det = np.linalg.slogdet(covariances[k])[1]
        diff = X - means[k]
        quad = np.einsum("ni,ij,nj->n", diff, inverse, diff)
        total += float(resp[:, k] @ (-0.5 * (log_det + quad)))
        away = means[k] - prior.mean
        total += -0.5 * (log_det + prior.shrinkage * away @ inverse @ away)
    carriers = covariances[:1] if model in SHARED else covariances
    scale = prior.scale
    for sigma in carriers:
        if model[-1] != "I":  # ellipsoidal: inverse Wishart
            total += -0.5 * (prior.dof + 3) * np.linalg.slogdet(sigma)[1]
            total += -0.5 * np.trace(np.linalg.solve(sigma, scale))
        elif model[1] != "I":  # diagonal: inverse gamma per variance
            variances = np.diag(sigma)
            total += float(
                np.sum(
                    -(prior.dof / 2 + 1) * np.log(variances)
                    - np.diag(scale) / (2 * variances)
                )
            )
        else:  # spherical: inverse gamma on the variance
            variance = sigma[0, 0]
            total += -(prior.dof / 2 + 1) * np.log(variance) - np.trace(scale) / 2 / (
                2 * variance
            )
    return total


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_map_m_step_maximises_the_expected_log_posterior(model):
    X, resp, stats = small_problem(model)
    params = m_step(stats, model, 0.0, prior=PRIOR)
    family = get_family(model)
    full = family.full_covariances(params.covariances, 2, 2)
    ours = expected_log_posterior(X, resp, params.means, full, model, PRIOR)

    _, n_cov = covariances_from(model, np.zeros(10))

    def negative(theta):
        covariances, _ = covariances_from(model, theta[4:])
        return -expected_log_posterior(
            X, resp, theta[:4].reshape(2, 2), covariances, model, PRIOR
        )

    rng = np.random.default_rng(1)
    best = np.inf
    for _ in range(3):
        start = np.concatenate([rng.normal(size=4), rng.normal(scale=0.5, size=n_cov)])
        result = minimize(negative, start, method="BFGS", options={"gtol": 1e-9})
        best = min(best, result.fun)
    # the M-step reaches the numerical optimum, and nothing beats it
    assert ours == pytest.approx(-best, abs=1e-5)
    assert -best <= ours + 1e-6


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_map_m_step_tends_to_maximum_likelihood_as_data_outweigh_the_prior(model):
    # multiplying every row's weight by m leaves the ML estimate unchanged
    # while the prior's weight, relative to the data's, falls as 1/m
    _, _, stats = small_problem(model, n_rows=40)
    heavy = stats.scaled(1e8)
    ml = m_step(heavy, model, 0.0)
    map_ = m_step(heavy, model, 0.0, prior=PRIOR)
    np.testing.assert_allclose(map_.means, ml.means, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(map_.covariances, ml.covariances, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(map_.weights, ml.weights, rtol=1e-12)


def test_zero_shrinkage_leaves_the_means_unshrunk():
    _, _, stats = small_problem("VVV")
    unshrunk = ConjugatePrior(0.0, PRIOR.mean, PRIOR.dof, PRIOR.scale)
    np.testing.assert_allclose(
        m_step(stats, "VVV", 0.0, prior=unshrunk).means, stats.means(), rtol=1e-12
    )


def test_vvv_map_covariance_is_the_closed_form_of_fraley_and_raftery():
    # Fraley & Raftery (2007), VVV: (Lambda + kappa n/(kappa+n) (xbar-mu)(xbar-mu)^T
    # + W_k) / (nu + n_k + d + 2)
    X, resp, stats = small_problem("VVV")
    params = m_step(stats, "VVV", 0.0, prior=PRIOR)
    for k in range(2):
        n = resp[:, k].sum()
        xbar = resp[:, k] @ X / n
        scatter = (resp[:, k, None] * (X - xbar)).T @ (X - xbar)
        away = xbar - PRIOR.mean
        shrink = PRIOR.shrinkage * n / (PRIOR.shrinkage + n) * np.outer(away, away)
        expected = (PRIOR.scale + shrink + scatter) / (PRIOR.dof + n + 2 + 2)
        np.testing.assert_allclose(params.covariances[k], expected, rtol=1e-10)
        np.testing.assert_allclose(
            params.means[k],
            (n * xbar + PRIOR.shrinkage * PRIOR.mean) / (n + PRIOR.shrinkage),
            rtol=1e-10,
        )


def test_log_prior_matches_the_definition():
    rng = np.random.default_rng(3)
    for model in ("VVV", "EEE", "VVI", "EII", "VEV"):
        family = get_family(model)
        X, resp, stats = small_problem(model)
        params = m_step(stats, model, 0.0, prior=PRIOR)
        # the prior alone: the same sum with every responsibility zero
        means = params.means + rng.normal(scale=0.1, size=(2, 2))
        moved = MixtureParams(
            params.weights, means, params.covariances, params.precisions_cholesky, model
        )
        full = family.full_covariances(params.covariances, 2, 2)
        without_data = expected_log_posterior(
            X, np.zeros_like(resp), means, full, model, PRIOR
        )
        assert log_prior(moved, PRIOR) == pytest.approx(without_data, rel=1e-10)


def test_default_prior_is_mclusts():
    mean, covariance = np.array([1.0, 2.0, 3.0]), np.diag([4.0, 1.0, 9.0])
    prior = default_prior(ConjugatePrior(), mean, covariance, n_components=8)
    assert prior.shrinkage == 0.01
    assert prior.dof == 5.0
    np.testing.assert_array_equal(prior.mean, mean)
    np.testing.assert_allclose(prior.scale, covariance / 8 ** (2 / 3), rtol=1e-5)


@pytest.mark.parametrize(
    "bad",
    [
        ConjugatePrior(shrinkage=-1.0),
        ConjugatePrior(dof=0.0),
        ConjugatePrior(scale=np.array([[1.0, 2.0], [2.0, 1.0]])),
        ConjugatePrior(mean=np.array([np.nan, 0.0])),
    ],
)
def test_invalid_hyperparameters_are_named(bad):
    with pytest.raises(ValueError, match="ConjugatePrior"):
        bad.check(2)
