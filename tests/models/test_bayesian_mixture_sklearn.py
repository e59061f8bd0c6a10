"""BayesianGaussianMixture against scikit-learn's: same start, same fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBayesianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import BayesianGaussianMixture
from tests.conftest import DATASETS
from tests.models.sklearn_suite import run_sklearn_test_module

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
N_COMPONENTS = {"iris": 5, "wine": 5, "digits_pca10": 12, "blobs": 6}


@parametrize_with_checks(
    [
        BayesianGaussianMixture(max_iter=20),
        BayesianGaussianMixture(n_components=3, covariance_type="diag", max_iter=20),
    ],
    expected_failed_checks=lambda estimator: (
        {}
        if estimator.n_components == 1
        else {
            "check_sample_weight_equivalence_on_dense_data": (
                "k-means draws its seeds among rows: weighted rows and repeated "
                "rows give other starts (GaussianMixture alike); "
                "test_integer_weights_act_as_repeated_rows checks the fits"
            )
        }
    ),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _both(X, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnBayesianMixture(**settings).fit(X)
        ours = BayesianGaussianMixture(**settings).fit(X)
    return theirs, ours


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_same_start_same_fit(name, covariance_type, prior_type):
    X = DATASETS[name]
    theirs, ours = _both(
        X,
        n_components=N_COMPONENTS[name],
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        init_params="random",
        random_state=0,
        tol=1e-6,
        max_iter=300,
    )
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    # scikit-learn's tied bound is a one-element array
    assert ours.lower_bound_ == pytest.approx(float(np.ravel(theirs.lower_bound_)[0]))
    np.testing.assert_allclose(
        ours.lower_bound_, np.ravel(theirs.lower_bound_)[0], rtol=1e-6
    )
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        ours.covariances_, theirs.covariances_, rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(
        ours.precisions_cholesky_, theirs.precisions_cholesky_, rtol=1e-6, atol=1e-8
    )
    for ours_value, theirs_value in zip(
        np.atleast_2d(ours.weight_concentration_),
        np.atleast_2d(theirs.weight_concentration_),
        strict=True,
    ):
        np.testing.assert_allclose(ours_value, theirs_value, rtol=1e-6)
    np.testing.assert_allclose(ours.mean_precision_, theirs.mean_precision_, rtol=1e-6)
    np.testing.assert_allclose(
        ours.degrees_of_freedom_, theirs.degrees_of_freedom_, rtol=1e-6
    )
    np.testing.assert_allclose(
        ours.score_samples(X), theirs.score_samples(X), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6
    )


@pytest.mark.parametrize("init_params", ["random_from_data", "k-means++"])
def test_one_row_starts_match_outside_tied(init_params):
    # These starts give responsibilities only to n_components rows; for
    # 'tied' scikit-learn's first covariance counts every row's square
    # while gaussmix pools the chosen rows' scatter alone, so 'tied' differs
    # there by design. The other types start and end alike.
    X = DATASETS["iris"]
    for covariance_type in ["full", "diag", "spherical"]:
        theirs, ours = _both(
            X,
            n_components=4,
            covariance_type=covariance_type,
            init_params=init_params,
            random_state=1,
            tol=1e-6,
            max_iter=300,
        )
        assert ours.n_iter_ == theirs.n_iter_
        np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-6, atol=1e-8)


def test_default_priors_match():
    X = DATASETS["wine"]
    for covariance_type in COVARIANCE_TYPES:
        theirs, ours = _both(
            X, n_components=3, covariance_type=covariance_type, max_iter=1
        )
        for name in [
            "weight_concentration_prior_",
            "mean_precision_prior_",
            "mean_prior_",
            "degrees_of_freedom_prior_",
            "covariance_prior_",
        ]:
            np.testing.assert_allclose(
                getattr(ours, name),
                getattr(theirs, name),
                rtol=1e-10,
                atol=1e-12,
                err_msg=name,
            )


#: test name -> why it cannot apply to gaussmix
DESELECTED = {
    "test_log_dirichlet_norm": "tests scikit-learn's private _log_dirichlet_norm",
    "test_log_wishart_norm": "tests scikit-learn's private _log_wishart_norm",
    "test_compare_covar_type": (
        "calls scikit-learn's private _check_parameters and "
        "_initialize_parameters; test_first_update_relates_covariance_types "
        "in test_bayesian_mixture.py checks the same relation publicly"
    ),
}


def test_sklearn_bayesian_mixture_tests_pass_on_gaussmix(tmp_path):
    run_sklearn_test_module(
        tmp_path,
        "test_bayesian_mixture.py",
        "BayesianGaussianMixture",
        DESELECTED,
    )


@pytest.mark.parametrize(
    "init_params", ["kmeans", "k-means++", "random", "random_from_data"]
)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_random_state_starts_are_scikit_learns(name, init_params):
    X = DATASETS[name]
    for covariance_type in ["full", "diag"]:
        theirs, ours = _both(
            X,
            n_components=4,
            covariance_type=covariance_type,
            init_params=init_params,
            random_state=0,
            max_iter=0,
        )
        np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            ours.covariances_, theirs.covariances_, rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize(
    "params",
    [
        {"mean_prior": 1.0},
        {"mean_prior": "origin"},
        {"covariance_type": "diag", "covariance_prior": 1.0},
    ],
)
def test_a_prior_that_is_not_an_array_is_refused_as_scikit_learn_refuses_it(params):
    X = DATASETS["iris"]
    with pytest.raises(Exception) as theirs:
        SklearnBayesianMixture(n_components=2, **params).fit(X)
    with pytest.raises(Exception) as ours:
        BayesianGaussianMixture(n_components=2, **params).fit(X)
    # code catching scikit-learn's error (ValueError or TypeError) catches ours
    caught_as = [
        kind for kind in (ValueError, TypeError) if isinstance(theirs.value, kind)
    ]
    assert caught_as
    assert all(isinstance(ours.value, kind) for kind in caught_as)
    name = next(key for key in params if key != "covariance_type")
    assert repr(name) in str(ours.value)
