"""Every torch module test runs single-threaded."""

from __future__ import annotations

import pytest


# module scope: the fits that module-scoped fixtures share run single-threaded
# too, like the tests that compare against them
@pytest.fixture(scope="module", autouse=True)
def _one_thread(single_thread):
    yield
