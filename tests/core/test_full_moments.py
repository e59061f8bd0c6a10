"""Quadratic features of the dense full-covariance path against direct sums."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gaussmix.core.kernels.full_moments import AMPLIFICATION_LIMIT, QuadraticForms


def _block(X: np.ndarray, centre: np.ndarray) -> np.ndarray:
    centred = (X - centre).T
    return np.vstack([centred, np.ones((1, len(X))), (centred**2).sum(0)[None]])


def _problem(rng, n_components=3, n_features=4, n_samples=200):
    X = rng.standard_normal((n_samples, n_features)) + 3.0
    means = X[rng.choice(n_samples, n_components, replace=False)]
    factors = rng.standard_normal((n_components, n_features, n_features))
    covariances = factors @ factors.transpose(0, 2, 1) + np.eye(n_features)
    precisions = np.linalg.inv(covariances)
    weights = rng.dirichlet(np.ones(n_components))
    return X, means, covariances, precisions, weights


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_densities_equal_scipy(dtype, rng):
    X, means, covariances, precisions, weights = _problem(rng)
    centre = means.mean(0)
    log_det = 0.5 * np.linalg.slogdet(precisions)[1]
    constant = np.log(weights) + log_det - 0.5 * X.shape[1] * np.log(2 * np.pi)
    forms = QuadraticForms(precisions, means - centre, constant, np.dtype(dtype))
    features = forms.features(_block(X, centre).astype(dtype))
    expected = np.stack(
        [
            np.log(w) + multivariate_normal(m, c).logpdf(X)
            for w, m, c in zip(weights, means, covariances, strict=True)
        ]
    )
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(
        forms.log_densities(features), expected, rtol=tolerance, atol=tolerance
    )


def test_moments_equal_weighted_sums(rng):
    X, means, _, precisions, _ = _problem(rng)
    centre = means.mean(0)
    forms = QuadraticForms(precisions, means - centre, np.zeros(3), np.dtype("f8"))
    resp = rng.dirichlet(np.ones(3), size=len(X)).T
    resp_sum, first, second = forms.moments(forms.features(_block(X, centre)), resp)
    centred = X - centre
    np.testing.assert_allclose(resp_sum, resp.sum(1))
    np.testing.assert_allclose(first, resp @ centred)
    np.testing.assert_allclose(
        second, np.einsum("kn,nd,ne->kde", resp, centred, centred), rtol=1e-12
    )


def _float32_forms(precisions, means, centre, weights):
    """Quadratic forms in float32 and each row's exact best log-density."""
    n_features = means.shape[1]
    constant = (
        np.log(weights)
        + 0.5 * np.linalg.slogdet(precisions)[1]
        - 0.5 * n_features * np.log(2 * np.pi)
    )
    forms = QuadraticForms(precisions, means - centre, constant, np.dtype("f4"))
    return forms, constant


def _exact_best(X, means, precisions, constant):
    return np.max(
        [
            c - 0.5 * np.einsum("nd,de,ne->n", X - m, p, X - m)
            for m, p, c in zip(means, precisions, constant, strict=True)
        ],
        axis=0,
    )


def test_rows_far_from_the_centre_are_not_accurate_in_float32(rng):
    X, means, _, precisions, _ = _problem(rng)
    centre = means.mean(0)
    forms = QuadraticForms(precisions, means - centre, np.zeros(3), np.dtype("f4"))
    near = _block(X, centre)[-1]
    assert forms.accurate(near)
    far = _block(X + 1e4, centre)[-1]
    assert not forms.accurate(far)


def test_accepted_float32_log_densities_stay_within_the_limit():
    # random components of different scales and shapes, a few rows far out:
    # wherever the chunk is judged accurate, each row's best log-density is
    # within the limit times float32's resolution of D + |log-density|
    eps = float(np.finfo(np.float32).eps)
    accepted = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n_features, n_components = rng.integers(2, 8), rng.integers(1, 5)
        scales = 10 ** rng.uniform(-0.5, 0.5, n_features)
        means = rng.standard_normal((n_components, n_features)) * scales
        factors = 0.5 * rng.standard_normal((n_components, n_features, n_features))
        covariances = factors @ factors.transpose(0, 2, 1) + np.eye(n_features)
        covariances *= np.outer(scales, scales)
        precisions = np.linalg.inv(covariances)
        weights = rng.dirichlet(np.ones(n_components))
        labels = rng.integers(n_components, size=300)
        roots = np.linalg.cholesky(covariances)[labels]
        X = means[labels] + np.einsum(
            "nde,ne->nd", roots, rng.standard_normal((300, n_features))
        )
        X[:3] *= 30.0
        centre = means.mean(0)
        forms, constant = _float32_forms(precisions, means, centre, weights)
        features = forms.features(_block(X, centre).astype(np.float32))
        log_prob = forms.log_densities(features).astype(np.float64)
        log_norm = logsumexp(log_prob, axis=0)
        if not forms.accurate(features[n_features + 1], log_norm):
            continue
        accepted += 1
        best = _exact_best(X, means, precisions, constant)
        error = np.abs(log_prob.max(0) - best)
        limit = AMPLIFICATION_LIMIT[np.dtype(np.float32)]
        assert np.all(error <= limit * eps * (n_features + np.abs(best)))
    assert accepted >= 10


def test_rows_along_a_cancelling_direction_are_not_accurate_in_float32():
    # a thin, tilted component: far along its long axis the quadratic
    # features' terms are ten thousand times the log-density they add to
    covariance = np.array([[1.0, 0.9999], [0.9999, 1.0]])
    precisions = np.linalg.inv(covariance)[None]
    means = np.zeros((1, 2))
    forms, constant = _float32_forms(precisions, means, means[0], np.ones(1))
    X = np.array([[1.0, 1.0], [-2.0, -2.0], [0.1, 0.0]]) * 30.0
    features = forms.features(_block(X, means[0]).astype(np.float32))
    log_prob = forms.log_densities(features).astype(np.float64)
    best = _exact_best(X, means, precisions, constant)
    # the rejection is warranted: the error shows at float32's resolution
    eps = float(np.finfo(np.float32).eps)
    limit = AMPLIFICATION_LIMIT[np.dtype(np.float32)]
    assert np.abs(log_prob[0] - best).max() > limit * eps * np.abs(best).max()
    assert not forms.accurate(features[3], logsumexp(log_prob, axis=0))
    # near the mean the same component is fine
    near = forms.features(_block(X[2:] / 30.0, means[0]).astype(np.float32))
    assert forms.accurate(near[3], forms.log_densities(near)[0].astype(np.float64))


def test_means_far_from_the_centre_are_not_accurate_in_float32(rng):
    _, means, _, precisions, _ = _problem(rng)
    near = QuadraticForms(precisions, means - means.mean(0), np.zeros(3), "f4")
    assert near.means_accurate
    far = QuadraticForms(precisions, means - means.mean(0) + 1e4, np.zeros(3), "f4")
    assert not far.means_accurate
    assert not far.accurate(np.ones(4), np.zeros(4))


def test_rows_without_a_finite_log_density_are_not_accurate(rng):
    _, means, _, precisions, _ = _problem(rng)
    forms = QuadraticForms(precisions, means - means.mean(0), np.zeros(3), "f4")
    assert forms.accurate(np.ones(2), np.array([-3.0, -4.0]))
    assert not forms.accurate(np.ones(2), np.array([-3.0, -np.inf]))
    assert not forms.accurate(np.ones(2), np.array([-3.0, np.nan]))
