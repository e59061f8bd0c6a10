"""EM on dask arrays, run on a real local cluster of worker processes."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture
from gaussmix.fit import sources
from tests.fit.same_start import assert_same_bits, shared_start
from tests.fit.test_out_of_core import FAR_FLOAT32_ROWS

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def data():
    X, _ = make_blobs(n_samples=4000, centers=4, n_features=3, random_state=0)
    return X


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_equals_in_memory_fit(client, data, covariance_type):
    X = da.from_array(data, chunks=(700, 3))
    start = shared_start(data, covariance_type)
    kwargs = dict(covariance_type=covariance_type, tol=1e-8, **start)
    distributed_fit = GaussianMixture(4, **kwargs).fit(X)
    in_memory = GaussianMixture(4, **kwargs).fit(data)
    assert_same_bits(distributed_fit, in_memory)


def test_weighted_dask_fit_equals_in_memory_fit(client, data):
    w = np.random.RandomState(0).randint(0, 3, size=len(data)).astype(float)
    start = shared_start(data, "full")
    a = GaussianMixture(4, tol=1e-8, **start).fit(
        da.from_array(data, chunks=(1000, 3)), sample_weight=da.from_array(w, 1000)
    )
    b = GaussianMixture(4, tol=1e-8, **start).fit(data, sample_weight=w)
    assert_same_bits(a, b)


def test_predictions_on_dask_arrays_are_dask_arrays(client, data):
    X = da.from_array(data, chunks=(900, 3))
    model = GaussianMixture(4, random_state=0).fit(X)
    labels = model.predict(X)
    proba = model.predict_proba(X)
    density = model.score_samples(X)
    for result in (labels, proba, density):
        assert isinstance(result, da.Array)
    np.testing.assert_array_equal(labels.compute(), model.predict(data))
    np.testing.assert_allclose(proba.compute(), model.predict_proba(data), rtol=1e-12)
    np.testing.assert_allclose(density.compute(), model.score_samples(data), rtol=1e-12)


def test_default_initialisation_on_dask_finds_the_blobs(client, data):
    X = da.from_array(data, chunks=(1000, 3))
    model = GaussianMixture(4, random_state=0, n_init=2).fit(X)
    reference = GaussianMixture(4, random_state=0, n_init=2).fit(data)
    assert model.score(data) == pytest.approx(reference.score(data), abs=0.02)


def _weighted_fits(rows, weights, row_block, weight_block, **settings):
    """The same weighted fit on dask arrays (rows and weights each in blocks
    of their own) and in memory, convergence warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        on_dask = GaussianMixture(**settings).fit(
            da.from_array(rows, chunks=(row_block, rows.shape[1])),
            sample_weight=da.from_array(weights, chunks=weight_block),
        )
        in_memory = GaussianMixture(**settings).fit(rows, sample_weight=weights)
    return on_dask, in_memory


@pytest.mark.parametrize("sampled", [False, True], ids=["all rows", "sampled"])
@pytest.mark.parametrize(
    "init_params", ["kmeans", "k-means++", "random", "random_from_data", "hc"]
)
def test_same_seed_gives_the_in_memory_fit(
    client, data, monkeypatch, init_params, sampled
):
    # no shared start: the initialisation itself must pick the same rows;
    # three iterations from it show the same EM follows (each iteration is a
    # round trip to the cluster, so the fit is not run to convergence here)
    if sampled:
        monkeypatch.setattr(sources, "KMEANS_SAMPLE_SIZE", 400)
        monkeypatch.setattr(sources, "INIT_SAMPLE_SIZE", 500)
    data = data[:1000]
    weights = np.random.RandomState(2).randint(1, 3, size=len(data)).astype(float)
    kwargs = dict(init_params=init_params, random_state=5, tol=0.0, max_iter=3)
    assert_same_bits(*_weighted_fits(data, weights, 300, 300, n_components=4, **kwargs))


