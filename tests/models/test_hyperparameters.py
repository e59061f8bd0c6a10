"""Bad hyperparameters are named as scikit-learn names them, before any fit."""

from __future__ import annotations

import dataclasses
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
from gaussmix.models.validation import EMSettings, check_weights_init, em_settings

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


# --- hyperparameters changed after a fit -------------------------------------

ROWS = np.array(
    [
        [0.0, 0.2],
        [0.3, -0.1],
        [-0.2, 0.1],
        [0.1, -0.3],
        [6.0, 6.1],
        [5.8, 6.3],
        [6.2, 5.9],
        [6.1, 5.7],
    ]
)
QUERIES = np.array([[0.0, 0.0], [3.0, 3.0], [6.0, 6.0], [-4.0, 9.0]])


def _fitted(**params) -> GaussianMixture:
    return GaussianMixture(2, random_state=0, **params).fit(ROWS)


@pytest.mark.parametrize(
    "change",
    [
        {"n_components": 3},
        {"covariance_type": "diag"},
        {"covariance_type": "spherical", "n_components": 1},
        {"covariance_type": "VEV"},
    ],
    ids=repr,
)
def test_a_fitted_model_keeps_predicting_after_set_params(change):
    model = _fitted()
    before = {
        "predict": model.predict(QUERIES),
        "predict_proba": model.predict_proba(QUERIES),
        "score_samples": model.score_samples(QUERIES),
        "bic": model.bic(ROWS),
        "sample": model.sample(5)[0],
    }
    model.set_params(**change)
    # the fitted attributes define the model until the next fit
    np.testing.assert_array_equal(model.predict(QUERIES), before["predict"])
    np.testing.assert_array_equal(model.predict_proba(QUERIES), before["predict_proba"])
    np.testing.assert_array_equal(model.score_samples(QUERIES), before["score_samples"])
    assert model.bic(ROWS) == before["bic"]
    np.testing.assert_array_equal(model.sample(5)[0], before["sample"])


@pytest.mark.parametrize(
    ("change", "name", "fitted"),
    [
        ({"n_components": 3}, "n_components", "2"),
        ({"covariance_type": "tied"}, "covariance_type", "'full'"),
    ],
)
def test_partial_fit_refuses_to_continue_a_different_model(change, name, fitted):
    model = _fitted()
    means = model.means_.copy()
    model.set_params(**change)
    with pytest.raises(ValueError, match=f"fitted mixture has {name}={fitted}") as e:
        model.partial_fit(ROWS)
    assert "Call fit" in str(e.value)
    np.testing.assert_array_equal(model.means_, means)
    # fit starts the new model; partial_fit then continues it
    model.fit(ROWS).partial_fit(ROWS)
    assert model.predict_proba(QUERIES).shape[1] == model.get_params()["n_components"]


@pytest.mark.parametrize(
    ("change", "X"),
    [
        ({"n_components": 3}, ROWS),
        ({"covariance_type": "spherical"}, ROWS),
        ({}, np.column_stack([ROWS, ROWS[:, :1] * 2.0 + 1.0])),
    ],
    ids=["n_components", "covariance_type", "n_features"],
)
def test_warm_start_that_cannot_reuse_the_fit_starts_anew(change, X):
    model = _fitted(warm_start=True).set_params(**change)
    model.fit(X)
    cold = GaussianMixture(2, random_state=0).set_params(**change).fit(X)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(getattr(model, name), getattr(cold, name))
    assert model.n_features_in_ == X.shape[1]


def test_warm_start_of_the_same_model_continues_from_it():
    model = _fitted(warm_start=True, tol=1e-12, max_iter=1000)
    # converged: one more iteration from the previous solution suffices
    model.set_params(max_iter=1).fit(ROWS)
    assert model.n_iter_ == 1


def test_wrong_width_gets_sklearns_message(tmp_path):
    model = _fitted()
    wide = np.zeros((4, 3))
    with pytest.raises(ValueError) as ours:
        model.predict(wide)
    reference = SklearnGaussianMixture(2, random_state=0).fit(ROWS)
    with pytest.raises(ValueError) as theirs:
        reference.predict(wide)
    assert str(ours.value) == str(theirs.value)
    assert str(ours.value) == (
        "X has 3 features, but GaussianMixture is expecting 2 features as input."
    )
    np.save(tmp_path / "wide.npy", wide)
    with pytest.raises(ValueError, match=re.escape(str(theirs.value))):
        model.score_samples(np.load(tmp_path / "wide.npy", mmap_mode="r"))
    with pytest.raises(ValueError, match=re.escape(str(theirs.value))):
        model.partial_fit(wide)


def test_settings_are_frozen_validated_copies():
    model = GaussianMixture(
        np.int64(2), tol=np.float32(0.5), max_iter=np.int64(7), chunk_size=64
    )
    settings = model._check_hyperparameters()
    assert type(settings.n_components) is int and settings.n_components == 2
    assert type(settings.tol) is float and type(settings.max_iter) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.tol = 1.0
    # the estimator keeps what the user set
    assert type(model.n_components) is np.int64
    # the EM settings alone, as an estimator's keyword arguments
    assert settings.em_kwargs() == {
        "tol": 0.5,
        "reg_covar": 1e-6,
        "max_iter": 7,
        "n_init": 1,
        "init_params": "kmeans",
        "chunk_size": 64,
    }
    assert em_settings(model) == EMSettings(**settings.em_kwargs())


def test_em_settings_enforce_the_minimum_iterations():
    with pytest.raises(InvalidParameterError, match=r"'max_iter' parameter of"):
        em_settings(GaussianMixture(max_iter=0), min_iter=1)


@pytest.mark.parametrize(
    ("weights", "message"),
    [([0.5, 0.6], "weights must sum to 1"), ([1.5, -0.5], "weights holds values")],
)
def test_weights_check_names_the_callers_argument(weights, message):
    with pytest.raises(ValueError, match=message) as caught:
        check_weights_init(weights, 2, argument="weights")
    assert "weights_init" not in str(caught.value)
    with pytest.raises(ValueError, match="weights_init"):
        check_weights_init(weights, 2)


def test_from_params_names_its_weights_argument():
    with pytest.raises(ValueError, match="weights must sum to 1") as caught:
        GaussianMixture.from_params(
            weights=[0.5, 0.6], means=[[0.0], [1.0]], covariances=[[[1.0]], [[1.0]]]
        )
    assert "weights_init" not in str(caught.value)
