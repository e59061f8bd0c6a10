"""``gaussmix predict``, ``score``, ``sample`` and ``info`` on a model file."""

from __future__ import annotations

import numpy as np

import gaussmix
from gaussmix import GaussianMixture
from tests.cli.running import (
    IRIS,
    NAMES,
    SPECIES,
    assert_input_error,
    read_output,
    run,
    write_csv,
)


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


def test_text_in_the_model_columns_is_blamed_on_them(tmp_path, model_file):
    rows = [list(map(float, x)) for x in IRIS[:5]]
    rows[3][1] = "wide"
    path = write_csv(tmp_path / "text.csv", rows, NAMES)
    # without --columns the model's own columns are picked by name
    result = run("predict", model_file, path, cwd=tmp_path)
    assert_input_error(
        result,
        "the columns the model was fitted on include non-numeric columns",
        "'sepal_width' (e.g. 'wide' on line 5)",
    )
    assert "--columns selects" not in result.stderr
    chosen = run(
        "predict", model_file, path, "--columns", ",".join(NAMES), cwd=tmp_path
    )
    assert_input_error(chosen, "--columns selects non-numeric columns", "'wide'")


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
