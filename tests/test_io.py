"""Model files: exact round trips, and hostile files refused without running code."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from fractions import Fraction

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import gaussmix
from gaussmix import GaussianMixture
from gaussmix.io import read_metadata, register_estimator
from tests.model_files.editing import array_file, npy_bytes, replace_array, rewrite
from tests.model_files.examples import IRIS, assert_identical, round_trip

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


# ---------------------------------------------------------------------------
# estimators defined here to exercise nesting and the state hooks


class MixturePerClass(BaseEstimator):
    """One mixture per class label: nested estimators in a dict."""

    def __init__(self, n_components: int = 1) -> None:
        self.n_components = n_components

    def fit(self, X, y):
        labels = np.unique(y)
        self.classes_ = np.array([f"class {c}" for c in labels], dtype=object)
        self.mixtures_ = {
            label: GaussianMixture(self.n_components, random_state=0).fit(X[y == label])
            for label in labels
        }
        self.priors_ = tuple(float(np.mean(y == label)) for label in labels)
        self.summary_ = {"n_rows": len(X), "scale": np.float32(0.5), "dtype": X.dtype}
        return self

    def predict(self, X):
        scores = [m.score_samples(X) for m in self.mixtures_.values()]
        return np.argmax(np.log(self.priors_)[:, None] + np.array(scores), axis=0)


class FractionHolder(BaseEstimator):
    """Holds a value model files cannot store, converted by the hooks."""

    def __init__(self, numerator: int = 1) -> None:
        self.numerator = numerator

    def fit(self, X=None):
        self.ratio_ = Fraction(self.numerator, 3)
        return self

    def __gaussmix_state__(self):
        return {"ratio": [self.ratio_.numerator, self.ratio_.denominator]}

    def __gaussmix_restore__(self, state):
        self.ratio_ = Fraction(*state["ratio"])


@register_estimator(name="tests.SharedMixtures")
class SharedMixtures(BaseEstimator):
    """Registers itself; holds one mixture in two places."""

    def __init__(self, n_components: int = 2) -> None:
        self.n_components = n_components

    def fit(self, X):
        mixture = GaussianMixture(self.n_components, random_state=0).fit(X)
        self.first_ = mixture
        self.both_ = [mixture, mixture]
        return self


register_estimator(MixturePerClass, name="tests.MixturePerClass")
register_estimator(FractionHolder, name="tests.FractionHolder")

# ---------------------------------------------------------------------------
# exact round trips


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


def test_unfitted_estimator_round_trips(tmp_path):
    model = GaussianMixture(4, covariance_type="tied", tol=1e-5)
    loaded = round_trip(model, tmp_path)
    assert loaded.get_params() == model.get_params()
    assert not hasattr(loaded, "weights_")


def test_nested_estimators_in_dicts_round_trip(tmp_path):
    y = np.repeat([0, 1, 2], 50)
    model = MixturePerClass(2).fit(IRIS, y)
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    assert all(isinstance(k, np.int64) for k in loaded.mixtures_)
    np.testing.assert_array_equal(loaded.predict(IRIS), model.predict(IRIS))


def test_state_hooks_convert_what_files_cannot_hold(tmp_path):
    loaded = round_trip(FractionHolder(2).fit(), tmp_path)
    assert loaded.ratio_ == Fraction(2, 3)


def test_a_self_registered_class_keeps_one_object_in_two_places(tmp_path):
    loaded = round_trip(SharedMixtures().fit(IRIS), tmp_path)
    assert loaded.first_ is loaded.both_[0] is loaded.both_[1]
    assert_identical(loaded.first_, SharedMixtures().fit(IRIS).first_)


def test_file_objects_and_info(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(IRIS)
    buffer = io.BytesIO()
    gaussmix.save(model, buffer, info={"columns": ["a", "b", "c", "d"]})
    buffer.seek(0)
    assert read_metadata(buffer)["info"] == {"columns": ["a", "b", "c", "d"]}
    buffer.seek(0)
    assert_identical(model, gaussmix.load(buffer))


# ---------------------------------------------------------------------------
# what cannot be saved


def test_unregistered_estimator_is_refused():
    model = SklearnGaussianMixture(2).fit(IRIS)
    with pytest.raises(TypeError, match="register_estimator"):
        gaussmix.save(model, io.BytesIO())


def test_unstorable_state_is_refused_before_writing(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(IRIS)
    model.callback_ = print
    path = tmp_path / "model.gmm"
    with pytest.raises(TypeError, match="callback_"):
        gaussmix.save(model, path)
    assert not path.exists()


def test_info_must_be_json(tmp_path):
    model = GaussianMixture(2)
    with pytest.raises(TypeError, match="info"):
        gaussmix.save(model, tmp_path / "m.gmm", info={"when": object()})


# ---------------------------------------------------------------------------
# hostile files


class CreatesMarker:
    """Unpickling this creates a directory: the proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.gmm"
    gaussmix.save(GaussianMixture(3, random_state=0).fit(IRIS), path)
    return path


