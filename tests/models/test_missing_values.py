"""GaussianMixture on rows with missing values (NaN)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture, select_model
from gaussmix.core.covariance import get_family
from tests.models.em_checks import assert_monotone_and_scored
from tests.models.far_rows import two_clusters

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def rows():
    X, _ = make_blobs(n_samples=1500, centers=3, n_features=4, random_state=0)
    rng = np.random.RandomState(1)
    holed = X.copy()
    holed[rng.uniform(size=X.shape) < 0.15] = np.nan
    empty = np.isnan(holed).all(axis=1)
    holed[empty] = X[empty]
    return X, holed


def _fit(X, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**settings).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_never_lowers_the_observed_likelihood(rows, covariance_type):
    _, holed = rows
    model = _fit(
        holed,
        n_components=3,
        covariance_type=covariance_type,
        tol=1e-10,
        max_iter=300,
        random_state=0,
    )
    assert_monotone_and_scored(model, holed, 1e-6)


def test_the_fit_is_close_to_the_complete_data_fit(rows):
    X, holed = rows
    complete = _fit(X, n_components=3, random_state=0)
    missing = _fit(holed, n_components=3, random_state=0)
    order_c = np.argsort(complete.means_[:, 0])
    order_m = np.argsort(missing.means_[:, 0])
    np.testing.assert_allclose(
        missing.means_[order_m], complete.means_[order_c], atol=0.1
    )
    np.testing.assert_allclose(
        missing.weights_[order_m], complete.weights_[order_c], atol=0.02
    )


def test_scores_are_the_marginal_densities_of_the_observed_columns(rows):
    _, holed = rows
    model = _fit(holed, n_components=3, random_state=0)
    scores = model.score_samples(holed[:40])
    proba = model.predict_proba(holed[:40])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    for row, score in zip(holed[:40], scores, strict=True):
        seen = np.flatnonzero(~np.isnan(row))
        marginal = model.marginal(list(seen))
        assert score == pytest.approx(marginal.score_samples(row[seen][None])[0])
    np.testing.assert_array_equal(model.predict(holed[:40]), proba.argmax(axis=1))


def test_imputation_uses_the_mixture(rows):
    X, holed = rows
    model = _fit(holed, n_components=3, random_state=0)
    filled = model.impute(holed)
    hidden = np.isnan(holed)
    np.testing.assert_array_equal(filled[~hidden], holed[~hidden])
    column_means = np.where(hidden, np.nanmean(holed, axis=0), holed)
    mixture_error = np.sqrt(np.mean((filled - X)[hidden] ** 2))
    mean_error = np.sqrt(np.mean((column_means - X)[hidden] ** 2))
    assert mixture_error < 0.5 * mean_error


def test_bic_counts_the_observed_values(rows):
    _, holed = rows
    model = _fit(holed, n_components=3, random_state=0)
    expected = -2 * model.score(holed) * len(holed) + model.n_parameters() * np.log(
        len(holed)
    )
    assert model.bic(holed) == pytest.approx(expected)


def test_rows_or_columns_without_values_are_refused(rows):
    _, holed = rows
    empty_row = holed.copy()
    empty_row[3] = np.nan
    with pytest.raises(ValueError, match="row 3 of X has every value missing"):
        _fit(empty_row, n_components=3, random_state=0)
    empty_column = holed.copy()
    empty_column[:, 2] = np.nan
    with pytest.raises(ValueError, match="column 2 of X has no observed value"):
        _fit(empty_column, n_components=3, random_state=0)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        _fit(np.where(np.isnan(holed), np.inf, holed), n_components=3)


def test_draws_of_one_gaussian_follow_the_conditional_distribution():
    rng = np.random.RandomState(0)
    covariance = np.array(
        [
            [2.0, 0.8, 0.3, 0.1],
            [0.8, 1.5, 0.4, 0.2],
            [0.3, 0.4, 1.0, 0.5],
            [0.1, 0.2, 0.5, 1.2],
        ]
    )
    X = rng.multivariate_normal([1.0, -1.0, 0.5, 2.0], covariance, size=400)
    model = GaussianMixture(1, random_state=0).fit(X)
    row = np.array([[np.nan, 0.0, np.nan, 1.5]])
    draws = model.impute(np.repeat(row, 20_000, axis=0), n_draws=1, random_state=1)[0]
    hidden, seen = [0, 2], [1, 3]
    fitted = model.covariances_[0]
    gain = fitted[np.ix_(hidden, seen)] @ np.linalg.inv(fitted[np.ix_(seen, seen)])
    expected_mean = model.means_[0, hidden] + gain @ (
        row[0, seen] - model.means_[0, seen]
    )
    expected_cov = fitted[np.ix_(hidden, hidden)] - gain @ fitted[np.ix_(seen, hidden)]
    np.testing.assert_allclose(model.impute(row)[0, hidden], expected_mean)
    np.testing.assert_allclose(draws[:, hidden].mean(axis=0), expected_mean, atol=0.03)
    np.testing.assert_allclose(np.cov(draws[:, hidden].T), expected_cov, atol=0.03)
    np.testing.assert_array_equal(
        draws[:, seen], np.repeat(row[:, seen], 20_000, axis=0)
    )


def test_draws_average_to_the_conditional_means(rows):
    _, holed = rows
    model = _fit(holed, n_components=3, random_state=0)
    some = holed[np.isnan(holed).any(axis=1)][:5]
    draws = model.impute(some, n_draws=4000, random_state=0)
    assert draws.shape == (4000, *some.shape)
    hidden = np.isnan(some)
    spread = draws.std(axis=0)[hidden]
    error = np.abs(draws.mean(axis=0) - model.impute(some))[hidden]
    assert np.all(error < 5 * spread / np.sqrt(4000))
    np.testing.assert_array_equal(
        draws, model.impute(some, n_draws=4000, random_state=0)
    )
    assert np.all(draws[:, ~hidden] == some[~hidden])


def test_a_bad_number_of_draws_is_refused(rows):
    _, holed = rows
    model = _fit(holed, n_components=2, random_state=0)
    with pytest.raises(ValueError, match="n_draws"):
        model.impute(holed, n_draws=0)
    with pytest.raises(TypeError, match="n_draws"):
        model.impute(holed, n_draws=2.5)


def test_partial_fit_takes_batches_with_holes(rows):
    X, holed = rows
    model = GaussianMixture(3, random_state=0)
    for batch in np.array_split(holed, 5):
        model.partial_fit(batch)
    reference = _fit(X, n_components=3, random_state=0)
    # the same clusters: each fitted mean is near one of the complete fit's
    distances = np.linalg.norm(
        model.means_[:, None] - reference.means_[None], axis=2
    ).min(axis=1)
    assert np.all(distances < 0.3)
    assert np.all(np.isfinite(model.score_samples(holed)))


def test_select_model_scores_every_cell_by_the_observed_values(rows):
    _, holed = rows
    result = select_model(
        holed[:400], n_components=[1, 2, 3], covariance_types=["full", "VII"]
    )
    for i, model in enumerate(result.covariance_types):
        for j, k in enumerate(result.n_components):
            fitted = result.models[model, k]
            # the grid's BIC is minus gaussmix's, mclust's sign convention aside
            assert result.bic[i, j] == pytest.approx(fitted.bic(holed[:400]))
    assert result.best_n_components == 3


@pytest.mark.parametrize("model", ["EII", "VEV", "EVI", "VVE"])
def test_mclust_models_never_lower_the_observed_likelihood(rows, model):
    _, holed = rows
    fitted = _fit(
        holed[:600], n_components=3, covariance_type=model, tol=1e-9, random_state=0
    )
    steps = np.diff(fitted.lower_bounds_)
    assert np.all(steps >= -1e-9 * np.abs(fitted.lower_bounds_).max())
    assert fitted.score(holed[:600]) == pytest.approx(
        fitted.lower_bounds_[-1], abs=1e-6
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_far_row_with_a_missing_value_is_improbable_not_nan(covariance_type):
    # a value beyond 1e154 squares to infinity: the row's density is 0
    # (log -inf) and its responsibilities, those of its observed columns'
    # marginal, still sum to one; its hole is filled like any other
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    model.fit(two_clusters())
    rows = np.array([[1e155, np.nan, 0.0], [1e300, np.nan, 0.0]])
    assert np.all(np.isneginf(model.score_samples(rows)))
    proba = model.predict_proba(rows)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(rows), proba.argmax(axis=1))
    filled = model.impute(rows)
    assert np.all(np.isfinite(filled[:, 1]))
    # the observed marginal as a complete-data mixture orders them alike
    marginal = GaussianMixture.from_params(
        model.weights_,
        model.means_[:, [0, 2]],
        _marginal_covariances(model, [0, 2]),
    )
    np.testing.assert_allclose(
        proba, marginal.predict_proba(rows[:, [0, 2]]), atol=1e-9
    )


def _marginal_covariances(model: GaussianMixture, columns: list[int]) -> np.ndarray:
    n_components, n_features = model.means_.shape
    family = get_family(model.covariance_type)
    full = family.full_covariances(model.covariances_, n_components, n_features)
    return full[:, columns][:, :, columns]


def test_missing_values_beside_a_column_in_far_larger_units_fit_as_in_its_units():
    # variances of 1 and 1e16 in one covariance: the fit must match the fit
    # of the same rows with that column in its own units
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)) * [1.0, 1.0, 1e8]
    X[rng.random(X.shape) < 0.1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    units = np.array([1.0, 1.0, 1e8])
    ours = GaussianMixture(1, random_state=0).fit(X)
    rescaled = GaussianMixture(1, random_state=0).fit(X / units)
    np.testing.assert_allclose(ours.means_ / units, rescaled.means_, rtol=1e-6)
    np.testing.assert_allclose(
        ours.covariances_ / np.outer(units, units), rescaled.covariances_, rtol=1e-5
    )