@pytest.mark.parametrize("covariance_type", [*COVARIANCE_TYPES, "VEV", "EII"])
def test_blocks_across_windows_give_the_bits_of_memory(client, covariance_type):
    # 60-row chunks of 12,000 rows: four windows of 3,840 rows, whose rows
    # are grouped by component, across blocks of 1,777 rows
    rows, _ = make_blobs(n_samples=12_000, centers=8, n_features=5, random_state=3)
    kwargs = dict(covariance_type=covariance_type, chunk_size=60, random_state=0)
    kwargs.update(max_iter=12)
    weights = np.random.RandomState(4).uniform(0.5, 2.0, size=len(rows))
    assert_same_bits(
        *_weighted_fits(rows, weights, 1777, 2500, n_components=8, **kwargs)
    )


def test_infinity_in_a_dask_array_is_refused(client, data):
    # NaN marks a missing value (tests/fit/test_missing_storage.py)
    bad = data.copy()
    bad[10, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(2).fit(da.from_array(bad, chunks=(1000, 3)))


def test_a_killed_worker_does_not_change_the_result(client, data):
    big = np.vstack([data] * 10)
    X = da.from_array(big, chunks=(2000, 3))
    start = shared_start(data, "full")
    kwargs = dict(tol=0.0, max_iter=60, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = GaussianMixture(4, **kwargs).fit(big)

        before = set(client.scheduler_info()["workers"])
        killed = []

        def kill_one_worker():
            time.sleep(1.0)
            victim = sorted(before)[0]
            killed.append(victim)
            try:
                client.run(lambda: __import__("os")._exit(1), workers=[victim])
            except Exception:  # the worker dies before it can answer
                pass

        killer = threading.Thread(target=kill_one_worker)
        killer.start()
        survived = GaussianMixture(4, **kwargs).fit(X)
        killer.join()
    assert killed and killed[0] not in client.scheduler_info()["workers"]
    assert survived.n_iter_ == reference.n_iter_ == 60
    # the lost windows are computed again, to the same bits
    assert_same_bits(survived, reference)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_rows_whose_squares_overflow_fit_on_dask_as_in_memory(client, covariance_type):
    kwargs = dict(covariance_type=covariance_type, init_params="k-means++")
    kwargs.update(random_state=0, max_iter=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # one block: the cluster adds the sums the in-memory fit adds
        distributed_fit = GaussianMixture(3, **kwargs).fit(
            da.from_array(FAR_FLOAT32_ROWS)
        )
        in_memory = GaussianMixture(3, **kwargs).fit(FAR_FLOAT32_ROWS)
    assert distributed_fit.means_.dtype == np.float32
    assert_same_bits(distributed_fit, in_memory)


def test_bayesian_mixture_on_dask_is_the_in_memory_fit(client, data):
    from tests.models.test_bayesian_mixture_storage import _fit, assert_identical

    X = da.from_array(data, chunks=(700, 3))
    weights = np.random.RandomState(1).randint(0, 3, size=len(data)).astype(float)
    # a few iterations show it: each is one pass of Stats over the cluster
    for covariance_type in ["full", "spherical"]:
        assert_identical(
            _fit(X, covariance_type, max_iter=15),
            _fit(data, covariance_type, max_iter=15),
        )
    assert_identical(
        _fit(X, sample_weight=weights, max_iter=15),
        _fit(data, sample_weight=weights, max_iter=15),
    )


def test_student_mixture_on_dask_is_the_in_memory_fit(client, data):
    from gaussmix import StudentMixture

    X = da.from_array(data, chunks=(700, 3))
    settings = dict(n_components=4, max_iter=15, random_state=0, chunk_size=350)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        distributed_fit = StudentMixture(**settings).fit(X)
        in_memory = StudentMixture(**settings).fit(data)
    assert distributed_fit.n_iter_ == in_memory.n_iter_
    np.testing.assert_array_equal(distributed_fit.means_, in_memory.means_)
    np.testing.assert_array_equal(
        distributed_fit.degrees_of_freedom_, in_memory.degrees_of_freedom_
    )


def _message(fit) -> str:
    with pytest.raises(ValueError) as raised:
        fit()
    return str(raised.value)


def test_an_empty_dask_array_is_refused_as_rows_in_memory_are(client):
    rows = np.empty((0, 3))
    in_memory = _message(lambda: GaussianMixture(2).fit(rows))
    on_dask = _message(lambda: GaussianMixture(2).fit(da.from_array(rows)))
    # scikit-learn's wording, naming the array's shape
    assert in_memory.startswith("Found array with 0 sample(s) (shape=(0, 3))")
    assert on_dask.startswith("Found array with 0 sample(s) (shape=(0, 3))")


@pytest.mark.parametrize("shape", [(3999,), (4001,), (4000, 2)])
@pytest.mark.parametrize("as_dask", [False, True], ids=["numpy", "dask"])
def test_dask_weights_of_the_wrong_shape_are_refused_as_in_memory(
    client, data, shape, as_dask
):
    weights = np.ones(shape)
    in_memory = _message(lambda: GaussianMixture(2).fit(data, sample_weight=weights))
    given = da.from_array(weights, chunks=700) if as_dask else weights
    X = da.from_array(data, chunks=(700, 3))
    on_dask = _message(lambda: GaussianMixture(2).fit(X, sample_weight=given))
    assert on_dask == in_memory
    assert in_memory.startswith("sample_weight must be 1-D with one weight per row")


def test_one_number_weighs_every_dask_row_as_in_memory(client, data):
    start = shared_start(data, "diag")
    kwargs = dict(covariance_type="diag", tol=1e-8, **start)
    X = da.from_array(data, chunks=(700, 3))
    on_dask = GaussianMixture(4, **kwargs).fit(X, sample_weight=3.0)
    in_memory = GaussianMixture(4, **kwargs).fit(data, sample_weight=3.0)
    assert_same_bits(on_dask, in_memory)


def test_a_slice_of_a_dask_array_keeps_one_definition_per_key(client, data):
    # a fit submits the slice's blocks as outputs (the start's rows) and as
    # inputs (the checks, the EM passes): the scheduler warns when one key
    # arrives with two definitions, which it calls a risk of deadlocks
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    scheduler_log = logging.getLogger("distributed.scheduler")
    scheduler_log.addHandler(handler)
    try:
        dx = da.from_array(data, chunks=(500, 3))
        weights = da.from_array(np.ones(len(data)), chunks=500)
        model = GaussianMixture(4, random_state=0)
        model.fit(dx[500:2500], sample_weight=weights[500:2500])
        model.partial_fit(dx[2500:3500])
    finally:
        scheduler_log.removeHandler(handler)
    redefined = [r for r in records if "different `run_spec`" in r.getMessage()]
    assert not redefined
    expected = GaussianMixture(4, random_state=0).fit(data[500:2500])
    np.testing.assert_allclose(
        GaussianMixture(4, random_state=0).fit(dx[500:2500]).means_,
        expected.means_,
        rtol=1e-10,
    )


def test_passes_that_group_and_do_not_give_the_bits_of_memory(client):
    from gaussmix.core.params import MixtureParams
    from gaussmix.fit.chunks import dataset_stats
    from gaussmix.fit.dask import DaskSource
    from gaussmix.fit.host_pass import KeptBlocks

    # separated blobs group each window's rows; one cloud (the kernel goes
    # dense) takes them in place; 20-row chunks, blocks across windows
    rows, _ = make_blobs(n_samples=6000, centers=4, n_features=5, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = GaussianMixture(4, max_iter=3, random_state=0).fit(rows)
    separated = MixtureParams(
        fit.weights_, fit.means_, fit.covariances_, fit.precisions_cholesky_, "full"
    )
    wide = 100.0 * np.cov(rows.T)
    cloud = MixtureParams(
        fit.weights_,
        np.repeat(rows.mean(0, keepdims=True), 4, axis=0),
        np.repeat(wide[None], 4, axis=0),
        np.repeat(np.linalg.cholesky(np.linalg.inv(wide))[None], 4, axis=0),
        "full",
    )
    source = DaskSource(da.from_array(rows, chunks=(777, 5)), None, 20)
    kept = KeptBlocks()
    for params in (separated, cloud, separated, cloud, separated):
        on_dask = source.stats(params)
        in_memory = dataset_stats(rows, None, params, 20, kept)
        for name in ("resp_sum", "centred_sum", "scatter"):
            np.testing.assert_array_equal(
                getattr(on_dask, name), getattr(in_memory, name)
            )
        assert on_dask.log_likelihood == in_memory.log_likelihood
    assert source.windows.grouped and kept.grouped
