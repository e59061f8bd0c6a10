"""A model search saved whole: its tables, every fitted model, its choice."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix.io import read_metadata
from tests.model_files.editing import node_at, replace_array, rewrite
from tests.model_files.examples import (
    IRIS,
    assert_identical,
    library_example,
    round_trip,
)


@pytest.fixture
def selection_file(tmp_path):
    path = tmp_path / "selection.gmm"
    gaussmix.save(library_example("ModelSelectionResult"), path)
    return path


def test_a_search_loads_with_the_same_tables_and_choice(tmp_path):
    result = library_example("ModelSelectionResult")
    loaded = round_trip(result, tmp_path)
    assert_identical(result, loaded)
    assert str(loaded) == str(result)
    assert loaded.ranking("icl") == result.ranking("icl")
    key = (loaded.best_covariance_type, loaded.best_n_components)
    assert loaded.best_model is loaded.models[key]
    assert (
        loaded.best_model.score_samples(IRIS).tobytes()
        == result.best_model.score_samples(IRIS).tobytes()
    )


def test_the_best_model_is_stored_once(selection_file):
    encoded = read_metadata(selection_file)["model"]["fields"]
    references = [v for _, v in encoded["models"]["items"] if v["kind"] == "same"]
    assert len(references) == 1


def test_tables_must_match_the_grid(selection_file, tmp_path):
    path = replace_array(
        selection_file, tmp_path / "e.gmm", ("fields", "bic"), np.zeros((1, 1))
    )
    expected = r"bic must be a float array of shape \(2, 2\)"
    with pytest.raises(ValueError, match=expected):
        gaussmix.load(path)


def test_the_best_model_must_be_one_of_the_models(selection_file, tmp_path):
    def drop_the_best(metadata):
        items = node_at(metadata, "fields", "models", "items")
        items[:] = [item for item in items if item[1]["kind"] != "same"]

    with pytest.raises(ValueError, match="best_model must be one of models"):
        gaussmix.load(rewrite(selection_file, tmp_path / "e.gmm", drop_the_best))


def test_models_must_sit_in_the_grid(selection_file, tmp_path):
    def move_a_model(metadata):
        items = node_at(metadata, "fields", "models", "items")
        items[-1][0]["items"][1] = 7

    with pytest.raises(ValueError, match="not in the grid"):
        gaussmix.load(rewrite(selection_file, tmp_path / "e.gmm", move_a_model))
