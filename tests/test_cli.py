"""The installed ``gaussmix`` command, run in a subprocess on real files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gaussmix
from gaussmix import GaussianMixture
from gaussmix.cli import cli
from tests.conftest import DATASETS

GAUSSMIX = Path(sys.executable).with_name("gaussmix")
IRIS = DATASETS["iris"]
SPECIES = np.repeat(["setosa", "versicolor", "virginica"], 50)
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def run(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [str(GAUSSMIX), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def assert_input_error(result, *fragments):
    """Exit status 2 with a single line on stderr naming the problem."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def write_csv(path, rows, header=None, delimiter=","):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream, delimiter=delimiter)
        if header is not None:
            writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
            if i == 10:
                stream.write("\n")  # a blank line inside the data
    return path


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("shared")


@pytest.fixture(scope="module")
def iris_csv(shared_dir):
    """Iris with a header and the species as a text column."""
    rows = [[*map(float, x), s] for x, s in zip(IRIS, SPECIES, strict=True)]
    return write_csv(shared_dir / "iris.csv", rows, [*NAMES, "species"])


@pytest.fixture(scope="module")
def model_file(shared_dir, iris_csv):
    """A model fitted by the command on the iris CSV, selecting the columns."""
    columns = ",".join(NAMES)
    result = run(
        "fit", iris_csv, "-k", 3, "--columns", columns, "-o", "m.gmm", cwd=shared_dir
    )
    assert result.returncode == 0, result.stderr
    return shared_dir / "m.gmm"


def read_output(path_or_text, from_text=False):
    text = path_or_text if from_text else Path(path_or_text).read_text()
    rows = list(csv.reader(text.splitlines()))
    return rows[0], np.array(rows[1:], dtype=float)


# ---------------------------------------------------------------------------
# fit


def test_text_columns_are_refused_by_name(tmp_path, iris_csv):
    result = run("fit", iris_csv, "-k", 3, cwd=tmp_path)
    assert_input_error(result, "'species'", "'setosa'", "--columns")


def test_fit_csv_with_header_matches_the_library(tmp_path, iris_csv, model_file):
    expected = GaussianMixture(3, random_state=0).fit(IRIS)
    loaded = gaussmix.load(model_file)
    np.testing.assert_array_equal(loaded.means_, expected.means_)
    np.testing.assert_array_equal(loaded.covariances_, expected.covariances_)
    assert loaded.n_iter_ == expected.n_iter_


