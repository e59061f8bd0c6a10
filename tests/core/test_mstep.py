"""The M-step against weighted means and covariances written out with numpy,
and the repair of collapsed components and singular covariances."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gaussmix.core.covariance import get_family
from gaussmix.core.mstep import (
    DegenerateComponentWarning,
    RepairLog,
    add_to_diagonal,
    m_step,
    resolution_floor,
    safe_precision_cholesky,
    warn_repairs,
)
from gaussmix.core.stats import Stats
from tests.core.moments import FAMILIES, weighted_sums

SKLEARN_TYPES = ["full", "tied", "diag", "spherical"]


def stats_of(X, weighted_resp, shift, covariance_type, worst_point=None) -> Stats:
    kind = get_family(covariance_type).scatter_kind
    sums = weighted_sums(X, weighted_resp, shift, kind)
    if kind == "pooled":
        shift = np.broadcast_to(shift.mean(0), shift.shape)
    return Stats(
        **sums,
        shift=np.array(shift, dtype=np.float64),
        scatter_kind=kind,
        total_weight=float(weighted_resp.sum()),
        worst_log_density=-50.0 if worst_point is not None else np.inf,
        worst_point=worst_point,
    )


def weighted_moments(X, weighted_resp):
    """Weights, means and full covariances of each component, one at a time."""
    nk = weighted_resp.sum(0)
    means, covariances = [], []
    for k in range(weighted_resp.shape[1]):
        r = weighted_resp[:, k]
        mean = r @ X / nk[k]
        diff = X - mean
        means.append(mean)
        covariances.append((diff * r[:, None]).T @ diff / nk[k])
    return nk / nk.sum(), np.array(means), np.array(covariances)


def in_layout(covariance_type, covariances, nk, reg):
    """Covariances of scikit-learn's four types, stored as the library does."""
    D = covariances.shape[-1]
    diagonals = np.diagonal(covariances, axis1=1, axis2=2)
    if covariance_type == "full":
        return covariances + reg * np.eye(D)
    if covariance_type == "tied":
        return np.einsum("k,kde->de", nk, covariances) / nk.sum() + reg * np.eye(D)
    if covariance_type == "diag":
        return diagonals + reg
    return diagonals.mean(1) + reg


def assert_factors_invert(family, covariances, factors):
    """``U U^T`` is the inverse of each covariance."""
    if family.matrix_layout:
        precisions = factors @ np.swapaxes(factors, -1, -2)
        eye = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
        np.testing.assert_allclose(precisions @ covariances, eye, atol=1e-9)
        np.testing.assert_array_equal(factors, np.triu(factors))
    else:
        np.testing.assert_allclose(factors**2 * covariances, 1.0, rtol=1e-12)


@pytest.fixture
def problem(rng):
    X = rng.normal(size=(240, 4)) * [1.0, 2.0, 0.5, 3.0] + 50.0
    weighted_resp = rng.dirichlet(np.ones(3), size=240) * rng.uniform(
        0.5, 1.5, size=(240, 1)
    )
    shift = rng.normal(loc=50.0, size=(3, 4))  # not the means: any shift will do
    return X, weighted_resp, shift


