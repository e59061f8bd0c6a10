"""GaussianMixtureRegressor against least squares and a multi-valued map."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import ConditionalMixture, GaussianMixtureRegressor


@parametrize_with_checks([GaussianMixtureRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _linear_data(seed=0, n=300, n_outputs=1):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1]
    coefficients = rng.normal(size=(3, n_outputs))
    y = X @ coefficients + 0.5 * rng.normal(size=(n, n_outputs)) + 4.0
    return X, (y[:, 0] if n_outputs == 1 else y)


@pytest.mark.parametrize("standardize", [True, False])
def test_one_component_is_least_squares(standardize):
    """The conditional of a Gaussian fitted by maximum likelihood is OLS."""
    X, y = _linear_data()
    model = GaussianMixtureRegressor(reg_covar=0.0, standardize=standardize)
    mean, std = model.fit(X, y).predict(X, return_std=True)
    ols = LinearRegression().fit(X, y)
    np.testing.assert_allclose(mean, ols.predict(X), rtol=1e-8, atol=1e-8)
    residual_variance = np.mean((y - ols.predict(X)) ** 2)
    np.testing.assert_allclose(std, np.sqrt(residual_variance), rtol=1e-8)


def test_multi_output_shapes_and_least_squares():
    X, Y = _linear_data(n_outputs=2)
    model = GaussianMixtureRegressor(reg_covar=0.0).fit(X, Y)
    assert model.n_outputs_ == 2
    mean, std = model.predict(X[:7], return_std=True)
    assert mean.shape == std.shape == (7, 2)
    np.testing.assert_allclose(
        mean, LinearRegression().fit(X, Y).predict(X[:7]), rtol=1e-8, atol=1e-8
    )
    assert model.sample_y(X[:7], n_samples=5).shape == (7, 2, 5)
    distribution = model.predict_distribution(X[:7])
    assert isinstance(distribution, ConditionalMixture)
    assert distribution.means.shape == (7, 1, 2)
    assert distribution.log_prob(Y[:7]).shape == (7,)


def test_sample_y_follows_the_predicted_moments():
    X, y = _linear_data()
    model = GaussianMixtureRegressor(3, random_state=0).fit(X, y)
    draws = model.sample_y(X[:3], n_samples=40_000, random_state=1)
    assert draws.shape == (3, 40_000)
    mean, std = model.predict(X[:3], return_std=True)
    np.testing.assert_allclose(draws.mean(axis=1), mean, atol=4 * std.max() / 200)
    np.testing.assert_allclose(draws.std(axis=1), std, rtol=0.03)


def test_predictions_follow_the_units_of_y():
    X, y = _linear_data()
    base = GaussianMixtureRegressor(2, random_state=0).fit(X, y)
    scaled = GaussianMixtureRegressor(2, random_state=0).fit(X, 1000.0 * y + 7.0)
    np.testing.assert_allclose(scaled.predict(X), 1000.0 * base.predict(X) + 7.0)
    log_p = base.predict_distribution(X).log_prob(y)
    scaled_log_p = scaled.predict_distribution(X).log_prob(1000.0 * y + 7.0)
    np.testing.assert_allclose(scaled_log_p, log_p - np.log(1000.0), rtol=1e-7)


def _inverse_problem(n, seed):
    rng = np.random.RandomState(seed)
    x = rng.uniform(0.0, 1.0, size=n)
    y = x + 0.3 * np.sin(2 * np.pi * x) + 0.05 * rng.normal(size=n)
    return y[:, None], x


def test_inverse_problem_keeps_every_branch():
    """x from y = x + 0.3 sin(2 pi x) + noise has three branches at y = 0.5."""
    y_train, x_train = _inverse_problem(1500, 0)
    y_test, x_test = _inverse_problem(1500, 1)
    mixture = GaussianMixtureRegressor(8, random_state=0).fit(y_train, x_train)
    single = GaussianMixtureRegressor(1).fit(y_train, x_train)

    # x = 0.5 and the two roots of d = 0.3 sin(2 pi d) solve f(x) = 0.5
    roots = np.array([0.2104, 0.5, 0.7896])
    draws = mixture.sample_y([[0.5]], 20_000, random_state=0)[0]
    nearest = np.abs(draws[:, None] - roots[None, :]).argmin(axis=1)
    close = np.abs(draws - roots[nearest]) < 0.06
    shares = np.bincount(nearest[close], minlength=3) / draws.size
    assert np.all(shares > 0.15), shares
    # the conditional mean averages the branches; the mixture does not
    gain = (
        mixture.predict_distribution(y_test).log_prob(x_test).mean()
        - single.predict_distribution(y_test).log_prob(x_test).mean()
    )
    assert gain > 0.8


def test_mixture_beats_a_line_on_diabetes_held_out():
    """A reference figure: least squares reaches R^2 of about 0.49 here."""
    X, y = load_diabetes(return_X_y=True)
    train, test = np.arange(0, 442, 2), np.arange(1, 442, 2)
    model = GaussianMixtureRegressor(2, random_state=0).fit(X[train], y[train])
    ols = LinearRegression().fit(X[train], y[train])
    assert model.score(X[test], y[test]) > ols.score(X[test], y[test]) - 0.05


def test_constant_target_is_predicted_exactly():
    X, _ = _linear_data()
    model = GaussianMixtureRegressor(2, random_state=0).fit(X, np.full(len(X), 3.5))
    mean, std = model.predict(X, return_std=True)
    np.testing.assert_allclose(mean, 3.5)
    assert np.all(np.isfinite(std)) and np.all(std < 1e-2)


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_every_covariance_type_predicts(covariance_type):
    y_train, x_train = _inverse_problem(600, 0)
    model = GaussianMixtureRegressor(
        6, covariance_type=covariance_type, random_state=0
    ).fit(y_train, x_train)
    # even diagonal components, whose means ignore y, follow the curve
    # through their weights
    error = np.abs(model.predict(y_train) - x_train)
    assert np.mean(error) < np.mean(np.abs(x_train - x_train.mean()))


def test_bad_input_gets_a_clear_error():
    X, y = _linear_data()
    with pytest.raises(NotFittedError):
        GaussianMixtureRegressor().predict(X)
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixtureRegressor().fit(X, np.where(np.arange(len(y)) == 3, np.nan, y))
    model = GaussianMixtureRegressor().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="2D"):
        model.predict(X[:, 0])
    with pytest.raises(TypeError, match="standardize"):
        GaussianMixtureRegressor(standardize="yes").fit(X, y)
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixtureRegressor(0).fit(X, y)


def test_far_rows_predict_finite_means_and_deviations():
    X, y = _linear_data()
    model = GaussianMixtureRegressor(reg_covar=0.0).fit(X, y)
    ols = LinearRegression().fit(X, y)
    rows = np.array([[1e200, 0.0, 0.0], [0.0, -1e200, 1e199], [1e150, 1e150, 0.0]])
    mean, std = model.predict(rows, return_std=True)
    np.testing.assert_allclose(mean, ols.predict(rows), rtol=1e-8)
    residual_variance = np.mean((y - ols.predict(X)) ** 2)
    np.testing.assert_allclose(std, np.sqrt(residual_variance), rtol=1e-8)


def test_far_rows_keep_the_deviation_of_the_branch_that_explains_them():
    # far out along a direction one component explains the rows alone: its
    # conditional deviation does not depend on how far
    X, y = _inverse_problem(400, seed=0)
    model = GaussianMixtureRegressor(n_components=3, random_state=0).fit(X, y)
    direction = np.array([[1.0], [-1.0]])
    _, near = model.predict(direction * 1e6, return_std=True)
    mean, far = model.predict(direction * 1e200, return_std=True)
    assert np.all(np.isfinite(mean))
    np.testing.assert_allclose(far, near, rtol=1e-6)


def test_targets_beyond_float32_fit_in_their_own_units():
    X, y = _linear_data()
    X = X.astype(np.float32)
    reference = GaussianMixtureRegressor(n_components=2, random_state=0).fit(X, y)
    model = GaussianMixtureRegressor(n_components=2, random_state=0).fit(X, y * 1e40)
    mean, std = model.predict(X[:5], return_std=True)
    expected_mean, expected_std = reference.predict(X[:5], return_std=True)
    np.testing.assert_allclose(mean, expected_mean * 1e40, rtol=1e-5)
    np.testing.assert_allclose(std, expected_std * 1e40, rtol=1e-5)


def test_targets_beyond_float32_unstandardised_name_y():
    X, y = _linear_data()
    model = GaussianMixtureRegressor(standardize=False)
    with pytest.raises(ValueError, match=r"^y holds values up to .*float64"):
        model.fit(X.astype(np.float32), y * 1e40)


def test_columns_near_float64_limit_are_standardised():
    X, y = _linear_data()
    reference = GaussianMixtureRegressor(random_state=0).fit(X, y)
    model = GaussianMixtureRegressor(random_state=0).fit(X * 1e300, y * 1e300)
    mean, std = model.predict(X[:5] * 1e300, return_std=True)
    expected_mean, expected_std = reference.predict(X[:5], return_std=True)
    np.testing.assert_allclose(mean, expected_mean * 1e300, rtol=1e-8)
    np.testing.assert_allclose(std, expected_std * 1e300, rtol=1e-8)
