"""BayesianGaussianMixture files: exact round trips, continued fits, bad values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import gaussmix
from gaussmix import BayesianGaussianMixture
from tests.model_files.editing import node_at, npy_bytes, replace_array, rewrite
from tests.model_files.examples import IRIS, assert_identical, round_trip

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]


def fitted(covariance_type="full", prior_type="dirichlet_process", X=IRIS, **kw):
    model = BayesianGaussianMixture(
        4,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        max_iter=30,
        random_state=0,
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def assert_same_outputs(model, loaded, X) -> None:
    for method in (
        "predict",
        "predict_proba",
        "score_samples",
        "predictive_score_samples",
        "predictive_proba",
    ):
        expected, got = getattr(model, method)(X), getattr(loaded, method)(X)
        assert expected.dtype == got.dtype, method
        assert expected.tobytes() == got.tobytes(), method
    assert model.score(X) == loaded.score(X)
    drawn, drawn_again = model.sample(25), loaded.sample(25)
    assert_identical(drawn, drawn_again, "sample")
    assert model.effective_n_components() == loaded.effective_n_components()


@pytest.fixture
def saved(tmp_path):
    """A file holding a fitted Dirichlet-process mixture of the iris data."""
    path = tmp_path / "bayes.gmm"
    gaussmix.save(fitted(), path)
    return path


# ---------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_round_trip_is_exact(covariance_type, prior_type, tmp_path):
    model = fitted(covariance_type, prior_type)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    # the attributes whose kind depends on the model come back as that kind
    assert isinstance(loaded.weight_concentration_, tuple) == (
        prior_type == "dirichlet_process"
    )
    assert isinstance(loaded.degrees_of_freedom_, float) == (covariance_type == "tied")
    assert isinstance(loaded.covariance_prior_, float) == (
        covariance_type == "spherical"
    )
    assert loaded._covariance_type_fitted == covariance_type
    assert_same_outputs(model, loaded, IRIS)


def test_float32_round_trip_is_exact(tmp_path):
    X = IRIS.astype(np.float32)
    model = fitted("diag", X=X)
    loaded = round_trip(model, tmp_path)
    assert loaded.means_.dtype == np.float32
    assert_identical(model, loaded)
    assert_same_outputs(model, loaded, X)


def test_user_priors_and_feature_names_round_trip(tmp_path):
    model = fitted(
        "full",
        "dirichlet_distribution",
        weight_concentration_prior=0.05,
        mean_precision_prior=0.5,
        mean_prior=np.array([5.0, 3.0, 4.0, 1.0]),
        degrees_of_freedom_prior=6.0,
        covariance_prior=np.eye(4) * 0.5,
    )
    model.feature_names_in_ = np.array(["a", "b", "c", "d"], dtype=object)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert loaded.weight_concentration_prior_ == 0.05
    np.testing.assert_array_equal(
        loaded.get_params()["covariance_prior"], np.eye(4) * 0.5
    )


def test_unfitted_model_round_trips(tmp_path):
    model = BayesianGaussianMixture(
        5, covariance_type="tied", weight_concentration_prior=0.1
    )
    loaded = round_trip(model, tmp_path)
    assert loaded.get_params() == model.get_params()
    assert not hasattr(loaded, "weights_")


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_warm_start_continues_as_the_original(prior_type, tmp_path):
    model = fitted("full", prior_type, warm_start=True)
    loaded = round_trip(model, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(IRIS)
        loaded.fit(IRIS)
    assert_identical(model, loaded)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_continues_the_stream_as_the_original(covariance_type, tmp_path):
    batches = np.array_split(np.random.RandomState(0).permutation(150), 3)
    model = BayesianGaussianMixture(3, covariance_type=covariance_type, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(IRIS[batches[0]])
        model.partial_fit(IRIS[batches[1]])
        loaded = round_trip(model, tmp_path)
        assert_identical(model, loaded)
        assert loaded._running_stats is not None
        model.partial_fit(IRIS[batches[2]])
        loaded.partial_fit(IRIS[batches[2]])
    assert_identical(model, loaded)
    assert_same_outputs(model, loaded, IRIS)


def test_tensor_model_round_trips(tmp_path):
    torch = pytest.importorskip("torch")
    X = torch.as_tensor(IRIS)
    model = fitted("diag", X=X)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert torch.equal(model.score_samples(X), loaded.score_samples(X))


# ---------------------------------------------------------------------------
# invalid files


def load_with(saved, tmp_path, node_path, values):
    return gaussmix.load(replace_array(saved, tmp_path / "h.gmm", node_path, values))


def load_with_metadata(saved, tmp_path, edit):
    return gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit_metadata=edit))


def set_state(name, value):
    def edit(metadata):
        metadata["model"]["state"][name] = value

    return edit


@pytest.mark.parametrize(
    ("node_path", "values", "message"),
    [
        (("state", "mean_precision_"), -np.ones(4), "mean_precision_ must be positive"),
        (("state", "mean_precision_"), np.ones(3), r"mean_precision_ has shape \(3,\)"),
        (
            ("state", "weight_concentration_", "items", 1),
            np.array([1.0, 0.0, 1.0, 1.0]),
            r"weight_concentration_\[1\] must be positive",
        ),
        (
            ("state", "weight_concentration_", "items", 0),
            np.array([1.0, np.nan, 1.0, 1.0]),
            r"weight_concentration_\[0\] contains NaN",
        ),
        (
            ("state", "degrees_of_freedom_"),
            np.full(4, 2.5),
            "degrees_of_freedom_ must exceed n_features - 1 = 3",
        ),
        (
            ("state", "degrees_of_freedom_"),
            np.full(4, 10, dtype=np.int64),
            "degrees_of_freedom_ must be a float64 array",
        ),
        (("state", "mean_prior_"), np.zeros(5), r"mean_prior_ has shape \(5,\)"),
        (
            ("state", "covariance_prior_"),
            np.diag([1.0, 1.0, -1.0, 1.0]),
            "covariance_prior_ must be symmetric positive semi-definite",
        ),
        (
            ("state", "means_"),
            np.zeros((4, 5)),
            "n_features_in_=4 but means_ has 5 features",
        ),
        (
            ("state", "weights_"),
            np.full(4, 0.5),
            "weights_ must be non-negative and sum to one",
        ),
    ],
)
def test_invalid_arrays_are_refused(saved, tmp_path, node_path, values, message):
    with pytest.raises(ValueError, match=message):
        load_with(saved, tmp_path, node_path, values)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("_covariance_type_fitted", "VVV", "_covariance_type_fitted must be one of"),
        ("weight_concentration_prior_", -1.0, "must be positive"),
        ("weight_concentration_prior_", "x", "must be a float"),
        ("mean_precision_prior_", {"kind": "float", "value": "inf"}, "finite"),
        ("degrees_of_freedom_prior_", 2.0, "must exceed n_features - 1 = 3"),
        ("covariance_prior_", 1.0, "covariance_prior_ must be a float64 array"),
        ("n_iter_", -1, "n_iter_ must be an integer"),
        ("lower_bound_", {"kind": "float", "value": "nan"}, "lower_bound_ must be"),
        ("weight_concentration_", {"kind": "tuple", "items": []}, "pair of arrays"),
    ],
)
def test_invalid_values_are_refused(saved, tmp_path, name, value, message):
    with pytest.raises(ValueError, match=message):
        load_with_metadata(saved, tmp_path, set_state(name, value))


def test_a_missing_posterior_attribute_is_refused(saved, tmp_path):
    def drop(metadata):
        del metadata["model"]["state"]["mean_precision_"]

    with pytest.raises(ValueError, match=r"lacks \['mean_precision_'\]"):
        load_with_metadata(saved, tmp_path, drop)


def test_tied_degrees_of_freedom_must_be_a_float(tmp_path):
    path = tmp_path / "tied.gmm"
    gaussmix.save(fitted("tied"), path)
    with pytest.raises(ValueError, match="tied mixture must be a float"):
        load_with_metadata(
            path, tmp_path, set_state("degrees_of_freedom_", [5.0, 5.0, 5.0, 5.0])
        )


def test_invalid_hyperparameters_of_a_fitted_model_are_refused(saved, tmp_path):
    def edit(metadata):
        metadata["model"]["params"]["weight_concentration_prior_type"] = "uniform"

    with pytest.raises(ValueError, match="invalid hyperparameter"):
        load_with_metadata(saved, tmp_path, edit)


def test_running_stats_of_another_shape_are_refused(tmp_path):
    model = BayesianGaussianMixture(3, covariance_type="diag", random_state=0)
    model.partial_fit(IRIS[:75]).partial_fit(IRIS[75:])
    path = tmp_path / "stream.gmm"
    gaussmix.save(model, path)
    shift = node_at(
        gaussmix.io.read_metadata(path), "state", "_running_stats", "fields", "shift"
    )
    member = {shift["file"]: npy_bytes(np.zeros((2, 4)))}
    with pytest.raises(ValueError, match="_running_stats"):
        gaussmix.load(rewrite(path, tmp_path / "h.gmm", members=member))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_a_fit_whose_default_prior_is_singular_loads_and_continues(
    covariance_type, tmp_path
):
    # identical rows: the default covariance prior (the data's covariance)
    # is zero, which the fit accepts because the posterior adds reg_covar
    X = np.ones((12, 3))
    model = BayesianGaussianMixture(
        n_components=2, covariance_type=covariance_type, random_state=0
    ).fit(X)
    loaded = round_trip(model, tmp_path)
    assert_identical(loaded, model)
    again = model.set_params(warm_start=True).fit(X)
    continued = loaded.set_params(warm_start=True).fit(X)
    assert continued.lower_bound_ == again.lower_bound_
