"""Files written to run code or change behaviour on loading: refused, and
nothing in them runs."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

import gaussmix
from tests.model_files.editing import array_file, npy_bytes, rewrite


class CreatesMarker:
    """Unpickling this creates a directory: the proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    payload = pickle.dumps(CreatesMarker(str(marker)))
    path = tmp_path / "model.gmm"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="not a gaussmix model file"):
        gaussmix.load(path)
    assert not marker.exists()
    pickle.loads(payload)  # the payload is live: unpickling does run it
    assert marker.exists()


def test_a_pickle_inside_the_archive_is_never_executed(saved, tmp_path):
    marker = tmp_path / "ran"
    hostile = np.array([CreatesMarker(str(marker))], dtype=object)
    raw = npy_bytes(hostile, allow_pickle=True)
    path = rewrite(
        saved, tmp_path / "h.gmm", members={array_file(saved, "state", "means_"): raw}
    )
    with pytest.raises(ValueError, match="pickled Python objects"):
        gaussmix.load(path)
    assert not marker.exists()
    np.load(io.BytesIO(raw), allow_pickle=True)  # live payload
    assert marker.exists()


def test_a_class_named_in_the_file_is_never_imported(saved, tmp_path):
    def edit(metadata):
        metadata["model"]["class"] = "os.system"

    with pytest.raises(ValueError, match="not a registered gaussmix estimator"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


@pytest.mark.parametrize("attribute", ["__class__", "predict", "not an identifier"])
def test_attributes_that_would_change_behaviour_are_refused(saved, tmp_path, attribute):
    def edit(metadata):
        metadata["model"]["state"][attribute] = 1

    with pytest.raises(ValueError, match="not allowed"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


def test_unknown_parameters_are_refused(saved, tmp_path):
    def edit(metadata):
        metadata["model"]["params"]["n_clusters"] = 3

    with pytest.raises(ValueError, match="parameters do not match"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))
