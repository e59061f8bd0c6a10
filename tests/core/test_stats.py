"""Stats add, and recentring them changes nothing but the shift."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix import GaussianMixture
from gaussmix.core.estep import chunk_stats
from gaussmix.core.params import MixtureParams

KINDS = {"full": "full", "tied": "pooled", "diag": "diag", "spherical": "diag"}


def _params(covariance_type: str, rng) -> MixtureParams:
    X = rng.normal(size=(300, 3)) + rng.choice([-4, 0, 4], size=(300, 1))
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    return MixtureParams(
        model.weights_,
        model.means_,
        model.covariances_,
        model.precisions_cholesky_,
        covariance_type,
    )


def _assert_stats_close(a, b, rtol=1e-12):
    np.testing.assert_allclose(a.resp_sum, b.resp_sum, rtol=rtol)
    np.testing.assert_allclose(a.centred_sum, b.centred_sum, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(a.scatter, b.scatter, rtol=rtol, atol=1e-10)
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=rtol)
    assert a.total_weight == pytest.approx(b.total_weight, rel=rtol)


@pytest.mark.parametrize("covariance_type", sorted(KINDS))
def test_stats_of_halves_add_up_to_stats_of_whole(covariance_type, rng):
    params = _params(covariance_type, rng)
    X = rng.normal(size=(1000, 3)) * 3
    w = rng.uniform(0.1, 2.0, size=1000)
    shift = params.means
    whole = chunk_stats(X, w, params, shift)
    halves = chunk_stats(X[:437], w[:437], params, shift) + chunk_stats(
        X[437:], w[437:], params, shift
    )
    assert whole.scatter_kind == KINDS[covariance_type]
    _assert_stats_close(whole, halves)
    assert whole.worst_log_density == halves.worst_log_density
    np.testing.assert_array_equal(whole.worst_point, halves.worst_point)


def test_sum_of_many_chunks_equals_whole(rng):
    params = _params("full", rng)
    X = rng.normal(size=(999, 3))
    parts = [
        chunk_stats(X[i : i + 100], None, params, params.means)
        for i in range(0, 999, 100)
    ]
    _assert_stats_close(sum(parts), chunk_stats(X, None, params, params.means))


@pytest.mark.parametrize("covariance_type", sorted(KINDS))
def test_recentring_matches_accumulating_about_the_new_shift(covariance_type, rng):
    params = _params(covariance_type, rng)
    X = rng.normal(size=(500, 3))
    new_shift = params.means + rng.normal(size=params.means.shape)
    if KINDS[covariance_type] == "pooled":
        new_shift = np.broadcast_to(new_shift[0], new_shift.shape).copy()
    direct = chunk_stats(X, None, params, new_shift)
    moved = chunk_stats(X, None, params, params.means).recentred(new_shift)
    _assert_stats_close(direct, moved, rtol=1e-10)


def test_adding_stats_about_different_shifts_is_refused(rng):
    params = _params("diag", rng)
    X = rng.normal(size=(50, 3))
    a = chunk_stats(X, None, params, params.means)
    b = chunk_stats(X, None, params, params.means + 1.0)
    with pytest.raises(ValueError, match="different shifts"):
        a + b


def test_responsibilities_sum_to_total_weight(rng):
    params = _params("full", rng)
    X = rng.normal(size=(400, 3))
    w = rng.randint(0, 4, size=400).astype(float)
    stats = chunk_stats(X, w, params, params.means)
    assert stats.resp_sum.sum() == pytest.approx(w.sum(), rel=1e-12)
    assert stats.total_weight == pytest.approx(w.sum())
