"""The BLAS libraries' thread counts, read and held.

One ``threadpoolctl`` controller for the process, made on first use:
making one inspects every loaded library, which costs milliseconds, while
holding its libraries to a thread count costs microseconds.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

_lock = threading.Lock()
_state: dict[str, Any] = {}


def blas_controller() -> Any:
    """The process's ``ThreadpoolController``, or None without threadpoolctl."""
    with _lock:
        if "controller" not in _state:
            try:
                from threadpoolctl import ThreadpoolController

                _state["controller"] = ThreadpoolController()
            except Exception:  # without introspection nothing is held
                _state["controller"] = None
        return _state["controller"]


def one_blas_thread() -> contextlib.AbstractContextManager:
    """A context in which every BLAS library runs on one thread: for many
    small products, where waking the library's threads for each costs more
    than it shares, and for work already spread over threads.

    The limit is the whole process's, so only the main thread sets it:
    threads that set and restore it in turn could leave it changed. The
    E-step's worker threads run inside the main thread's limit already.
    """
    controller = blas_controller()
    if controller is None or threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")
