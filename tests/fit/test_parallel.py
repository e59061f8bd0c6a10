"""Chunks spread over threads give the same Stats, in the same order."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from gaussmix import GaussianMixture
from gaussmix.fit.chunks import dataset_stats
from gaussmix.fit.parallel import host_threads, ordered_map
from tests.core.test_stats import _params


def test_ordered_map_keeps_order_and_uses_threads():
    seen = set()

    def square(value):
        seen.add(threading.current_thread().name)
        return value * value

    with threadpool_limits(2):
        assert host_threads() == 2
        assert list(ordered_map(square, range(50))) == [v * v for v in range(50)]
    assert any(name.startswith("gaussmix") for name in seen)
    assert list(ordered_map(square, [])) == []
    assert list(ordered_map(square, [3])) == [9]


def test_ordered_map_raises_the_workers_error():
    def fail_on_seven(value):
        if value == 7:
            raise ValueError("seven")
        return value

    with threadpool_limits(2), pytest.raises(ValueError, match="seven"):
        list(ordered_map(fail_on_seven, range(20)))


def test_blas_is_single_threaded_inside_workers_and_restored_after():
    from threadpoolctl import threadpool_info

    def blas_threads(_):
        return max(
            i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
        )

    with threadpool_limits(2):
        assert set(ordered_map(blas_threads, range(6))) == {1}
        assert host_threads() == 2


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_stats_do_not_depend_on_the_thread_count(covariance_type, rng):
    params = _params(covariance_type, rng)
    X = rng.normal(size=(5000, 3)) * 3
    w = rng.uniform(0.0, 2.0, size=5000)
    with threadpool_limits(1):
        serial = dataset_stats(X, w, params, chunk_size=256)
    with threadpool_limits(2):
        threaded = dataset_stats(X, w, params, chunk_size=256)
    np.testing.assert_array_equal(threaded.scatter, serial.scatter)
    np.testing.assert_array_equal(threaded.centred_sum, serial.centred_sum)
    assert threaded.log_likelihood == serial.log_likelihood


def test_fit_is_identical_with_one_or_two_threads(rng):
    X = rng.normal(size=(20000, 4)) + rng.choice([-5.0, 0.0, 5.0], size=(20000, 1))
    with threadpool_limits(1):
        serial = GaussianMixture(3, random_state=0).fit(X)
    with threadpool_limits(2):
        threaded = GaussianMixture(3, random_state=0).fit(X)
    assert threaded.n_iter_ == serial.n_iter_
    np.testing.assert_array_equal(threaded.means_, serial.means_)
    np.testing.assert_array_equal(threaded.covariances_, serial.covariances_)
