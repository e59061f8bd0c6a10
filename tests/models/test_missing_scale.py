"""reg_covar_scale='variance' on rows with missing values (NaN)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture


@pytest.fixture(scope="module")
def rows():
    X, _ = make_blobs(n_samples=600, centers=3, n_features=3, random_state=2)
    # columns in very different units
    X = X * np.array([1e-3, 1.0, 50.0]) + np.array([0.0, -7.0, 300.0])
    rng = np.random.RandomState(3)
    holed = X.copy()
    holed[rng.uniform(size=X.shape) < 0.2] = np.nan
    empty = np.isnan(holed).all(axis=1)
    holed[empty] = X[empty]
    return holed


def _fit(X, **settings):
    settings = {"n_components": 3, "random_state": 0, "tol": 1e-10, **settings}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**settings).fit(X)


def test_variance_scale_fits_in_units_of_the_observed_deviations(rows):
    # independent expectation: divide each column by numpy's deviation of
    # its observed values and fit with reg_covar as is
    deviation = np.nanstd(rows, axis=0)
    scaled = _fit(rows, reg_covar=1e-3, reg_covar_scale="variance", max_iter=30)
    by_hand = _fit(rows / deviation, reg_covar=1e-3, max_iter=30)
    np.testing.assert_allclose(
        scaled.means_, by_hand.means_ * deviation, rtol=1e-6, atol=0
    )
    np.testing.assert_allclose(
        scaled.covariances_,
        by_hand.covariances_ * np.multiply.outer(deviation, deviation),
        rtol=1e-6,
    )
    np.testing.assert_allclose(scaled.weights_, by_hand.weights_, rtol=1e-6)
    # a row's density loses the units of its observed columns only
    seen = ~np.isnan(rows)
    expected = by_hand.lower_bound_ - np.mean(seen @ np.log(deviation))
    assert scaled.lower_bound_ == pytest.approx(expected, rel=1e-9)


def test_variance_scale_does_not_depend_on_the_columns_units(rows):
    factors = np.array([1e4, 1e-2, 3.0])
    first = _fit(rows, reg_covar=1e-2, reg_covar_scale="variance", max_iter=20)
    second = _fit(
        rows * factors, reg_covar=1e-2, reg_covar_scale="variance", max_iter=20
    )
    np.testing.assert_allclose(second.means_, first.means_ * factors, rtol=1e-6)
    np.testing.assert_allclose(
        second.covariances_,
        first.covariances_ * np.multiply.outer(factors, factors),
        rtol=1e-6,
    )


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_variance_scale_em_never_lowers_the_observed_likelihood(rows, covariance_type):
    # a small reg_covar: a large one is a penalty EM does not climb exactly
    model = _fit(
        rows,
        covariance_type=covariance_type,
        reg_covar=1e-6,
        reg_covar_scale="variance",
        max_iter=60,
    )
    bounds = np.asarray(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds).max())
    # the bound is the observed rows' average log-likelihood, in data units
    assert model.score(rows) == pytest.approx(bounds[-1], abs=1e-6)


def test_variance_scale_scores_are_the_observed_marginals(rows):
    model = _fit(rows, reg_covar=1e-3, reg_covar_scale="variance", max_iter=30)
    expected = np.empty(len(rows))
    for i, row in enumerate(rows):
        seen = ~np.isnan(row)
        expected[i] = np.log(
            sum(
                weight
                * multivariate_normal(mean[seen], covariance[np.ix_(seen, seen)]).pdf(
                    row[seen]
                )
                for weight, mean, covariance in zip(
                    model.weights_, model.means_, model.covariances_, strict=True
                )
            )
        )
    np.testing.assert_allclose(model.score_samples(rows), expected, rtol=1e-9)
    # the last EM pass's average matches the parameters' own likelihood
    # up to the last step's gain
    assert model.score(rows) >= model.lower_bound_ - 1e-9
