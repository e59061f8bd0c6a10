"""The variational core against closed forms and scipy's distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as distributions
from scipy.special import digamma

from gaussmix.core.covariance import get_family
from gaussmix.core.estep import log_responsibilities
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.core.variational import (
    VariationalPosterior,
    log_dirichlet_norm,
    log_wishart_norm,
    responsibility_log_sum,
)


def test_dirichlet_norm_is_scipys():
    concentration = np.array([0.3, 2.0, 5.5])
    point = np.array([0.2, 0.3, 0.5])
    expected = distributions.dirichlet(concentration).logpdf(point) - np.sum(
        (concentration - 1) * np.log(point)
    )
    assert log_dirichlet_norm(concentration) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("nu", [3.5, 7.0])
def test_wishart_norm_is_scipys_without_log_pi(nu):
    # log B(W, nu) of Bishop (B.79), less the D(D-1)/4 log(pi) left out;
    # the norm takes log |W|^(1/2)
    n_features = 3
    rng = np.random.RandomState(0)
    A = rng.normal(size=(n_features, n_features))
    scale = A @ A.T + n_features * np.eye(n_features)
    identity = np.eye(n_features)
    # the density at the identity: log B + (nu - D - 1)/2 log|I| - tr(W^-1)/2
    log_b = distributions.wishart(df=nu, scale=scale).logpdf(identity) + 0.5 * np.trace(
        np.linalg.inv(scale)
    )
    log_pi_term = n_features * (n_features - 1) / 4 * np.log(np.pi)
    factor = np.linalg.cholesky(scale)
    log_det_factor = np.log(np.diag(factor)).sum()
    ours = log_wishart_norm(np.array([nu]), log_det_factor, n_features)[0]
    assert ours == pytest.approx(log_b + log_pi_term, rel=1e-12)


def test_expected_log_weights_of_the_dirichlet_distribution():
    concentration = np.array([1.5, 3.0, 0.5])
    posterior = _posterior(concentration, "dirichlet_distribution")
    # E[log pi_k] by Monte Carlo against the closed form
    draws = np.random.RandomState(0).dirichlet(concentration, size=400_000)
    np.testing.assert_allclose(
        posterior.expected_log_weights(), np.log(draws).mean(0), atol=1e-2
    )
    np.testing.assert_allclose(
        posterior.expected_log_weights(),
        digamma(concentration) - digamma(concentration.sum()),
    )


def test_stick_breaking_weights_and_their_expected_logs():
    a, b = np.array([3.0, 2.0, 4.0]), np.array([5.0, 2.0, 1.0])
    posterior = _posterior((a, b), "dirichlet_process")
    rng = np.random.RandomState(1)
    sticks = rng.beta(a, b, size=(400_000, 3))
    rest = np.cumprod(np.hstack([np.ones((len(sticks), 1)), 1 - sticks[:, :-1]]), 1)
    weights = sticks * rest
    np.testing.assert_allclose(
        posterior.expected_log_weights(), np.log(weights).mean(0), atol=1e-2
    )
    expected = weights.mean(0) / weights.mean(0).sum()
    np.testing.assert_allclose(posterior.weights(), expected, atol=2e-3)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_responsibility_log_sum_from_stats_is_the_direct_sum(covariance_type):
    rng = np.random.RandomState(2)
    X = rng.normal(size=(200, 3))
    weights = rng.uniform(0.5, 2.0, size=200)
    shapes = {
        "full": np.stack([np.eye(3) * s for s in (0.5, 1.0, 2.0)]),
        "tied": np.eye(3) * 1.3,
        "diag": np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0], [2.0, 0.7, 0.3]]),
        "spherical": np.array([0.5, 1.0, 2.0]),
    }

    family = get_family(covariance_type)
    covariances = shapes[covariance_type]
    params = MixtureParams(
        weights=np.array([0.2, 0.05, 0.6]),  # need not sum to one
        means=rng.normal(size=(3, 3)),
        covariances=covariances,
        precisions_cholesky=family.precision_cholesky(covariances),
        covariance_type=covariance_type,
    )
    log_norm, log_resp = log_responsibilities(X, params)
    direct = float((weights[:, None] * np.exp(log_resp) * log_resp).sum())
    resp = np.exp(log_resp) * weights[:, None]
    shift = rng.normal(size=(3, 3)) if covariance_type != "tied" else None
    stats = _stats(X, resp, weights, log_norm, family.scatter_kind, shift)
    ours = responsibility_log_sum(stats, params, np.log(params.weights))
    assert ours == pytest.approx(direct, rel=1e-10)


def _stats(X, resp, weights, log_norm, kind, shift):
    n = resp.sum(0)
    if shift is None:
        shift = np.broadcast_to(X.mean(0), (3, 3)).copy()
    diffs = X[None, :, :] - shift[:, None, :]
    centred = np.einsum("ik,kid->kd", resp, diffs)
    if kind == "full":
        scatter = np.einsum("ik,kid,kie->kde", resp, diffs, diffs)
    elif kind == "diag":
        scatter = np.einsum("ik,kid->kd", resp, diffs**2)
    else:
        d = X - shift[0]
        scatter = (weights[:, None] * d).T @ d
    return Stats(
        resp_sum=n,
        centred_sum=centred,
        scatter=scatter,
        shift=shift,
        scatter_kind=kind,
        log_likelihood=float(weights @ log_norm),
        total_weight=float(weights.sum()),
    )


def _posterior(concentration, prior_type):
    k = 3
    return VariationalPosterior(
        weight_concentration=concentration,
        mean_precision=np.ones(k),
        means=np.zeros((k, 2)),
        degrees_of_freedom=np.full(k, 3.0),
        covariances=np.ones((k, 2)),
        precisions_cholesky=np.ones((k, 2)),
        covariance_type="diag",
        weight_concentration_prior_type=prior_type,
    )
