"""HDDC and HDDAClassifier: densities, monotone EM, subspaces, scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import HDDC, HDDAClassifier
from gaussmix.core.hddc import HDDC_MODELS
from gaussmix.models.hddc import fitted_subspaces
from tests.models.far_rows import (
    FAR_DIRECTIONS,
    assert_far_rows_go_to_the_mean_they_point_to,
    two_clusters,
)


@pytest.fixture(scope="module")
def subspace_rows():
    """Three groups in 12 dimensions, near planes of dimension 1, 2 and 3."""
    rng = np.random.default_rng(0)
    blocks, labels = [], []
    for k, dim in enumerate((1, 2, 3)):
        basis = np.linalg.qr(rng.normal(size=(12, dim)))[0]
        signal = rng.normal(scale=3.0, size=(200, dim)) @ basis.T
        blocks.append(signal + 0.3 * rng.normal(size=(200, 12)) + 8 * k)
        labels.append(np.full(200, k))
    return np.vstack(blocks), np.concatenate(labels)


def _fit(X, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return HDDC(**settings).fit(X)


@parametrize_with_checks([HDDC(max_iter=20), HDDAClassifier()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_finds_the_groups_and_their_dimensions(subspace_rows):
    X, labels = subspace_rows
    model = _fit(X, n_components=3, random_state=0)
    assert adjusted_rand_score(labels, model.predict(X)) == 1.0
    order = np.argsort(model.means_[:, 0])
    assert model.dims_[order].tolist() == [1, 2, 3]
    assert model.transform(X[:4]).shape == (4, 3, 3)


def test_score_samples_is_the_dense_mixture_density(subspace_rows):
    X, _ = subspace_rows
    model = _fit(X, n_components=3, model="ABQkDk", random_state=0)
    rows = X[::41] + 0.2
    expected = np.log(
        sum(
            w * stats.multivariate_normal(m, c).pdf(rows)
            for w, m, c in zip(
                model.weights_, model.means_, model.get_covariances(), strict=True
            )
        )
    )
    np.testing.assert_allclose(model.score_samples(rows), expected, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(HDDC_MODELS))
def test_em_with_fixed_dimensions_never_lowers_the_likelihood(subspace_rows, name):
    X, _ = subspace_rows
    model = _fit(
        X[::2],
        n_components=3,
        model=name,
        n_dims=2,
        init_params="random",
        tol=1e-8,
        max_iter=40,
        random_state=0,
    )
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    assert set(model.dims_) == {2}


def test_bic_selects_dimensions_too(subspace_rows):
    X, _ = subspace_rows
    model = _fit(X, n_components=3, dim_select="bic", random_state=0)
    order = np.argsort(model.means_[:, 0])
    assert model.dims_[order].tolist() == [1, 2, 3]


def test_hdda_with_full_dimensions_is_quadratic_discriminant_analysis(subspace_rows):
    # with d_k = D - 1 and a_kj per direction the covariance is the class's
    # sample covariance, so the posterior is that of QDA with ML estimates
    X, labels = subspace_rows
    names = np.array(["a", "b", "c"])[labels]
    clf = HDDAClassifier(n_dims=11, reg_covar=0).fit(X, names)
    rows = X[::17] + 0.5
    joint = np.column_stack(
        [
            np.log(np.mean(labels == k))
            + stats.multivariate_normal(
                X[labels == k].mean(0), np.cov(X[labels == k].T, bias=True)
            ).logpdf(rows)
            for k in range(3)
        ]
    )
    expected = np.exp(joint - joint.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(rows), expected, atol=1e-8)
    assert clf.classes_.tolist() == ["a", "b", "c"]


def test_hdda_classifies_high_dimensional_classes(subspace_rows):
    X, labels = subspace_rows
    clf = HDDAClassifier().fit(X[::2], labels[::2])
    assert clf.score(X[1::2], labels[1::2]) == 1.0


def test_unknown_model_is_a_clear_error(subspace_rows):
    X, _ = subspace_rows
    with pytest.raises(ValueError, match="model"):
        HDDC(2, model="AkjBkQkDkX").fit(X)


def _least_precise(covariances):
    # far out, the likeliest component is the one whose precision is least
    # along the row's direction
    precisions = np.linalg.inv(covariances)
    spread = np.einsum("nd,kde,ne->nk", FAR_DIRECTIONS, precisions, FAR_DIRECTIONS)
    return np.argmin(spread, axis=1).tolist()


@pytest.mark.parametrize("far", [1e155, 1e300])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_far_rows_have_no_density_and_a_proper_distribution(far, dtype):
    X = two_clusters(dtype)
    model = _fit(X, n_components=2, random_state=0)
    rows = far * FAR_DIRECTIONS
    assert np.all(model.score_samples(rows) == -np.inf)
    proba = model.predict_proba(rows)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert model.predict(rows).tolist() == _least_precise(model.get_covariances())
    clf = HDDAClassifier().fit(X, np.repeat(["a", "b"], 30))
    proba = clf.predict_proba(rows)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0)
    dense = fitted_subspaces(clf).covariances().dense()
    expected = clf.classes_[_least_precise(dense)]
    assert clf.predict(rows).tolist() == expected.tolist()
    # the log-odds of the second class: infinite, of the predicted sign
    margin = clf.decision_function(rows)
    assert np.all(np.isinf(margin))
    assert clf.classes_[(margin > 0).astype(int)].tolist() == expected.tolist()


def test_far_rows_of_one_covariance_go_to_the_mean_they_point_to():
    # log p_k(t u) - log p_r(t u) = t (mu_k - mu_r)^T P u + const: far out
    # the component with the largest mu_k^T P u takes the row outright
    model = _fit(two_clusters(), n_components=2, model="ABQD", random_state=0)
    assert_far_rows_go_to_the_mean_they_point_to(model)


# refused before the k-means start, which would overflow on such values
def test_values_whose_squares_overflow_are_a_clear_error():
    X = two_clusters()
    X[0, 0] = 1e160
    message = r"too large.*Rescale the data"
    with pytest.raises(ValueError, match=message):
        HDDC(1).fit(X)
    with pytest.raises(ValueError, match=message):
        HDDAClassifier().fit(X, np.repeat([0, 1], 30))
    X[0, 0] = 1e200
    for seed in range(3):
        with pytest.raises(ValueError, match=message):
            HDDC(2, random_state=seed).fit(X)


@pytest.fixture(scope="module")
def one_huge_column():
    """Two groups; the last column in units 1e8 times the others'."""
    rng = np.random.default_rng(0)
    rows = np.vstack([rng.normal(0, 1, (100, 4)), rng.normal(5, 1, (100, 4))])
    return rows, rows * [1, 1, 1, 1e8], np.repeat([0, 1], 100)


