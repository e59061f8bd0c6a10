"""GaussianMixture beyond scikit-learn: weights, float32, degenerate data, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import DegenerateComponentWarning, GaussianMixture
from tests.conftest import DATASETS

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@parametrize_with_checks([GaussianMixture(n_init=2, max_iter=5)])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def _start(X, k, covariance_type, seed=0):
    model = GaussianMixture(
        k,
        covariance_type=covariance_type,
        max_iter=2,
        init_params="random_from_data",
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return {
        "weights_init": model.weights_,
        "means_init": model.means_,
        "precisions_init": model.precisions_,
    }


def _assert_same_model(a, b, rtol=1e-8):
    assert a.n_iter_ == b.n_iter_
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=rtol)
    np.testing.assert_allclose(a.means_, b.means_, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=rtol, atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X = DATASETS["wine"]
    w = np.random.RandomState(0).randint(1, 4, size=len(X))
    start = _start(X, 3, covariance_type)
    kwargs = dict(covariance_type=covariance_type, tol=1e-8, max_iter=300, **start)
    weighted = GaussianMixture(3, **kwargs).fit(X, sample_weight=w)
    repeated = GaussianMixture(3, **kwargs).fit(np.repeat(X, w, axis=0))
    _assert_same_model(weighted, repeated)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weights_equal_dropped_rows(covariance_type):
    X = DATASETS["blobs"]
    keep = np.random.RandomState(1).rand(len(X)) > 0.3
    start = _start(X, 4, covariance_type)
    kwargs = dict(covariance_type=covariance_type, tol=1e-8, max_iter=300, **start)
    weighted = GaussianMixture(4, **kwargs).fit(X, sample_weight=keep.astype(float))
    dropped = GaussianMixture(4, **kwargs).fit(X[keep])
    _assert_same_model(weighted, dropped)


def test_weighted_default_initialisation_with_integer_weights():
    # k-means seeding honours weights: same seeds for weights and repetitions
    X = DATASETS["blobs"][:200]
    w = np.random.RandomState(2).randint(1, 3, size=len(X))
    weighted = GaussianMixture(4, random_state=0).fit(X, sample_weight=w)
    repeated = GaussianMixture(4, random_state=0).fit(np.repeat(X, w, axis=0))
    assert weighted.score(X, sample_weight=w) == pytest.approx(
        repeated.score(np.repeat(X, w, axis=0)), abs=1e-6
    )


def test_em_never_lowers_the_likelihood():
    X = DATASETS["digits_pca10"]
    for covariance_type in COVARIANCE_TYPES:
        model = GaussianMixture(
            8, covariance_type=covariance_type, tol=0, max_iter=40, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        bounds = np.asarray(model.lower_bounds_)
        assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


def test_chunk_size_does_not_change_the_result():
    X = DATASETS["digits_pca10"]
    start = _start(X, 5, "full")
    small = GaussianMixture(5, chunk_size=97, tol=1e-6, **start).fit(X)
    large = GaussianMixture(5, tol=1e-6, **start).fit(X)
    _assert_same_model(small, large, rtol=1e-9)


def test_permuting_rows_changes_nothing_from_the_same_start():
    X = DATASETS["iris"]
    perm = np.random.RandomState(3).permutation(len(X))
    start = _start(X, 3, "full")
    a = GaussianMixture(3, tol=1e-8, **start).fit(X)
    b = GaussianMixture(3, tol=1e-8, **start).fit(X[perm])
    _assert_same_model(a, b, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_stays_float32_and_agrees_with_float64(covariance_type):
    X = DATASETS["blobs"] + 1000.0  # far from the origin: cancellation-prone
    kwargs = dict(covariance_type=covariance_type, tol=1e-6, max_iter=1000)
    m64 = GaussianMixture(4, random_state=0, **kwargs).fit(X)
    m32 = GaussianMixture(4, random_state=0, **kwargs).fit(X.astype(np.float32))
    assert m32.converged_ and m64.converged_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert getattr(m32, name).dtype == np.float32, name
    assert m32.score_samples(X.astype(np.float32)).dtype == np.float32
    assert m32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert np.all(np.isfinite(m32.covariances_))
    np.testing.assert_allclose(m32.weights_, m64.weights_, rtol=1e-4)
    np.testing.assert_allclose(m32.means_, m64.means_, rtol=1e-6)
    np.testing.assert_allclose(m32.covariances_, m64.covariances_, rtol=1e-3, atol=1e-4)
    assert m32.lower_bound_ == pytest.approx(m64.lower_bound_, rel=1e-5)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_from_params_scores_like_the_fitted_model(covariance_type):
    X = DATASETS["iris"]
    fitted = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    rebuilt = GaussianMixture.from_params(
        fitted.weights_,
        fitted.means_,
        fitted.covariances_,
        covariance_type=covariance_type,
        random_state=5,
    )
    np.testing.assert_allclose(rebuilt.score_samples(X), fitted.score_samples(X))
    np.testing.assert_allclose(rebuilt.precisions_, fitted.precisions_, rtol=1e-8)
    assert rebuilt.sample(10)[0].shape == (10, 4)
    assert rebuilt.get_params()["random_state"] == 5


def test_from_params_matches_scipy_density():
    from scipy.stats import multivariate_normal

    weights = np.array([0.25, 0.75])
    means = np.array([[0.0, 0.0], [2.0, -1.0]])
    covariances = np.array([[[1.0, 0.3], [0.3, 2.0]], [[0.5, 0.0], [0.0, 0.5]]])
    model = GaussianMixture.from_params(weights, means, covariances)
    X = np.random.RandomState(0).normal(size=(20, 2))
    expected = np.log(
        sum(
            w * multivariate_normal(m, c).pdf(X)
            for w, m, c in zip(weights, means, covariances, strict=True)
        )
    )
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-12)


def test_from_params_rejects_bad_parameters():
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixture.from_params(
            [0.5, 0.6], np.zeros((2, 2)), np.ones((2, 2)), "diag"
        )
    with pytest.raises(ValueError, match="shape"):
        GaussianMixture.from_params(
            [0.5, 0.5], np.zeros((2, 2)), np.ones(3), "spherical"
        )
    with pytest.raises(ValueError, match="positive definite"):
        GaussianMixture.from_params([1.0], np.zeros((1, 2)), -np.eye(2)[None])


# --- degenerate but legal data -------------------------------------------------


def _fit_warning_free_of_errors(model, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X)
    return [w.category for w in caught]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_more_components_than_distinct_points(covariance_type):
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 5.0]]), 10, axis=0)
    model = GaussianMixture(5, covariance_type=covariance_type, random_state=0)
    categories = _fit_warning_free_of_errors(model, X)
    assert DegenerateComponentWarning in categories
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.all(np.isfinite(model.score_samples(X)))
    assert model.weights_.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_constant_column_without_regularisation(covariance_type):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=200), np.full(200, 3.0)])
    model = GaussianMixture(
        2, covariance_type=covariance_type, reg_covar=0.0, random_state=0
    )
    categories = _fit_warning_free_of_errors(model, X)
    # a spherical variance averages over columns, so it stays positive
    singular = covariance_type != "spherical"
    assert (DegenerateComponentWarning in categories) == singular
    assert np.all(np.isfinite(model.score_samples(X)))
    assert np.all(np.isfinite(model.covariances_))


def test_duplicated_points_fit_finite():
    X = np.vstack([DATASETS["iris"]] * 3)
    model = GaussianMixture(3, random_state=0).fit(X)
    assert np.all(np.isfinite(model.covariances_))


# --- bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        # NaN is a missing value (tests/models/test_missing_values.py); a row
        # with nothing observed is refused
        (np.array([[np.nan, np.nan], [2.0, 3.0], [1.0, 1.0]]), ValueError, "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]), ValueError, "infinity"),
        (np.array([1.0, 2.0, 3.0]), ValueError, "2D array"),
        (np.zeros((0, 3)), ValueError, "0 sample"),
        (np.array([[1 + 1j, 2], [3, 4], [5, 6]]), ValueError, "[Cc]omplex"),
        (np.array([["a", "b"], ["c", "d"], ["e", "f"]]), ValueError, "convert"),
    ],
)
def test_bad_X_is_refused_with_a_clear_error(X, error, match):
    with pytest.raises(error, match=match):
        GaussianMixture(1).fit(X)


def test_fewer_rows_than_components():
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(np.random.rand(3, 2))


def test_wrong_number_of_features_at_predict_time():
    model = GaussianMixture(2, random_state=0).fit(DATASETS["iris"])
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((3, 2)))


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (-np.ones(150), "negative"),
        (np.full(150, np.nan), "NaN"),
        (np.ones(10), "one weight per row"),
        (np.zeros(150), "sums to zero"),
    ],
)
def test_bad_sample_weight(weights, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2).fit(DATASETS["iris"], sample_weight=weights)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_components": 0}, ValueError, "n_components"),
        ({"n_components": 1.5}, TypeError, "n_components"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"reg_covar": -1e-3}, ValueError, "reg_covar"),
        ({"max_iter": -1}, ValueError, "max_iter"),
        ({"n_init": 0}, ValueError, "n_init"),
        ({"init_params": "magic"}, ValueError, "init_params"),
        ({"covariance_type": "banana"}, ValueError, "covariance_type"),
        ({"weights_init": [0.2, 0.2]}, ValueError, "sum to 1"),
        ({"means_init": np.zeros((3, 4))}, ValueError, "means_init"),
        ({"precisions_init": -np.ones((2, 4))}, ValueError, "positive"),
    ],
)
def test_invalid_hyperparameters(params, error, match):
    settings = {"n_components": 2, "covariance_type": "diag", **params}
    model = GaussianMixture(**settings)
    before = model.get_params()
    with pytest.raises(error, match=match):
        model.fit(DATASETS["iris"])
    # validation never rewrites what the user set
    after = model.get_params()
    assert before.keys() == after.keys()
    for key in before:
        assert after[key] is before[key]


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        GaussianMixture(2).predict(DATASETS["iris"])


def test_max_iter_zero_keeps_the_initial_parameters():
    X = DATASETS["iris"]
    start = _start(X, 3, "full")
    model = GaussianMixture(3, max_iter=0, **start).fit(X)
    np.testing.assert_allclose(model.means_, start["means_init"])
    assert model.n_iter_ == 0
