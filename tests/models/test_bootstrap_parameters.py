"""Bootstrap standard errors of a fitted mixture's parameters."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture


@pytest.mark.parametrize("resampling", ["bs", "wlbs"])
def test_standard_error_of_a_mean_is_sigma_over_root_n(resampling):
    rng = np.random.default_rng(0)
    n, sigma = 400, 2.0
    X = rng.normal(5.0, sigma, size=(n, 1))
    model = GaussianMixture(1).fit(X)
    boot = gaussmix.bootstrap_parameters(
        model, X, n_bootstrap=200, type=resampling, random_state=0
    )
    se = boot.standard_errors()
    assert se["means"][0, 0] == pytest.approx(X.std() / np.sqrt(n), rel=0.15)
    # the variance of a normal sample: sd of s^2 is sigma^2 sqrt(2 / n)
    assert se["covariances"][0, 0, 0] == pytest.approx(
        X.var() * np.sqrt(2 / n), rel=0.2
    )
    assert se["weights"][0] == 0.0


def test_weight_errors_are_binomial_and_components_keep_their_labels():
    rng = np.random.default_rng(1)
    n, share = 500, 0.3
    first = rng.random(n) < share
    X = np.where(first[:, None], rng.normal(-4, 1, (n, 2)), rng.normal(4, 1, (n, 2)))
    model = GaussianMixture(2, covariance_type="VVV", random_state=0).fit(X)
    boot = gaussmix.bootstrap_parameters(model, X, n_bootstrap=150, random_state=2)
    p = model.weights_
    np.testing.assert_allclose(
        boot.standard_errors()["weights"], np.sqrt(p * (1 - p) / n), rtol=0.2
    )
    # every replicate's components sit next to the original ones
    assert np.max(np.abs(boot.means - model.means_)) < 0.5
    low, high = boot.confidence_intervals(0.95)["means"]
    assert np.all((low < model.means_) & (model.means_ < high))


def test_replicates_are_aligned_when_a_refit_swaps_components():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(-2, 0.5, (60, 1)), rng.normal(2, 0.5, (60, 1))])
    model = GaussianMixture(2, random_state=0).fit(X)
    boot = gaussmix.bootstrap_parameters(model, X, n_bootstrap=20, random_state=0)
    order = np.argsort(model.means_[:, 0])
    # the replicates' means keep the original order of the components
    assert np.all(np.argsort(boot.means[:, :, 0], axis=1) == order)


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(50, 2))
    model = GaussianMixture(1).fit(X)
    with pytest.raises(ValueError, match="type"):
        gaussmix.bootstrap_parameters(model, X, n_bootstrap=5, type="jackknife")
    with pytest.raises(ValueError, match="features"):
        gaussmix.bootstrap_parameters(model, X[:, :1], n_bootstrap=5)
    noisy = GaussianMixture(1, noise=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="noise"):
        gaussmix.bootstrap_parameters(noisy, X, n_bootstrap=5)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        gaussmix.bootstrap_parameters(GaussianMixture(1), X, n_bootstrap=5)
