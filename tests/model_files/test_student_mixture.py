"""StudentMixture files: exact round trips and refused damage."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix import StudentMixture
from tests.model_files.editing import replace_array
from tests.model_files.examples import IRIS, assert_identical


@pytest.mark.parametrize("dof", ["per_component", "shared", 6.0])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_round_trip_is_exact(tmp_path, covariance_type, dof):
    model = StudentMixture(
        3, covariance_type=covariance_type, dof=dof, max_iter=20, random_state=0
    ).fit(IRIS)
    path = tmp_path / "t.gmm"
    gaussmix.save(model, path)
    loaded = gaussmix.load(path)
    assert isinstance(loaded, StudentMixture)
    for method in ("predict", "predict_proba", "score_samples", "outlier_weights"):
        expected, got = getattr(model, method)(IRIS), getattr(loaded, method)(IRIS)
        assert expected.tobytes() == got.tobytes(), method
    assert_identical(model.sample(10), loaded.sample(10), "sample")
    assert model.bic(IRIS) == loaded.bic(IRIS)


@pytest.mark.parametrize("bad", [np.array([3.0, -1.0, 2.0]), np.array([3.0, 2.0])])
def test_bad_degrees_of_freedom_are_refused(tmp_path, bad):
    model = StudentMixture(3, max_iter=10, random_state=0).fit(IRIS)
    path = tmp_path / "t.gmm"
    gaussmix.save(model, path)
    damaged = replace_array(
        path, tmp_path / "bad.gmm", ("state", "degrees_of_freedom_"), bad
    )
    with pytest.raises(ValueError, match="degrees_of_freedom_"):
        gaussmix.load(damaged)
