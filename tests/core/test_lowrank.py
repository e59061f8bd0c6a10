"""Low-rank-plus-diagonal densities against dense scipy computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gaussmix.core.lowrank import (
    LowRankCovariances,
    log_gaussian,
    log_gaussian_gradient,
    lowrank_chunk_stats,
    projected_chunk_stats,
)


def _random_covariances(rng, n_components=3, n_features=7, rank=3, signed=False):
    basis = rng.normal(size=(n_components, n_features, rank))
    low = -0.3 if signed else 0.1
    coefficients = rng.uniform(low, 2.0, size=(n_components, rank))
    noise = rng.uniform(0.5, 2.0, size=(n_components, n_features))
    if signed:
        # orthonormal bases keep U diag(c) U^T + psi positive definite for
        # c > -min(psi)
        basis = np.linalg.qr(basis)[0]
    return LowRankCovariances(basis, coefficients, noise)


@pytest.mark.parametrize("signed", [False, True])
def test_log_density_is_scipys_dense_normal(signed):
    rng = np.random.default_rng(0)
    cov = _random_covariances(rng, signed=signed)
    means = rng.normal(size=(3, 7))
    X = rng.normal(scale=3, size=(40, 7))
    got = log_gaussian(X, means, cov)
    for k, dense in enumerate(cov.dense()):
        expected = stats.multivariate_normal(means[k], dense).logpdf(X)
        np.testing.assert_allclose(got[:, k], expected, rtol=1e-10, atol=1e-10)


def test_gradient_is_minus_the_dense_precision_times_the_offset():
    rng = np.random.default_rng(1)
    cov = _random_covariances(rng)
    means = rng.normal(size=(3, 7))
    X = rng.normal(size=(10, 7))
    got = log_gaussian_gradient(X, means, cov)
    for k, dense in enumerate(cov.dense()):
        expected = -np.linalg.solve(dense, (X - means[k]).T).T
        np.testing.assert_allclose(got[:, k], expected, rtol=1e-10, atol=1e-10)
    # and the log-density's finite differences agree
    step = 1e-6
    shifted = X.copy()
    shifted[:, 2] += step
    numeric = (log_gaussian(shifted, means, cov) - log_gaussian(X, means, cov)) / step
    np.testing.assert_allclose(got[:, :, 2], numeric, atol=1e-4)


def test_zero_loadings_give_the_diagonal_gaussian():
    rng = np.random.default_rng(2)
    noise = rng.uniform(0.2, 3.0, size=(2, 5))
    cov = LowRankCovariances.factor_analysers(np.zeros((2, 5, 2)), noise)
    means = rng.normal(size=(2, 5))
    X = rng.normal(size=(30, 5))
    got = log_gaussian(X, means, cov)
    for k in range(2):
        expected = stats.norm(means[k], np.sqrt(noise[k])).logpdf(X).sum(1)
        np.testing.assert_allclose(got[:, k], expected, rtol=1e-12)


def test_an_indefinite_covariance_is_refused():
    basis = np.eye(3)[None, :, :1]
    cov = LowRankCovariances(basis, np.array([[-2.0]]), np.ones((1, 3)))
    with pytest.raises(ValueError, match="not positive definite"):
        log_gaussian(np.zeros((1, 3)), np.zeros((1, 3)), cov)


def test_chunk_sums_add_and_project_the_full_scatter():
    rng = np.random.default_rng(3)
    cov = _random_covariances(rng, n_features=5, rank=2)
    weights = np.array([0.2, 0.3, 0.5])
    means = rng.normal(size=(3, 5))
    X = rng.normal(size=(60, 5))
    w = rng.uniform(0.5, 2.0, size=60)
    whole = lowrank_chunk_stats(X, w, weights, means, cov)
    halves = lowrank_chunk_stats(X[:25], w[:25], weights, means, cov)
    halves = halves + lowrank_chunk_stats(X[25:], w[25:], weights, means, cov)
    np.testing.assert_allclose(halves.scatter, whole.scatter, rtol=1e-12)
    np.testing.assert_allclose(halves.log_likelihood, whole.log_likelihood)
    projection = rng.normal(size=(3, 2, 5))
    parts = projected_chunk_stats(X[:25], w[:25], weights, means, cov, projection)
    parts = parts + projected_chunk_stats(
        X[25:], w[25:], weights, means, cov, projection
    )
    new_means, diagonal, projected = parts.about_means()
    about = whole.recentred(whole.means())
    np.testing.assert_allclose(new_means, whole.means(), rtol=1e-12)
    np.testing.assert_allclose(
        diagonal, np.diagonal(about.scatter, axis1=1, axis2=2), rtol=1e-10
    )
    np.testing.assert_allclose(
        projected, about.scatter @ np.swapaxes(projection, 1, 2), rtol=1e-10
    )
    assert parts.moments.log_likelihood == pytest.approx(whole.log_likelihood)


def test_far_apart_means_keep_their_accuracy():
    # means 1e6 noise deviations apart: the sums are taken about each mean
    rng = np.random.default_rng(4)
    cov = _random_covariances(rng, n_components=2, n_features=4, rank=2)
    means = np.array([np.zeros(4), np.full(4, 1e6)])
    X = np.vstack([rng.normal(size=(5, 4)), 1e6 + rng.normal(size=(5, 4))])
    got = log_gaussian(X, means, cov)
    for k, dense in enumerate(cov.dense()):
        expected = stats.multivariate_normal(means[k], dense).logpdf(X)
        np.testing.assert_allclose(got[:, k], expected, rtol=1e-10)
    projection = rng.normal(size=(2, 2, 4))
    parts = projected_chunk_stats(X, None, np.array([0.5, 0.5]), means, cov, projection)
    _, diagonal, projected = parts.about_means()
    for k in range(2):
        rows = X[k * 5 : (k + 1) * 5]
        diff = rows - rows.mean(0)
        np.testing.assert_allclose(diagonal[k], (diff**2).sum(0), rtol=1e-8)
        np.testing.assert_allclose(
            projected[k], diff.T @ diff @ projection[k].T, rtol=1e-8, atol=1e-8
        )