@pytest.mark.parametrize("covariance_type", SKLEARN_TYPES)
def test_parameters_are_the_weighted_moments(covariance_type, problem):
    X, weighted_resp, shift = problem
    stats = stats_of(X, weighted_resp, shift, covariance_type)

    params = m_step(stats, covariance_type, reg_covar=1e-3)

    weights, means, covariances = weighted_moments(X, weighted_resp)
    expected = in_layout(covariance_type, covariances, weighted_resp.sum(0), 1e-3)
    np.testing.assert_allclose(params.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(params.means, means, rtol=1e-12)
    np.testing.assert_allclose(params.covariances, expected, rtol=1e-9, atol=1e-12)
    assert params.covariance_type == covariance_type
    assert_factors_invert(
        get_family(covariance_type), params.covariances, params.precisions_cholesky
    )


@pytest.mark.parametrize("covariance_type", FAMILIES)
def test_every_family_takes_weights_and_means_from_the_moments(
    covariance_type, problem
):
    X, weighted_resp, shift = problem
    stats = stats_of(X, weighted_resp, shift, covariance_type)

    params = m_step(stats, covariance_type, reg_covar=1e-6)

    weights, means, _ = weighted_moments(X, weighted_resp)
    np.testing.assert_allclose(params.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(params.means, means, rtol=1e-12)
    family = get_family(covariance_type)
    assert params.covariances.shape == family.covariance_shape(3, 4)
    assert params.covariances.dtype == np.float64
    assert_factors_invert(family, params.covariances, params.precisions_cholesky)


def collapsed_problem(problem, covariance_type):
    """The problem with component 2 given no weight, and a worst row."""
    X, weighted_resp, shift = problem
    weighted_resp = weighted_resp.copy()
    weighted_resp[:, 2] = 0.0
    worst = X[17] + 10.0
    stats = stats_of(X, weighted_resp, shift, covariance_type, worst_point=worst)
    return X, weighted_resp, stats


@pytest.mark.parametrize("covariance_type", SKLEARN_TYPES)
def test_a_collapsed_component_is_reseeded_at_the_worst_row(covariance_type, problem):
    X, weighted_resp, stats = collapsed_problem(problem, covariance_type)
    repairs = RepairLog(reseeds_left=2)

    params = m_step(stats, covariance_type, reg_covar=1e-3, repairs=repairs)

    assert repairs.reseeded == [2] and repairs.reseeds_left == 1
    np.testing.assert_array_equal(params.means[2], stats.worst_point)
    _, means, covariances = weighted_moments(X, weighted_resp[:, :2])
    np.testing.assert_allclose(params.means[:2], means, rtol=1e-12)
    # the re-seeded component weighs 1/K before the weights are renormalised
    nk = weighted_resp[:, :2].sum(0)
    expected_weights = np.append(nk / nk.sum(), 1.0 / 3.0) / (4.0 / 3.0)
    np.testing.assert_allclose(params.weights, expected_weights, rtol=1e-12)
    stored = params.covariances
    if covariance_type != "tied":  # a shared covariance is left as it is
        np.testing.assert_allclose(stored[2], stored[:2].mean(0), rtol=1e-12)
        expected = in_layout(covariance_type, covariances, nk, 1e-3)
        np.testing.assert_allclose(stored[:2], expected, rtol=1e-9)
    assert_factors_invert(
        get_family(covariance_type), stored, params.precisions_cholesky
    )
    with pytest.warns(DegenerateComponentWarning, match=r"components \[2\]"):
        warn_repairs(repairs)


@pytest.mark.parametrize("covariance_type", SKLEARN_TYPES)
def test_without_reseeds_left_a_collapsed_component_stays_finite(
    covariance_type, problem
):
    _, _, stats = collapsed_problem(problem, covariance_type)
    repairs = RepairLog(reseeds_left=0)

    params = m_step(stats, covariance_type, reg_covar=1e-3, repairs=repairs)

    assert repairs.reseeded == [] and repairs.jitter == 0.0
    # an empty component keeps its shift as mean and a negligible weight
    np.testing.assert_array_equal(params.means[2], stats.shift[2])
    assert params.weights[2] < 1e-12
    for value in (params.weights, params.covariances, params.precisions_cholesky):
        assert np.all(np.isfinite(value))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_repairs(repairs)


def test_without_a_worst_row_nothing_is_reseeded(problem):
    X, weighted_resp, shift = problem
    weighted_resp = weighted_resp.copy()
    weighted_resp[:, 0] = 0.0
    stats = stats_of(X, weighted_resp, shift, "diag", worst_point=None)
    repairs = RepairLog(reseeds_left=3)
    params = m_step(stats, "diag", reg_covar=1e-3, repairs=repairs)
    assert repairs.reseeded == [] and repairs.reseeds_left == 3
    np.testing.assert_array_equal(params.means[0], stats.shift[0])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag"])
def test_a_singular_covariance_gets_jitter_and_a_warning(covariance_type, problem):
    X, weighted_resp, shift = problem
    X, shift = X.copy(), shift.copy()
    # a constant column: singular without reg_covar (its variance is exactly
    # zero when the shift sits on the constant)
    X[:, 1] = shift[:, 1] = 7.0
    stats = stats_of(X, weighted_resp, shift, covariance_type)
    repairs = RepairLog()

    params = m_step(stats, covariance_type, reg_covar=0.0, repairs=repairs)

    _, _, covariances = weighted_moments(X, weighted_resp)
    singular = in_layout(covariance_type, covariances, weighted_resp.sum(0), 0.0)
    assert 0.0 < repairs.jitter < 1e-2
    family = get_family(covariance_type)
    np.testing.assert_allclose(
        params.covariances,
        add_to_diagonal(family, singular, repairs.jitter),
        rtol=1e-9,
        atol=1e-3 * repairs.jitter,
    )
    assert_factors_invert(family, params.covariances, params.precisions_cholesky)
    with pytest.warns(DegenerateComponentWarning, match="added to its diagonal"):
        warn_repairs(repairs)


def test_a_covariance_that_no_jitter_repairs_is_an_error():
    variances = np.array([[1.0, -np.inf], [1.0, 2.0]])
    with pytest.raises(ValueError, match="stays singular even after adding jitter"):
        safe_precision_cholesky(get_family("diag"), variances, RepairLog())


@pytest.mark.parametrize("covariance_type", SKLEARN_TYPES)
def test_a_positive_definite_covariance_is_left_alone(covariance_type, problem):
    X, weighted_resp, shift = problem
    params = m_step(
        stats_of(X, weighted_resp, shift, covariance_type), covariance_type, 0.0
    )
    repairs = RepairLog()
    family = get_family(covariance_type)
    covariances, factors = safe_precision_cholesky(family, params.covariances, repairs)
    np.testing.assert_array_equal(covariances, params.covariances)
    np.testing.assert_array_equal(factors, params.precisions_cholesky)
    assert repairs.jitter == 0.0


@pytest.mark.parametrize("covariance_type", SKLEARN_TYPES)
def test_add_to_diagonal_adds_to_the_variances_only(covariance_type, rng):
    family = get_family(covariance_type)
    covariances = rng.uniform(1.0, 2.0, size=family.covariance_shape(3, 4))
    before = covariances.copy()
    added = add_to_diagonal(family, covariances, 0.5)
    np.testing.assert_array_equal(covariances, before)  # the input is not changed
    difference = added - covariances
    if family.matrix_layout:
        expected = np.broadcast_to(0.5 * np.eye(4), difference.shape)
    else:
        expected = np.full(difference.shape, 0.5)
    np.testing.assert_allclose(difference, expected, atol=1e-15)


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
