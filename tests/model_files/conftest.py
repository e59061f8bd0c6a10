"""Fixtures shared by the model file tests."""

from __future__ import annotations

import pytest

import gaussmix
from gaussmix import GaussianMixture
from tests.model_files.examples import IRIS


@pytest.fixture
def saved(tmp_path):
    """A file holding a fitted three-component mixture of the iris data."""
    path = tmp_path / "good.gmm"
    gaussmix.save(GaussianMixture(3, random_state=0).fit(IRIS), path)
    return path