def test_fit_prints_the_summary(tmp_path, iris_csv):
    result = run(
        "fit", iris_csv, "-k", 2, "-t", "diag", "--columns", "0,1,2,3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    expected = GaussianMixture(2, covariance_type="diag", random_state=0).fit(IRIS)
    out = result.stdout
    assert f"BIC: {expected.bic(IRIS):.6g}" in out
    assert f"AIC: {expected.aic(IRIS):.6g}" in out
    assert f"after {expected.n_iter_} iterations" in out
    assert "mean[petal_width]" in out
    for weight in expected.weights_:
        assert f"{weight:.4f}" in out
    assert "EM init" not in result.stderr  # no bar when stderr is not a terminal


def test_fit_csv_without_header(tmp_path):
    path = write_csv(tmp_path / "plain.csv", IRIS.tolist())
    result = run("fit", path, "-k", 2, "-o", "plain.gmm", "--progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "mean[0]" in result.stdout
    assert "EM init 0" in result.stderr
    expected = GaussianMixture(2, random_state=0, verbose=1).fit(IRIS)
    np.testing.assert_array_equal(
        gaussmix.load(tmp_path / "plain.gmm").means_, expected.means_
    )


def test_fit_tsv_with_missing_value_names_column_and_line(tmp_path):
    rows = IRIS.tolist()
    rows[4][2] = "NA"
    path = write_csv(tmp_path / "gaps.tsv", rows, NAMES, delimiter="\t")
    result = run("fit", path, "-k", 2, cwd=tmp_path)
    assert_input_error(result, "'petal_length'", "line 6", "missing")


def test_fit_npy(tmp_path):
    np.save(tmp_path / "iris.npy", IRIS.astype(np.float32))
    result = run("fit", "iris.npy", "-k", 3, "-t", "tied", "-o", "n.gmm", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = GaussianMixture(3, covariance_type="tied", random_state=0).fit(
        IRIS.astype(np.float32).astype(np.float64)
    )
    np.testing.assert_array_equal(
        gaussmix.load(tmp_path / "n.gmm").means_, expected.means_
    )


def write_parquet(path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    columns = {name: IRIS[:, j] for j, name in enumerate(NAMES)}
    columns["species"] = SPECIES
    pq.write_table(pa.table(columns), path)
    return path


def test_fit_parquet_selects_numeric_columns(tmp_path):
    path = write_parquet(tmp_path / "iris.parquet")
    refused = run("fit", path, "-k", 2, cwd=tmp_path)
    assert_input_error(refused, "'species'")
    result = run(
        "fit",
        path,
        "-k",
        2,
        "--columns",
        ",".join(NAMES[2:]),
        "-o",
        "p.gmm",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    expected = GaussianMixture(2, random_state=0).fit(IRIS[:, 2:])
    np.testing.assert_array_equal(
        gaussmix.load(tmp_path / "p.gmm").means_, expected.means_
    )


def test_auto_selection_by_bic_and_plot(tmp_path, iris_csv):
    result = run(
        "fit",
        iris_csv,
        "-k",
        "auto",
        "-t",
        "auto",
        "--max-components",
        3,
        "--columns",
        ",".join(NAMES),
        "--plot",
        "fit.png",
        "-o",
        "a.gmm",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    bic = {
        (t, k): GaussianMixture(k, covariance_type=t, random_state=0)
        .fit(IRIS)
        .bic(IRIS)
        for t in ("full", "tied", "diag", "spherical")
        for k in (1, 2, 3)
    }
    best_type, best_k = min(bic, key=bic.get)
    chosen = gaussmix.load(tmp_path / "a.gmm")
    assert (chosen.covariance_type, chosen.n_components) == (best_type, best_k)
    assert f"{bic[best_type, best_k]:.2f}*" in result.stdout
    assert (tmp_path / "fit.png").read_bytes().startswith(b"\x89PNG")


def test_bad_number_of_components_is_a_usage_error(tmp_path, iris_csv):
    result = run("fit", iris_csv, "-k", "zero", cwd=tmp_path)
    assert_input_error(
        result, "'zero' is not a positive integer", "gaussmix fit --help"
    )


# ---------------------------------------------------------------------------
# predict, score, sample, info


def test_predict_picks_the_model_columns_by_name(tmp_path, iris_csv, model_file):
    result = run(
        "predict", model_file, iris_csv, "--proba", "-o", "labels.csv", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    header, values = read_output(tmp_path / "labels.csv")
    assert header == ["label", "p_0", "p_1", "p_2"]
    model = GaussianMixture(3, random_state=0).fit(IRIS)
    np.testing.assert_array_equal(values[:, 0], model.predict(IRIS))
    np.testing.assert_array_equal(values[:, 1:], model.predict_proba(IRIS))


def test_score_flags_rows_below_the_threshold(tmp_path, iris_csv, model_file):
    model = GaussianMixture(3, random_state=0).fit(IRIS)
    log_density = model.score_samples(IRIS)
    cut = float(np.sort(log_density)[5])
    result = run("score", model_file, iris_csv, "--threshold", repr(cut), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, values = read_output(result.stdout, from_text=True)
    assert header == ["log_density", "anomaly"]
    np.testing.assert_array_equal(values[:, 0], log_density)
    np.testing.assert_array_equal(values[:, 1], log_density < cut)
    assert values[:, 1].sum() == 5
    assert "5 of 150 rows" in result.stderr


def test_score_needs_the_model_columns(tmp_path, model_file):
    path = write_csv(tmp_path / "three.csv", IRIS[:, :3].tolist())
    result = run("score", model_file, path, cwd=tmp_path)
    assert_input_error(result, "fitted on 4 columns", "3 are selected")


def test_sample_draws_like_the_library(tmp_path, model_file):
    result = run("sample", model_file, "-n", 40, "--seed", 3, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, values = read_output(result.stdout, from_text=True)
    assert header == [*NAMES, "component"]
    model = gaussmix.load(model_file).set_params(random_state=3)
    X, components = model.sample(40)
    np.testing.assert_array_equal(values[:, :4], X)
    np.testing.assert_array_equal(values[:, 4], components)


def test_info_describes_the_model(tmp_path, model_file):
    result = run("info", model_file, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = gaussmix.load(model_file)
    assert "GaussianMixture" in result.stdout
    assert "format version 1" in result.stdout
    assert ", ".join(NAMES) in result.stdout
    for weight in model.weights_:
        assert f"{weight:.4f}" in result.stdout


def test_info_describes_a_stored_model_search(tmp_path):
    result = gaussmix.select_model(IRIS, [1, 2], ["EII", "VVV"], random_state=0)
    gaussmix.save(result, tmp_path / "search.gmm")
    shown = run("info", "search.gmm", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "ModelSelectionResult" in shown.stdout
    assert str(result) in shown.stdout


def test_commands_for_mixtures_refuse_other_estimators(tmp_path, iris_csv):
    classifier = gaussmix.GaussianMixtureClassifier(random_state=0).fit(IRIS, SPECIES)
    gaussmix.save(classifier, tmp_path / "classifier.gmm")
    result = run("predict", "classifier.gmm", iris_csv, cwd=tmp_path)
    assert_input_error(
        result, "holds a GaussianMixtureClassifier, not a GaussianMixture"
    )


def test_a_hostile_model_file_is_an_input_error(tmp_path, iris_csv):
    (tmp_path / "bad.gmm").write_bytes(b"\x80\x04\x95 not a model")
    result = run("predict", "bad.gmm", iris_csv, cwd=tmp_path)
    assert_input_error(result, "cannot load bad.gmm", "not a gaussmix model file")


# ---------------------------------------------------------------------------
# demo, help, exit status of unexpected errors


def test_demo_writes_the_figure(tmp_path):
    result = run("demo", "--max-components", 2, "--output", "demo.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "BIC by number of components" in result.stdout
    assert "adjusted Rand index" in result.stdout
    assert (tmp_path / "demo.png").read_bytes().startswith(b"\x89PNG")


def test_the_installed_command_has_help(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("fit", "predict", "score", "sample", "info", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize(
    "command", ["fit", "predict", "score", "sample", "info", "demo"]
)
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: cli {command}")


def test_unexpected_errors_exit_with_status_one(
    tmp_path, iris_csv, monkeypatch, capsys
):
    from gaussmix.cli import main

    def broken_fit(self, X, y=None, sample_weight=None):
        raise RuntimeError("something broke")

    monkeypatch.setattr(GaussianMixture, "fit", broken_fit)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", str(iris_csv), "-k", "2", "--columns", "0,1"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Error: unexpected RuntimeError: something broke"]
