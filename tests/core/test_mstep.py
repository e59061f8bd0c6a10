"""The M-step's floor at the resolution of the data's dtype."""

from __future__ import annotations

import numpy as np

from gaussmix.core.mstep import resolution_floor


def test_the_floor_is_the_squared_rounding_of_each_mean():
    means = np.array([[1000.0, -(2.0**20)], [0.5, 3.0]])
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(
        resolution_floor(means, np.float64),
        (eps * np.abs(means)) ** 2,
        rtol=1e-15,
    )
    eps32 = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(
        resolution_floor(means, np.float32)[0, 0], (eps32 * 1000.0) ** 2, rtol=1e-15
    )


def test_the_floor_keeps_precisions_finite_in_the_dtype():
    means = np.array([[0.0, 1e-200, 1e200]])
    for dtype in (np.float32, np.float64):
        floor = resolution_floor(means, dtype)
        with np.errstate(over="raise"):
            precisions = (1.0 / floor).astype(dtype)
            factors = np.sqrt(1.0 / floor).astype(dtype)
        assert np.all(np.isfinite(precisions)) and np.all(np.isfinite(factors))
        assert np.all(np.isfinite(floor.astype(dtype)))


def test_a_positive_reg_covar_is_kept_where_it_is_lower():
    means = np.array([[1e9, 1.0]])
    floor = resolution_floor(means, np.float32, reg_covar=1e-6)
    eps32 = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(floor, [[1e-6, eps32**2]], rtol=1e-15)
