"""GaussianMixtureClassifier against closed forms, LDA and its own promises."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import GaussianMixtureClassifier


@parametrize_with_checks(
    [GaussianMixtureClassifier(), GaussianMixtureClassifier(unlabeled_label=-1)],
    expected_failed_checks=lambda estimator: (
        {}
        if estimator.unlabeled_label is None
        else {
            "check_classifiers_classes": (
                "unlabeled_label=-1 asks for -1 to mark unlabelled rows "
                "(scikit-learn's semi-supervised convention), so y in {-1, 1} "
                "has one class"
            )
        }
    ),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _iris():
    return load_iris(return_X_y=True)


def test_one_full_component_per_class_is_bayes_rule_with_mle_gaussians():
    X, y = _iris()
    model = GaussianMixtureClassifier(covariance_type="full", reg_covar=0.0).fit(X, y)
    log_joint = np.column_stack(
        [
            multivariate_normal(
                X[y == c].mean(0), np.cov(X[y == c].T, bias=True)
            ).logpdf(X)
            + np.log(np.mean(y == c))
            for c in range(3)
        ]
    )
    expected = log_joint - logsumexp(log_joint, axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_log_proba(X), expected, atol=1e-6)
    np.testing.assert_allclose(model.priors_, [1 / 3] * 3)
    np.testing.assert_array_equal(model.predict(X), np.argmax(expected, axis=1))


def test_shared_covariance_with_one_component_is_lda():
    X, y = _iris()
    ours = GaussianMixtureClassifier(covariance_type="shared", reg_covar=0.0).fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), lda.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(ours.mixtures_[0].covariances_, lda.covariance_)


def _two_blob_class(seed=0, n=150):
    """Class 0 is two far-apart blobs, class 1 sits between them."""
    rng = np.random.RandomState(seed)
    left = rng.normal(size=(n, 2)) * 0.5 + [-4.0, 0.0]
    right = rng.normal(size=(n, 2)) * 0.5 + [4.0, 0.0]
    middle = rng.normal(size=(n, 2)) * 0.5 + [0.0, 0.0]
    X = np.vstack([left, right, middle])
    y = np.repeat([0, 0, 1], n)
    return X, y


def test_bic_chooses_the_number_of_components_per_class():
    X, y = _two_blob_class()
    chosen = GaussianMixtureClassifier(n_components=range(1, 4), random_state=0)
    chosen.fit(X, y)
    np.testing.assert_array_equal(chosen.n_components_, [2, 1])
    single = GaussianMixtureClassifier(1, covariance_type="full", random_state=0)
    single.fit(X, y)
    X_test, y_test = _two_blob_class(seed=1)
    assert chosen.score(X_test, y_test) > 0.99 > single.score(X_test, y_test)


def test_per_class_settings_by_dict():
    X, y = _two_blob_class()
    model = GaussianMixtureClassifier(
        n_components={0: 2, 1: [1, 2, 3]},
        covariance_type={0: "diag", 1: "spherical"},
        random_state=0,
    ).fit(X, y)
    assert [m.covariance_type for m in model.mixtures_] == ["diag", "spherical"]
    assert model.n_components_[0] == 2


def test_given_priors_are_kept_and_move_the_boundary():
    X, y = _iris()
    even = GaussianMixtureClassifier(priors=[1 / 3] * 3, random_state=0).fit(X, y)
    tilted = GaussianMixtureClassifier(priors=[0.01, 0.01, 0.98], random_state=0)
    tilted.fit(X, y)
    np.testing.assert_allclose(tilted.priors_, [0.01, 0.01, 0.98])
    shift = np.log(tilted.predict_proba(X)[:, 2] / tilted.predict_proba(X)[:, 1])
    expected = np.log(even.predict_proba(X)[:, 2] / even.predict_proba(X)[:, 1])
    np.testing.assert_allclose(shift, expected + np.log(98.0), rtol=1e-6)


def test_integer_sample_weights_act_as_repeated_rows():
    X, y = _iris()
    weights = np.random.RandomState(0).randint(0, 4, size=len(y))
    weighted = GaussianMixtureClassifier(covariance_type="full").fit(
        X, y, sample_weight=weights
    )
    repeated = GaussianMixtureClassifier(covariance_type="full").fit(
        np.repeat(X, weights, axis=0), np.repeat(y, weights)
    )
    np.testing.assert_allclose(weighted.priors_, repeated.priors_)
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-8
    )


def _elongated_classes(seed=0, n=400, n_labelled=3):
    """Two long parallel clouds; few labels sit near the clouds' ends."""
    rng = np.random.RandomState(seed)
    along = rng.uniform(-6, 6, size=2 * n)
    X = np.column_stack([along, rng.normal(scale=0.3, size=2 * n)])
    y = np.repeat([0, 1], n)
    X[y == 1, 1] += 2.0
    partial = np.full_like(y, -1)
    for label in (0, 1):
        rows = np.flatnonzero((y == label) & (X[:, 0] > 4))
        partial[rows[:n_labelled]] = label
    return X, y, partial


