"""GaussianMixtureClassifier with missing values (NaN) in X."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import StratifiedKFold, cross_val_score

from gaussmix import GaussianMixtureClassifier


@pytest.fixture(scope="module")
def iris_with_holes():
    X, y = load_iris(return_X_y=True)
    holed = X.copy()
    holed[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    empty = np.isnan(holed).all(axis=1)
    holed[empty, 0] = X[empty, 0]
    return holed, y


def test_the_default_classifies_rows_with_holes(iris_with_holes):
    holed, y = iris_with_holes
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = cross_val_score(GaussianMixtureClassifier(), holed, y, cv=folds)
    assert scores.mean() >= 0.9


def test_class_probabilities_use_each_class_mixtures_marginal(iris_with_holes):
    holed, y = iris_with_holes
    model = GaussianMixtureClassifier(covariance_type="MclustDA").fit(holed, y)
    rows = holed[np.isnan(holed).any(axis=1)][:10]
    log_joint = np.column_stack(
        [m.score_samples(rows) for m in model.mixtures_]
    ) + np.log(model.priors_)
    expected = np.exp(log_joint - np.logaddexp.reduce(log_joint, axis=1)[:, None])
    np.testing.assert_allclose(model.predict_proba(rows), expected, rtol=1e-9)


def test_what_cannot_take_missing_values_says_so(iris_with_holes):
    holed, y = iris_with_holes
    with pytest.raises(ValueError, match="EDDA"):
        GaussianMixtureClassifier(covariance_type="EDDA").fit(holed, y)
    partly = y.copy()
    partly[::7] = -1
    with pytest.raises(ValueError, match="unlabelled"):
        GaussianMixtureClassifier(
            covariance_type="full", n_components=1, unlabeled_label=-1
        ).fit(holed, partly)
    bad = holed.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixtureClassifier().fit(bad, y)
