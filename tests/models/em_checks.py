"""Checks shared by the tests of EM fits on rows with missing values."""

from __future__ import annotations

import numpy as np
import pytest


def assert_monotone_and_scored(model, X, score_tolerance: float) -> None:
    """EM never lowered the bound, and the last bound is ``model.score(X)``
    (the observed rows' average log-likelihood)."""
    steps = np.diff(model.lower_bounds_)
    assert np.all(steps >= -1e-10 * np.abs(model.lower_bounds_).max())
    assert model.score(X) == pytest.approx(model.lower_bounds_[-1], abs=score_tolerance)
