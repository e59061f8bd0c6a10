"""Classifier and regressor files: exact round trips, invalid states refused."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixtureClassifier, GaussianMixtureRegressor
from tests.model_files.editing import node_at, replace_array, rewrite
from tests.model_files.examples import (
    IRIS,
    IRIS_LABELS,
    assert_identical,
    library_example,
    round_trip,
)

INPUTS, TARGETS = IRIS[:, :2], IRIS[:, 2:]


@pytest.mark.parametrize(
    "labels",
    [IRIS_LABELS, np.repeat([3, 1, 2], 50)],
    ids=["strings", "integers"],
)
@pytest.mark.parametrize("covariance_type", ["full", "diag", "shared"])
def test_classifier_predicts_the_same_after_loading(labels, covariance_type, tmp_path):
    y = labels.copy()
    y[::7] = "unknown" if labels.dtype == object else -1
    model = GaussianMixtureClassifier(
        [1, 2], covariance_type=covariance_type, unlabeled_label=y[0], random_state=0
    ).fit(IRIS, y)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert loaded.predict_proba(IRIS).tobytes() == model.predict_proba(IRIS).tobytes()
    np.testing.assert_array_equal(loaded.predict(IRIS), model.predict(IRIS))
    assert loaded.classes_.tolist() == model.classes_.tolist()


@pytest.mark.parametrize("targets", [TARGETS, TARGETS[:, 0]], ids=["2d", "1d"])
def test_regressor_predicts_the_same_after_loading(targets, tmp_path):
    model = GaussianMixtureRegressor(3, random_state=0).fit(INPUTS, targets)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    for a, b in zip(
        loaded.predict(INPUTS, return_std=True),
        model.predict(INPUTS, return_std=True),
        strict=True,
    ):
        assert a.shape == b.shape and a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(loaded.sample_y(INPUTS), model.sample_y(INPUTS))


@pytest.mark.parametrize("cls", [GaussianMixtureClassifier, GaussianMixtureRegressor])
def test_unfitted_models_round_trip(cls, tmp_path):
    model = cls(2, covariance_type="diag", tol=1e-4)
    loaded = round_trip(model, tmp_path)
    assert loaded.get_params() == model.get_params()
    assert_identical(model, loaded)


# ---------------------------------------------------------------------------
# invalid states


@pytest.fixture
def classifier_file(tmp_path):
    path = tmp_path / "classifier.gmm"
    gaussmix.save(library_example("GaussianMixtureClassifier with string labels"), path)
    return path


@pytest.fixture
def regressor_file(tmp_path):
    path = tmp_path / "regressor.gmm"
    gaussmix.save(library_example("GaussianMixtureRegressor"), path)
    return path


def load_edited(source, tmp_path, edit):
    return gaussmix.load(rewrite(source, tmp_path / "edited.gmm", edit))


def test_classifier_priors_must_be_probabilities(classifier_file, tmp_path):
    path = replace_array(
        classifier_file,
        tmp_path / "edited.gmm",
        ("state", "priors_"),
        np.array([0.5, 0.5, 0.5]),
    )
    with pytest.raises(ValueError, match="priors_ must be non-negative and sum to one"):
        gaussmix.load(path)


def test_classifier_needs_one_mixture_per_class(classifier_file, tmp_path):
    def drop_a_mixture(metadata):
        node_at(metadata, "state", "mixtures_").pop()

    with pytest.raises(ValueError, match="mixtures_ must be a list of 3 mixtures"):
        load_edited(classifier_file, tmp_path, drop_a_mixture)


def test_classifier_labels_must_be_distinct(classifier_file, tmp_path):
    def repeat_a_label(metadata):
        values = node_at(metadata, "state", "classes_", "values")
        values[1] = values[0]

    with pytest.raises(ValueError, match="classes_ must hold distinct labels"):
        load_edited(classifier_file, tmp_path, repeat_a_label)


def test_classifier_mixtures_must_match_the_features(classifier_file, tmp_path):
    def fewer_features(metadata):
        node_at(metadata, "state")["n_features_in_"] = 3

    with pytest.raises(ValueError, match="class 'setosa' has 4 features; expected 3"):
        load_edited(classifier_file, tmp_path, fewer_features)


def test_classifier_mixtures_must_be_mixtures(classifier_file, tmp_path):
    def a_number_for_a_mixture(metadata):
        node_at(metadata, "state", "mixtures_")[0] = 1.5

    with pytest.raises(ValueError, match="'setosa' must be a fitted GaussianMixture"):
        load_edited(classifier_file, tmp_path, a_number_for_a_mixture)


def test_a_partly_fitted_classifier_is_refused(classifier_file, tmp_path):
    def forget_priors(metadata):
        del node_at(metadata, "state")["priors_"]

    with pytest.raises(ValueError, match=r"lacks \['priors_'\]"):
        load_edited(classifier_file, tmp_path, forget_priors)


def test_regressor_scales_must_be_positive(regressor_file, tmp_path):
    model = gaussmix.load(regressor_file)
    scale = model.scale_.copy()
    scale[2] = 0.0
    path = replace_array(regressor_file, tmp_path / "e.gmm", ("state", "scale_"), scale)
    with pytest.raises(ValueError, match="scale_ must be positive"):
        gaussmix.load(path)


def test_regressor_columns_must_match_its_mixture(regressor_file, tmp_path):
    def more_outputs(metadata):
        node_at(metadata, "state")["n_outputs_"] = 2
        node_at(metadata, "state")["_single_output"] = False

    with pytest.raises(ValueError, match="mixture_ has 4 features; expected 5"):
        load_edited(regressor_file, tmp_path, more_outputs)


def test_regressor_single_output_has_one_output(regressor_file, tmp_path):
    def two_outputs(metadata):
        node_at(metadata, "state")["n_outputs_"] = 2

    with pytest.raises(ValueError, match="single-output model has n_outputs_=2"):
        load_edited(regressor_file, tmp_path, two_outputs)


def test_regressor_inner_mixture_is_checked_too(regressor_file, tmp_path):
    member = ("state", "mixture_", "state", "weights_")
    path = replace_array(
        regressor_file, tmp_path / "e.gmm", member, np.array([1.0, np.inf])
    )
    with pytest.raises(ValueError, match=r"mixture_ \(GaussianMixture\).*weights_"):
        gaussmix.load(path)
