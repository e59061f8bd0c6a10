"""Conditional and marginal mixtures against closed forms and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.exceptions import NotFittedError

from gaussmix import ConditionalMixture, GaussianMixture
from gaussmix.core.conditioning import condition, marginal_params
from gaussmix.core.covariance import base as registry
from gaussmix.core.covariance.full import Full
from gaussmix.core.params import MixtureParams

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _random_spd(rng, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.5 * np.eye(d)


def _random_covariances(covariance_type, rng, k: int, d: int) -> np.ndarray:
    if covariance_type == "full":
        return np.stack([_random_spd(rng, d) for _ in range(k)])
    if covariance_type == "tied":
        return _random_spd(rng, d)
    if covariance_type == "diag":
        return rng.uniform(0.3, 2.0, size=(k, d))
    return rng.uniform(0.3, 2.0, size=k)


def _mixture(covariance_type, rng, k=3, d=4) -> GaussianMixture:
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(scale=3.0, size=(k, d))
    covariances = _random_covariances(covariance_type, rng, k, d)
    return GaussianMixture.from_params(weights, means, covariances, covariance_type)


def _as_params(model: GaussianMixture) -> MixtureParams:
    return MixtureParams(
        model.weights_,
        model.means_,
        model.covariances_,
        model.precisions_cholesky_,
        model.covariance_type,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_single_gaussian_matches_the_precision_form(covariance_type, rng):
    """One component: mean and covariance from the joint precision matrix."""
    model = _mixture(covariance_type, rng, k=1, d=5)
    inputs, outputs = np.array([3, 0]), np.array([1, 2, 4])
    values = rng.normal(size=(6, 2))
    result = model.condition(inputs, values)

    mean = model.means_[0]
    full = _full_covariance_of(model.covariances_, covariance_type, 5)
    precision = np.linalg.inv(full)
    p_oo = precision[np.ix_(outputs, outputs)]
    p_oi = precision[np.ix_(outputs, inputs)]
    expected_cov = np.linalg.inv(p_oo)
    expected_means = mean[outputs] - (values - mean[inputs]) @ (expected_cov @ p_oi).T

    assert result.output_indices == (1, 2, 4)
    np.testing.assert_allclose(result.weights, 1.0)
    np.testing.assert_allclose(result.means[:, 0, :], expected_means, atol=1e-10)
    np.testing.assert_allclose(result.full_covariances()[0], expected_cov, atol=1e-10)
    np.testing.assert_allclose(result.mean(), expected_means, atol=1e-10)
    np.testing.assert_allclose(
        result.covariance(), np.broadcast_to(expected_cov, (6, 3, 3)), atol=1e-10
    )


def _full_covariance_of(covariances, covariance_type, d):
    if covariance_type == "full":
        return covariances[0]
    if covariance_type == "tied":
        return covariances
    if covariance_type == "diag":
        return np.diag(covariances[0])
    return covariances[0] * np.eye(d)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_joint_density_is_marginal_times_conditional(covariance_type, rng):
    """log p(x_I, x_O) = log p(x_I) + log p(x_O | x_I) for every row."""
    model = _mixture(covariance_type, rng)
    X, _ = GaussianMixture.from_params(
        model.weights_,
        model.means_,
        model.covariances_,
        covariance_type,
        random_state=1,
    ).sample(200)
    inputs = [2, 0]
    conditional = model.condition(inputs, X[:, inputs])
    marginal = model.marginal(inputs)
    outputs = list(conditional.output_indices)
    np.testing.assert_allclose(
        marginal.score_samples(X[:, inputs]) + conditional.log_prob(X[:, outputs]),
        model.score_samples(X),
        rtol=1e-9,
        atol=1e-9,
    )
    np.testing.assert_allclose(conditional.weights.sum(axis=1), 1.0, rtol=1e-12)
    assert conditional.covariance_type == covariance_type
    assert marginal.covariance_type == covariance_type


def test_marginal_is_the_matching_block_in_the_given_order(rng):
    model = _mixture("full", rng, k=2, d=4)
    marginal = model.marginal([3, 1])
    np.testing.assert_allclose(marginal.weights_, model.weights_)
    np.testing.assert_allclose(marginal.means_, model.means_[:, [3, 1]])
    np.testing.assert_allclose(
        marginal.covariances_, model.covariances_[:, [3, 1]][:, :, [3, 1]]
    )
    # a one-component marginal is a Gaussian with that block
    single = _mixture("tied", rng, k=1, d=3)
    block = single.marginal([0, 2])
    x = rng.normal(size=(5, 2))
    expected = multivariate_normal(
        single.means_[0, [0, 2]], single.covariances_[np.ix_([0, 2], [0, 2])]
    ).logpdf(x)
    np.testing.assert_allclose(block.score_samples(x), expected, rtol=1e-10)


def test_diagonal_conditionals_keep_means_and_reweight(rng):
    model = _mixture("diag", rng)
    values = rng.normal(size=(4, 1)) * 3
    result = model.condition([1], values)
    # within a diagonal component the outputs ignore the inputs...
    np.testing.assert_allclose(
        result.means, np.broadcast_to(model.means_[:, [0, 2, 3]], (4, 3, 3))
    )
    np.testing.assert_allclose(result.covariances, model.covariances_[:, [0, 2, 3]])
    # ...and the weights are the components' posteriors given the input
    expected = model.marginal([1]).predict_proba(values)
    np.testing.assert_allclose(result.weights, expected, rtol=1e-10)


def test_conditional_moments_match_monte_carlo():
    """Rows drawn near x0 = a have the conditional mean, variance and weights."""
    model = GaussianMixture.from_params(
        [0.3, 0.7],
        [[0.0, 0.0], [1.0, 3.0]],
        [[[1.0, 0.8], [0.8, 1.0]], [[0.5, -0.3], [-0.3, 1.5]]],
        random_state=0,
    )
    X, labels = model.sample(400_000)
    a = 0.6
    near = np.abs(X[:, 0] - a) < 0.01
    result = model.condition([0], [[a]])
    y = X[near, 1]
    standard_error = y.std() / np.sqrt(near.sum())
    assert abs(y.mean() - result.mean()[0, 0]) < 4 * standard_error
    assert y.var() == pytest.approx(result.variance()[0, 0], rel=0.05)
    share = np.mean(labels[near] == 1)
    assert share == pytest.approx(result.weights[0, 1], abs=0.03)


def test_sampling_reproduces_the_moments(rng):
    model = _mixture("full", rng, k=3, d=3)
    result = model.condition([1], [[0.5], [-2.0]])
    draws = result.sample(100_000, np.random.RandomState(0))
    assert draws.shape == (2, 100_000, 2)
    np.testing.assert_allclose(draws.mean(axis=1), result.mean(), atol=0.05)
    for row in range(2):
        np.testing.assert_allclose(
            np.cov(draws[row].T), result.covariance()[row], rtol=0.05, atol=0.03
        )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_rescaled_density_changes_by_the_jacobian(covariance_type, rng):
    model = _mixture(covariance_type, rng, k=2, d=3)
    result = model.condition([0], rng.normal(size=(5, 1)))
    scale, offset = np.array([2.0, 0.5]), np.array([1.0, -3.0])
    moved = result.rescaled(scale, offset)
    y = rng.normal(size=(5, 2))
    np.testing.assert_allclose(
        moved.log_prob(offset + scale * y),
        result.log_prob(y) - np.log(scale).sum(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(moved.mean(), offset + scale * result.mean())


def test_unstructured_family_is_conditioned_through_full_matrices(monkeypatch, rng):
    class FullCopy(Full):
        name = "full-copy-for-test"
        aliases = ()

    monkeypatch.setitem(registry._REGISTRY, FullCopy.name, FullCopy)
    model = _mixture("full", rng)
    params = _as_params(model)
    copy = MixtureParams(
        params.weights,
        params.means,
        params.covariances,
        params.precisions_cholesky,
        FullCopy.name,
    )
    values = rng.normal(size=(3, 2))
    ours, reference = condition(copy, [0, 1], values), condition(params, [0, 1], values)
    assert ours.covariance_type == "full"
    np.testing.assert_allclose(ours.means, reference.means)
    np.testing.assert_allclose(ours.weights, reference.weights)
    assert marginal_params(copy, [2]).covariance_type == "full"


@pytest.mark.parametrize(
    ("indices", "values", "error", "match"),
    [
        ([0, 0], [[1.0, 2.0]], ValueError, "repeat"),
        ([5], [[1.0]], ValueError, r"\[0, 4\)"),
        ([0, 1, 2, 3], [[1.0, 2.0, 3.0, 4.0]], ValueError, "at least one"),
        ([0.5], [[1.0]], TypeError, "integer"),
        ([], [[1.0]], ValueError, "non-empty"),
        ([0], [1.0, 2.0], ValueError, "2-D"),
        ([0, 1], [[1.0]], ValueError, "columns"),
        ([0], [[np.nan]], ValueError, "NaN"),
        ([0], [[1 + 2j]], TypeError, "real"),
        ([0], [["a"]], TypeError, "real"),
    ],
)
def test_bad_input_is_named(indices, values, error, match, rng):
    model = _mixture("full", rng)
    with pytest.raises(error, match=match):
        model.condition(indices, np.asarray(values))


def test_unfitted_mixture_cannot_condition():
    with pytest.raises(NotFittedError):
        GaussianMixture(2).condition([0], [[1.0]])
    with pytest.raises(NotFittedError):
        GaussianMixture(2).marginal([0])


def test_log_prob_checks_the_shape(rng):
    result = _mixture("full", rng).condition([0], [[1.0], [2.0]])
    assert isinstance(result, ConditionalMixture)
    with pytest.raises(ValueError, match="shape"):
        result.log_prob(np.zeros((3, 3)))
