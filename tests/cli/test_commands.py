"""The command line checks its options before any work, and exits cleanly."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import gaussmix
from gaussmix import GaussianMixture
from gaussmix.cli import CLOSED_PIPE_STATUS, main
from tests.model_files.editing import array_file, rewrite

SOURCE_ROOT = Path(gaussmix.__file__).resolve().parents[1]


def run_main(args, capsys) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``gaussmix ARGS`` run in-process."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def assert_usage_error(result, *fragments) -> None:
    status, _, err = result
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], err


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Two well separated blobs of 20000 rows in a header-less CSV."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(10000, 2), rng.randn(10000, 2) + 8])
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    np.savetxt(path, X, delimiter=",", fmt="%.6f")
    return path


@pytest.fixture(scope="module")
def model(data) -> Path:
    X = np.loadtxt(data, delimiter=",")
    path = data.with_name("model.gmm")
    gaussmix.save(GaussianMixture(2, random_state=0).fit(X), path)
    return path


def test_a_reader_that_leaves_early_ends_the_command_quietly(data, model):
    """``gaussmix predict m.gmm x.csv --proba | head -1``."""
    env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT)}
    command = [sys.executable, "-m", "gaussmix.cli", "predict", "--proba"]
    with subprocess.Popen(
        [*command, str(model), str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as process:
        # about 1 MB of output: far more than a pipe holds
        assert process.stdout.readline() == b"label,p_0,p_1\n"
        process.stdout.close()
        stderr = process.stderr.read()
        status = process.wait(timeout=60)
    assert stderr == b""
    assert status == CLOSED_PIPE_STATUS


@pytest.mark.parametrize("delimiter", [";;", "", '"', "\n"])
def test_a_delimiter_that_is_not_one_character_is_a_usage_error(
    data, delimiter, capsys
):
    result = run_main(["fit", data, "-k", 2, "--delimiter", delimiter], capsys)
    assert_usage_error(result, "--delimiter")


def test_a_tab_delimiter_may_be_written_as_backslash_t(tmp_path, capsys):
    path = tmp_path / "data.txt"
    path.write_text("1\t2\n3\t4\n5\t7\n")
    status, out, err = run_main(
        ["fit", path, "-k", 1, "--delimiter", "\\t", "--no-progress"], capsys
    )
    assert status == 0, err
    # the mean of the one component is the column mean
    assert out.splitlines()[-1].split() == ["0", "1.0000", "3", "4.333"]


@pytest.mark.parametrize(
    "threshold", ["nan", "inf", "-inf", "-5%", "150%", "nan%", "ten", "5 %x"]
)
def test_a_threshold_that_is_not_finite_or_a_percentage_is_refused(
    data, model, threshold, capsys
):
    result = run_main(["score", model, data, "--threshold", threshold], capsys)
    assert_usage_error(result, "--threshold")


@pytest.mark.parametrize("threshold", ["-4.5", "5%", "0%", "100%"])
def test_valid_thresholds_flag_the_rows_below_them(data, model, threshold, capsys):
    status, out, err = run_main(
        ["score", model, data, "--threshold", threshold], capsys
    )
    assert status == 0, err
    rows = np.loadtxt(out.splitlines()[1:], delimiter=",")
    log_density = gaussmix.load(model).score_samples(np.loadtxt(data, delimiter=","))
    np.testing.assert_allclose(rows[:, 0], log_density, rtol=1e-15)
    if threshold.endswith("%"):
        cut = np.percentile(log_density, float(threshold[:-1]))
    else:
        cut = float(threshold)
    np.testing.assert_array_equal(rows[:, 1], log_density < cut)


def _fit_must_not_run(monkeypatch) -> None:
    def fit(self, *args, **kwargs):
        raise AssertionError("the fit ran before the options were checked")

    monkeypatch.setattr(GaussianMixture, "fit", fit)


@pytest.mark.parametrize(
    "option, path, fragment",
    [
        ("-o", "missing/model.gmm", "does not exist"),
        ("--plot", "missing/figure.png", "does not exist"),
        ("--plot", "figure.docx", "cannot write .docx figures"),
        ("--plot", ".", "is a directory"),
    ],
)
def test_outputs_are_checked_before_the_fit(
    data, tmp_path, monkeypatch, option, path, fragment, capsys
):
    _fit_must_not_run(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = run_main(["fit", data, "-k", 2, option, path], capsys)
    assert_usage_error(result, option, fragment)


def test_outputs_of_the_other_commands_are_checked_first(
    data, model, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gaussmix.io, "load", _never_called)
    for args in (
        ["predict", model, data, "-o", "missing/labels.csv"],
        ["score", model, data, "-o", "missing/scores.csv"],
        ["sample", model, "-n", 5, "-o", "missing/rows.npy"],
        ["demo", "--output", "demo.xyz"],
    ):
        assert_usage_error(run_main(args, capsys), "--output")


def _never_called(*args, **kwargs):
    raise AssertionError("the model was loaded before the options were checked")


def test_numpy_warnings_are_not_shown_and_library_warnings_once(
    data, monkeypatch, capsys
):
    original = GaussianMixture.fit

    def noisy_fit(self, X, y=None, sample_weight=None):
        with np.errstate(over="warn"):
            np.float64(1e300) * np.float64(1e300)
        for _ in range(3):
            warnings.warn("did not converge", ConvergenceWarning, stacklevel=2)
        return original(self, X, y, sample_weight)

    monkeypatch.setattr(GaussianMixture, "fit", noisy_fit)
    status, _, err = run_main(["fit", data, "-k", 2, "--no-progress"], capsys)
    assert status == 0, err
    assert err.strip().splitlines() == ["Warning: did not converge"]


def test_extreme_values_give_no_raw_numpy_warnings(tmp_path, capsys):
    path = tmp_path / "extreme.csv"
    path.write_text("1e200,1\n2e200,2\n3,1e300\n4,5\n5,6\n7,8\n")
    status, _, err = run_main(["fit", path, "-k", 2, "--no-progress"], capsys)
    assert "encountered" not in err
    if status != 0:
        # gaussmix's own warnings may precede it, but the failure is one line
        # and no traceback
        lines = err.strip().splitlines()
        assert lines[-1].startswith("Error: "), err
        assert all(line.startswith(("Warning: ", "Error: ")) for line in lines), err


def test_a_model_file_claiming_a_huge_array_is_an_input_error(
    data, model, tmp_path, capsys
):
    member = array_file(model, "state", "means_")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    crafted = header.getvalue() + bytes(32)
    bad = rewrite(model, tmp_path / "bad.gmm", members={member: crafted})
    result = run_main(["predict", bad, data], capsys)
    assert_usage_error(result, "cannot load", "declares shape (1000000, 1000000)")
