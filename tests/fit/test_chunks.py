"""Stats of whole datasets, chunk by chunk, with and without kept blocks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture
from gaussmix.core.params import MixtureParams
from gaussmix.fit.chunks import dataset_stats
from gaussmix.fit.host_pass import KeptBlocks, StreamedWindows


def _params_along_a_fit(X: np.ndarray, covariance_type: str) -> list[MixtureParams]:
    """Parameters after 1, 2 and 5 EM iterations from the same start."""
    found = []
    for max_iter in (1, 2, 5):
        model = GaussianMixture(
            4, covariance_type=covariance_type, max_iter=max_iter, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        found.append(
            MixtureParams(
                model.weights_,
                model.means_,
                model.covariances_,
                model.precisions_cholesky_,
                covariance_type,
            )
        )
    return found


def _blobs(rng, dtype) -> np.ndarray:
    centres = rng.normal(scale=8.0, size=(4, 5))
    X = centres[rng.randint(4, size=3000)] + rng.normal(size=(3000, 5))
    return (X + 50.0).astype(dtype)


@pytest.mark.parametrize(
    "memory", [KeptBlocks, StreamedWindows], ids=["kept", "windows"]
)
@pytest.mark.parametrize("covariance_type", ["diag", "spherical", "full", "tied"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kept_blocks_give_the_stats_of_fresh_ones(covariance_type, dtype, memory, rng):
    X = _blobs(rng, dtype)
    weights = rng.uniform(0.0, 2.0, size=len(X)).astype(dtype)
    prepared = memory()
    for params in _params_along_a_fit(X.astype(np.float64), covariance_type):
        # 100-row chunks: two windows of rows grouped when nothing is kept
        kept = dataset_stats(X, weights, params, 100, prepared)
        fresh = dataset_stats(X, weights, params, 100)
        # float32 may take its moments about a different (kept) centre
        rtol = 1e-12 if dtype == np.float64 else 2e-5
        scale = np.abs(fresh.scatter).max()
        np.testing.assert_allclose(kept.resp_sum, fresh.resp_sum, rtol=rtol)
        np.testing.assert_allclose(
            kept.scatter, fresh.scatter, rtol=rtol, atol=rtol * scale
        )
        assert kept.log_likelihood == pytest.approx(fresh.log_likelihood, rel=rtol)
    # from the second pass on, these kernels see rows grouped by component
    groups = covariance_type in ("diag", "spherical", "full") and memory is KeptBlocks
    assert prepared.grouped == groups


def test_blocks_are_kept_across_passes_up_to_the_limit(rng):
    X = _blobs(rng, np.float64)
    passes = _params_along_a_fit(X, "diag")
    everything = KeptBlocks()
    for params in passes:
        dataset_stats(X, None, params, 500, everything)
    # six chunks of [x - c; (x - c)^2; 1] and the rows, regrouped
    assert everything.grouped
    assert everything.kept_bytes == X.shape[0] * (2 * X.shape[1] + 1) * 8 + X.nbytes
    limited = KeptBlocks(limit_bytes=2 * 500 * 11 * 8)
    nothing = StreamedWindows()
    for params in passes:
        dataset_stats(X, None, params, 500, limited)
        dataset_stats(X, None, params, 500, nothing)
    assert limited.kept_bytes == 2 * 500 * 11 * 8
    assert nothing.kept_bytes == 0
    assert not limited.grouped and not nothing.grouped


def test_a_new_chunk_size_drops_the_kept_blocks(rng):
    X = _blobs(rng, np.float64)
    params = _params_along_a_fit(X, "diag")[0]
    prepared = KeptBlocks()
    dataset_stats(X, None, params, 500, prepared)
    first = prepared.kept_bytes
    stats = dataset_stats(X, None, params, 700, prepared)
    assert prepared.kept_bytes == first  # same rows, re-chunked
    expected = dataset_stats(X, None, params, 700)
    np.testing.assert_allclose(stats.scatter, expected.scatter, rtol=1e-12)
