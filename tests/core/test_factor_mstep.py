"""The PGMM M-steps: monotone, and as good as a numerical maximisation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import optimize

from gaussmix.core.factor_mstep import (
    SHARING,
    FactorConstraints,
    FactorParams,
    expected_log_likelihood,
    factor_m_step,
    factor_m_step_projected,
    posterior_maps,
)

CONSTRAINTS = [
    FactorConstraints(loadings, noise, isotropic)
    for loadings, noise, isotropic in itertools.product(SHARING, SHARING, (False, True))
]


def _problem(seed, n_components=2, n_features=4):
    # sample covariances of 50 rows of a two-factor model: away from the
    # boundary psi = 0, where EM crawls (Heywood cases)
    rng = np.random.default_rng(seed)
    covariances = []
    for _ in range(n_components):
        W = rng.normal(size=(n_features, 2))
        rows = rng.normal(size=(50, 2)) @ W.T + rng.normal(
            scale=rng.uniform(0.5, 1.5, n_features), size=(50, n_features)
        )
        covariances.append(np.cov(rows.T, bias=True))
    counts = rng.uniform(10, 40, size=n_components)
    return rng, counts, np.zeros((n_components, n_features)), np.array(covariances)


def _random_start(rng, counts, means) -> FactorParams:
    """Two components of four features: random rank-2 loadings, unit noise."""
    return FactorParams(
        counts / counts.sum(), means, rng.normal(size=(2, 4, 2)), np.ones((2, 4))
    )


@pytest.mark.parametrize("constraints", CONSTRAINTS, ids=lambda c: c.pgmm_name)
def test_an_m_step_never_lowers_the_objective(constraints):
    rng, counts, means, covariances = _problem(0)
    params = _random_start(rng, counts, means)
    # the start satisfies the constraints once one step has been taken
    params = factor_m_step(counts, means, covariances, params, constraints, 1e-9)
    values = []
    for _ in range(20):
        params = factor_m_step(counts, means, covariances, params, constraints, 1e-9)
        values.append(expected_log_likelihood(counts, covariances, params))
    assert np.all(np.diff(values) >= -1e-10)


def _unpack(theta, constraints, n_components, n_features, rank):
    size = n_features * rank
    n_loadings = n_components if constraints.loadings == "per_component" else 1
    loadings = theta[: n_loadings * size].reshape(n_loadings, n_features, rank)
    log_noise = theta[n_loadings * size :]
    n_noise = n_components if constraints.noise == "per_component" else 1
    width = 1 if constraints.isotropic else n_features
    noise = np.exp(log_noise).reshape(n_noise, width)
    return (
        np.broadcast_to(loadings, (n_components, n_features, rank)),
        np.broadcast_to(noise, (n_components, n_features)),
    )


@pytest.mark.parametrize("constraints", CONSTRAINTS, ids=lambda c: c.pgmm_name)
def test_the_m_step_reaches_a_numerical_maximum(constraints):
    rng, counts, means, covariances = _problem(1)
    weights = counts / counts.sum()
    rank = 1

    def objective(theta):
        loadings, noise = _unpack(theta, constraints, 2, 4, rank)
        params = FactorParams(weights, means, loadings, noise)
        return -expected_log_likelihood(counts, covariances, params)

    n_loadings = 2 if constraints.loadings == "per_component" else 1
    n_noise = (2 if constraints.noise == "per_component" else 1) * (
        1 if constraints.isotropic else 4
    )
    best = min(
        (
            optimize.minimize(
                objective,
                np.concatenate(
                    [rng.normal(size=n_loadings * 4 * rank), np.zeros(n_noise)]
                ),
                method="BFGS",
            )
            for _ in range(3)
        ),
        key=lambda result: result.fun,
    )
    params = FactorParams(
        weights, means, rng.normal(size=(2, 4, rank)), np.ones((2, 4))
    )
    for _ in range(2000):
        params = factor_m_step(counts, means, covariances, params, constraints, 1e-9)
    ours = expected_log_likelihood(counts, covariances, params)
    assert ours >= -best.fun - 1e-4 * abs(best.fun)


@pytest.mark.parametrize("reg_covar", [0.0, 0.3])
@pytest.mark.parametrize("constraints", CONSTRAINTS[::3], ids=lambda c: c.pgmm_name)
def test_the_projected_step_is_the_full_step(constraints, reg_covar):
    rng, counts, means, covariances = _problem(2)
    params = FactorParams(
        counts / counts.sum(),
        means,
        rng.normal(size=(2, 4, 2)),
        rng.uniform(0.5, 1.5, size=(2, 4)),
    )
    if constraints.closed_form:
        # the mixture of PPCA takes its closed form from the full scatter
        constraints = FactorConstraints("per_component", "per_component", False)
    full = factor_m_step(
        counts, means, covariances, params, constraints, 1e-9, reg_covar=reg_covar
    )
    beta = posterior_maps(params.loadings, params.noise)
    scatters = covariances * counts[:, None, None]
    projected = factor_m_step_projected(
        counts,
        means,
        np.diagonal(scatters, axis1=1, axis2=2),
        scatters @ np.swapaxes(beta, 1, 2),
        beta,
        params,
        constraints,
        1e-9,
        reg_covar=reg_covar,
    )
    np.testing.assert_allclose(projected.loadings, full.loadings, rtol=1e-9)
    np.testing.assert_allclose(projected.noise, full.noise, rtol=1e-9)


def test_parameter_counts_follow_mcnicholas_and_murphy():
    # their Table 1 with G components, p variables, q factors
    G, p, q = 3, 10, 2
    loading = p * q - q * (q - 1) // 2
    base = G - 1 + G * p
    expected = {
        "CCC": loading + 1,
        "CCU": loading + p,
        "CUC": loading + G,
        "CUU": loading + G * p,
        "UCC": G * loading + 1,
        "UCU": G * loading + p,
        "UUC": G * loading + G,
        "UUU": G * loading + G * p,
    }
    for constraints in CONSTRAINTS:
        assert (
            constraints.n_parameters(G, p, q) == base + expected[constraints.pgmm_name]
        )


def test_an_empty_component_with_a_singular_system_keeps_its_parameters():
    # no weight, zero covariance, loadings on a feature whose noise is
    # 1e-100: its theta is exactly zero and solving with it used to fail
    _, counts, means, covariances = _problem(0)
    counts = np.array([0.0, counts[1]])
    covariances[0] = 0.0
    loadings = np.random.default_rng(1).normal(size=(2, 4, 1))
    loadings[0] = 0.0
    loadings[0, 3, 0] = 1.0
    noise = np.ones((2, 4))
    noise[0, 3] = 1e-100
    start = FactorParams(np.array([0.0, 1.0]), means, loadings, noise)
    alone = FactorParams(np.ones(1), means[1:], loadings[1:], noise[1:])
    for constraints in (FactorConstraints(), FactorConstraints(noise="common")):
        params = factor_m_step(counts, means, covariances, start, constraints, 1e-9)
        np.testing.assert_array_equal(params.loadings[0], loadings[0])
        np.testing.assert_array_equal(params.noise[0], noise[0])
        # the other component's step is the one it takes on its own
        own = factor_m_step(
            counts[1:], means[1:], covariances[1:], alone, constraints, 1e-9
        )
        np.testing.assert_allclose(params.loadings[1], own.loadings[0], rtol=1e-12)
        np.testing.assert_allclose(params.noise[1], own.noise[0], rtol=1e-12)


@pytest.mark.parametrize("constraints", CONSTRAINTS, ids=lambda c: c.pgmm_name)
def test_floors_per_component_and_feature_keep_the_constraints(constraints):
    rng, counts, means, covariances = _problem(2)
    start = _random_start(rng, counts, means)
    free = factor_m_step(counts, means, covariances, start, constraints, 1e-300)
    # floors above some of the free noise variances, different everywhere
    floor = np.median(free.noise) * rng.uniform(0.5, 1.5, size=(2, 4))
    params = factor_m_step(counts, means, covariances, start, constraints, floor)
    assert np.all(params.noise >= floor)
    if constraints.noise == "common":
        np.testing.assert_array_equal(params.noise[0], params.noise[1])
    if constraints.isotropic:
        assert np.all(params.noise == params.noise[:, :1])
    # where no floor binds the noise is the free step's
    loose = params.noise > floor.max() * (1 + 1e-12)
    np.testing.assert_allclose(params.noise[loose], free.noise[loose], rtol=1e-12)
