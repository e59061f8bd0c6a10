"""Batched small SPD algebra against numpy.linalg, matrix by matrix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussmix.core import small_spd


def _spd_batch(size: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SPD matrices batch-first (for numpy) and batch-last (for small_spd)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(batch, size, size))
    matrices = a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(size)
    return matrices, np.ascontiguousarray(np.moveaxis(matrices, 0, -1))


@given(size=st.integers(1, 7), batch=st.integers(1, 20), seed=st.integers(0, 10**6))
@settings(max_examples=40, deadline=None)
def test_every_routine_matches_numpy_linalg(size, batch, seed):
    matrices, laid = _spd_batch(size, batch, seed)
    rhs = np.random.default_rng(seed + 1).normal(size=(batch, size))
    factor = small_spd.cholesky(laid)
    expected_factor = np.linalg.cholesky(matrices)
    np.testing.assert_allclose(np.moveaxis(factor, -1, 0), expected_factor, atol=1e-10)
    lower = small_spd.solve_lower(factor, rhs.T)
    np.testing.assert_allclose(
        lower.T, np.linalg.solve(expected_factor, rhs[..., None])[..., 0], atol=1e-8
    )
    upper = small_spd.solve_upper_transposed(factor, rhs.T)
    expected_upper = np.linalg.solve(
        np.swapaxes(expected_factor, 1, 2), rhs[..., None]
    )[..., 0]
    np.testing.assert_allclose(upper.T, expected_upper, atol=1e-8)
    np.testing.assert_allclose(
        np.moveaxis(small_spd.inverse(factor), -1, 0),
        np.linalg.inv(matrices),
        rtol=1e-8,
        atol=1e-8,
    )
    np.testing.assert_allclose(
        small_spd.log_determinant(factor), np.linalg.slogdet(matrices)[1], rtol=1e-10
    )


def test_right_hand_sides_may_carry_extra_axes():
    _, laid = _spd_batch(4, 6, 0)
    factor = small_spd.cholesky(laid)
    rhs = np.random.default_rng(1).normal(size=(4, 3, 6))
    solved = small_spd.solve_lower(factor, rhs)
    for column in range(3):
        np.testing.assert_allclose(
            solved[:, column], small_spd.solve_lower(factor, rhs[:, column])
        )


@pytest.mark.parametrize("size", [0, 1])
def test_tiny_sizes(size):
    _, laid = _spd_batch(size, 3, 0)
    factor = small_spd.cholesky(laid)
    assert factor.shape == (size, size, 3)
    np.testing.assert_allclose(
        small_spd.log_determinant(factor),
        np.zeros(3) if size == 0 else np.log(laid[0, 0]),
    )
