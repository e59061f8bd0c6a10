"""partial_fit continues a fitted mixture: the fit is the stream's first batch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import gaussmix
from gaussmix import BayesianGaussianMixture, GaussianMixture

CENTRES = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, -4.0], [-6.0, 5.0, 2.0]])
# the step of a stream's second batch under the default schedule
RHO_2 = (2 + 10.0) ** -0.6


@pytest.fixture(scope="module")
def clusters():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.5, size=(2000, 3)) for c in CENTRES])
    rng.shuffle(X)
    near = np.linalg.norm(X - CENTRES[1], axis=1) < 2
    return X[:2000], X[near][:50]


@pytest.fixture(scope="module")
def overlapping():
    """Two overlapping clusters, so that a batch's rows are shared out."""
    rng = np.random.default_rng(1)
    X = np.vstack(
        [
            rng.multivariate_normal([0, 0], [[1.0, 0.5], [0.5, 1.0]], 600),
            rng.multivariate_normal([1.5, 1.0], [[0.6, -0.2], [-0.2, 0.8]], 400),
        ]
    )
    rng.shuffle(X)
    return X[:800], X[800:]


def _component(model, row):
    return int(np.argmin(np.linalg.norm(model.means_ - row, axis=1)))


def stepwise_by_hand(weights, means, covariances, reg_covar, batch, rho):
    """One stepwise-EM step from a fitted full-covariance mixture, in numpy.

    The fitted mixture stands for its rows: per unit of weight, component
    ``k`` holds weight ``pi_k``, mean ``mu_k`` and scatter
    ``pi_k (Sigma_k - reg_covar I)`` about it. The batch's responsibilities
    come from scipy's densities.
    """
    dims = means.shape[1]
    dens = np.column_stack(
        [
            w * multivariate_normal(m, c).pdf(batch)
            for w, m, c in zip(weights, means, covariances, strict=True)
        ]
    )
    resp = dens / dens.sum(axis=1, keepdims=True)
    n_rows = len(batch)
    new_weights, new_means, new_covs = [], [], []
    for k in range(len(weights)):
        nk = (1 - rho) * weights[k] + rho * resp[:, k].mean()
        first = (1 - rho) * weights[k] * means[k] + rho * resp[:, k] @ batch / n_rows
        mean = first / nk
        moved = means[k] - mean
        scatter = (
            (1 - rho)
            * weights[k]
            * (covariances[k] - reg_covar * np.eye(dims) + np.outer(moved, moved))
        )
        centred = batch - mean
        scatter += rho * (resp[:, k, None] * centred).T @ centred / n_rows
        new_weights.append(nk)
        new_means.append(mean)
        new_covs.append(scatter / nk + reg_covar * np.eye(dims))
    return np.array(new_weights), np.array(new_means), np.array(new_covs)


def test_one_cluster_batch_after_fit_keeps_the_mixture(clusters):
    fitted, batch = clusters
    model = GaussianMixture(3, random_state=0).fit(fitted)
    before = model.weights_.copy(), model.means_.copy()
    target = _component(model, CENTRES[1])
    model.partial_fit(batch)
    others = np.arange(3) != target
    # the batch's cluster gains the step's share; the others keep theirs
    np.testing.assert_allclose(
        model.weights_[others], (1 - RHO_2) * before[0][others], rtol=1e-8
    )
    assert model.weights_[target] == pytest.approx(
        (1 - RHO_2) * before[0][target] + RHO_2, rel=1e-8
    )
    assert np.all((model.weights_ > 0.2) & (model.weights_ < 0.5))
    # each mean stays by its own cluster
    np.testing.assert_allclose(model.means_[others], before[1][others], atol=1e-8)
    for centre in CENTRES:
        assert np.linalg.norm(model.means_ - centre, axis=1).min() < 0.2
    assert model.n_batches_ == 2


