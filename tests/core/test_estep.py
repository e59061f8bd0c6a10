"""The E-step against scipy's densities and sums written out with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix.core.covariance import get_family
from gaussmix.core.estep import (
    chunk_stats,
    default_chunk_size,
    log_responsibilities,
    responsibilities,
    responsibility_stats,
    weighted_log_prob,
    worst_row,
)
from tests.core.moments import (
    FAMILIES,
    random_mixture,
    scipy_log_prob,
    scipy_posteriors,
    weighted_sums,
)

N_ROWS = 150


def rows(rng, n_rows: int = N_ROWS, n_features: int = 4) -> np.ndarray:
    return rng.normal(scale=3.0, size=(n_rows, n_features))


def sample_weights(rng, n_rows: int = N_ROWS) -> np.ndarray:
    weights = rng.uniform(0.1, 2.0, size=n_rows)
    weights[::9] = 0.0
    return weights


def assert_sums_equal(stats, expected, rtol=1e-10):
    for name, value in expected.items():
        scale = np.abs(value).max()
        np.testing.assert_allclose(
            getattr(stats, name), value, rtol=rtol, atol=rtol * scale, err_msg=name
        )


@pytest.mark.parametrize("covariance_type", FAMILIES)
def test_weighted_log_densities_match_scipy(covariance_type, rng):
    params, full = random_mixture(covariance_type, rng)
    X = rows(rng)
    np.testing.assert_allclose(
        weighted_log_prob(X, params), scipy_log_prob(X, params, full), rtol=1e-10
    )


@pytest.mark.parametrize("covariance_type", FAMILIES)
def test_responsibilities_are_the_posteriors(covariance_type, rng):
    params, full = random_mixture(covariance_type, rng)
    X = rows(rng)
    log_norm, posteriors = scipy_posteriors(X, params, full)
    log_norm_a, log_resp = log_responsibilities(X, params)
    log_norm_b, resp = responsibilities(X, params)
    for found in (log_norm_a, log_norm_b):
        np.testing.assert_allclose(found, log_norm, rtol=1e-10)
    np.testing.assert_allclose(np.exp(log_resp), posteriors, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(resp, posteriors, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(resp.sum(1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_rows_far_from_every_component_keep_finite_responsibilities(
    covariance_type, rng
):
    """Their densities underflow to zero: only the log domain can share them."""
    params, full = random_mixture(covariance_type, rng)
    X = np.array([[300.0, -200.0, 250.0, 100.0], [-1e3, 1e3, 0.0, 5.0]])
    assert np.all(np.exp(scipy_log_prob(X, params, full)) == 0.0)
    log_norm, resp = responsibilities(X, params)
    expected_log_norm, expected = scipy_posteriors(X, params, full)
    assert np.all(np.isfinite(resp)) and np.all(np.isfinite(log_norm))
    np.testing.assert_allclose(log_norm, expected_log_norm, rtol=1e-10)
    np.testing.assert_allclose(resp, expected, atol=1e-9)
    np.testing.assert_allclose(resp.sum(1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", FAMILIES)
def test_chunk_stats_are_the_weighted_sums(covariance_type, rng):
    params, full = random_mixture(covariance_type, rng)
    X, w = rows(rng), sample_weights(rng)
    shift = params.means + rng.normal(size=params.means.shape)
    kind = get_family(covariance_type).scatter_kind

    stats = chunk_stats(X, w, params, shift)

    log_norm, posteriors = scipy_posteriors(X, params, full)
    assert stats.scatter_kind == kind
    assert_sums_equal(stats, weighted_sums(X, posteriors * w[:, None], shift, kind))
    assert stats.log_likelihood == pytest.approx(w @ log_norm, rel=1e-10)
    assert stats.total_weight == pytest.approx(w.sum(), rel=1e-12)
    worst = np.flatnonzero(w > 0)[np.argmin(log_norm[w > 0])]
    assert stats.worst_log_density == pytest.approx(log_norm[worst], rel=1e-10)
    np.testing.assert_array_equal(stats.worst_point, X[worst])


def test_without_weights_every_row_counts_once(rng):
    params, _ = random_mixture("full", rng)
    X = rows(rng)
    stats = chunk_stats(X, None, params, params.means)
    weighted = chunk_stats(X, np.ones(len(X)), params, params.means)
    assert stats.total_weight == len(X)
    for name in ("resp_sum", "centred_sum", "scatter", "log_likelihood"):
        np.testing.assert_allclose(
            getattr(stats, name), getattr(weighted, name), rtol=1e-14
        )


@pytest.mark.parametrize("kind", ["full", "diag", "pooled"])
def test_stats_from_given_responsibilities_are_the_weighted_sums(kind, rng):
    """Hard assignments may leave rows out entirely (an initialisation)."""
    X, w = rows(rng), sample_weights(rng)
    labels = rng.randint(-1, 3, size=len(X))  # -1: no component
    resp = (labels[:, None] == np.arange(3)).astype(float)
    shift = rng.normal(size=(3, 4))

    stats = responsibility_stats(X, resp * w[:, None], w, shift, kind)

    assert_sums_equal(stats, weighted_sums(X, resp * w[:, None], shift, kind))
    assert stats.total_weight == pytest.approx(w.sum(), rel=1e-12)
    assert stats.log_likelihood == 0.0


@pytest.mark.parametrize("kind", ["full", "diag", "pooled"])
def test_stats_of_parts_add_up_to_stats_of_the_chunk(kind, rng):
    X, w = rows(rng), sample_weights(rng)
    resp = rng.dirichlet(np.ones(3), size=len(X)) * w[:, None]
    shift = rng.normal(size=(3, 4))
    whole = responsibility_stats(X, resp, w, shift, kind)
    bounds = [(0, 61), (61, 61), (61, N_ROWS)]  # the middle part has no rows
    added = sum(
        responsibility_stats(X[a:b], resp[a:b], w[a:b], shift, kind) for a, b in bounds
    )
    for name in ("resp_sum", "centred_sum", "scatter"):
        np.testing.assert_allclose(
            getattr(added, name), getattr(whole, name), rtol=1e-12, atol=1e-10
        )
    assert added.total_weight == pytest.approx(whole.total_weight, rel=1e-12)
    np.testing.assert_array_equal(added.shift, whole.shift)


def test_a_chunk_of_no_rows_adds_nothing(rng):
    params, _ = random_mixture("diag", rng)
    X = rows(rng)
    empty = chunk_stats(X[:0], None, params, params.means)
    assert empty.total_weight == 0 and empty.log_likelihood == 0.0
    assert not empty.resp_sum.any() and not empty.scatter.any()
    assert empty.worst_log_density == np.inf and empty.worst_point is None
    stats = chunk_stats(X, None, params, params.means)
    for total in (stats + empty, empty + stats):
        np.testing.assert_array_equal(total.scatter, stats.scatter)
        np.testing.assert_array_equal(total.worst_point, stats.worst_point)


def test_the_worst_row_is_sought_among_rows_of_positive_weight(rng):
    params, _ = random_mixture("full", rng)
    X = rows(rng)
    X[7] = 100.0  # by far the least likely row
    w = np.ones(len(X))
    assert np.array_equal(chunk_stats(X, w, params, params.means).worst_point, X[7])
    w[7] = 0.0
    log_norm, _ = responsibilities(X, params)
    expected = np.argmin(np.where(w > 0, log_norm, np.inf))
    value, point = worst_row(X, log_norm, w > 0)
    assert expected != 7 and value == log_norm[expected]
    np.testing.assert_array_equal(point, X[expected])
    np.testing.assert_array_equal(
        chunk_stats(X, w, params, params.means).worst_point, X[expected]
    )


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_float32_rows_give_float64_sums_accurate_far_from_the_origin(
    covariance_type, rng
):
    """Products in float32, sums in float64 about the shift: the scatter of
    rows at 1e4 keeps its digits (about the origin it would lose them all)."""
    params, _ = random_mixture(covariance_type, rng)
    params = type(params)(
        params.weights,
        params.means + 1e4,
        params.covariances,
        params.precisions_cholesky,
        covariance_type,
    )
    X32 = (rows(rng, 2000) + 1e4).astype(np.float32)
    X64 = X32.astype(np.float64)
    w = sample_weights(rng, 2000)
    shift = params.means

    stats = chunk_stats(X32, w.astype(np.float32), params.cast(X32), shift)
    exact = chunk_stats(X64, w, params, stats.shift)

    for name in ("resp_sum", "centred_sum", "scatter", "shift"):
        assert getattr(stats, name).dtype == np.float64, name
    np.testing.assert_array_equal(stats.shift, np.float32(stats.shift))
    for name in ("resp_sum", "scatter"):
        scale = np.abs(getattr(exact, name)).max()
        np.testing.assert_allclose(
            getattr(stats, name), getattr(exact, name), rtol=1e-3, atol=1e-4 * scale
        )


@pytest.mark.parametrize(("n_components", "n_features"), [(3, 4), (8, 64), (1, 1)])
def test_default_chunks_hold_about_the_element_budget(n_components, n_features):
    budget = 1 << 16
    size = default_chunk_size(n_components, n_features, elements=budget)
    assert size >= 256
    if size > 256:
        assert size * n_components * n_features <= budget
        assert (size + 1) * n_components * n_features > budget
    smaller = default_chunk_size(n_components, n_features, elements=budget // 4)
    assert smaller <= size


# five float32 rows near -100 with a spread of 1e-3, and one at -1e9: in
# float32 the distance between the two groups' average and the rows near
# -100 has a rounding of 32, far more than their spread
ROWS = np.array(
    [
        [-99.99945, -100.00022],
        [-100.00011, -100.00085],
        [-100.00078, -100.00043],
        [-99.99915, -99.99939],
        [-100.00017, -99.99859],
        [-100.00021, -1.0000001e9],
    ],
    dtype=np.float32,
)


@pytest.mark.parametrize("scatter_kind", ["full", "diag"])
def test_moments_of_a_component_far_from_the_others_keep_their_digits(scatter_kind):
    resp = np.zeros((6, 2), dtype=np.float32)
    resp[:5, 0] = 1.0
    resp[5, 1] = 1.0
    exact = ROWS.astype(np.float64)
    means = np.array([exact[:5].mean(0), exact[5]])
    stats = responsibility_stats(ROWS, resp, None, means, scatter_kind)
    # the shifts are the float32 roundings of the means
    np.testing.assert_allclose(stats.means(), means, rtol=0, atol=1e-5)
    deviations = exact[:5] - exact[:5].mean(0)
    expected = deviations.T @ deviations
    if scatter_kind == "diag":
        expected = np.diag(expected)
    # about a shift within float32 rounding of the mean: equal to that rounding
    offset = stats.means()[0] - stats.shift[0]
    moved = stats.scatter[0] - 5 * (
        np.outer(offset, offset) if scatter_kind == "full" else offset**2
    )
    np.testing.assert_allclose(moved, expected, rtol=1e-5, atol=1e-12)
