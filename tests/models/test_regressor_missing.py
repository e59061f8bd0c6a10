"""GaussianMixtureRegressor with missing inputs (NaN): y given what is seen."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix import GaussianMixtureRegressor


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 3))
    X[:, 1] += 0.8 * X[:, 0]
    y = np.where(X[:, 0] > 0, 2.0 * X[:, 0] + X[:, 1], -X[:, 2]) + 0.1 * rng.normal(
        size=600
    )
    holed = X.copy()
    holed[rng.uniform(size=X.shape) < 0.15] = np.nan
    holed[np.isnan(holed).all(axis=1), 0] = 0.0
    return X, holed, y


@pytest.fixture(scope="module")
def fitted(data):
    _, holed, y = data
    return GaussianMixtureRegressor(3, standardize=False, random_state=0).fit(holed, y)


def test_missing_inputs_are_marginalised(data, fitted):
    _, holed, _ = data
    rows = holed[np.isnan(holed).any(axis=1)][:20]
    mean, std = fitted.predict(rows, return_std=True)
    for row, expected_mean, expected_std in zip(rows, mean, std, strict=True):
        seen = list(np.flatnonzero(~np.isnan(row)))
        # independently: the joint mixture's marginal over the seen inputs
        # and y, conditioned on the seen inputs
        marginal = fitted.mixture_.marginal([*seen, 3])
        conditional = marginal.condition(np.arange(len(seen)), row[seen][None])
        assert expected_mean == pytest.approx(conditional.mean()[0, 0], rel=1e-9)
        assert expected_std == pytest.approx(conditional.std()[0, 0], rel=1e-9)


def test_complete_rows_predict_as_before(data, fitted):
    X, _, _ = data
    distribution = fitted.predict_distribution(X[:50])
    np.testing.assert_allclose(fitted.predict(X[:50]), distribution.mean()[:, 0])


def test_draws_for_rows_with_holes_have_the_predicted_moments(data, fitted):
    _, holed, _ = data
    row = holed[np.isnan(holed).any(axis=1)][:1]
    draws = fitted.sample_y(row, n_samples=20_000, random_state=0)
    assert draws.shape == (1, 20_000)
    mean, std = fitted.predict(row, return_std=True)
    assert draws.mean() == pytest.approx(mean[0], abs=4 * std[0] / np.sqrt(20_000))
    assert draws.std() == pytest.approx(std[0], rel=0.03)


def test_a_fit_with_holes_is_close_to_the_complete_fit(data):
    X, holed, y = data
    complete = GaussianMixtureRegressor(3, random_state=0).fit(X, y)
    partial = GaussianMixtureRegressor(3, random_state=0).fit(holed, y)
    error_complete = np.sqrt(np.mean((complete.predict(X) - y) ** 2))
    error_partial = np.sqrt(np.mean((partial.predict(X) - y) ** 2))
    assert error_partial < 1.5 * error_complete


def test_predict_distribution_and_bad_targets_are_refused(data, fitted):
    _, holed, y = data
    with pytest.raises(ValueError, match="predict or sample_y"):
        fitted.predict_distribution(holed[np.isnan(holed).any(axis=1)])
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        GaussianMixtureRegressor(2).fit(holed, bad)
