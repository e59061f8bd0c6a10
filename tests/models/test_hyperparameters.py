"""Bad hyperparameters are named as scikit-learn names them, before any fit."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

from gaussmix import (
    GaussianMixture,
    GaussianMixtureClassifier,
    GaussianMixtureRegressor,
)

X = np.array([[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [5.0, 5.2], [5.1, 4.9], [4.8, 5.0]])
Y_CLASSES = np.array([0, 0, 0, 1, 1, 1])

# hyperparameters scikit-learn's GaussianMixture constrains the same way
SHARED_WITH_SKLEARN = [
    {"tol": float("nan")},
    {"tol": float("inf")},
    {"tol": -1.0},
    {"tol": "small"},
    {"reg_covar": float("inf")},
    {"reg_covar": -1e-6},
    {"max_iter": -1},
    {"max_iter": 1.5},
    {"n_components": 0},
    {"n_init": np.int64(0)},
    {"warm_start": "yes"},
    {"random_state": "a"},
    {"random_state": -1},
]


def _sklearn_message(params: dict) -> str:
    with pytest.raises(InvalidParameterError) as caught:
        SklearnGaussianMixture(**params).fit(X)
    return str(caught.value)


@pytest.mark.parametrize("params", SHARED_WITH_SKLEARN, ids=repr)
def test_gaussian_mixture_reports_bad_hyperparameters_as_sklearn(params):
    model = GaussianMixture(**params)
    before = model.get_params()
    with pytest.raises(InvalidParameterError) as caught:
        model.fit(X)
    assert str(caught.value) == _sklearn_message(params)
    # validation never rewrites what the user set
    assert all(model.get_params()[k] is v for k, v in before.items())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"learning_decay": 0.5},
            "The 'learning_decay' parameter of GaussianMixture must be a float in "
            "the range (0.5, 1.0]. Got 0.5 instead.",
        ),
        (
            {"learning_offset": float("nan")},
            "The 'learning_offset' parameter of GaussianMixture must be a float in "
            "the range [0.0, inf). Got nan instead.",
        ),
        (
            {"chunk_size": 0},
            "The 'chunk_size' parameter of GaussianMixture must be an int in the "
            "range [1, inf) or None. Got 0 instead.",
        ),
        (
            {"verbose_interval": 0},
            "The 'verbose_interval' parameter of GaussianMixture must be an int in "
            "the range [1, inf). Got 0 instead.",
        ),
    ],
)
def test_gaussmix_hyperparameters_are_named(params, message):
    # partial_fit checks every hyperparameter, as fit does
    for method in ("fit", "partial_fit"):
        with pytest.raises(InvalidParameterError, match=re.escape(message)):
            getattr(GaussianMixture(2, **params), method)(X)


def test_unknown_covariance_type_lists_the_choices():
    with pytest.raises(ValueError, match="'covariance_type' parameter") as caught:
        GaussianMixture(covariance_type="banana").fit(X)
    assert "'VVV'" in str(caught.value) and "'full'" in str(caught.value)
    assert str(caught.value).endswith("Got 'banana' instead.")


@pytest.mark.parametrize(
    "params",
    [
        {"tol": float("nan")},
        {"max_iter": -1},
        {"reg_covar": float("inf")},
        {"init_params": "nearest"},
        {"n_init": 0},
        {"random_state": 1.5},
        {"chunk_size": -5},
    ],
    ids=repr,
)
@pytest.mark.parametrize(
    "estimator", [GaussianMixtureClassifier, GaussianMixtureRegressor]
)
def test_supervised_estimators_name_the_bad_hyperparameter(estimator, params):
    ((name, value),) = params.items()
    y = Y_CLASSES if estimator is GaussianMixtureClassifier else X[:, 0]
    with pytest.raises(InvalidParameterError) as caught:
        estimator(**params).fit(X[:, 1:], y)
    expected = f"The '{name}' parameter of {estimator.__name__} must be"
    assert str(caught.value).startswith(expected)
    assert str(caught.value).endswith(f"Got {value!r} instead.")


def test_regressor_names_its_own_standardize_and_components():
    with pytest.raises(TypeError, match="'standardize' parameter of Gaussian"):
        GaussianMixtureRegressor(standardize="yes").fit(X[:, 1:], X[:, 0])
    with pytest.raises(ValueError, match="'n_components' parameter of Gaussian"):
        GaussianMixtureRegressor(n_components=0).fit(X[:, 1:], X[:, 0])
