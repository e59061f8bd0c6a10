"""``gaussmix fit --noise`` and a noise model's predictions on the command line."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from tests.cli.test_commands import assert_usage_error, run_main


@pytest.fixture(scope="module")
def noisy_data(tmp_path_factory):
    """Two blobs of 300 rows and 30 rows of uniform noise around them (last)."""
    rng = np.random.RandomState(0)
    blobs = np.vstack([rng.randn(300, 2), rng.randn(300, 2) + 8])
    noise = rng.uniform(-40, 48, (30, 2))
    path = tmp_path_factory.mktemp("cli_noise") / "noisy.csv"
    np.savetxt(path, np.vstack([blobs, noise]), delimiter=",", fmt="%.6f")
    return path


def test_fit_with_noise_reports_and_saves_the_noise(noisy_data, tmp_path, capsys):
    model_path = tmp_path / "noise.gmm"
    status, out, err = run_main(
        ["fit", noisy_data, "-k", 2, "--noise", "-o", model_path], capsys
    )
    assert status in (0, None), err
    assert "noise: proportion" in out
    model = gaussmix.load(model_path)
    assert model.noise_proportion_ == pytest.approx(30 / 630, abs=0.02)

    output = tmp_path / "labels.csv"
    status, _, err = run_main(
        ["predict", model_path, noisy_data, "--proba", "-o", output], capsys
    )
    assert status in (0, None), err
    lines = output.read_text().splitlines()
    assert lines[0] == "label,p_0,p_1,p_noise"
    labels = np.array([int(float(line.split(",")[0])) for line in lines[1:]])
    assert np.mean(labels[-30:] == -1) >= 0.8
    assert np.mean(labels[:-30] == -1) <= 0.02


def test_noise_with_bayesian_is_a_usage_error(noisy_data, capsys):
    result = run_main(["fit", noisy_data, "-k", 2, "--noise", "--bayesian"], capsys)
    assert_usage_error(result, "--noise")


def test_sampling_a_model_whose_noise_took_all_the_weight_is_an_input_error(
    tmp_path, capsys
):
    # rows in units of 1e-12: reg_covar (1e-6, in the data's units) makes the
    # Gaussians far flatter than the noise, which takes every row
    rng = np.random.default_rng(0)
    rows = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(5, 1, (30, 3))])
    data = tmp_path / "tiny.csv"
    np.savetxt(data, rows * 1e-12, delimiter=",")
    model_path = tmp_path / "tiny.gmm"
    status, out, err = run_main(
        ["fit", data, "-k", 2, "--noise", "-o", model_path], capsys
    )
    assert status in (0, None), err
    assert "noise: proportion 1.0000" in out
    assert "took all the weight" in err
    result = run_main(["sample", model_path, "-n", 3], capsys)
    assert_usage_error(result, "noise component holds all", "weights_ all zero")
