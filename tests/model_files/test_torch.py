"""Torch in model files: tensors come back on the CPU, networks as they were."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gaussmix  # noqa: E402
from gaussmix import GaussianMixture  # noqa: E402
from gaussmix.io import read_metadata  # noqa: E402
from gaussmix.nn import MixtureDensityRegressor  # noqa: E402
from tests.model_files.editing import node_at, npy_bytes, rewrite  # noqa: E402
from tests.model_files.examples import (  # noqa: E402
    IRIS,
    assert_identical,
    library_example,
    round_trip,
)

FITTED_ARRAYS = ("weights_", "means_", "covariances_", "precisions_cholesky_")
INPUTS, TARGETS = IRIS[:, :2], IRIS[:, 2:]


def fit_on_tensors(device: str = "cpu", dtype=torch.float64) -> GaussianMixture:
    rows = torch.as_tensor(IRIS, dtype=dtype, device=device)
    return GaussianMixture(3, covariance_type="full", random_state=0).fit(rows)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_tensor_attributes_load_as_the_same_cpu_tensors(dtype, tmp_path):
    model = fit_on_tensors(dtype=dtype)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert all(isinstance(getattr(loaded, n), torch.Tensor) for n in FITTED_ARRAYS)
    rows = torch.as_tensor(IRIS, dtype=dtype)
    assert torch.equal(loaded.score_samples(rows), model.score_samples(rows))
    assert torch.equal(loaded.predict(rows), model.predict(rows))
    assert loaded.score_samples(IRIS).tobytes() == model.score_samples(IRIS).tobytes()


def test_without_torch_tensors_load_as_numpy_arrays(tmp_path, monkeypatch, caplog):
    model = fit_on_tensors()
    path = tmp_path / "model.gmm"
    gaussmix.save(model, path)
    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING):
        patch.setitem(sys.modules, "torch", None)  # `import torch` now fails
        loaded = gaussmix.load(path)
    assert "torch is not installed" in caplog.text
    for name in FITTED_ARRAYS:
        value = getattr(loaded, name)
        assert isinstance(value, np.ndarray), name
        assert value.tobytes() == getattr(model, name).numpy().tobytes(), name
    assert loaded.score_samples(IRIS).tobytes() == model.score_samples(IRIS).tobytes()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_tensors_load_on_the_cpu_with_the_same_values(tmp_path):
    model = fit_on_tensors("cuda")
    loaded = round_trip(model, tmp_path)
    for name in FITTED_ARRAYS:
        value, original = getattr(loaded, name), getattr(model, name)
        assert value.device.type == "cpu" and value.dtype == original.dtype
        assert torch.equal(value, original.cpu()), name
    rows = torch.as_tensor(IRIS, device="cuda")
    assert torch.equal(loaded.predict(rows), model.predict(rows))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("kind", "array", "are tensors but the other fitted arrays"),
        ("requires_grad", "yes", "requires_grad must be true or false"),
    ],
)
def test_invalid_tensor_entries_are_refused(key, value, message, tmp_path):
    path = tmp_path / "model.gmm"
    gaussmix.save(library_example("GaussianMixture on tensors"), path)

    def edit(metadata):
        node_at(metadata, "state", "means_")[key] = value

    with pytest.raises(ValueError, match=message):
        gaussmix.load(rewrite(path, tmp_path / "e.gmm", edit))


# ---------------------------------------------------------------------------
# MixtureDensityRegressor


@pytest.mark.parametrize("targets", [TARGETS, TARGETS[:, 0]], ids=["2d", "1d"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_network_predictions_are_identical_after_loading(
    covariance_type, targets, tmp_path
):
    model = MixtureDensityRegressor(
        3,
        covariance_type=covariance_type,
        hidden_layer_sizes=(8, 8),
        activation="relu",
        max_epochs=4,
        random_state=0,
    ).fit(INPUTS, targets)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    for method in ("predict", "predict_mode"):
        expected = getattr(model, method)(INPUTS)
        assert getattr(loaded, method)(INPUTS).tobytes() == expected.tobytes()
    assert (
        loaded.score_samples(INPUTS, targets).tobytes()
        == model.score_samples(INPUTS, targets).tobytes()
    )
    assert np.array_equal(loaded.sample(INPUTS, 0), model.sample(INPUTS, 0))


def test_loading_a_network_leaves_the_random_stream_alone(tmp_path):
    path = tmp_path / "model.gmm"
    gaussmix.save(library_example("MixtureDensityRegressor"), path)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    gaussmix.load(path)
    assert torch.equal(torch.rand(3), expected)


def test_an_unfitted_network_regressor_round_trips(tmp_path):
    model = MixtureDensityRegressor(2, hidden_layer_sizes=(4,), device="cpu")
    loaded = round_trip(model, tmp_path)
    assert loaded.get_params() == model.get_params()
    assert not hasattr(loaded, "network_")


@pytest.fixture
def network_file(tmp_path):
    path = tmp_path / "network.gmm"
    gaussmix.save(library_example("MixtureDensityRegressor"), path)
    return path


def weight_nodes(metadata) -> dict:
    network = dict(node_at(metadata, "state", "network_", "items"))
    return dict(network["weights"]["items"])


def replace_weight(source, target, name: str, values: np.ndarray):
    member = weight_nodes(read_metadata(source))[name]["file"]
    return rewrite(source, target, members={member: npy_bytes(values)})


def test_weights_of_the_wrong_shape_are_refused(network_file, tmp_path):
    path = replace_weight(
        network_file, tmp_path / "e.gmm", "body.0.weight", np.zeros((8, 4), "f4")
    )
    with pytest.raises(ValueError, match=r"'body\.0\.weight' has shape \(8, 4\)"):
        gaussmix.load(path)


def test_non_finite_weights_are_refused(network_file, tmp_path):
    path = replace_weight(
        network_file, tmp_path / "e.gmm", "body.0.bias", np.full(8, np.nan, "f4")
    )
    with pytest.raises(ValueError, match=r"'body\.0\.bias' contains NaN"):
        gaussmix.load(path)


def test_weights_must_match_the_hyperparameters(network_file, tmp_path):
    def wider(metadata):
        node_at(metadata, "params")["hidden_layer_sizes"] = {
            "kind": "tuple",
            "items": [8, 8],
        }

    with pytest.raises(ValueError, match="weights are named"):
        gaussmix.load(rewrite(network_file, tmp_path / "e.gmm", wider))


def test_a_network_must_be_saved_as_weights(network_file, tmp_path):
    def a_string(metadata):
        node_at(metadata, "state")["network_"] = "torch.load('elsewhere')"

    with pytest.raises(ValueError, match="must be saved as a dict of weights"):
        gaussmix.load(rewrite(network_file, tmp_path / "e.gmm", a_string))


@pytest.mark.skipif(torch.cuda.device_count() > 7, reason="cuda:7 exists here")
def test_a_missing_device_is_named(network_file, tmp_path):
    def on_a_missing_device(metadata):
        node_at(metadata, "params")["device"] = "cuda:7"

    with pytest.raises(ValueError, match="device='cuda:7' is not available"):
        gaussmix.load(rewrite(network_file, tmp_path / "e.gmm", on_a_missing_device))
