"""The compiled row pass against the numpy passes it replaces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from gaussmix.core.kernels import normalize_components
from gaussmix.core.kernels._common import (
    chunk_summary,
    weigh,
    weighted_responsibilities,
)
from gaussmix.core.kernels.full_moments import QuadraticForms
from gaussmix.core.kernels.row_pass import normalise_rows

FLOOR = {np.float32: -69.0, np.float64: -600.0}


@st.composite
def blocks(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n_components = draw(st.integers(1, 12))
    n_rows = draw(st.integers(0, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    spread = draw(st.sampled_from([0.1, 10.0, 300.0, 3000.0]))
    log_prob = rng.normal(scale=spread, size=(n_components, n_rows)) - 500.0
    # components that cannot explain some rows
    log_prob[rng.uniform(size=log_prob.shape) < 0.1] = -np.inf
    log_prob[0, log_prob.max(axis=0) == -np.inf] = -3.0
    weights = None
    if draw(st.booleans()):
        weights = rng.uniform(0.0, 3.0, size=n_rows)
        weights[rng.uniform(size=n_rows) < 0.2] = 0.0
    rows = rng.normal(size=(n_rows, 3))
    return log_prob.astype(dtype), weights, rows.astype(dtype)


# no deadline: the first example compiles the loops
@settings(deadline=None)
@given(blocks())
def test_responsibilities_and_summary_equal_the_numpy_passes(block):
    log_prob, weights, rows = block
    expected = log_prob.copy()
    expected_norm = normalize_components(expected)
    weigh(expected, weights)
    summary = chunk_summary(rows, expected_norm, weights)

    ours = log_prob.copy()
    result = normalise_rows(ours, FLOOR[log_prob.dtype.type], weights)
    # the same numbers, bit for bit
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(result.log_norm, expected_norm)
    # summed in another order
    scale = np.abs(expected_norm).sum() * 1e-13
    assert result.log_likelihood == pytest.approx(summary.log_likelihood, abs=scale)
    if result.worst < 0:
        assert summary.worst_point is None
    else:
        assert result.log_norm[result.worst] == summary.worst_log_density
        np.testing.assert_array_equal(rows[result.worst], summary.worst_point)
    assert result.within_bound


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_responsibilities_are_the_normalised_densities(dtype, rng):
    log_prob = rng.normal(scale=40.0, size=(5, 50)).astype(dtype)
    expected = logsumexp(log_prob.astype(np.float64), axis=0)
    resp = log_prob.copy()
    result = normalise_rows(resp, FLOOR[dtype])
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(result.log_norm, expected, rtol=rtol)
    np.testing.assert_allclose(
        resp, np.exp(log_prob - expected), rtol=1e4 * rtol, atol=1e-25
    )
    assert result.log_likelihood == pytest.approx(expected.sum(), rel=rtol)
    assert result.worst == int(np.argmin(expected))


@pytest.mark.parametrize("bad", [-np.inf, np.inf, np.nan])
def test_rows_without_a_finite_peak_are_left_to_the_general_path(bad, rng):
    log_prob = rng.normal(size=(3, 20))
    log_prob[:, 7] = -np.inf
    log_prob[1, 7] = bad
    untouched = log_prob.copy()
    assert normalise_rows(log_prob, -600.0) is None
    np.testing.assert_array_equal(log_prob, untouched)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_bound_agrees_with_the_quadratic_forms_test(dtype, rng):
    n_components, n_features = 3, 4
    factors = rng.standard_normal((n_components, n_features, n_features))
    precisions = np.linalg.inv(factors @ factors.transpose(0, 2, 1) + np.eye(4))
    means = rng.standard_normal((n_components, n_features))
    forms = QuadraticForms(precisions, means, np.zeros(3), np.dtype(dtype))
    verdicts = set()
    # rows further and further from the centre: the test flips somewhere
    for distance in np.geomspace(0.1, 1e4, 30):
        X = rng.standard_normal((40, n_features)) * distance
        norms = (X**2).sum(1).astype(dtype)
        log_prob = rng.normal(size=(n_components, 40)).astype(dtype)
        resp = log_prob.copy()
        result = normalise_rows(resp, FLOOR[dtype], None, norms, forms.row_bound)
        expected = forms.accurate(norms, result.log_norm)
        assert result.within_bound == expected
        verdicts.add(expected)
    assert verdicts == {True, False}


def test_a_row_no_component_explains_fails_the_bound_and_keeps_minus_infinity(rng):
    log_prob = rng.normal(size=(3, 10))
    log_prob[:, 4] = -np.inf
    bound = np.array([1e6, np.log(3), 2.0, 1.0, 1.0, 1.0])
    norms = np.ones(10)
    summary, within = weighted_responsibilities(
        log_prob.copy(), rng.normal(size=(10, 2)), None, norms, bound
    )
    assert not within
    assert summary.worst_log_density == -np.inf
    # without a bound to pass, the same block is simply normalised
    _, within = weighted_responsibilities(log_prob, rng.normal(size=(10, 2)), None)
    assert within
    np.testing.assert_allclose(np.delete(log_prob, 4, axis=1).sum(0), 1.0)
