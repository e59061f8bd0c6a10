"""Stats of whole datasets, chunk by chunk, with and without kept blocks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture
from gaussmix.core.mstep import m_step
from gaussmix.core.params import MixtureParams
from gaussmix.fit.chunks import dataset_stats, responsibilities_stats
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


def _stats_bits(stats) -> tuple:
    """Every number of ``stats`` as bytes, to compare two passes bit for bit."""
    parts = (stats.resp_sum, stats.centred_sum, stats.scatter)
    return (*(np.asarray(p).tobytes() for p in parts), stats.log_likelihood)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical", "full", "tied"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kept_blocks_and_streamed_windows_give_the_same_bits(
    covariance_type, dtype, rng
):
    X = _blobs(rng, dtype)
    weights = rng.uniform(0.0, 2.0, size=len(X)).astype(dtype)
    kept, streamed = KeptBlocks(), StreamedWindows()
    for params in _params_along_a_fit(X.astype(np.float64), covariance_type):
        # 20-row chunks: windows of 1280, 1280 and 440 rows
        in_memory = dataset_stats(X, weights, params, 20, kept)
        from_disk = dataset_stats(X, weights, params, 20, streamed)
        assert _stats_bits(in_memory) == _stats_bits(from_disk)
        fresh = dataset_stats(X, weights, params, 20)
        # grouped rows add in another order, and float32 may take its
        # moments about a different (kept) centre
        rtol = 1e-12 if dtype == np.float64 else 2e-5
        scale = np.abs(fresh.scatter).max()
        np.testing.assert_allclose(in_memory.resp_sum, fresh.resp_sum, rtol=rtol)
        np.testing.assert_allclose(
            in_memory.scatter, fresh.scatter, rtol=rtol, atol=rtol * scale
        )
        assert in_memory.log_likelihood == pytest.approx(fresh.log_likelihood, rel=rtol)
    # these kernels see each window's rows grouped by component
    groups = covariance_type != "tied"
    assert kept.grouped == streamed.grouped == groups


def test_overlapping_rows_are_not_regrouped(rng):
    # one cloud: every component matters to some row of each group, so
    # grouping could not leave any out of a chunk; the stats are the same
    X = rng.normal(size=(3000, 5)) + 50.0
    prepared = KeptBlocks()
    for params in _params_along_a_fit(X, "diag"):
        kept = dataset_stats(X, None, params, 100, prepared)
        fresh = dataset_stats(X, None, params, 100)
        np.testing.assert_allclose(kept.resp_sum, fresh.resp_sum, rtol=1e-12)
    assert not prepared.grouped


def kept_after_passes(X, passes, chunk_size, limit_bytes=None) -> KeptBlocks:
    """Blocks kept by EM passes over ``X``; each pass must not exceed the limit."""
    prepared = KeptBlocks() if limit_bytes is None else KeptBlocks(limit_bytes)
    for params in passes:
        dataset_stats(X, None, params, chunk_size, prepared)
        assert prepared.kept_bytes <= prepared.limit_bytes
    return prepared


def test_blocks_are_kept_across_passes_up_to_the_limit(rng):
    X = _blobs(rng, np.float64)
    passes = _params_along_a_fit(X, "diag")
    # one pass groups the one window of six 500-row chunks and keeps its
    # copy (the rows' bytes) and every block, all of a size
    everything = kept_after_passes(X, passes[:1], 500)
    assert everything.grouped
    blocks = everything.kept_bytes - X.nbytes
    assert blocks > 0
    block = blocks / 6
    expected = [
        _stats_bits(dataset_stats(X, None, p, 500, KeptBlocks())) for p in passes
    ]
    # a limit below the copy: the window's chunks gather their rows in
    # each pass, as many blocks as fit are kept, and the sums are the same
    for limit in (0, int(2.5 * block), int(4 * block), blocks):
        limited = KeptBlocks(limit)
        for params, bits in zip(passes, expected, strict=True):
            stats = dataset_stats(X, None, params, 500, limited)
            assert limited.kept_bytes <= limit
            assert _stats_bits(stats) == bits
        assert limited.grouped
        assert limit - block < limited.kept_bytes or limit < block
    streamed = StreamedWindows()
    for params in passes:
        dataset_stats(X, None, params, 500, streamed)
    assert streamed.kept_bytes == 0 and streamed.grouped


def test_a_new_chunk_size_drops_the_kept_blocks(rng):
    X = _blobs(rng, np.float64)
    params = _params_along_a_fit(X, "diag")[0]
    prepared = KeptBlocks()
    dataset_stats(X, None, params, 500, prepared)
    first = prepared.kept_bytes
    stats = dataset_stats(X, None, params, 700, prepared)
    # the blocks of 500-row chunks are gone: only those of 700-row chunks
    # remain, as many bytes as a first pass in 700-row chunks keeps, and the
    # same rows re-chunked keep as much as before
    assert prepared.kept_bytes == kept_after_passes(X, [params], 700).kept_bytes
    assert prepared.kept_bytes == first
    expected = dataset_stats(X, None, params, 700, KeptBlocks())
    assert _stats_bits(stats) == _stats_bits(expected)


#: Three rows far apart next to the default reg_covar's deviation.
FAR_APART_ROWS = np.array(
    [
        [-21926.66, 6121.97, 44983.37],
        [-13385.91, 14434.57, 52344.58],
        [31808.63, -16874.34, -34250.37],
        [1.5, -2.5, 0.5],
    ]
)


def test_pooled_start_of_single_rows_has_no_within_scatter():
    # each group holds one row (the fourth row belongs to none): the pooled
    # within-group scatter is zero, so the tied covariance is reg_covar alone
    resp = np.zeros((4, 3))
    resp[[0, 1, 2], [0, 1, 2]] = 1.0
    stats = responsibilities_stats(FAR_APART_ROWS, resp, None, "pooled")
    params = m_step(stats, "tied", 1e-6)
    np.testing.assert_allclose(params.covariances, 1e-6 * np.eye(3), rtol=1e-9)
    np.testing.assert_allclose(params.means, FAR_APART_ROWS[:3])


def test_tied_start_in_float32_is_the_float64_start():
    X = np.array(
        [
            [[6.78, 0.65], [-4.98, 3.22], [13.42, 9.07], [-6.66, -13.05]],
            [[-5.86, 0.02], [-22.87, -2.58], [-12.08, -7.72], [-5.07, -3.56]],
            [[4.49, 10.03], [-0.91, 13.27], [-6.27, 3.12], [9.41, 0.54]],
        ],
        dtype=np.float32,
    ).reshape(-1, 2)
    kwargs = dict(covariance_type="tied", init_params="k-means++", random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        narrow = GaussianMixture(2, max_iter=10, **kwargs).fit(np.asfortranarray(X))
        wide = GaussianMixture(2, max_iter=10, **kwargs).fit(X.astype(np.float64))
    assert narrow.n_iter_ == wide.n_iter_
    assert narrow.lower_bounds_[0] == pytest.approx(wide.lower_bounds_[0], rel=1e-6)
    np.testing.assert_allclose(narrow.covariances_, wide.covariances_, rtol=1e-5)


def test_a_pass_that_does_not_group_takes_the_rows_in_place_everywhere(rng):
    # full covariances, explicit chunks: separated components group the
    # windows' rows; then one cloud, where skipping components would not
    # pay (the kernel goes dense and groups nothing), then the blobs again
    X = _blobs(rng, np.float64)
    separated = _params_along_a_fit(X, "full")[-1]
    cloud = MixtureParams(
        separated.weights,
        np.repeat(X.mean(0, keepdims=True), 4, axis=0),
        np.repeat(100.0 * np.cov(X.T)[None], 4, axis=0),
        np.repeat(np.linalg.cholesky(np.linalg.inv(100.0 * np.cov(X.T)))[None], 4, 0),
        "full",
    )
    kept, streamed = KeptBlocks(), StreamedWindows()
    for params in (separated, cloud, separated, cloud):
        in_memory = dataset_stats(X, None, params, 20, kept)
        from_disk = dataset_stats(X, None, params, 20, streamed)
        assert _stats_bits(in_memory) == _stats_bits(from_disk)
        fresh = dataset_stats(X, None, params, 20)
        np.testing.assert_allclose(in_memory.resp_sum, fresh.resp_sum, rtol=1e-12)
    assert kept.grouped and streamed.grouped
