"""Holding BLAS to one thread, and only from the main thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from gaussmix.core.blas_threads import one_blas_thread


def _blas_threads() -> list[int]:
    return [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]


@pytest.fixture
def two_blas_threads():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    with threadpool_limits(2, user_api="blas"):
        yield


def test_the_main_thread_holds_blas_to_one_thread_and_restores_it(two_blas_threads):
    before = _blas_threads()
    with one_blas_thread():
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before


def test_another_thread_leaves_the_process_wide_limit_alone(two_blas_threads):
    before = _blas_threads()
    seen = []

    def work():
        with one_blas_thread():
            seen.append(_blas_threads())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before]
    assert _blas_threads() == before
