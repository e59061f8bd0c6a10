"""The torch backend computes what the numpy backend computes, on tensors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gaussmix.backend import NUMPY_BACKEND, CholeskyError, get_backend  # noqa: E402
from gaussmix.core.estep import chunk_stats, responsibility_stats  # noqa: E402
from gaussmix.fit.chunks import dataset_stats, responsibilities_stats  # noqa: E402
from tests._devices import TORCH_DEVICES  # noqa: E402
from tests.core.test_stats import _params  # noqa: E402

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
# float64 on a GPU: the same operations, summed in another order
RTOL = {"cpu": 1e-12, "cuda": 1e-10}


pytestmark = pytest.mark.usefixtures("single_thread")


def _spd(rng, batch, n):
    a = rng.normal(size=(batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def test_dispatch_and_numpy_round_trip(rng):
    a = rng.normal(size=(3, 4))
    xp = get_backend(torch.as_tensor(a))
    assert xp.name == "torch"
    assert get_backend(a) is NUMPY_BACKEND
    t = xp.asarray(a, dtype=np.float32, like=torch.zeros(1))
    assert t.dtype == torch.float32
    np.testing.assert_array_equal(xp.to_numpy(xp.float64(t)), a.astype(np.float32))
    readonly = a.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(xp.to_numpy(xp.asarray(readonly)), a)


@pytest.mark.parametrize(
    ("operation", "make_args"),
    [
        ("logsumexp", lambda rng: (rng.normal(size=(5, 4)) * 300, 1)),
        ("cholesky", lambda rng: (_spd(rng, 3, 4),)),
        ("log", lambda rng: (rng.uniform(0.1, 3, size=7),)),
        ("exp", lambda rng: (rng.normal(size=7),)),
        ("sqrt", lambda rng: (rng.uniform(0.1, 3, size=7),)),
        ("matrix_transpose", lambda rng: (rng.normal(size=(2, 3, 4)),)),
        ("permute", lambda rng: (rng.normal(size=(2, 3, 4)), (1, 0, 2))),
        ("argmax", lambda rng: (rng.normal(size=(5, 4)), 1)),
        ("argmin", lambda rng: (rng.normal(size=(5, 4)), 0)),
        ("diagonal", lambda rng: (rng.normal(size=(2, 3, 3)),)),
    ],
)
@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_operations_match_numpy(operation, make_args, device, rng):
    args = make_args(rng)
    torch_args = [
        torch.as_tensor(a, device=device) if isinstance(a, np.ndarray) else a
        for a in args
    ]
    expected = getattr(NUMPY_BACKEND, operation)(*args)
    xp = get_backend(torch_args[0])
    ours = getattr(xp, operation)(*torch_args)
    assert ours.device.type == device
    np.testing.assert_allclose(xp.to_numpy(ours), expected, rtol=RTOL[device])


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("lower", [True, False])
def test_solve_triangular_matches_numpy(lower, device, rng):
    factor = np.linalg.cholesky(_spd(rng, 3, 4))
    if not lower:
        factor = np.swapaxes(factor, -1, -2)
    rhs = rng.normal(size=(4, 2))
    expected = NUMPY_BACKEND.solve_triangular(factor, rhs, lower=lower)
    xp = get_backend(torch.zeros(1))
    ours = xp.solve_triangular(
        torch.as_tensor(factor, device=device),
        torch.as_tensor(rhs, device=device),
        lower,
    )
    np.testing.assert_allclose(xp.to_numpy(ours), expected, rtol=RTOL[device])


def test_joining_and_selection(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    xp = get_backend(torch.zeros(1))
    ta, tb = torch.as_tensor(a), torch.as_tensor(b)
    np.testing.assert_array_equal(
        xp.concatenate([ta, tb], 0).numpy(), np.vstack([a, b])
    )
    np.testing.assert_array_equal(xp.stack([ta, ta], 0).numpy(), np.stack([a, a]))
    np.testing.assert_array_equal(
        xp.where(ta > 0, ta, np.inf).numpy(), np.where(a > 0, a, np.inf)
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_cholesky_of_indefinite_matrix_raises(device):
    xp = get_backend(torch.zeros(1))
    indefinite = torch.tensor(
        [[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64, device=device
    )
    with pytest.raises(CholeskyError):
        xp.cholesky(indefinite)


def test_chunks_are_larger_on_accelerators_only():
    xp = get_backend(torch.zeros(1))
    assert xp.chunk_elements(torch.zeros(1)) == NUMPY_BACKEND.chunk_elements(None)
    meta = torch.zeros(1, device="meta")
    assert xp.chunk_elements(meta) > NUMPY_BACKEND.chunk_elements(None)


def _assert_stats_equal(ours, expected, rtol):
    # responsibilities far below the dtype's resolution may be rounded to
    # zero on one side and kept on the other
    negligible = 1e-20 * expected.total_weight
    np.testing.assert_allclose(
        ours.resp_sum, expected.resp_sum, rtol=rtol, atol=negligible
    )
    np.testing.assert_allclose(
        ours.centred_sum, expected.centred_sum, rtol=rtol, atol=1e-9
    )
    np.testing.assert_allclose(ours.scatter, expected.scatter, rtol=rtol, atol=1e-9)
    assert ours.log_likelihood == pytest.approx(expected.log_likelihood, rel=rtol)
    assert ours.total_weight == pytest.approx(expected.total_weight, rel=rtol)
    assert ours.worst_log_density == pytest.approx(expected.worst_log_density, rel=rtol)
    np.testing.assert_array_equal(ours.worst_point, expected.worst_point)
    assert isinstance(ours.scatter, np.ndarray)


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunk_stats_on_tensors_equal_numpy(covariance_type, device, rng):
    params = _params(covariance_type, rng)
    X = rng.normal(size=(500, 3)) * 3
    w = rng.uniform(0.0, 2.0, size=500)
    w[:50] = 0.0
    X[:50] = 100.0  # far rows of zero weight must not be the worst point
    expected = chunk_stats(X, w, params, params.means)
    tX = torch.as_tensor(X, device=device)
    ours = chunk_stats(
        tX, torch.as_tensor(w, device=device), params.cast(tX), params.means
    )
    _assert_stats_equal(ours, expected, rtol=100 * RTOL[device])


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dataset_stats_float32_tensors_match_numpy_float32(
    covariance_type, device, rng
):
    params = _params(covariance_type, rng)
    X = (rng.normal(size=(2000, 3)) * 3 + 50.0).astype(np.float32)
    expected = dataset_stats(X, None, params, chunk_size=300)
    ours = dataset_stats(
        torch.as_tensor(X, device=device), None, params, chunk_size=300
    )
    _assert_stats_equal(ours, expected, rtol=1e-5)


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("scatter_kind", ["full", "diag", "pooled"])
def test_responsibilities_stats_with_host_resp_and_tensor_data(
    scatter_kind, device, rng
):
    X = rng.normal(size=(400, 4))
    resp = rng.dirichlet(np.ones(3), size=400)
    w = rng.uniform(0.5, 2.0, size=400)
    expected = responsibilities_stats(X, resp, w, scatter_kind, chunk_size=128)
    data = torch.as_tensor(X, device=device)
    ours = responsibilities_stats(data, resp, w, scatter_kind, 128)
    np.testing.assert_allclose(ours.scatter, expected.scatter, rtol=RTOL[device])
    # centred about their own means, these sums are rounding-level zeros
    np.testing.assert_allclose(
        ours.centred_sum, expected.centred_sum, rtol=RTOL[device], atol=1e-9
    )
    np.testing.assert_allclose(ours.shift, expected.shift, rtol=RTOL[device])


@pytest.mark.parametrize("budget", [None, 1000], ids=["all-at-once", "in-groups"])
@pytest.mark.parametrize("own_centres", [False, True])
@pytest.mark.parametrize("scatter_kind", ["full", "diag"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_accelerator_moments_equal_the_host_loop(
    dtype, scatter_kind, own_centres, budget, monkeypatch, rng
):
    # an accelerator forms the components' moments in batched operations,
    # as many components at a time as its chunk budget holds; on CPU tensors
    # flagged as an accelerator they must equal the host's loop
    X = torch.as_tensor(rng.normal(size=(500, 3)) * 3 + 20.0, dtype=dtype)
    resp = torch.as_tensor(rng.dirichlet(np.ones(4), size=500), dtype=dtype)
    shift = rng.normal(size=(4, 3)) * 3 + 20.0
    shift[3] += 1e4  # a component far away, as an outlier's

    def stats():
        return responsibility_stats(
            X, resp, None, shift, scatter_kind, own_centres=own_centres
        )

    expected = stats()
    backend = type(get_backend(X))
    monkeypatch.setattr(backend, "is_accelerator", lambda self, like: True)
    if budget is not None:
        # 1,000 numbers: 500 rows of 3 columns, one component at a time
        monkeypatch.setattr(backend, "chunk_elements", lambda self, like: budget)
    ours = stats()
    rtol = 1e-12 if dtype == torch.float64 else 1e-5
    for name in ("resp_sum", "centred_sum", "scatter", "shift"):
        np.testing.assert_allclose(
            getattr(ours, name), getattr(expected, name), rtol=rtol, err_msg=name
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_chunks_follow_the_device_memory_within_bounds():
    from gaussmix.backend._torch import (
        ACCELERATOR_CHUNK_ELEMENTS,
        MAX_ACCELERATOR_CHUNK_ELEMENTS,
    )

    gpu = torch.zeros(1, device="cuda")
    elements = get_backend(gpu).chunk_elements(gpu)
    assert ACCELERATOR_CHUNK_ELEMENTS <= elements <= MAX_ACCELERATOR_CHUNK_ELEMENTS
    assert elements & (elements - 1) == 0  # a power of two, the same every run
