"""GaussianMixtureOutlierDetector: scikit-learn's checks and its threshold rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2, multivariate_normal
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import GaussianMixtureOutlierDetector
from gaussmix.models.outlier import weighted_lower_quantile


@parametrize_with_checks(
    [
        GaussianMixtureOutlierDetector(max_iter=20),
        GaussianMixtureOutlierDetector(2, noise=True, max_iter=20),
    ],
    expected_failed_checks=lambda estimator: (
        {
            "check_sample_weight_equivalence_on_dense_data": (
                "the noise start's nearest-neighbour clutter rule sees rows, "
                "not weights: a repeated row is its own nearest neighbour"
            )
        }
        if estimator.noise
        else {}
    ),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _blobs_with_outliers(seed: int, n: int = 600, n_outliers: int = 30):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    labels = rng.integers(0, 2, n)
    inliers = centres[labels] + rng.standard_normal((n, 2))
    outliers = rng.uniform(-30, 40, (n_outliers, 2))
    return np.vstack([inliers, outliers]), np.r_[np.ones(n), -np.ones(n_outliers)]


@pytest.mark.parametrize("contamination", [0.01, 0.05, 0.1, 0.25])
@pytest.mark.parametrize("noise", [False, True])
def test_training_outlier_fraction_is_contamination(contamination, noise):
    X, _ = _blobs_with_outliers(0)
    detector = GaussianMixtureOutlierDetector(
        2, contamination=contamination, noise=noise, random_state=0
    ).fit(X)
    fraction = np.mean(detector.predict(X) == -1)
    # floor(c n) rows lie strictly below the offset (no ties in the scores)
    assert fraction == np.floor(contamination * len(X)) / len(X)


def test_weights_act_as_repeated_rows():
    X, _ = _blobs_with_outliers(1, n=200, n_outliers=10)
    weights = np.random.default_rng(2).integers(0, 4, len(X))
    weighted = GaussianMixtureOutlierDetector(2, random_state=0, tol=1e-8).fit(
        X, sample_weight=weights
    )
    repeated = GaussianMixtureOutlierDetector(2, random_state=0, tol=1e-8).fit(
        np.repeat(X, weights, axis=0)
    )
    # the offsets are both training scores at the same rank of the weight
    assert weighted.offset_ == pytest.approx(repeated.offset_, rel=1e-6)


def test_flags_the_planted_outliers():
    X, truth = _blobs_with_outliers(3)
    detector = GaussianMixtureOutlierDetector(
        2, contamination=30 / len(X), noise=True, random_state=0
    ).fit(X)
    predicted = detector.predict(X)
    recall = np.mean(predicted[truth == -1] == -1)
    assert recall >= 0.9
    assert np.all(detector.decision_function(X) < 0) == np.all(predicted == -1)


def test_absolute_threshold_of_one_gaussian():
    # one standard normal component: log p(x) = -log(2 pi) - |x|^2 / 2, so the
    # threshold at the chi-square(2) 0.99 quantile flags about 1% of its rows
    rng = np.random.default_rng(4)
    X = rng.standard_normal((20_000, 2))
    radius2 = chi2.ppf(0.99, df=2)
    threshold = -np.log(2 * np.pi) - radius2 / 2
    detector = GaussianMixtureOutlierDetector(threshold=threshold).fit(X)
    assert detector.offset_ == threshold
    assert np.mean(detector.predict(X) == -1) == pytest.approx(0.01, abs=0.003)
    scores = detector.score_samples(X[:5])
    expected = -np.log(2 * np.pi) - 0.5 * (X[:5] ** 2).sum(1)
    np.testing.assert_allclose(scores, expected, atol=0.02)


def test_rejects_bad_contamination():
    X, _ = _blobs_with_outliers(5, n=50, n_outliers=2)
    with pytest.raises(ValueError, match="contamination"):
        GaussianMixtureOutlierDetector(contamination=0.7).fit(X)


def _with_holes(X: np.ndarray, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    holes = rng.uniform(size=X.shape) < share
    holes[np.arange(len(X)), rng.integers(0, X.shape[1], len(X))] = False
    return np.where(holes, np.nan, X)


def test_a_row_with_holes_scores_as_a_complete_row_at_its_tail_probability():
    # one Gaussian: the observed columns' squared distance q has a chi-square
    # law with 2 degrees of freedom; the score is the complete log-density
    # at the 4-column distance of the same upper tail (Wilson-Hilferty)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    covariance = a @ a.T + np.eye(4)
    X = rng.multivariate_normal(np.arange(4.0), covariance, size=2000)
    detector = GaussianMixtureOutlierDetector(1, random_state=0).fit(X)
    mean = detector.mixture_.means_[0]
    cov = detector.mixture_.covariances_[0]
    row = np.array([0.5, np.nan, 3.0, np.nan])
    o = np.array([0, 2])
    gap = row[o] - mean[o]
    q = gap @ np.linalg.solve(cov[np.ix_(o, o)], gap)
    z = ((q / 2) ** (1 / 3) - (1 - 2 / 18)) / np.sqrt(2 / 18)
    equivalent = 4 * (z * np.sqrt(2 / 36) + 1 - 2 / 36) ** 3
    assert chi2.sf(equivalent, 4) == pytest.approx(chi2.sf(q, 2), abs=3e-3)
    expected = multivariate_normal(mean, cov).logpdf(mean) - 0.5 * equivalent
    assert detector.score_samples(row[None])[0] == pytest.approx(expected, rel=1e-10)


def test_complete_rows_score_the_same_beside_rows_with_holes():
    X, _ = _blobs_with_outliers(3)
    holed = _with_holes(X, 0.2, 4)
    detector = GaussianMixtureOutlierDetector(2, random_state=0).fit(holed)
    complete = ~np.isnan(holed).any(axis=1)
    np.testing.assert_array_equal(
        detector.score_samples(holed)[complete],
        detector.score_samples(holed[complete]),
    )


@pytest.mark.parametrize("noise", [False, True])
def test_rows_missing_more_values_are_flagged_no_more_and_no_less(noise):
    # among inliers, the flagged share must not depend on how many values a
    # row misses: the marginal density of fewer columns would spare them all
    rng = np.random.default_rng(5)
    a = rng.normal(size=(6, 6))
    X = rng.multivariate_normal(np.zeros(6), a @ a.T + np.eye(6), size=6000)
    holed = _with_holes(X, 0.3, 6)
    detector = GaussianMixtureOutlierDetector(
        1, contamination=0.1, noise=noise, random_state=0
    ).fit(holed)
    flagged = detector.predict(holed) == -1
    n_missing = np.isnan(holed).sum(axis=1)
    few, many = flagged[n_missing <= 1].mean(), flagged[n_missing >= 3].mean()
    assert abs(few - many) < 0.04
    marginal = detector.mixture_.score_samples(holed)
    cut = np.quantile(marginal, 0.1)
    assert (marginal[n_missing >= 3] < cut).mean() < 0.5 * (
        marginal[n_missing <= 1] < cut
    ).mean()


def test_planted_outliers_are_found_through_missing_values():
    X, truth = _blobs_with_outliers(7)
    holed = _with_holes(X, 0.3, 8)
    detector = GaussianMixtureOutlierDetector(
        2, contamination=0.05, noise=True, random_state=0
    ).fit(holed)
    labels = detector.predict(holed)
    # an outlier far out in its only observed column is still found
    assert (labels[truth == -1] == -1).mean() >= 0.8
    assert (labels[truth == 1] == -1).mean() <= 0.03


@pytest.mark.parametrize("method", ["predict", "score_samples", "decision_function"])
def test_a_row_without_values_is_named_by_its_place_in_x(method):
    X, _ = _blobs_with_outliers(9)
    detector = GaussianMixtureOutlierDetector(2, random_state=0).fit(X)
    rows = X[:10].copy()
    rows[2, 0] = np.nan  # a row with a hole before the empty one
    rows[5] = np.nan
    with pytest.raises(ValueError, match=r"row 5 of X has every value missing"):
        getattr(detector, method)(rows)


def test_too_few_rows_name_the_detector():
    X, _ = _blobs_with_outliers(10)
    with pytest.raises(
        ValueError, match="minimum of 2 is required by GaussianMixtureOutlierDetector"
    ):
        GaussianMixtureOutlierDetector(1).fit(X[:1])


def test_a_far_row_with_a_missing_value_is_an_outlier():
    # its squared distances overflow float64: the row is infinitely
    # improbable, never NaN (which no threshold would flag)
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(5, 1, (30, 3))])
    detector = GaussianMixtureOutlierDetector(2, random_state=0).fit(X)
    rows = np.array([[1e155, np.nan, 0.0], [1e300, 0.0, np.nan], [0.5, np.nan, 0.0]])
    assert np.all(np.isneginf(detector.score_samples(rows)[:2]))
    np.testing.assert_array_equal(detector.predict(rows), [-1, -1, 1])


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.25, 2.5), (0.05, 0.5), (0.1, 1.5), (0.5, 5.5)],
)
def test_threshold_lies_between_the_last_outlier_and_the_first_inlier(
    fraction, expected
):
    values = np.arange(1.0, 11.0)[::-1].copy()  # any order
    assert weighted_lower_quantile(values, None, fraction) == expected


def test_threshold_of_equal_values_keeps_them_all():
    threshold = weighted_lower_quantile(np.full(6, -3.0), None, 0.1)
    assert -3.0 - 1e-3 < threshold < -3.0


@pytest.mark.parametrize("noise", [False, True])
def test_no_training_row_sits_on_the_offset(noise):
    # a row scoring exactly offset_ is flipped by the rounding of another
    # batch of rows: scored alone, each row must get what it gets among all
    X, _ = _blobs_with_outliers(5, n=60, n_outliers=6)
    detector = GaussianMixtureOutlierDetector(
        2, noise=noise, contamination=0.1, random_state=0
    ).fit(X)
    decision = detector.decision_function(X)
    assert np.abs(decision).min() > 1e-6
    alone = np.concatenate([detector.predict(row[None]) for row in X])
    np.testing.assert_array_equal(alone, detector.predict(X))


def test_threshold_ignores_rows_of_no_weight_and_infinite_scores():
    values = np.array([5.0, 1.0, 2.0, 2.9, -np.inf, 3.0, 4.0])
    weights = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    # the -inf row and the rows at 1 and 2 are the outliers (half the
    # weight); the row at 2.9 has no weight, so the threshold lies between
    # 2 and 3 as for the rows repeated by their weights
    assert weighted_lower_quantile(values, weights, 0.5) == 2.5
    repeated = np.repeat(values, weights.astype(int))
    assert weighted_lower_quantile(repeated, None, 0.5) == 2.5
    # a lowest kept row with only -inf below it: the gap above mirrors
    assert weighted_lower_quantile(np.array([-np.inf, 1.0, 3.0]), None, 0.34) == 0.0
