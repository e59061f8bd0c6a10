"""GaussianMixture(prior=...): MAP estimation under the conjugate prior."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import (
    ConjugatePrior,
    DegenerateComponentWarning,
    GaussianMixture,
    select_model,
)
from tests.conftest import DATASETS

IRIS = DATASETS["iris"]
WINE = DATASETS["wine"]


@parametrize_with_checks([GaussianMixture(prior="default", n_init=2, max_iter=5)])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "VEV", "EVE"])
def test_em_never_lowers_the_log_posterior(covariance_type):
    model = GaussianMixture(
        4,
        covariance_type=covariance_type,
        prior="default",
        tol=0.0,
        max_iter=40,
        init_params="random",
        random_state=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bounds = np.array(model.fit(WINE).lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_default_prior_is_taken_from_the_data():
    model = GaussianMixture(3, prior="default", random_state=0).fit(IRIS)
    np.testing.assert_allclose(model.prior_.mean, IRIS.mean(0), rtol=1e-12)
    expected = np.cov(IRIS.T, bias=True) / 3 ** (2 / 4)
    np.testing.assert_allclose(model.prior_.scale, expected, rtol=1e-5)
    assert model.prior_.dof == 6.0 and model.prior_.shrinkage == 0.01
    # the hyperparameter is kept as given
    assert model.prior == "default"


def test_given_fields_are_kept_and_the_others_defaulted():
    prior = ConjugatePrior(shrinkage=0.5, dof=10.0)
    model = GaussianMixture(2, prior=prior, random_state=0).fit(IRIS)
    assert model.prior is prior
    assert model.prior_.dof == 10.0 and model.prior_.shrinkage == 0.5
    np.testing.assert_allclose(model.prior_.mean, IRIS.mean(0), rtol=1e-12)


def test_the_prior_is_in_the_data_units_whatever_the_fitting_units():
    absolute = GaussianMixture(2, prior="default", random_state=0).fit(IRIS)
    relative = GaussianMixture(
        2, prior="default", reg_covar_scale="variance", random_state=0
    ).fit(IRIS)
    np.testing.assert_allclose(relative.prior_.mean, absolute.prior_.mean)
    np.testing.assert_allclose(relative.prior_.scale, absolute.prior_.scale)
    np.testing.assert_allclose(relative.means_, absolute.means_, rtol=1e-3)


def test_bic_uses_the_log_likelihood_at_the_map_estimate():
    model = GaussianMixture(3, prior="default", random_state=0).fit(IRIS)
    n = len(IRIS)
    expected = -2 * model.score(IRIS) * n + model.n_parameters() * np.log(n)
    assert model.bic(IRIS) == pytest.approx(expected, rel=1e-12)
    # the lower bound is the log-posterior, which differs from the likelihood
    assert model.lower_bound_ != pytest.approx(model.score(IRIS), rel=1e-6)


def test_the_prior_keeps_a_component_on_duplicated_rows_regular():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 2)), np.tile([[8.0, 8.0]], (4, 1))])
    means = [[0.0, 0.0], [0.5, 0.5], [8.0, 8.0]]
    with pytest.warns(DegenerateComponentWarning):
        GaussianMixture(3, reg_covar=0.0, means_init=means).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateComponentWarning)
        model = GaussianMixture(
            3, reg_covar=0.0, means_init=means, prior="default"
        ).fit(X)
    assert np.all(np.linalg.eigvalsh(model.covariances_) > 1e-3)


def test_partial_fit_continues_under_the_prior():
    model = GaussianMixture(2, covariance_type="diag", prior="default", random_state=0)
    for rows in np.array_split(np.random.RandomState(0).permutation(150), 3):
        model.partial_fit(IRIS[rows])
    assert model.n_batches_ == 3
    assert np.all(np.isfinite(model.means_))


def test_partial_fit_meets_the_prior_at_the_weight_of_the_rows_seen():
    # one component: responsibilities are all one, so the step has a closed
    # form. The running Stats (per unit of weight) blend the fit's
    # parameters with the batch; the MAP M-step then meets the prior at the
    # weight of every row seen (Fraley and Raftery 2007, full covariances)
    first, batch = IRIS[::2], IRIS[1::2][:40]
    model = GaussianMixture(1, prior="default", random_state=0).fit(first)
    prior, reg = model.prior_, model.reg_covar
    mean_a, covariance_a = model.means_[0], model.covariances_[0] - reg * np.eye(4)
    model.partial_fit(batch)
    rho = (2 + model.learning_offset) ** -model.learning_decay
    mean_b = batch.mean(0)
    scatter_b = np.cov(batch.T, bias=True)
    mean = (1 - rho) * mean_a + rho * mean_b
    per_row = (1 - rho) * (covariance_a + np.outer(mean_a - mean, mean_a - mean))
    per_row += rho * (scatter_b + np.outer(mean_b - mean, mean_b - mean))
    n, kappa, d = len(first) + len(batch), prior.shrinkage, 4
    offset = mean - prior.mean
    expected_mean = (n * mean + kappa * prior.mean) / (n + kappa)
    expected_covariance = (
        prior.scale + n * per_row + kappa * n / (kappa + n) * np.outer(offset, offset)
    ) / (prior.dof + n + d + 2) + reg * np.eye(d)
    np.testing.assert_allclose(model.means_[0], expected_mean, rtol=1e-10)
    np.testing.assert_allclose(model.covariances_[0], expected_covariance, rtol=1e-8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prior": "mclust"}, "'prior' parameter"),
        ({"prior": ConjugatePrior(dof=-1.0)}, "dof"),
        ({"prior": "default", "noise": True}, "noise=True"),
        ({"prior": ConjugatePrior(mean=np.zeros(3))}, "features"),
    ],
)
def test_bad_priors_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2, **kwargs).fit(IRIS)


def test_missing_values_are_fitted_under_the_prior():
    X = IRIS.copy()
    X[::7, 1] = np.nan
    model = GaussianMixture(2, prior="default", random_state=0).fit(X)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    assert np.all(np.isfinite(model.impute(X)))


@pytest.mark.slow
def test_select_model_with_the_prior_fits_every_cell_on_iris():
    # mclust's grid (14 models, K = 1..9) with its default prior: no cell fails
    result = select_model(IRIS, prior=True)
    assert not np.isnan(result.bic).any()
    assert (result.best_covariance_type, result.best_n_components) == ("VEV", 2)
    for fitted in result.models.values():
        assert fitted.prior_.shrinkage == 0.01
