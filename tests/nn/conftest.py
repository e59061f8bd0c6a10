"""Torch tests run single-threaded: small problems only lose time to threads."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread():
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
