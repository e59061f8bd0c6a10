"""References and node kinds in a file: a reference reaches only an object
already read, and no node can pose as another kind."""

from __future__ import annotations

import pytest

import gaussmix
from tests.model_files.editing import rewrite
from tests.model_files.examples import IRIS
from tests.model_files.user_estimators import SharedMixtures


@pytest.fixture
def shared(tmp_path):
    path = tmp_path / "shared.gmm"
    gaussmix.save(SharedMixtures().fit(IRIS), path)
    return path


@pytest.mark.parametrize("index", [1, -1, "0", True, None])
def test_references_only_reach_objects_already_read(shared, tmp_path, index):
    def edit(metadata):
        metadata["model"]["state"]["both_"][0] = {"kind": "same", "index": index}

    with pytest.raises(ValueError, match="invalid reference"):
        gaussmix.load(rewrite(shared, tmp_path / "h.gmm", edit))


def test_a_reference_cannot_stand_for_the_model(shared, tmp_path):
    def edit(metadata):
        metadata["model"] = {"kind": "same", "index": 0}

    with pytest.raises(ValueError, match="expected an estimator"):
        gaussmix.load(rewrite(shared, tmp_path / "h.gmm", edit))


def test_an_estimator_cannot_pose_as_a_record(saved, tmp_path):
    def edit(metadata):
        metadata["model"]["kind"] = "record"
        metadata["model"]["fields"] = metadata["model"].pop("params")

    with pytest.raises(ValueError, match="cannot be stored as 'record'"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


def test_a_record_cannot_pose_as_an_estimator(tmp_path):
    path = tmp_path / "selection.gmm"
    gaussmix.save(gaussmix.select_model(IRIS, [1], ["EII"]), path)

    def edit(metadata):
        metadata["model"]["kind"] = "estimator"
        metadata["model"]["params"] = metadata["model"].pop("fields")
        metadata["model"]["state"] = {}

    with pytest.raises(ValueError, match="cannot be stored as 'estimator'"):
        gaussmix.load(rewrite(path, tmp_path / "h.gmm", edit))
