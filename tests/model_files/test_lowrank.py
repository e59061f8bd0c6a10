"""Low-rank mixture files: exact round trips and refused damage."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from tests.model_files.editing import replace_array
from tests.model_files.examples import IRIS, IRIS_LABELS


@pytest.mark.parametrize(
    "model",
    [
        gaussmix.MixtureOfFactorAnalyzers(3, n_factors=2, isotropic=True),
        gaussmix.MixtureOfFactorAnalyzers(2, n_factors=1, scatter="projected"),
        gaussmix.HDDC(3, model="AkjBkQkDk"),
        gaussmix.HDDC(2, model="ABQD"),
    ],
)
def test_round_trip_is_exact(tmp_path, model):
    model.set_params(random_state=0, max_iter=20).fit(IRIS)
    path = tmp_path / "m.gmm"
    gaussmix.save(model, path)
    loaded = gaussmix.load(path)
    assert type(loaded) is type(model)
    for method in ("predict", "predict_proba", "score_samples", "transform"):
        expected, got = getattr(model, method)(IRIS), getattr(loaded, method)(IRIS)
        assert expected.tobytes() == got.tobytes(), method
    assert model.bic(IRIS) == loaded.bic(IRIS)


def test_hdda_round_trip_is_exact(tmp_path):
    model = gaussmix.HDDAClassifier(model="AkBQkD").fit(IRIS, IRIS_LABELS)
    gaussmix.save(model, tmp_path / "c.gmm")
    loaded = gaussmix.load(tmp_path / "c.gmm")
    assert model.predict_proba(IRIS).tobytes() == loaded.predict_proba(IRIS).tobytes()
    assert (loaded.predict(IRIS) == model.predict(IRIS)).all()


@pytest.mark.parametrize(
    ("attribute", "bad", "message"),
    [
        ("noise_variance_", -np.ones((2, 4)), "noise_variance_"),
        ("loadings_", np.ones((2, 4, 3)), "loadings_"),
        ("weights_", np.array([0.9, 0.3]), "weights_"),
    ],
)
def test_damaged_factor_files_are_refused(tmp_path, attribute, bad, message):
    model = gaussmix.MixtureOfFactorAnalyzers(2, n_factors=2, random_state=0)
    gaussmix.save(model.fit(IRIS), tmp_path / "m.gmm")
    damaged = replace_array(
        tmp_path / "m.gmm", tmp_path / "bad.gmm", ("state", attribute), bad
    )
    with pytest.raises(ValueError, match=message):
        gaussmix.load(damaged)


def test_damaged_subspaces_are_refused(tmp_path):
    model = gaussmix.HDDC(2, n_dims=2, random_state=0).fit(IRIS)
    gaussmix.save(model, tmp_path / "m.gmm")
    skewed = model.components_.copy()
    skewed[0, :, 1] = skewed[0, :, 0]
    damaged = replace_array(
        tmp_path / "m.gmm", tmp_path / "bad.gmm", ("state", "components_"), skewed
    )
    with pytest.raises(ValueError, match="orthonormal"):
        gaussmix.load(damaged)
