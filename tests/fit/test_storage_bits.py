"""Property: any rows, chunking and seed give the same fit to the bit from
memory, from a file and from a Dask array cut into any blocks."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaussmix import GaussianMixture
from tests.fit.same_start import assert_same_bits

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical", "VEV", "EII"]


@st.composite
def mixtures(draw) -> tuple[np.ndarray, dict]:
    """Rows of 1-5 blobs, some repeated, and the fit's settings, with
    ``sample_weight`` among them or not."""
    n_rows = draw(st.integers(30, 2500))
    n_features = draw(st.integers(1, 4))
    n_blobs = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-20, 20, size=(n_blobs, n_features))
    rows = centres[rng.randint(n_blobs, size=n_rows)]
    rows = rows + rng.normal(scale=rng.uniform(0.1, 3.0), size=rows.shape)
    if draw(st.booleans()):
        # repeated rows: a few of them copied over others
        rows[: n_rows // 10] = rows[-1]
    if draw(st.booleans()):
        rows = rows.astype(np.float32)
    settings_ = dict(
        n_components=draw(st.integers(1, 4)),
        covariance_type=draw(st.sampled_from(COVARIANCE_TYPES)),
        chunk_size=draw(st.sampled_from([None, 7, 31, 100, 256])),
        random_state=seed,
        max_iter=draw(st.integers(1, 15)),
    )
    if draw(st.booleans()):
        settings_["sample_weight"] = rng.uniform(0.1, 3.0, size=n_rows)
    return rows, settings_


def _fit(rows, settings_: dict, weights=None) -> GaussianMixture:
    settings_ = dict(settings_)
    given_weights = settings_.pop("sample_weight", None)
    weights = given_weights if weights is None else weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(**settings_).fit(rows, sample_weight=weights)


@settings(max_examples=40, deadline=None)
@given(mixtures())
def test_a_file_gives_the_bits_of_memory(case):
    rows, settings_ = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.npy"
        np.save(path, rows)
        from_file = _fit(np.load(path, mmap_mode="r"), settings_)
    assert_same_bits(from_file, _fit(rows, settings_))


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mixtures(), st.integers(10, 1500))
def test_dask_blocks_give_the_bits_of_memory(client, case, block_rows):
    da = pytest.importorskip("dask.array")
    rows, settings_ = case
    blocks = da.from_array(rows, chunks=(block_rows, rows.shape[1]))
    weights = settings_.get("sample_weight")
    if weights is not None:
        # the weights in blocks of their own
        weights = da.from_array(weights, chunks=max(1, block_rows // 2 + 3))
    on_dask = _fit(blocks, settings_, weights)
    assert_same_bits(on_dask, _fit(rows, settings_))


@pytest.mark.parametrize("covariance_type", ["full", "diag", "VEV"])
def test_scores_from_a_file_and_dask_blocks_are_those_in_memory(
    client, tmp_path, covariance_type
):
    da = pytest.importorskip("dask.array")
    rng = np.random.RandomState(0)
    rows = rng.normal(size=(9000, 4)) + 6.0 * rng.randint(5, size=(9000, 1))
    # 700-row slices: blocks of 1,777 rows end inside them
    model = _fit(
        rows,
        dict(
            n_components=5,
            covariance_type=covariance_type,
            chunk_size=700,
            random_state=0,
        ),
    )
    np.save(tmp_path / "rows.npy", rows)
    stored = np.load(tmp_path / "rows.npy", mmap_mode="r")
    blocks = da.from_array(rows, chunks=(1777, 4))
    for method in ("score_samples", "predict_proba", "predict"):
        expected = getattr(model, method)(rows)
        np.testing.assert_array_equal(getattr(model, method)(stored), expected)
        np.testing.assert_array_equal(
            getattr(model, method)(blocks).compute(), expected
        )


def test_scores_of_rows_with_missing_values_are_those_in_memory(client, tmp_path):
    da = pytest.importorskip("dask.array")
    rng = np.random.RandomState(1)
    rows = rng.normal(size=(6000, 4)) + 6.0 * rng.randint(4, size=(6000, 1))
    # NaN in some 500-row slices only: the others take the complete path
    holed = rows.copy()
    holed[rng.randint(1000, 2000, size=40), rng.randint(4, size=40)] = np.nan
    model = _fit(rows, dict(n_components=4, chunk_size=500, random_state=0))
    np.save(tmp_path / "rows.npy", holed)
    stored = np.load(tmp_path / "rows.npy", mmap_mode="r")
    blocks = da.from_array(holed, chunks=(1234, 4))
    for method in ("score_samples", "predict_proba", "predict"):
        expected = getattr(model, method)(holed)
        assert np.isfinite(np.asarray(expected, dtype=float)).all()
        np.testing.assert_array_equal(getattr(model, method)(stored), expected)
        np.testing.assert_array_equal(
            getattr(model, method)(blocks).compute(), expected
        )
