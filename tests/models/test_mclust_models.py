"""GaussianMixture with each of mclust's 14 covariance models."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_estimator

from gaussmix import GaussianMixture
from gaussmix.core.covariance import get_family
from gaussmix.core.covariance.mclust_parts import MCLUST_MODELS
from tests.conftest import DATASETS

SKLEARN_NAMES = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical"}


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_em_never_lowers_the_likelihood(model):
    X = DATASETS["iris"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = GaussianMixture(
            3,
            covariance_type=model,
            reg_covar=0.0,
            tol=0.0,
            max_iter=40,
            random_state=0,
        ).fit(X)
    bounds = np.asarray(fitted.lower_bounds_)
    assert len(bounds) == 40
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_fit_predict_score_bic_sample_and_from_params(model):
    X = DATASETS["blobs"]
    fitted = GaussianMixture(4, covariance_type=model, random_state=0).fit(X)
    n_params = fitted.n_parameters()
    expected_bic = -2 * fitted.score(X) * len(X) + n_params * math.log(len(X))
    assert fitted.bic(X) == pytest.approx(expected_bic, rel=1e-12)
    assert fitted.aic(X) == pytest.approx(
        -2 * fitted.score(X) * len(X) + 2 * n_params, rel=1e-12
    )
    resp = fitted.predict_proba(X)
    np.testing.assert_allclose(resp.sum(1), 1.0)
    np.testing.assert_array_equal(fitted.predict(X), resp.argmax(1))
    rebuilt = GaussianMixture.from_params(
        fitted.weights_, fitted.means_, fitted.covariances_, model
    )
    np.testing.assert_allclose(rebuilt.score_samples(X), fitted.score_samples(X))
    samples, labels = fitted.sample(4000)
    assert samples.shape == (4000, 3) and set(np.unique(labels)) <= set(range(4))
    # the draws of the most populated component have its covariance
    biggest = np.bincount(labels).argmax()
    covariance = np.cov(samples[labels == biggest].T)
    expected = get_family(model).full_covariances(fitted.covariances_, 4, 3)
    np.testing.assert_allclose(covariance, expected[biggest], rtol=0.15, atol=0.05)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_float32_stays_float32_and_agrees_with_float64(model):
    X = DATASETS["iris"]
    ours64 = GaussianMixture(2, covariance_type=model, init_params="hc").fit(X)
    ours32 = GaussianMixture(2, covariance_type=model, init_params="hc").fit(
        X.astype(np.float32)
    )
    assert ours32.means_.dtype == np.float32
    assert ours32.covariances_.dtype == np.float32
    assert ours32.score(X) == pytest.approx(ours64.score(X), abs=1e-3)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_integer_weights_act_as_repeated_rows(model, rng):
    X = DATASETS["iris"]
    counts = rng.randint(0, 3, size=len(X))
    start = GaussianMixture(3, covariance_type=model, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X)
    settings = dict(
        covariance_type=model,
        weights_init=start.weights_,
        means_init=start.means_,
        precisions_init=start.precisions_,
        max_iter=20,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = GaussianMixture(3, **settings).fit(X, sample_weight=counts)
        repeated = GaussianMixture(3, **settings).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-8)
    np.testing.assert_allclose(
        weighted.covariances_, repeated.covariances_, rtol=1e-7, atol=1e-12
    )


@pytest.mark.parametrize("model", sorted(SKLEARN_NAMES))
def test_sklearn_names_are_the_same_models(model):
    X = DATASETS["wine"]
    ours = GaussianMixture(3, covariance_type=model, random_state=0).fit(X)
    same = GaussianMixture(3, covariance_type=SKLEARN_NAMES[model], random_state=0)
    same.fit(X)
    assert ours.lower_bound_ == same.lower_bound_
    np.testing.assert_array_equal(ours.covariances_, same.covariances_)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_passes_scikit_learns_estimator_checks(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(GaussianMixture(covariance_type=model), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []
