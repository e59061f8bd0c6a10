"""Saving: to a path or a file object, with JSON info; what a file cannot
hold is refused before anything is written."""

from __future__ import annotations

import io

import pytest

import gaussmix
from gaussmix import GaussianMixture
from gaussmix.io import read_metadata
from tests.model_files.examples import IRIS, assert_identical


def test_file_objects_and_info(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(IRIS)
    buffer = io.BytesIO()
    gaussmix.save(model, buffer, info={"columns": ["a", "b", "c", "d"]})
    buffer.seek(0)
    assert read_metadata(buffer)["info"] == {"columns": ["a", "b", "c", "d"]}
    buffer.seek(0)
    assert_identical(model, gaussmix.load(buffer))


def test_unstorable_state_is_refused_before_writing(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(IRIS)
    model.callback_ = print
    path = tmp_path / "model.gmm"
    with pytest.raises(TypeError, match="callback_"):
        gaussmix.save(model, path)
    assert not path.exists()


def test_info_must_be_json(tmp_path):
    model = GaussianMixture(2)
    with pytest.raises(TypeError, match="info"):
        gaussmix.save(model, tmp_path / "m.gmm", info={"when": object()})
