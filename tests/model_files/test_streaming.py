"""Saved mid-stream, a mixture resumes partial_fit exactly where it was."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture
from tests.conftest import DATASETS
from tests.model_files.editing import (
    array_file,
    node_at,
    npy_bytes,
    read_array,
    replace_array,
    rewrite,
)
from tests.model_files.examples import assert_identical, round_trip

ROWS = DATASETS["blobs"]
BATCHES = np.array_split(ROWS[np.random.RandomState(1).permutation(len(ROWS))], 6)


def stream(model, batches):
    for batch in batches:
        model.partial_fit(batch)
    return model


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_a_loaded_model_continues_the_stream_exactly(covariance_type, dtype, tmp_path):
    batches = [batch.astype(dtype) for batch in BATCHES]
    model = stream(GaussianMixture(4, covariance_type=covariance_type), batches[:3])
    loaded = round_trip(model, tmp_path)
    assert_identical(model, loaded)
    stream(model, batches[3:])
    stream(loaded, batches[3:])
    assert_identical(model, loaded)
    assert loaded.n_batches_ == 6


def test_a_stream_under_a_prior_resumes_with_the_weight_it_had_seen(tmp_path):
    model = stream(GaussianMixture(4, prior="default", random_state=0), BATCHES[:3])
    loaded = round_trip(model, tmp_path)
    stream(model, BATCHES[3:])
    stream(loaded, BATCHES[3:])
    assert_identical(model, loaded)


def test_a_stream_resumes_after_a_full_fit(tmp_path):
    model = GaussianMixture(4, covariance_type="full", random_state=0).fit(ROWS)
    loaded = round_trip(model, tmp_path)
    stream(model, BATCHES[:2])
    stream(loaded, BATCHES[:2])
    assert_identical(model, loaded)


def test_the_resumed_stream_depends_on_the_saved_statistics(tmp_path):
    """Without the running statistics the stream would go elsewhere: the file
    must carry them for the exact continuation above."""
    model = stream(GaussianMixture(4, covariance_type="diag"), BATCHES[:3])
    restarted = GaussianMixture.from_params(
        model.weights_, model.means_, model.covariances_, "diag"
    )
    stream(model, BATCHES[3:4])
    stream(restarted, BATCHES[3:4])
    assert not np.array_equal(model.means_, restarted.means_)


# ---------------------------------------------------------------------------
# invalid running statistics


@pytest.fixture
def streamed_file(tmp_path):
    path = tmp_path / "streamed.gmm"
    gaussmix.save(stream(GaussianMixture(4, covariance_type="full"), BATCHES[:2]), path)
    return path


def stats_node(metadata):
    return node_at(metadata, "state", "_running_stats", "fields")


def test_non_finite_statistics_are_refused(streamed_file, tmp_path):
    fields = ("state", "_running_stats", "fields", "scatter")
    scatter = np.full((4, 3, 3), np.nan)
    path = replace_array(streamed_file, tmp_path / "e.gmm", fields, scatter)
    with pytest.raises(ValueError, match=r"Stats\).*scatter contains NaN"):
        gaussmix.load(path)


def test_statistics_of_another_kind_are_refused(streamed_file, tmp_path):
    def diagonal_kind(metadata):
        stats_node(metadata)["scatter_kind"] = "diag"

    with pytest.raises(ValueError, match=r"scatter has shape \(4, 3, 3\)"):
        gaussmix.load(rewrite(streamed_file, tmp_path / "e.gmm", diagonal_kind))


def test_statistics_of_another_mixture_are_refused(streamed_file, tmp_path):
    smaller = tmp_path / "smaller.gmm"
    gaussmix.save(
        stream(GaussianMixture(3, covariance_type="full"), BATCHES[:2]), smaller
    )
    stats = ("state", "_running_stats", "fields")
    members = {
        array_file(streamed_file, *stats, name): npy_bytes(
            read_array(smaller, array_file(smaller, *stats, name))
        )
        for name in ("resp_sum", "centred_sum", "scatter", "shift")
    }
    path = rewrite(streamed_file, tmp_path / "e.gmm", members=members)
    with pytest.raises(ValueError, match="do not fit a 'full' mixture of 4 comp"):
        gaussmix.load(path)


def test_running_statistics_must_be_statistics(streamed_file, tmp_path):
    def a_number(metadata):
        node_at(metadata, "state")["_running_stats"] = 3

    with pytest.raises(ValueError, match="_running_stats must be Stats or None"):
        gaussmix.load(rewrite(streamed_file, tmp_path / "e.gmm", a_number))


def test_unknown_statistics_fields_are_refused(streamed_file, tmp_path):
    def extra_field(metadata):
        stats_node(metadata)["callback"] = "os.system"

    with pytest.raises(ValueError, match="parameters do not match Stats"):
        gaussmix.load(rewrite(streamed_file, tmp_path / "e.gmm", extra_field))


def test_negative_weights_are_refused(streamed_file, tmp_path):
    def negative_weight(metadata):
        stats_node(metadata)["total_weight"] = -1.0

    with pytest.raises(ValueError, match="total_weight must be non-negative"):
        gaussmix.load(rewrite(streamed_file, tmp_path / "e.gmm", negative_weight))
