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
