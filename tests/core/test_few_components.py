"""Weighted sums of features for few components against float64 products."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussmix.core.kernels.few_components import FEW_COMPONENTS, weighted_sums

shapes = st.tuples(
    st.integers(1, 40), st.integers(1, FEW_COMPONENTS + 3), st.integers(0, 400)
)


@settings(deadline=None, max_examples=60)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_integer_sums_are_exact(shape, seed):
    # small integers: every partial sum is exact in float32, in any order
    n_out, n_components, n_rows = shape
    rng = np.random.default_rng(seed)
    features = rng.integers(-8, 9, (n_out, n_rows)).astype(np.float32)
    resp = rng.integers(0, 9, (n_components, n_rows)).astype(np.float32)
    expected = features.astype(np.float64) @ resp.T.astype(np.float64)
    sums = weighted_sums(features, resp)
    assert sums.dtype == np.float64
    assert sums.shape == (n_out, n_components)
    np.testing.assert_array_equal(sums, expected)


@settings(deadline=None, max_examples=40)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_float32_sums_round_like_a_product(shape, seed):
    n_out, n_components, n_rows = shape
    rng = np.random.default_rng(seed)
    features = (rng.standard_normal((n_out, n_rows)) * 10.0).astype(np.float32)
    resp = rng.random((n_components, n_rows)).astype(np.float32)
    exact = features.astype(np.float64) @ resp.T.astype(np.float64)
    magnitude = np.abs(features).astype(np.float64) @ resp.T.astype(np.float64)
    # the usual bound for a sum of n products, float32 resolution
    bound = (n_rows + 2) * np.finfo(np.float32).eps * magnitude
    assert np.all(np.abs(weighted_sums(features, resp) - exact) <= bound)


def test_layouts_and_repeats_give_the_same_sums():
    rng = np.random.default_rng(3)
    wide = rng.integers(-5, 6, (12, 700)).astype(np.float32)
    resp = rng.integers(0, 4, (7, 500)).astype(np.float32)
    strided = wide[:, :500]  # rows contiguous, the block not
    first = weighted_sums(strided, resp)
    np.testing.assert_array_equal(first, weighted_sums(strided.copy(), resp))
    # real-valued inputs: the same bits on a second call
    features = rng.standard_normal((12, 500)).astype(np.float32)
    soft = rng.random((7, 500)).astype(np.float32)
    np.testing.assert_array_equal(
        weighted_sums(features, soft), weighted_sums(features, soft)
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features_reach_their_sums(bad):
    rng = np.random.default_rng(0)
    features = rng.standard_normal((9, 64)).astype(np.float32)
    resp = rng.random((5, 64)).astype(np.float32)
    features[6, 10] = bad
    sums = weighted_sums(features, resp)
    assert not np.isfinite(sums[6]).any()
    assert np.isfinite(np.delete(sums, 6, axis=0)).all()


def test_float64_and_many_components_are_plain_products():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((10, 300))
    resp = rng.random((4, 300))
    np.testing.assert_allclose(
        weighted_sums(features, resp), features @ resp.T, rtol=1e-13
    )
    wide = rng.random((FEW_COMPONENTS + 4, 300)).astype(np.float32)
    np.testing.assert_allclose(
        weighted_sums(features.astype(np.float32), wide),
        features @ wide.T.astype(np.float64),
        rtol=1e-4,
        atol=1e-3,
    )
