"""Estimators from outside the library: registered ones round-trip with their
nested estimators, hooks and shared objects; unregistered ones are refused."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import gaussmix
from tests.model_files.examples import IRIS, assert_identical, round_trip
from tests.model_files.user_estimators import (
    FractionHolder,
    MixturePerClass,
    SharedMixtures,
)


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


def test_unregistered_estimator_is_refused():
    model = SklearnGaussianMixture(2).fit(IRIS)
    with pytest.raises(TypeError, match="register_estimator"):
        gaussmix.save(model, io.BytesIO())
