"""GaussianMixtureImputer: scikit-learn's imputer interface on a mixture."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import GaussianMixture, GaussianMixtureImputer


@parametrize_with_checks(
    [
        GaussianMixtureImputer(max_iter=20),
        GaussianMixtureImputer(n_components=2, add_indicator=True, max_iter=20),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _holes(X, fraction, seed):
    """X with ``fraction`` of its cells NaN; no row loses every value."""
    rng = np.random.RandomState(seed)
    hidden = rng.uniform(size=X.shape) < fraction
    hidden[hidden.all(axis=1), 0] = False
    return np.where(hidden, np.nan, X), hidden


@pytest.fixture(scope="module")
def correlated():
    """Two clusters told apart by x, in which y follows x with opposite slopes.

    y is about -2|x|: a single Gaussian's regression cannot follow it, a
    mixture of two can.
    """
    rng = np.random.RandomState(0)
    n = 400
    side = rng.uniform(size=n) < 0.5
    x = np.where(side, -3.0, 3.0) + rng.normal(size=n)
    y = np.where(side, 2.0 * x, -2.0 * x) + 0.1 * rng.normal(size=n)
    X = np.column_stack([x, y, x + 0.1 * rng.normal(size=n)])
    holed, hidden = _holes(X, 0.2, 1)
    return X, holed, hidden


def test_transform_is_the_mixtures_conditional_mean(correlated):
    _, holed, hidden = correlated
    imputer = GaussianMixtureImputer(n_components=2, random_state=0).fit(holed)
    filled = imputer.transform(holed)
    reference = GaussianMixture(2, reg_covar=1e-2, random_state=0).fit(holed)
    np.testing.assert_allclose(filled, reference.impute(holed))
    # observed values come back bit for bit
    np.testing.assert_array_equal(filled[~hidden], holed[~hidden])
    assert not np.isnan(filled).any()


def test_one_component_is_the_gaussian_regression(correlated):
    """K=1: E[x_m | x_o] = mu_m + S_mo S_oo^-1 (x_o - mu_o) of the fitted Gaussian."""
    _, holed, _ = correlated
    imputer = GaussianMixtureImputer(n_components=1, reg_covar=0.0, tol=1e-10)
    filled = imputer.fit_transform(holed)
    mean = imputer.model_.means_[0]
    cov = imputer.model_.covariances_[0]
    for row, done in zip(holed[:50], filled[:50], strict=True):
        m, o = np.isnan(row), ~np.isnan(row)
        if not m.any():
            continue
        expected = mean[m] + cov[np.ix_(m, o)] @ np.linalg.solve(
            cov[np.ix_(o, o)], row[o] - mean[o]
        )
        np.testing.assert_allclose(done[m], expected, rtol=1e-10, atol=1e-10)


def test_beats_the_column_mean_and_bic_finds_the_two_clusters(correlated):
    X, holed, hidden = correlated
    imputer = GaussianMixtureImputer(n_components="bic", random_state=0).fit(holed)
    assert imputer.n_components_ == 2
    assert set(imputer.bic_) == {1, 2, 3}
    assert imputer.bic_[2] == min(imputer.bic_.values())
    assert imputer.bic_[2] == pytest.approx(imputer.model_.bic(holed))
    filled = imputer.transform(holed)
    ours = np.sqrt(np.mean((filled[hidden] - X[hidden]) ** 2))
    column_means = np.where(hidden, np.nanmean(holed, axis=0), holed)
    theirs = np.sqrt(np.mean((column_means[hidden] - X[hidden]) ** 2))
    assert ours < 0.5 * theirs
    # y = -2|x| + noise: piecewise linear in x, which one Gaussian misses
    one = GaussianMixtureImputer(n_components=1).fit_transform(holed)
    y_hidden = hidden[:, 1]
    error_two = filled[y_hidden, 1] - X[y_hidden, 1]
    error_one = one[y_hidden, 1] - X[y_hidden, 1]
    assert np.sqrt(np.mean(error_two**2)) < 0.5 * np.sqrt(np.mean(error_one**2))


def test_in_a_pipeline_before_a_classifier():
    X, y = load_iris(return_X_y=True)
    holed, _ = _holes(X, 0.2, 0)
    pipeline = Pipeline(
        [
            ("impute", GaussianMixtureImputer(random_state=0)),
            ("classify", LogisticRegression(max_iter=1000)),
        ]
    )
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipeline, holed, y, cv=cv)
    # complete iris gives about 0.97 with this classifier; chance is 1/3
    assert scores.mean() > 0.85


def test_empty_columns_are_dropped_with_a_warning_or_kept_as_zeros(correlated):
    _, holed, _ = correlated
    with_empty = np.column_stack(
        [holed[:, 0], np.full(len(holed), np.nan), holed[:, 1:]]
    )
    with pytest.warns(UserWarning, match=r"columns \[1\] have no observed value"):
        dropped = GaussianMixtureImputer(n_components=2, random_state=0).fit(with_empty)
    reference = GaussianMixtureImputer(n_components=2, random_state=0).fit(holed)
    np.testing.assert_allclose(
        dropped.transform(with_empty), reference.transform(holed)
    )
    assert dropped.get_feature_names_out().tolist() == ["x0", "x2", "x3"]

    kept = GaussianMixtureImputer(
        n_components=2, keep_empty_features=True, random_state=0
    ).fit(with_empty)
    out = kept.transform(with_empty)
    assert out.shape == with_empty.shape
    np.testing.assert_array_equal(out[:, 1], 0.0)
    np.testing.assert_allclose(out[:, [0, 2, 3]], reference.transform(holed))
    assert kept.get_feature_names_out().tolist() == ["x0", "x1", "x2", "x3"]


def test_rows_without_any_value_get_the_mixture_mean(correlated):
    _, holed, _ = correlated
    imputer = GaussianMixtureImputer(n_components=2, random_state=0).fit(holed)
    blank = np.full((2, holed.shape[1]), np.nan)
    expected = imputer.model_.weights_ @ imputer.model_.means_
    np.testing.assert_allclose(imputer.transform(blank), [expected, expected])
    # and they take no part in the fit
    refit = GaussianMixtureImputer(n_components=2, random_state=0).fit(
        np.vstack([holed, blank])
    )
    np.testing.assert_allclose(refit.model_.means_, imputer.model_.means_)


def test_indicator_columns_follow_missing_indicator(correlated):
    from sklearn.impute import MissingIndicator

    _, holed, _ = correlated
    partly = holed.copy()
    partly[:, 2] = np.where(np.isnan(partly[:, 2]), 0.5, partly[:, 2])
    imputer = GaussianMixtureImputer(
        n_components=1, add_indicator=True, random_state=0
    ).fit(partly)
    out = imputer.transform(partly)
    indicator = MissingIndicator().fit(partly)
    np.testing.assert_array_equal(out[:, 3:], indicator.transform(partly))
    assert imputer.get_feature_names_out(["a", "b", "c"]).tolist() == [
        "a",
        "b",
        "c",
        "missingindicator_a",
        "missingindicator_b",
    ]


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"missing_values": -1}, "NaN only"),
        ({"missing_values": None}, "NaN only"),
        ({"n_components": "aic"}, "'bic'"),
        ({"n_components": 0}, "n_components"),
        ({"n_components": []}, "empty"),
        ({"n_components": (1, 0)}, "n_components"),
        ({"covariance_type": "banana"}, "covariance_type"),
        ({"reg_covar": -1.0}, "reg_covar"),
    ],
)
def test_bad_settings_are_refused(correlated, settings, message):
    _, holed, _ = correlated
    with pytest.raises(ValueError, match=message):
        GaussianMixtureImputer(**settings).fit(holed)


def test_no_observed_value_at_all_is_refused():
    with pytest.raises(ValueError, match="at least one observed value"):
        GaussianMixtureImputer().fit(np.full((5, 2), np.nan))


def test_infinity_is_refused(correlated):
    _, holed, _ = correlated
    bad = holed.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixtureImputer(n_components=1).fit(bad)


def test_bic_candidates_above_the_number_of_rows_are_skipped(correlated):
    _, holed, _ = correlated
    rows = holed[:60]
    imputer = GaussianMixtureImputer(n_components=[1, 2, 61], random_state=0).fit(rows)
    assert set(imputer.bic_) == {1, 2}
    for k, bic in imputer.bic_.items():
        alone = GaussianMixture(k, reg_covar=1e-2, random_state=0).fit(rows)
        assert bic == pytest.approx(alone.bic(rows))


def test_sample_posterior_draws_from_the_conditional_mixture():
    rng = np.random.default_rng(3)
    x = rng.normal(size=2000)
    X = np.column_stack([x, 2 * x + 0.5 * rng.normal(size=2000)])
    holed = X.copy()
    holed[::2, 1] = np.nan
    imputer = GaussianMixtureImputer(n_components=1, sample_posterior=True)
    drawn = imputer.set_params(random_state=0).fit(holed).transform(holed)
    mean = imputer.model_.impute(holed)
    hidden = np.isnan(holed)
    np.testing.assert_array_equal(drawn[~hidden], holed[~hidden])
    # draws scatter about the conditional mean with the conditional spread
    residual = (drawn - mean)[hidden]
    fitted = imputer.model_.covariances_[0]
    conditional_sd = np.sqrt(fitted[1, 1] - fitted[0, 1] ** 2 / fitted[0, 0])
    assert abs(residual.mean()) < 4 * conditional_sd / np.sqrt(hidden.sum())
    assert residual.std() == pytest.approx(conditional_sd, rel=0.1)
    np.testing.assert_array_equal(drawn, imputer.transform(holed))
