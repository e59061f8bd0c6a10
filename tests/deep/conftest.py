"""Every deep-estimator test runs single-threaded."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    yield
