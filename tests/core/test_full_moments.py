"""Quadratic features of the dense full-covariance path against direct sums."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gaussmix.core.kernels.full_moments import QuadraticForms


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


def test_rows_far_from_the_centre_are_not_accurate_in_float32(rng):
    X, means, _, precisions, _ = _problem(rng)
    centre = means.mean(0)
    forms = QuadraticForms(precisions, means - centre, np.zeros(3), np.dtype("f4"))
    near = _block(X, centre)[-1]
    assert forms.accurate(near)
    far = _block(X + 1e4, centre)[-1]
    assert not forms.accurate(far)
