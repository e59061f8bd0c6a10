"""``gaussmix fit --bayesian`` and the model commands on a Bayesian model file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import gaussmix
from gaussmix import BayesianGaussianMixture
from tests.cli.running import IRIS, NAMES, assert_input_error, read_output, run

COLUMNS = ",".join(NAMES)


def library_fit(**params) -> BayesianGaussianMixture:
    model = BayesianGaussianMixture(random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(IRIS)


@pytest.fixture(scope="module")
def bayesian_file(shared_dir, iris_csv):
    """A Dirichlet-process mixture of at most 6 components, fitted by the CLI."""
    result = run(
        "fit",
        iris_csv,
        "-k",
        6,
        "--bayesian",
        "--weight-concentration-prior",
        0.01,
        "--columns",
        COLUMNS,
        "-o",
        "bayes.gmm",
        "--plot",
        "bayes.png",
        cwd=shared_dir,
    )
    assert result.returncode == 0, result.stderr
    return shared_dir / "bayes.gmm", result


def test_fit_bayesian_matches_the_library_and_reports_the_weights(bayesian_file):
    path, result = bayesian_file
    expected = library_fit(n_components=6, weight_concentration_prior=0.01)
    loaded = gaussmix.load(path)
    assert type(loaded) is BayesianGaussianMixture
    assert loaded.get_params() == expected.get_params()
    np.testing.assert_array_equal(loaded.means_, expected.means_)
    np.testing.assert_array_equal(loaded.weights_, expected.weights_)
    out = result.stdout
    used = expected.effective_n_components()
    assert 2 <= used < 6
    assert f"effective components: {used} of 6 (weight > 0.01)" in out
    ranked = np.sort(expected.weights_)[::-1]
    assert "sorted weights: " + "  ".join(f"{w:.4f}" for w in ranked) in out
    assert f"after {expected.n_iter_} iterations" in out
    assert "BIC" not in out
    assert (path.parent / "bayes.png").read_bytes().startswith(b"\x89PNG")


def test_prior_options_reach_the_model(tmp_path, iris_csv):
    result = run(
        "fit",
        iris_csv,
        "-k",
        4,
        "-t",
        "diag",
        "--bayesian",
        "--weight-concentration-prior-type",
        "dirichlet_distribution",
        "--mean-precision-prior",
        0.5,
        "--degrees-of-freedom-prior",
        5,
        "--weight-threshold",
        0.2,
        "--columns",
        COLUMNS,
        "-o",
        "d.gmm",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    expected = library_fit(
        n_components=4,
        covariance_type="diag",
        weight_concentration_prior_type="dirichlet_distribution",
        mean_precision_prior=0.5,
        degrees_of_freedom_prior=5.0,
    )
    loaded = gaussmix.load(tmp_path / "d.gmm")
    assert loaded.get_params() == expected.get_params()
    assert loaded.weight_concentration_.tobytes() == (
        expected.weight_concentration_.tobytes()
    )
    used = expected.effective_n_components(0.2)
    assert f"effective components: {used} of 4 (weight > 0.2)" in result.stdout
    assert "prior: dirichlet_distribution" in result.stdout


def test_predict_score_and_sample_use_the_bayesian_model(
    tmp_path, iris_csv, bayesian_file
):
    path, _ = bayesian_file
    model = gaussmix.load(path)
    result = run("predict", path, iris_csv, "--proba", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, values = read_output(result.stdout, from_text=True)
    assert header == ["label", *(f"p_{k}" for k in range(6))]
    np.testing.assert_array_equal(values[:, 0], model.predict(IRIS))
    np.testing.assert_array_equal(values[:, 1:], model.predict_proba(IRIS))

    result = run("predict", path, iris_csv, "--predictive", "--proba", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _, values = read_output(result.stdout, from_text=True)
    proba = model.predictive_proba(IRIS)
    np.testing.assert_array_equal(values[:, 0], proba.argmax(axis=1))
    np.testing.assert_array_equal(values[:, 1:], proba)

    for flags, expected in [
        ((), model.score_samples(IRIS)),
        (("--predictive",), model.predictive_score_samples(IRIS)),
    ]:
        result = run("score", path, iris_csv, *flags, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        header, values = read_output(result.stdout, from_text=True)
        assert header == ["log_density"]
        np.testing.assert_array_equal(values[:, 0], expected)

    result = run("sample", path, "-n", 30, "--seed", 2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, values = read_output(result.stdout, from_text=True)
    assert header == [*NAMES, "component"]
    X, components = model.set_params(random_state=2).sample(30)
    np.testing.assert_array_equal(values[:, :4], X)
    np.testing.assert_array_equal(values[:, 4], components)


def test_info_shows_the_components_in_use(tmp_path, bayesian_file):
    path, _ = bayesian_file
    model = gaussmix.load(path)
    result = run("info", path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "estimator: BayesianGaussianMixture" in result.stdout
    used = model.effective_n_components()
    assert f"effective components: {used} of 6 (weight > 0.01)" in result.stdout
    for weight in model.weights_:
        assert f"{weight:.4f}" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("-k", "auto", "--bayesian"), ("with --bayesian", "instead of 'auto'")),
        (("-k", 3, "-t", "auto", "--bayesian"), ("with --bayesian",)),
        (
            ("-k", 3, "--weight-concentration-prior", 0.1, "--weight-threshold", 0.1),
            ("--weight-concentration-prior, --weight-threshold apply only",),
        ),
        (
            ("-k", 3, "--bayesian", "--degrees-of-freedom-prior", 1),
            ("degrees_of_freedom_prior", "greater than 3"),
        ),
        (("-k", 3, "--bayesian", "-t", "VVV"), ("covariance_type", "'VVV'")),
    ],
)
def test_bad_bayesian_options_are_input_errors(tmp_path, iris_csv, args, fragments):
    result = run("fit", iris_csv, "--columns", COLUMNS, *args, cwd=tmp_path)
    assert_input_error(result, *fragments)


def test_predictive_needs_a_bayesian_model(tmp_path, iris_csv, model_file):
    result = run("score", model_file, iris_csv, "--predictive", cwd=tmp_path)
    assert_input_error(
        result, "GaussianMixture model has no predictive_score_samples", "--bayesian"
    )