def _noise_off_the_huge_column(rows, labels, k):
    # a subspace along the huge column (d = 1) leaves the other columns'
    # covariance given it, the Schur complement, which does not depend on
    # that column's units: computed on the well-scaled rows
    S = np.cov(rows[labels == k].T, bias=True)
    given = S[:3, :3] - np.outer(S[:3, 3], S[3, :3]) / S[3, 3]
    return np.trace(given) / 3


def test_a_column_in_huge_units_leaves_an_accurate_noise(one_huge_column):
    # tr S - a, both near 1e16, kept none of the noise's digits: noise
    # variances [0, 2.7] and a useless partition
    rows, X, labels = one_huge_column
    model = _fit(X, n_components=2, random_state=0)
    assert adjusted_rand_score(labels, model.predict(X)) == 1.0
    assert model.dims_.tolist() == [1, 1]
    order = [int(np.argmin(model.means_[:, 0])), int(np.argmax(model.means_[:, 0]))]
    expected = [_noise_off_the_huge_column(rows, labels, k) + 1e-6 for k in (0, 1)]
    np.testing.assert_allclose(model.noise_variances_[order], expected, rtol=1e-6)
    clf = HDDAClassifier().fit(X, labels)
    np.testing.assert_allclose(clf.noise_variances_, expected, rtol=1e-9)


def test_a_column_in_huge_units_keeps_accurate_densities(one_huge_column):
    # the density in the well-scaled units y = T x, times |T|, from dense
    # covariances T Sigma_k T that are well conditioned there
    _, X, _ = one_huge_column
    model = _fit(X, n_components=2, random_state=0)
    units = np.array([1.0, 1.0, 1.0, 1e-8])
    joint = np.column_stack(
        [
            np.log(w)
            + stats.multivariate_normal(m * units, s * np.outer(units, units)).logpdf(
                X * units
            )
            for w, m, s in zip(
                model.weights_, model.means_, model.get_covariances(), strict=True
            )
        ]
    )
    expected = np.logaddexp(joint[:, 0], joint[:, 1]) + np.log(units).sum()
    # to the rounding the densities allow themselves (WOODBURY_ROUNDING_LIMIT);
    # the one-pass Woodbury form was off by up to 74 nats here
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=0, atol=1e-3)
