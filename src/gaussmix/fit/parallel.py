"""Chunks of an E-step spread over the host's cores.

Stats add, so chunks can be computed in any order and on any thread; the
results are consumed in chunk order so that the float64 sums, and hence the
fit, are the same whatever the number of threads. The worker count follows
the BLAS thread count (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``threadpoolctl.threadpool_limits`` all apply), and while the workers run
BLAS is held to one thread each so that the two levels do not oversubscribe
the cores; a single item runs on one BLAS thread too, so that an item's
result never depends on how many others there are.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from gaussmix.core.blas_threads import blas_controller, one_blas_thread

Item = TypeVar("Item")
Result = TypeVar("Result")

_lock = threading.Lock()
_state: dict = {}


def host_threads() -> int:
    """Threads the E-step may use: the BLAS libraries' current thread count."""
    controller = blas_controller()
    if controller is None:
        return 1
    counts = [
        info["num_threads"] for info in controller.info() if info["user_api"] == "blas"
    ]
    return max(counts, default=1)


def _pool(n_threads: int) -> ThreadPoolExecutor:
    with _lock:
        pool = _state.get("pool")
        if pool is None or _state.get("pool_size") != n_threads:
            if pool is not None:
                pool.shutdown(wait=False)
            pool = ThreadPoolExecutor(n_threads, thread_name_prefix="gaussmix")
            _state["pool"], _state["pool_size"] = pool, n_threads
        return pool


def ordered_map(
    function: Callable[[Item], Result], items: Iterable[Item]
) -> Iterator[Result]:
    """``map(function, items)``, run on the host's cores, results in order.

    At most twice as many items as threads are in flight, so memory stays
    bounded however many items there are.
    """
    items = iter(items)
    n_threads = (
        host_threads() if threading.current_thread() is threading.main_thread() else 1
    )
    if n_threads <= 1:
        yield from map(function, items)
        return
    first = next(items, _END)
    if first is _END:
        return
    second = next(items, _END)
    if second is _END:
        # one BLAS thread as for many items: a GEMM split over threads may
        # round differently, and a chunk's sums must not depend on how many
        # chunks there are
        with one_blas_thread():
            result = function(first)
        yield result
        return
    pool = _pool(n_threads)
    with one_blas_thread():
        pending: deque[Future] = deque(
            [pool.submit(function, first), pool.submit(function, second)]
        )
        try:
            for item in items:
                pending.append(pool.submit(function, item))
                if len(pending) >= 2 * n_threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


_END = object()
