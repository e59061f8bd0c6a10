"""GaussianMixtureClassifier's default: MclustDA and EDDA, chosen by the data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import StratifiedKFold, cross_val_score

import gaussmix
from gaussmix import ConjugatePrior, GaussianMixture, GaussianMixtureClassifier

#: what MclustDA tries per class (documented on the classifier)
MODELS = ("EII", "VII", "EEI", "VVI", "EEE", "VVV")
SIZES = (1, 2, 3)


def _iris():
    return load_iris(return_X_y=True)


def test_mclustda_keeps_each_class_model_of_lowest_bic():
    X, y = _iris()
    model = GaussianMixtureClassifier(covariance_type="MclustDA", random_state=0)
    model.fit(X, y)
    assert model.discriminant_ == "MclustDA"
    n_features = X.shape[1]
    # the documented prior: mclust's defaults with the moments of all rows
    mean, covariance = X.mean(0), np.cov(X.T, bias=True)
    for label, chosen in zip(model.classes_, model.mixtures_, strict=True):
        rows = X[y == label]
        bics = {}
        for covariance_type in MODELS:
            for k in SIZES:
                scale = covariance / k ** (2 / n_features)
                # the default scale's ridge: 1e-6 times the average variance
                scale = scale + 1e-6 * np.mean(np.diag(scale)) * np.eye(n_features)
                prior = ConjugatePrior(0.01, mean, None, scale)
                candidate = GaussianMixture(
                    k,
                    covariance_type=covariance_type,
                    prior=prior,
                    random_state=chosen.random_state,
                )
                if candidate.fit(rows).n_parameters() >= len(rows):
                    continue
                bics[covariance_type, k] = candidate.bic(rows)
        # EEE and VVV are one model with one component: equal up to rounding
        lowest = min(bics.values())
        key = (chosen.covariance_type, chosen.n_components)
        assert bics[key] == pytest.approx(lowest, rel=1e-9)
        assert chosen.bic(rows) == pytest.approx(lowest, rel=1e-6)


def test_edda_uses_one_model_for_every_class():
    X, y = _iris()
    model = GaussianMixtureClassifier(covariance_type="EDDA").fit(X, y)
    assert model.discriminant_.startswith("EDDA ")
    assert model.n_components_.tolist() == [1, 1, 1]


def test_default_cross_validated_accuracy_on_iris():
    X, y = _iris()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(GaussianMixtureClassifier(random_state=0), X, y, cv=cv)
    assert scores.mean() >= 0.96


def test_default_chooses_the_candidate_of_lowest_cv_error():
    X, y = _iris()
    model = GaussianMixtureClassifier(random_state=0).fit(X, y)
    errors = model.cv_errors_
    assert model.discriminant_ in errors
    assert errors[model.discriminant_] == min(errors.values())
    assert all(0.0 <= e <= 1.0 for e in errors.values())


def test_given_sizes_keep_the_maximum_likelihood_full_mixtures():
    X, y = _iris()
    given = GaussianMixtureClassifier([1, 2], random_state=0).fit(X, y)
    full = GaussianMixtureClassifier([1, 2], covariance_type="full", random_state=0)
    full.fit(X, y)
    assert given.discriminant_ == "mixture"
    np.testing.assert_allclose(given.predict_proba(X), full.predict_proba(X))


def test_a_chooser_with_given_sizes_is_named():
    X, y = _iris()
    with pytest.raises(ValueError, match="n_components='auto'"):
        GaussianMixtureClassifier(2, covariance_type="MclustDA").fit(X, y)


def test_default_refits_the_same_with_clone():
    X, y = _iris()
    model = GaussianMixtureClassifier(random_state=0).fit(X, y)
    again = clone(model).fit(X, y)
    assert again.discriminant_ == model.discriminant_
    np.testing.assert_allclose(again.predict_proba(X), model.predict_proba(X))


def test_the_default_survives_a_model_file(tmp_path):
    X, y = _iris()
    model = GaussianMixtureClassifier(random_state=0).fit(X, y)
    gaussmix.save(model, tmp_path / "model.gmm")
    loaded = gaussmix.load(tmp_path / "model.gmm")
    assert loaded.discriminant_ == model.discriminant_
    assert loaded.cv_errors_ == model.cv_errors_
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def _with_wild_value(X, row=0, column=0, value=1e12):
    wild = X.copy()
    wild[row, column] = value
    return wild


def test_a_wild_value_leaves_the_other_classes_fits_as_without_its_row():
    # the prior's moments skip the gross outlier, so every class but its own
    # sees the prior of the data without that row
    X, y = _iris()
    wild = GaussianMixtureClassifier(covariance_type="MclustDA", random_state=0)
    wild.fit(_with_wild_value(X), y)
    clean = GaussianMixtureClassifier(covariance_type="MclustDA", random_state=0)
    clean.fit(X[1:], y[1:])
    for label, ours, theirs in zip(
        wild.classes_, wild.mixtures_, clean.mixtures_, strict=True
    ):
        if label == y[0]:
            continue
        assert ours.covariance_type == theirs.covariance_type
        np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-10)
        np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-8)


def test_a_wild_value_in_a_constant_column_does_not_break_the_default():
    # a pixel blank in every image but one: its column has no spread of its
    # own, so the wild value is judged by the other columns' scale
    X, y = _iris()
    X = np.c_[X, np.zeros(len(X))]
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in cv.split(X, y):
            rows = _with_wild_value(X[train], column=4)
            model = GaussianMixtureClassifier(random_state=0).fit(rows, y[train])
            scores.append(model.score(X[test], y[test]))
    assert np.mean(scores) >= 0.95


@pytest.mark.parametrize("value", [1e6, 1e12])
def test_one_wild_training_value_does_not_break_the_default(value):
    X, y = _iris()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in cv.split(X, y):
            model = GaussianMixtureClassifier(random_state=0)
            model.fit(_with_wild_value(X[train], value=value), y[train])
            scores.append(model.score(X[test], y[test]))
    # QDA and the former default lose the wild value's class (about 0.66)
    assert np.mean(scores) >= 0.95
