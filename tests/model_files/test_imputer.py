"""GaussianMixtureImputer files: exact round trips, invalid states refused."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixtureImputer
from tests.model_files.editing import node_at, replace_array, rewrite
from tests.model_files.examples import (
    IRIS,
    assert_identical,
    library_example,
    round_trip,
)

EXAMPLE = "GaussianMixtureImputer with indicators"


def _holed(seed: int = 1) -> np.ndarray:
    holed = IRIS.copy()
    holed[np.random.RandomState(seed).uniform(size=IRIS.shape) < 0.2] = np.nan
    return holed


def test_imputes_the_same_after_loading(tmp_path):
    model = library_example(EXAMPLE)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert type(loaded.model_) is gaussmix.GaussianMixture
    holed = _holed()
    assert loaded.transform(holed).tobytes() == model.transform(holed).tobytes()
    assert loaded.get_feature_names_out().tolist() == (
        model.get_feature_names_out().tolist()
    )


def test_unfitted_imputer_round_trips(tmp_path):
    model = GaussianMixtureImputer(n_components=[1, 3], covariance_type="diag")
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert np.isnan(loaded.missing_values)


@pytest.fixture
def imputer_file(tmp_path):
    path = tmp_path / "imputer.gmm"
    gaussmix.save(library_example(EXAMPLE), path)
    return path


def load_edited(source, tmp_path, edit):
    return gaussmix.load(rewrite(source, tmp_path / "edited.gmm", edit))


def test_columns_must_lie_within_the_input(imputer_file, tmp_path):
    path = replace_array(
        imputer_file,
        tmp_path / "edited.gmm",
        ("state", "observed_features_"),
        np.array([0, 1, 7]),
    )
    with pytest.raises(ValueError, match="observed_features_ must be increasing"):
        gaussmix.load(path)


def test_the_mixture_must_model_the_observed_columns(imputer_file, tmp_path):
    path = replace_array(
        imputer_file,
        tmp_path / "edited.gmm",
        ("state", "observed_features_"),
        np.array([0, 1]),
    )
    with pytest.raises(ValueError, match="model_ has 3 features; expected 2"):
        gaussmix.load(path)


def test_the_component_count_must_match_the_mixture(imputer_file, tmp_path):
    def another_count(metadata):
        state = node_at(metadata, "state")
        state["n_components_"] = state["n_components_"] % 2 + 1

    with pytest.raises(ValueError, match=r"n_components_=.* but model_ has"):
        load_edited(imputer_file, tmp_path, another_count)


def test_the_inner_mixture_is_checked_too(imputer_file, tmp_path):
    model = gaussmix.load(imputer_file)
    weights = np.full_like(model.model_.weights_, np.inf)
    member = ("state", "model_", "state", "weights_")
    path = replace_array(imputer_file, tmp_path / "e.gmm", member, weights)
    with pytest.raises(ValueError, match=r"model_ \(GaussianMixture\).*weights_"):
        gaussmix.load(path)