def test_unlabelled_rows_improve_the_fit():
    X, y, partial = _elongated_classes()
    hidden = partial == -1
    labelled = partial != -1
    alone = GaussianMixtureClassifier(covariance_type="diag")
    alone.fit(X[labelled], y[labelled])
    semi = GaussianMixtureClassifier(covariance_type="diag", unlabeled_label=-1)
    semi.fit(X, partial)
    assert semi.n_iter_ >= 1
    assert semi.score(X[hidden], y[hidden]) > 0.98
    assert alone.score(X[hidden], y[hidden]) < 0.9


def test_em_over_labels_never_lowers_the_likelihood():
    X, y = load_digits(return_X_y=True)
    partial = np.where(np.random.RandomState(0).uniform(size=len(y)) < 0.1, y, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # reg_covar is not part of the likelihood, so a large one could make
        # an M-step step slightly downhill; a small one keeps EM exact enough
        model = GaussianMixtureClassifier(
            n_components=2,
            covariance_type="diag",
            reg_covar=1e-3,
            tol=1e-8,
            max_iter=30,
            random_state=0,
            unlabeled_label=-1,
        ).fit(X[:600], partial[:600])
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) > 5
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_labels_can_be_strings_with_an_unlabelled_marker():
    X, y, partial = _elongated_classes()
    names = np.array(["left", "right"], dtype=object)[y]
    marked = np.where(partial == -1, -1, names).astype(object)
    model = GaussianMixtureClassifier(unlabeled_label=-1).fit(X, marked)
    assert model.classes_.tolist() == ["left", "right"]
    assert model.n_iter_ >= 1
    as_class = GaussianMixtureClassifier().fit(X, partial)
    assert as_class.classes_.tolist() == [-1, 0, 1]


def test_by_default_minus_one_is_a_class_like_any_other():
    X, y = _iris()
    y = np.array([-1, 0, 1])[y]
    model = GaussianMixtureClassifier(random_state=0).fit(X, y)
    assert model.classes_.tolist() == [-1, 0, 1]
    assert model.n_iter_ >= 1 and model.lower_bounds_ == []
    assert model.score(X, y) > 0.95


def test_one_class_left_after_unlabelled_rows_names_the_parameter():
    X, y = _iris()
    y = np.where(y == 0, -1, 1)
    with pytest.raises(ValueError, match=r"unlabeled_label=None to make -1 a class"):
        GaussianMixtureClassifier(unlabeled_label=-1).fit(X, y)
    assert GaussianMixtureClassifier().fit(X, y).classes_.tolist() == [-1, 1]


def test_semi_supervised_respects_given_priors():
    X, _, partial = _elongated_classes()
    model = GaussianMixtureClassifier(priors=[0.3, 0.7], unlabeled_label=-1)
    model.fit(X, partial)
    np.testing.assert_allclose(model.priors_, [0.3, 0.7])


def test_constant_column_within_a_class_gives_finite_probabilities():
    X, y = make_blobs(n_samples=60, centers=2, n_features=3, random_state=0)
    X[y == 0, 2] = 5.0
    model = GaussianMixtureClassifier().fit(X, y)
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.score(X, y) == 1.0


