"""The noise E-step with missing values against row-by-row conditionals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaussmix.core.covariance import get_family
from gaussmix.core.missing import missing_noise_chunk_sums
from gaussmix.core.missing_blocks import Precisions, whitened_chunk_stats
from gaussmix.core.missing_moments import gemm_chunk_stats
from gaussmix.core.noise import (
    NoiseParams,
    noise_chunk_sums,
    observed_log_noise,
    observed_range,
)
from gaussmix.core.params import MixtureParams
from tests.core.moments import observed_row_terms

LOG_EXTENTS = np.log([20.0, 30.0, 25.0, 40.0])


def _noise_params(rng, spread=3.0, noise_proportion=0.1):
    covariances = np.stack([a @ a.T + np.eye(4) for a in rng.normal(size=(3, 4, 4))])
    gaussian = MixtureParams(
        weights=np.array([0.2, 0.3, 0.5]) * (1 - noise_proportion),
        means=rng.normal(scale=spread, size=(3, 4)),
        covariances=covariances,
        precisions_cholesky=get_family("full").precision_cholesky(covariances),
        covariance_type="full",
    )
    # a volume that is not the product of the extents: complete rows use it
    return NoiseParams(gaussian, noise_proportion, math.log(5e5), LOG_EXTENTS)


def _holed_rows(params, rng, n=150, share=0.35):
    labels = rng.choice(3, size=n, p=params.gaussian.weights / 0.9)
    X = params.gaussian.means[labels] + rng.normal(size=(n, 4))
    X[: n // 10] = rng.uniform(-15, 15, size=(n // 10, 4))
    holes = rng.uniform(size=X.shape) < share
    holes[np.arange(n), rng.randint(0, 4, n)] = False
    X[holes] = np.nan
    return X


def _expected_by_rows(X, weights, params):
    """Sums row by row: scipy's marginal densities, the noise's uniform
    density over the observed columns, the covariance-form conditionals."""
    gaussian = params.gaussian
    resp_sum, first = np.zeros(3), np.zeros((3, 4))
    second = np.zeros((3, 4, 4))
    noise_sum = log_likelihood = 0.0
    for row, weight in zip(X, weights, strict=True):
        seen = ~np.isnan(row)
        log_joint, moments = observed_row_terms(
            row, gaussian.weights, gaussian.means, gaussian.covariances
        )
        region = params.log_volume if seen.all() else LOG_EXTENTS[seen].sum()
        log_joint.append(math.log(params.noise_proportion) - region)
        log_joint = np.array(log_joint)
        total = np.logaddexp.reduce(log_joint)
        log_likelihood += weight * total
        resp = weight * np.exp(log_joint - total)
        noise_sum += resp[-1]
        for k, (completed, conditional) in enumerate(moments):
            resp_sum[k] += resp[k]
            first[k] += resp[k] * completed
            second[k] += resp[k] * (np.outer(completed, completed) + conditional)
    return resp_sum, first, second, noise_sum, log_likelihood


def _assert_matches(stats, noise_sum, expected):
    resp_sum, first, second, expected_noise, log_likelihood = expected
    np.testing.assert_allclose(stats.resp_sum, resp_sum, rtol=1e-10, atol=1e-12)
    about_origin = stats.shift * stats.resp_sum[:, None] + stats.centred_sum
    np.testing.assert_allclose(about_origin, first, rtol=1e-9, atol=1e-9)
    shift = stats.shift
    moved = (
        stats.scatter
        + stats.centred_sum[:, :, None] * shift[:, None, :]
        + shift[:, :, None] * stats.centred_sum[:, None, :]
        + stats.resp_sum[:, None, None] * shift[:, :, None] * shift[:, None, :]
    )
    np.testing.assert_allclose(moved, second, rtol=1e-9, atol=1e-8)
    assert noise_sum == pytest.approx(expected_noise, rel=1e-10)
    assert stats.log_likelihood == pytest.approx(log_likelihood, rel=1e-12)


@pytest.mark.parametrize("spread", [3.0, 30.0])
def test_the_noise_e_step_equals_the_row_by_row_conditionals(spread):
    rng = np.random.RandomState(0)
    params = _noise_params(rng, spread)
    X = _holed_rows(params, rng)
    w = rng.uniform(0.5, 2, size=len(X))
    expected = _expected_by_rows(X, w, params)
    sums = missing_noise_chunk_sums(X, w, params)
    _assert_matches(sums.stats, sums.noise_sum, expected)


def test_both_kernels_put_the_noise_in_the_normaliser():
    rng = np.random.RandomState(1)
    params = _noise_params(rng)
    X = _holed_rows(params, rng)
    w = rng.uniform(0.5, 2, size=len(X))
    hidden = np.isnan(X)
    log_noise = observed_log_noise(
        hidden, params.noise_proportion, params.log_volume, LOG_EXTENTS
    )
    components = Precisions.of(params.gaussian)
    expected = _expected_by_rows(X, w, params)
    for kernel in (gemm_chunk_stats, whitened_chunk_stats):
        stats, noise_sum = kernel(X, hidden, w, components, "full", log_noise)
        _assert_matches(stats, noise_sum, expected)


def test_complete_rows_give_the_ordinary_noise_e_step():
    rng = np.random.RandomState(2)
    params = _noise_params(rng)
    X = rng.normal(scale=3, size=(200, 4))
    w = rng.uniform(0.5, 2, size=200)
    ours = missing_noise_chunk_sums(X, w, params)
    reference = noise_chunk_sums(X, w, params)
    assert ours.noise_sum == pytest.approx(reference.noise_sum, rel=1e-10)
    assert ours.stats.log_likelihood == pytest.approx(
        reference.stats.log_likelihood, rel=1e-12
    )
    np.testing.assert_allclose(ours.stats.resp_sum, reference.stats.resp_sum, 1e-10)


def test_the_noise_column_is_over_the_observed_columns():
    hidden = np.array([[False, False, False, False], [True, False, True, False]])
    column = observed_log_noise(hidden, 0.25, 7.0, LOG_EXTENTS)
    expected = [math.log(0.25) - 7.0, math.log(0.25 / (30.0 * 40.0))]
    np.testing.assert_allclose(column, expected, rtol=1e-14)


def test_the_observed_range_skips_missing_values_and_absent_rows():
    X = np.array([[1.0, np.nan], [3.0, 5.0], [-9.0, -9.0], [np.nan, 2.0]])
    box = observed_range(X, np.array([1.0, 1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(box.lower, [1.0, 2.0])
    np.testing.assert_array_equal(box.upper, [3.0, 5.0])
