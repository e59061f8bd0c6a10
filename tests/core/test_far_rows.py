"""Responsibilities of rows far from every component, without overflow."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix.core.far_rows import component_forms, exact_log_responsibilities

# three components about one mean, the narrowest first: far away, the widest
# explains a row best, and the others are worse by amounts that overflow
VARIANCES = np.array([1.0, 10.0, 100.0])
MEANS = np.zeros((3, 1))


def nested_forms(weights=(1 / 3, 1 / 3, 1 / 3)):
    return component_forms(np.array(weights), MEANS, 1.0 / VARIANCES, False)


@pytest.mark.parametrize("x", [1e200, -1e200, 1e170])
def test_the_widest_component_takes_a_row_where_every_difference_overflows(x):
    log_norm, log_resp = exact_log_responsibilities(np.array([[x]]), *nested_forms())
    np.testing.assert_array_equal(np.exp(log_resp), [[0.0, 0.0, 1.0]])
    # -x**2 / 200 is below float64's range
    assert log_norm[0] == -np.inf


def test_a_far_row_keeps_its_log_density_where_float64_holds_it():
    x = 1e150
    log_norm, log_resp = exact_log_responsibilities(np.array([[x]]), *nested_forms())
    expected = -0.5 * x * x / 100.0  # the other terms are lost to its rounding
    assert log_norm[0] == pytest.approx(expected, rel=1e-15)
    np.testing.assert_array_equal(np.exp(log_resp), [[0.0, 0.0, 1.0]])


def test_a_component_of_zero_weight_is_never_the_reference():
    forms = nested_forms(weights=(0.0, 0.5, 0.5))
    rows = np.array([[1e200], [0.0], [3.0]])
    log_norm, log_resp = exact_log_responsibilities(rows, *forms)
    resp = np.exp(log_resp)
    assert np.all(np.isfinite(log_resp) | (log_resp == -np.inf))
    np.testing.assert_array_equal(resp[:, 0], 0.0)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-15)
    # near the mean, the closed form of two centred components
    densities = np.exp(-0.5 * 9.0 / VARIANCES[1:]) / np.sqrt(2 * np.pi * VARIANCES[1:])
    np.testing.assert_allclose(resp[2, 1:], densities / densities.sum(), rtol=1e-12)
    assert log_norm[2] == pytest.approx(np.log(0.5 * densities.sum()), rel=1e-12)