@pytest.mark.parametrize(
    ("params", "y", "match"),
    [
        ({}, np.zeros(10), "one class"),
        ({}, np.array([0.0] * 5 + [np.nan] + [1.0] * 4), "NaN"),
        ({}, np.linspace(0, 1, 10), "Unknown label type"),
        ({}, np.array([0] * 9 + [1]), "class 1 has 1 labelled row"),
        ({"n_components": 6}, np.array([0] * 5 + [1] * 5), "fewer than"),
        ({"n_components": {0: 1}}, np.array([0] * 5 + [1] * 5), "missing"),
        ({"covariance_type": "banana"}, np.array([0] * 5 + [1] * 5), "banana"),
        ({"covariance_type": {0: "shared", 1: "full"}}, np.repeat([0, 1], 5), "dict"),
        ({"priors": [0.5, 0.6]}, np.array([0] * 5 + [1] * 5), "sum to 1"),
        ({"priors": [1.0]}, np.array([0] * 5 + [1] * 5), "one entry per class"),
        ({"reg_covar": -1.0}, np.array([0] * 5 + [1] * 5), "reg_covar"),
    ],
)
def test_bad_input_gets_a_clear_error(params, y, match):
    X = np.random.RandomState(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=match):
        GaussianMixtureClassifier(**params).fit(X, y)


def test_bad_n_components_type_is_a_type_error():
    X, y = _iris()
    with pytest.raises(TypeError, match="n_components"):
        GaussianMixtureClassifier(n_components="many").fit(X, y)


def test_predict_checks_fitting_and_features():
    X, y = _iris()
    with pytest.raises(NotFittedError):
        GaussianMixtureClassifier().predict(X)
    model = GaussianMixtureClassifier().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :3])


@pytest.mark.slow
def test_cross_validated_accuracy_on_digits_beats_qda():
    """Reference: QuadraticDiscriminantAnalysis(reg_param=0.01) scores 0.963."""
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    model = GaussianMixtureClassifier(
        covariance_type="full", reg_covar=1.0, random_state=0
    )
    assert cross_val_score(model, X, y, cv=cv).mean() >= 0.963 - 0.005


def test_semi_supervised_digits_beats_labelled_only():
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    kept = rng.uniform(size=len(y)) < 0.05
    settings = dict(covariance_type="diag", reg_covar=0.1, random_state=0)
    alone = GaussianMixtureClassifier(**settings).fit(X[kept], y[kept])
    semi = GaussianMixtureClassifier(**settings, unlabeled_label=-1)
    semi.fit(X, np.where(kept, y, -1))
    hidden = ~kept
    assert semi.score(X[hidden], y[hidden]) > alone.score(X[hidden], y[hidden]) + 0.01


@pytest.mark.parametrize("covariance_type", ["diag", "shared"])
def test_float32_rows_give_float32_mixtures_and_the_same_answer(covariance_type):
    X, _, partial = _elongated_classes()
    settings = dict(covariance_type=covariance_type, unlabeled_label=-1)
    single = GaussianMixtureClassifier(**settings).fit(X.astype(np.float32), partial)
    double = GaussianMixtureClassifier(**settings).fit(X, partial)
    assert single.mixtures_[0].means_.dtype == np.float32
    np.testing.assert_allclose(
        single.predict_proba(X), double.predict_proba(X), atol=1e-3
    )


def test_far_rows_get_lda_posteriors():
    # squared distances of these rows overflow float64; LDA's linear
    # decision function does not, and its posteriors are the exact answer
    X, y = _iris()
    ours = GaussianMixtureClassifier(covariance_type="shared", reg_covar=0.0).fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    rows = np.array(
        [
            [1e200, 1e200, 1e200, 1e200],
            [-1e200, 0.0, 0.0, 1e200],
            [1e30, -1e30, 1e30, -1e30],
            [5.0, 3.0, 1e160, 1.0],
        ]
    )
    proba = ours.predict_proba(rows)
    np.testing.assert_allclose(proba, lda.predict_proba(rows), atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(ours.predict(rows), lda.predict(rows))
