"""Missing cells on the command line: read as NaN and handled by the mixture."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture
from tests.cli.running import (
    IRIS,
    NAMES,
    assert_input_error,
    read_output,
    run,
    write_csv,
)

#: (row, column) of the cells left empty, and the word each is written as
HOLES = {(0, 1): "", (3, 2): "NA", (4, 0): "nan", (4, 3): "null", (40, 3): ""}


@pytest.fixture(scope="module")
def holed(tmp_path_factory):
    """Iris with a few missing cells, as a CSV file and as an array."""
    folder = tmp_path_factory.mktemp("missing")
    rows = IRIS.tolist()
    values = IRIS.copy()
    for (i, j), word in HOLES.items():
        rows[i][j] = word
        values[i, j] = np.nan
    return write_csv(folder / "holed.csv", rows, NAMES), values


def test_fit_marginalises_missing_values_like_the_library(tmp_path, holed):
    path, values = holed
    result = run("fit", path, "-k", 2, "-o", "m.gmm", "--plot", "f.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = GaussianMixture(2, random_state=0).fit(values)
    loaded = gaussmix.load(tmp_path / "m.gmm")
    np.testing.assert_array_equal(loaded.means_, expected.means_)
    np.testing.assert_array_equal(loaded.covariances_, expected.covariances_)
    assert f"BIC: {expected.bic(values):.6g}" in result.stdout
    assert "missing values: 5 of 600 (0.8%) in 4 rows" in result.stdout
    assert (tmp_path / "f.png").stat().st_size > 0


def test_predict_and_score_use_the_observed_columns(tmp_path, holed):
    path, values = holed
    assert run("fit", path, "-k", 2, "-o", "m.gmm", cwd=tmp_path).returncode == 0
    model = gaussmix.load(tmp_path / "m.gmm")
    result = run("predict", "m.gmm", path, "--proba", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _, table = read_output(result.stdout, from_text=True)
    np.testing.assert_array_equal(table[:, 0], model.predict(values))
    np.testing.assert_allclose(table[:, 1:], model.predict_proba(values), rtol=1e-15)
    result = run("score", "m.gmm", path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _, scores = read_output(result.stdout, from_text=True)
    np.testing.assert_allclose(scores[:, 0], model.score_samples(values), rtol=1e-15)
    result = run("score", "m.gmm", path, "--no-missing", cwd=tmp_path)
    assert_input_error(result, "'sepal_width'", "line 2", "missing", "5 such")


@pytest.mark.parametrize(
    "option, reason",
    [
        ("--bayesian", "--bayesian does not take missing values"),
        ("--no-missing", "5 such values in all)"),
    ],
)
def test_fits_that_cannot_take_missing_values_name_the_first(
    tmp_path, holed, option, reason
):
    result = run("fit", holed[0], "-k", 2, option, cwd=tmp_path)
    assert_input_error(result, "'sepal_width'", "missing value on line 2", reason)


def test_a_noise_fit_takes_missing_values(tmp_path, holed):
    path, values = holed
    fitted = run("fit", path, "-k", 2, "--noise", "-o", "n.gmm", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    model = gaussmix.load(tmp_path / "n.gmm")
    assert model.noise_extents_.shape == (values.shape[1],)
    result = run("predict", "n.gmm", path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _, table = read_output(result.stdout, from_text=True)
    np.testing.assert_array_equal(table[:, 0], model.predict(values))


def test_models_that_cannot_take_missing_values_name_the_first(tmp_path, holed):
    complete = write_csv(tmp_path / "complete.csv", IRIS.tolist(), NAMES)
    fitted = run("fit", complete, "-k", 2, "--bayesian", "-o", "b.gmm", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    result = run("predict", "b.gmm", holed[0], cwd=tmp_path)
    assert_input_error(
        result, "'sepal_width'", "line 2", "BayesianGaussianMixture does not take"
    )


def test_a_row_or_column_without_any_value_is_refused(tmp_path):
    rows = IRIS.tolist()
    rows[7] = ["", "NA", "", ""]
    path = write_csv(tmp_path / "blank_row.csv", rows, NAMES)
    result = run("fit", path, "-k", 2, cwd=tmp_path)
    assert_input_error(result, "no value in the selected columns on line 9")
    rows = [[*row, ""] for row in IRIS.tolist()]
    path = write_csv(tmp_path / "blank_column.csv", rows, [*NAMES, "empty"])
    result = run("fit", path, "-k", 2, cwd=tmp_path)
    assert_input_error(result, "column 'empty'", "no value at all", "--columns")
