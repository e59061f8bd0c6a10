"""A real dask cluster on loopback for the tests of distributed fits."""

from __future__ import annotations

import warnings

import pytest


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()
