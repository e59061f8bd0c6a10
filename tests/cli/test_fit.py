"""``gaussmix fit`` on CSV, TSV, .npy and Parquet files, run as installed."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture
from tests.cli.running import (
    IRIS,
    NAMES,
    SPECIES,
    assert_input_error,
    run,
    write_csv,
)


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


def test_fit_no_missing_names_the_missing_value_column_and_line(tmp_path):
    rows = IRIS.tolist()
    rows[4][2] = "NA"
    path = write_csv(tmp_path / "gaps.tsv", rows, NAMES, delimiter="\t")
    result = run("fit", path, "-k", 2, "--no-missing", cwd=tmp_path)
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
