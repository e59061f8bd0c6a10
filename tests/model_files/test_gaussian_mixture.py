"""GaussianMixture files: exact round trips, invalid fitted arrays refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture
from tests.model_files.editing import array_file, npy_bytes, replace_array, rewrite
from tests.model_files.examples import IRIS, assert_identical, round_trip

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_mixture_round_trip_is_exact(covariance_type, dtype, tmp_path):
    X = IRIS.astype(dtype)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert loaded.score_samples(X).tobytes() == model.score_samples(X).tobytes()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_round_trip_keeps_infinite_bounds_and_user_arrays(tmp_path):
    model = GaussianMixture.from_params(
        weights=[0.25, 0.75],
        means=[[0.0, 1.0], [2.0, 3.0]],
        covariances=[[1.0, 0.5], [2.0, 0.25]],
        covariance_type="diag",
        means_init=np.array([[0.0, 1.0], [2.0, 3.0]]),
        weights_init=[0.5, 0.5],
    )
    assert model.lower_bound_ == -np.inf
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert loaded.get_params()["weights_init"] == [0.5, 0.5]


def test_random_state_object_round_trips_and_draws_the_same(tmp_path):
    model = GaussianMixture(2, random_state=np.random.RandomState(7)).fit(IRIS)
    loaded = round_trip(model, tmp_path)
    drawn, drawn_again = model.sample(20)[0], loaded.sample(20)[0]
    np.testing.assert_array_equal(drawn, drawn_again)


def test_a_model_whose_covariance_type_changed_after_the_fit_loads(tmp_path):
    model = GaussianMixture(3, random_state=0).fit(IRIS)
    model.set_params(covariance_type="diag")
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert loaded.score_samples(IRIS).tobytes() == model.score_samples(IRIS).tobytes()


@pytest.mark.parametrize("fitted", ["tied", "no-such-family", 3])
def test_a_wrong_fitted_covariance_type_is_refused(saved, tmp_path, fitted):
    def edit(metadata):
        metadata["model"]["state"]["_covariance_type_fitted"] = fitted

    path = rewrite(saved, tmp_path / "h.gmm", edit_metadata=edit)
    message = "covariances_ has shape" if fitted == "tied" else "must name a covariance"
    with pytest.raises(ValueError, match=message):
        gaussmix.load(path)


def test_unfitted_estimator_round_trips(tmp_path):
    model = GaussianMixture(4, covariance_type="tied", tol=1e-5)
    loaded = round_trip(model, tmp_path)
    assert loaded.get_params() == model.get_params()
    assert not hasattr(loaded, "weights_")


# ---------------------------------------------------------------------------
# invalid fitted arrays


def test_wrong_shapes_are_refused(saved, tmp_path):
    means = np.zeros((3, 5))
    path = rewrite(
        saved,
        tmp_path / "h.gmm",
        members={array_file(saved, "state", "means_"): npy_bytes(means)},
    )
    with pytest.raises(ValueError, match="n_features_in_=4 but means_ has 5"):
        gaussmix.load(path)


def test_covariances_of_the_wrong_type_are_refused(saved, tmp_path):
    covariances = np.ones((3, 4))
    member = {array_file(saved, "state", "covariances_"): npy_bytes(covariances)}
    with pytest.raises(ValueError, match=r"covariances_ has shape \(3, 4\)"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", members=member))


def test_a_non_positive_definite_covariance_is_refused(saved, tmp_path):
    model = gaussmix.load(saved)
    covariances = model.covariances_.copy()
    covariances[1] = np.diag([1.0, 1.0, -1.0, 1.0])
    member = {array_file(saved, "state", "covariances_"): npy_bytes(covariances)}
    with pytest.raises(ValueError, match="component 1 is not symmetric positive"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", members=member))


def test_nan_weights_are_refused(saved, tmp_path):
    weights = np.array([np.nan, 0.5, 0.5])
    path = replace_array(saved, tmp_path / "h.gmm", ("state", "weights_"), weights)
    with pytest.raises(ValueError, match="weights_ contains NaN"):
        gaussmix.load(path)


def test_weights_must_sum_to_one(saved, tmp_path):
    weights = np.array([0.5, 0.5, 0.5])
    path = replace_array(saved, tmp_path / "h.gmm", ("state", "weights_"), weights)
    with pytest.raises(ValueError, match="sum to one"):
        gaussmix.load(path)


@pytest.mark.parametrize("reg_covar_scale", ["absolute", "variance"])
def test_a_fit_of_mixed_units_loads_as_it_was_saved(reg_covar_scale, tmp_path):
    # variances of 1 and 1e16 in one covariance: rounding makes the smallest
    # computed eigenvalue of this positive definite matrix negative, so only
    # the fit's own test (a Cholesky factorisation) may judge the file
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(5, 1, (30, 3))])
    X *= [1.0, 1.0, 1e8]
    model = GaussianMixture(2, reg_covar_scale=reg_covar_scale, random_state=0).fit(X)
    assert_identical(round_trip(model, tmp_path), model)


@pytest.mark.parametrize(
    ("name", "factor"), [("covariances_", 4.0), ("precisions_cholesky_", 2.0)]
)
def test_covariances_and_precisions_that_disagree_are_refused(
    saved, tmp_path, name, factor
):
    # each is valid alone; together they would score by one model and
    # sample from another
    edited = getattr(gaussmix.load(saved), name) * factor
    path = replace_array(saved, tmp_path / "h.gmm", ("state", name), edited)
    with pytest.raises(ValueError, match="does not factor the inverse"):
        gaussmix.load(path)


def test_arrays_of_different_dtypes_are_refused(saved, tmp_path):
    weights = gaussmix.load(saved).weights_.astype(np.float32)
    path = replace_array(saved, tmp_path / "h.gmm", ("state", "weights_"), weights)
    with pytest.raises(ValueError, match="share one dtype"):
        gaussmix.load(path)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "VEV"])
def test_a_nearly_singular_fit_loads_as_it_was_saved(covariance_type, dtype, tmp_path):
    # two columns that are others' combinations up to 1e-9: rounding moves
    # U^T Sigma U far from the identity in float32, never so in the fit
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 2))
    combined = base @ [[1.0, 2.0], [3.0, 4.0]] + 1e-9 * rng.normal(size=(200, 2))
    X = np.c_[base, combined].astype(dtype)
    model = GaussianMixture(4, covariance_type=covariance_type, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    assert_identical(round_trip(model, tmp_path), model)