def test_a_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    payload = pickle.dumps(CreatesMarker(str(marker)))
    path = tmp_path / "model.gmm"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="not a gaussmix model file"):
        gaussmix.load(path)
    assert not marker.exists()
    pickle.loads(payload)  # the payload is live: unpickling does run it
    assert marker.exists()


def test_a_pickle_inside_the_archive_is_never_executed(saved, tmp_path):
    marker = tmp_path / "ran"
    hostile = np.array([CreatesMarker(str(marker))], dtype=object)
    raw = npy_bytes(hostile, allow_pickle=True)
    path = rewrite(
        saved, tmp_path / "h.gmm", members={array_file(saved, "state", "means_"): raw}
    )
    with pytest.raises(ValueError, match="pickled Python objects"):
        gaussmix.load(path)
    assert not marker.exists()
    np.load(io.BytesIO(raw), allow_pickle=True)  # live payload
    assert marker.exists()


def test_a_class_named_in_the_file_is_never_imported(saved, tmp_path):
    def edit(metadata):
        metadata["model"]["class"] = "os.system"

    with pytest.raises(ValueError, match="not a registered gaussmix estimator"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


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


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9])
def test_a_truncated_file_is_refused(saved, tmp_path, fraction):
    data = saved.read_bytes()
    path = tmp_path / "truncated.gmm"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ValueError, match=r"not a gaussmix model file|truncated"):
        gaussmix.load(path)


def test_a_corrupt_member_is_refused(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo(array_file(saved, "state", "covariances_"))
    data = bytearray(saved.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    for i in range(start, start + info.compress_size):
        data[i] ^= 0x5A
    path = tmp_path / "corrupt.gmm"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        gaussmix.load(path)


def test_an_unknown_format_version_is_refused(saved, tmp_path):
    def edit(metadata):
        metadata["format_version"] = 99

    with pytest.raises(ValueError, match="format version 99, newer"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


@pytest.mark.parametrize("attribute", ["__class__", "predict", "not an identifier"])
def test_attributes_that_would_change_behaviour_are_refused(saved, tmp_path, attribute):
    def edit(metadata):
        metadata["model"]["state"][attribute] = 1

    with pytest.raises(ValueError, match="not allowed"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


def test_unknown_parameters_are_refused(saved, tmp_path):
    def edit(metadata):
        metadata["model"]["params"]["n_clusters"] = 3

    with pytest.raises(ValueError, match="parameters do not match"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


def test_non_standard_json_is_refused(saved, tmp_path):
    path = tmp_path / "h.gmm"
    rewrite(saved, path)
    with zipfile.ZipFile(path) as archive:
        text = archive.read("metadata.json").decode()
    text = text.replace('"lower_bound_": ', '"lower_bound_": NaN, "x": ', 1)
    rewrite(path, path, members={"metadata.json": text.encode()})
    with pytest.raises(ValueError, match="NaN"):
        gaussmix.load(path)


def test_another_zip_is_not_a_model_file(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="wrong format name"):
        gaussmix.load(path)


@pytest.fixture
def shared(tmp_path):
    path = tmp_path / "shared.gmm"
    gaussmix.save(SharedMixtures().fit(IRIS), path)
    return path


@pytest.mark.parametrize("index", [1, -1, "0", True, None])
def test_references_only_reach_objects_already_read(shared, tmp_path, index):
    def edit(metadata):
        metadata["model"]["state"]["both_"][0] = {"kind": "same", "index": index}

    with pytest.raises(ValueError, match="invalid reference"):
        gaussmix.load(rewrite(shared, tmp_path / "h.gmm", edit))


def test_a_reference_cannot_stand_for_the_model(shared, tmp_path):
    def edit(metadata):
        metadata["model"] = {"kind": "same", "index": 0}

    with pytest.raises(ValueError, match="expected an estimator"):
        gaussmix.load(rewrite(shared, tmp_path / "h.gmm", edit))


def test_an_estimator_cannot_pose_as_a_record(saved, tmp_path):
    def edit(metadata):
        metadata["model"]["kind"] = "record"
        metadata["model"]["fields"] = metadata["model"].pop("params")

    with pytest.raises(ValueError, match="cannot be stored as 'record'"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


def test_a_record_cannot_pose_as_an_estimator(tmp_path):
    path = tmp_path / "selection.gmm"
    gaussmix.save(gaussmix.select_model(IRIS, [1], ["EII"]), path)

    def edit(metadata):
        metadata["model"]["kind"] = "estimator"
        metadata["model"]["params"] = metadata["model"].pop("fields")
        metadata["model"]["state"] = {}

    with pytest.raises(ValueError, match="cannot be stored as 'estimator'"):
        gaussmix.load(rewrite(path, tmp_path / "h.gmm", edit))
