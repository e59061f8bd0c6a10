"""Torch's and the BLAS/OpenMP libraries' thread counts, set together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def threads(n_threads: int) -> Iterator[None]:
    """Run the block with ``n_threads`` threads in torch, BLAS and OpenMP.

    Torch keeps its own intra-op count beside the libraries'; a fit compared
    with another must run with both at the same value, so they are set
    together and restored afterwards.
    """
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:
        torch = None
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(n_threads):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous)