@pytest.mark.parametrize("origin", ["fit", "warm_start", "from_params", "stream"])
def test_partial_fit_after_fit_is_one_stepwise_step(overlapping, origin):
    first, batch = overlapping
    fitted = GaussianMixture(2, max_iter=1000, random_state=0).fit(first)
    if origin == "fit":
        model = fitted
    elif origin == "warm_start":
        model = GaussianMixture(2, max_iter=1000, warm_start=True, random_state=0)
        fitted = model.fit(first[:400]).fit(first)
    elif origin == "from_params":
        model = GaussianMixture.from_params(
            fitted.weights_, fitted.means_, fitted.covariances_
        )
    else:
        model = GaussianMixture(2, max_iter=1000, random_state=0).partial_fit(first)
    expected = stepwise_by_hand(
        fitted.weights_,
        fitted.means_,
        fitted.covariances_,
        model.reg_covar,
        batch,
        RHO_2,
    )
    model.partial_fit(batch)
    np.testing.assert_allclose(model.weights_, expected[0], rtol=1e-6)
    np.testing.assert_allclose(model.means_, expected[1], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(model.covariances_, expected[2], rtol=1e-6)
    assert model.n_batches_ == 2


def test_one_row_after_fit_moves_only_its_component(clusters):
    fitted, _ = clusters
    model = GaussianMixture(3, random_state=0).fit(fitted)
    before = model.weights_.copy(), model.means_.copy(), model.covariances_.copy()
    row = fitted[:1]
    target = _component(model, row[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.partial_fit(row)
    others = np.arange(3) != target
    np.testing.assert_allclose(model.means_[others], before[1][others], atol=1e-8)
    np.testing.assert_allclose(model.covariances_[others], before[2][others], rtol=1e-6)
    expected = stepwise_by_hand(*before, model.reg_covar, row, RHO_2)
    np.testing.assert_allclose(model.weights_, expected[0], rtol=1e-6)
    np.testing.assert_allclose(model.means_[target], expected[1][target], rtol=1e-6)
    np.testing.assert_allclose(model.covariances_, expected[2], rtol=1e-6)
    # the row's component keeps a spread of the cluster's order
    smallest = np.linalg.eigvalsh(model.covariances_[target]).min()
    assert smallest > 0.5 * (1 - RHO_2) * np.linalg.eigvalsh(before[2][target]).min()


def test_noise_share_continues_after_fit(clusters):
    fitted, batch = clusters
    model = GaussianMixture(3, noise=True, random_state=0).fit(fitted)
    share = model.noise_proportion_
    batch_share = model.predict_proba(batch)[:, -1].mean()
    weights = model.weights_.copy()
    target = _component(model, CENTRES[1])
    model.partial_fit(batch)
    assert model.noise_proportion_ == pytest.approx(
        (1 - RHO_2) * share + RHO_2 * batch_share, rel=1e-8
    )
    others = np.arange(3) != target
    np.testing.assert_allclose(
        model.weights_[others], (1 - RHO_2) * weights[others], rtol=1e-6
    )
    assert model.weights_.sum() + model.noise_proportion_ == pytest.approx(1.0)


def _continued_with_its_file(model, batch, tmp_path):
    """The fitted ``model`` saved and loaded, both then given ``batch``."""
    gaussmix.save(model, tmp_path / "model")
    loaded = gaussmix.load(tmp_path / "model")
    model.partial_fit(batch)
    loaded.partial_fit(batch)
    assert loaded.n_batches_ == model.n_batches_ == 2
    return loaded


def test_fitted_model_from_a_file_continues_alike(overlapping, tmp_path):
    first, batch = overlapping
    model = GaussianMixture(2, covariance_type="tied", random_state=0).fit(first)
    weights = model.weights_.copy()
    loaded = _continued_with_its_file(model, batch, tmp_path)
    np.testing.assert_array_equal(loaded.weights_, model.weights_)
    np.testing.assert_array_equal(loaded.means_, model.means_)
    np.testing.assert_array_equal(loaded.covariances_, model.covariances_)
    # the batch is a fifth of the rows: one step moves the weights little
    np.testing.assert_allclose(model.weights_, weights, atol=RHO_2)


# ----------------------------------------------------------------------
# BayesianGaussianMixture
def test_bayesian_one_cluster_batch_after_fit_keeps_the_mixture(clusters):
    fitted, batch = clusters
    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(fitted)
    weights = model.weights_.copy()
    target = _component(model, CENTRES[1])
    model.partial_fit(batch)
    others = np.arange(3) != target
    np.testing.assert_allclose(
        model.weights_[others], (1 - RHO_2) * weights[others], rtol=1e-3
    )
    assert np.all((model.weights_ > 0.2) & (model.weights_ < 0.5))
    for centre in CENTRES:
        assert np.linalg.norm(model.means_ - centre, axis=1).min() < 0.2
    assert model.n_batches_ == 2


def test_bayesian_partial_fit_after_fit_is_one_natural_gradient_step(overlapping):
    first, batch = overlapping
    model = BayesianGaussianMixture(
        n_components=2,
        weight_concentration_prior_type="dirichlet_distribution",
        tol=1e-10,
        max_iter=1000,
        random_state=0,
    ).fit(first)
    assert model.converged_
    # by hand: the fit's rows and the batch, each summarised under the
    # posterior's variational responsibilities (at convergence, the fit's
    # own last E-step), blended per unit of weight and scaled to all rows
    r_fit, r_batch = model.predict_proba(first), model.predict_proba(batch)
    counts = (1 - RHO_2) * r_fit.mean(0) + RHO_2 * r_batch.mean(0)
    firsts = (1 - RHO_2) * r_fit.T @ first / len(first) + RHO_2 * (
        r_batch.T @ batch / len(batch)
    )
    seen = len(first) + len(batch)
    nk = counts * seen
    sample_means = firsts / counts[:, None]
    beta0, m0 = model.mean_precision_prior_, model.mean_prior_
    expected_means = (beta0 * m0 + nk[:, None] * sample_means) / (beta0 + nk)[:, None]
    expected_concentration = model.weight_concentration_prior_ + nk
    model.partial_fit(batch)
    np.testing.assert_allclose(
        model.weight_concentration_, expected_concentration, rtol=1e-5
    )
    np.testing.assert_allclose(model.mean_precision_, beta0 + nk, rtol=1e-5)
    np.testing.assert_allclose(model.means_, expected_means, rtol=1e-5, atol=1e-7)
    assert model.n_batches_ == 2


def test_bayesian_fit_then_partial_fit_equals_a_stream(overlapping):
    first, batch = overlapping
    kwargs = {"n_components": 2, "max_iter": 1000, "random_state": 0}
    fitted = BayesianGaussianMixture(**kwargs).fit(first).partial_fit(batch)
    stream = BayesianGaussianMixture(**kwargs).partial_fit(first).partial_fit(batch)
    np.testing.assert_array_equal(fitted.means_, stream.means_)
    np.testing.assert_array_equal(fitted.covariances_, stream.covariances_)
    assert fitted.n_batches_ == stream.n_batches_ == 2


def test_bayesian_one_row_after_fit_keeps_the_other_components(clusters):
    fitted, _ = clusters
    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(fitted)
    weights, means = model.weights_.copy(), model.means_.copy()
    target = _component(model, fitted[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.partial_fit(fitted[:1])
    others = np.arange(3) != target
    np.testing.assert_allclose(
        model.weights_[others], (1 - RHO_2) * weights[others], rtol=1e-3
    )
    # the means move only as their share of the weight seen shrinks against
    # the prior's mean precision (one row)
    np.testing.assert_allclose(model.means_[others], means[others], atol=1e-2)
    assert np.linalg.eigvalsh(model.covariances_).min() > 0.05


def test_bayesian_fitted_model_from_a_file_continues_alike(overlapping, tmp_path):
    first, batch = overlapping
    model = BayesianGaussianMixture(n_components=2, max_iter=1000, random_state=0).fit(
        first
    )
    loaded = _continued_with_its_file(model, batch, tmp_path)
    np.testing.assert_array_equal(loaded.means_, model.means_)
    np.testing.assert_array_equal(loaded.covariances_, model.covariances_)
    np.testing.assert_array_equal(loaded.mean_precision_, model.mean_precision_)
