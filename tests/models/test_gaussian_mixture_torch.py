"""GaussianMixture on torch tensors: the numpy fit, computed by torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

torch = pytest.importorskip("torch")

from gaussmix import BayesianGaussianMixture, GaussianMixture  # noqa: E402
from tests._devices import TORCH_DEVICES, host  # noqa: E402
from tests.conftest import DATASETS  # noqa: E402

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
N_COMPONENTS = {"iris": 3, "wine": 3, "digits_pca10": 10, "blobs": 4}


pytestmark = pytest.mark.usefixtures("single_thread")


# a GPU sums in another order than the CPU: its float64 fits agree with the
# numpy fits to rounding compounded over the iterations, not to the last bits
RTOL = {"cpu": 1e-10, "cuda": 1e-7}


def _assert_same_fit(ours, expected, rtol=1e-10):
    assert ours.n_iter_ == expected.n_iter_
    assert ours.converged_ == expected.converged_
    assert ours.lower_bound_ == pytest.approx(expected.lower_bound_, rel=rtol)
    np.testing.assert_allclose(ours.lower_bounds_, expected.lower_bounds_, rtol=rtol)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(
            host(getattr(ours, name)),
            getattr(expected, name),
            rtol=1e3 * rtol,
            atol=1e-9,
            err_msg=name,
        )


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_tensor_fit_equals_numpy_fit(name, covariance_type, device):
    X = DATASETS[name]
    settings = dict(
        covariance_type=covariance_type, tol=1e-6, max_iter=200, random_state=0
    )
    k = N_COMPONENTS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = GaussianMixture(k, **settings).fit(X)
        ours = GaussianMixture(k, **settings).fit(torch.as_tensor(X, device=device))
    _assert_same_fit(ours, expected, RTOL[device])
    for name in (
        "weights_",
        "means_",
        "covariances_",
        "precisions_",
        "precisions_cholesky_",
    ):
        value = getattr(ours, name)
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float64
        assert value.device.type == device
    data = torch.as_tensor(X, device=device)
    np.testing.assert_allclose(
        host(ours.score_samples(data)), expected.score_samples(X), rtol=RTOL[device]
    )
    np.testing.assert_array_equal(host(ours.predict(data)), expected.predict(X))


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_user_given_start_on_tensors(covariance_type, device):
    X = DATASETS["digits_pca10"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = GaussianMixture(
            5, covariance_type=covariance_type, max_iter=2, random_state=0
        ).fit(X)
    settings = dict(
        covariance_type=covariance_type,
        tol=1e-6,
        weights_init=start.weights_,
        means_init=start.means_,
        precisions_init=start.precisions_,
    )
    expected = GaussianMixture(5, **settings).fit(X)
    ours = GaussianMixture(5, **settings).fit(torch.as_tensor(X, device=device))
    _assert_same_fit(ours, expected, RTOL[device])


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_weight_chunks_and_random_init_on_tensors(covariance_type, device, rng):
    X = DATASETS["wine"]
    w = rng.uniform(0.0, 3.0, size=len(X))
    settings = dict(
        covariance_type=covariance_type,
        init_params="random",
        chunk_size=37,
        tol=1e-8,
        random_state=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = GaussianMixture(3, **settings).fit(X, sample_weight=w)
        ours = GaussianMixture(3, **settings).fit(
            torch.as_tensor(X, device=device),
            sample_weight=torch.as_tensor(w, device=device),
        )
    _assert_same_fit(ours, expected, RTOL[device])
    score = ours.score(torch.as_tensor(X, device=device), sample_weight=w)
    assert score == pytest.approx(expected.score(X, sample_weight=w), rel=RTOL[device])


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_warm_start_continues_on_tensors(device):
    X = DATASETS["digits_pca10"]
    settings = dict(warm_start=True, max_iter=3, tol=0.0, random_state=0)
    expected = GaussianMixture(5, **settings)
    ours = GaussianMixture(5, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            expected.fit(X)
            ours.fit(torch.as_tensor(X, device=device))
            _assert_same_fit(ours, expected, RTOL[device])


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_tensors_stay_float32(covariance_type, device):
    X = DATASETS["blobs"].astype(np.float32)
    expected = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(
        X
    )
    data = torch.as_tensor(X, device=device)
    ours = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(data)
    assert ours.means_.dtype == torch.float32
    assert ours.means_.device.type == device
    assert ours.score_samples(data).dtype == torch.float32
    assert ours.n_iter_ == expected.n_iter_
    assert ours.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-5)
    np.testing.assert_allclose(host(ours.means_), expected.means_, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_device_parameter_computes_with_torch_and_returns_numpy(device):
    X = DATASETS["iris"]
    expected = GaussianMixture(3, random_state=0, tol=1e-8).fit(X)
    ours = GaussianMixture(3, random_state=0, tol=1e-8, device=device).fit(X)
    assert ours.device == device
    _assert_same_fit(ours, expected, RTOL[device])
    assert isinstance(ours.means_, np.ndarray)
    for method in ("score_samples", "predict_proba", "predict"):
        value = getattr(ours, method)(X)
        assert isinstance(value, np.ndarray)
        np.testing.assert_allclose(
            value, getattr(expected, method)(X), rtol=RTOL[device]
        )


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_tensor_fitted_model_scores_numpy_and_samples_tensors(device):
    X = DATASETS["iris"]
    model = GaussianMixture(3, random_state=0).fit(torch.as_tensor(X, device=device))
    reference = GaussianMixture(3, random_state=0).fit(X)
    np.testing.assert_allclose(
        model.score_samples(X), reference.score_samples(X), rtol=RTOL[device]
    )
    draws, labels = model.sample(10)
    assert isinstance(draws, torch.Tensor) and draws.shape == (10, 4)
    assert draws.device.type == device
    assert isinstance(labels, torch.Tensor)
    bic = model.bic(torch.as_tensor(X, device=device))
    assert bic == pytest.approx(reference.bic(X), rel=RTOL[device])


def test_integer_tensor_is_converted_like_numpy():
    X = np.random.RandomState(0).randint(0, 20, size=(200, 2))
    ours = GaussianMixture(2, random_state=0).fit(torch.as_tensor(X))
    expected = GaussianMixture(2, random_state=0).fit(X)
    assert ours.means_.dtype == torch.float64
    assert ours.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-10)


def test_bad_tensor_input_is_reported():
    model = GaussianMixture(2)
    with pytest.raises(ValueError, match="2-D"):
        model.fit(torch.zeros(10))
    bad = torch.randn(10, 2, dtype=torch.float64)
    bad[3, 1] = float("inf")  # NaN marks a missing value
    with pytest.raises(ValueError, match="infinity"):
        model.fit(bad)
    bad[3] = float("nan")
    with pytest.raises(ValueError, match="every value missing"):
        model.fit(bad)
    with pytest.raises(ValueError, match="minimum of 2"):
        model.fit(torch.zeros(1, 2))
    model.fit(torch.randn(20, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="expecting 2 features"):
        model.predict(torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="sample_weight"):
        GaussianMixture(2).fit(torch.randn(20, 2), sample_weight=-torch.ones(20))
    with pytest.raises(ValueError, match="torch device"):
        GaussianMixture(2, device="toaster").fit(np.zeros((5, 2)))
    with pytest.raises(TypeError, match="device must be"):
        GaussianMixture(2, device=3).fit(np.zeros((5, 2)))


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_degenerate_tensor_data_gives_finite_fit(device):
    X = torch.zeros(50, 3, dtype=torch.float64, device=device)
    X[25:, 0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixture(3, random_state=0).fit(X)
    assert np.isfinite(model.lower_bound_)
    assert torch.isfinite(model.score_samples(X)).all()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_on_a_torch_without_it_says_what_is_missing_and_the_fix(device):
    with pytest.raises(ValueError, match="not available") as caught:
        GaussianMixture(2, device=device).fit(np.zeros((5, 2)))
    message = str(caught.value)
    assert "device='cpu'" in message
    assert "CUDA" in message


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_missing_gpu_index_names_the_devices_there_are():
    index = torch.cuda.device_count()
    with pytest.raises(ValueError, match=f"torch sees {index} CUDA"):
        GaussianMixture(2, device=f"cuda:{index}").fit(np.zeros((5, 2)))


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_missing_values_in_tensors_give_the_numpy_fit(device):
    X = DATASETS["blobs"].copy()
    holes = np.random.RandomState(0).uniform(size=X.shape) < 0.2
    holes[holes.all(axis=1), 0] = False
    X[holes] = np.nan
    expected = GaussianMixture(4, random_state=0, chunk_size=200).fit(X)
    rows = torch.as_tensor(X, device=device)
    ours = GaussianMixture(4, random_state=0, chunk_size=200).fit(rows)
    _assert_same_fit(ours, expected, 1e3 * RTOL[device])
    scores = ours.score_samples(rows)
    assert scores.device.type == device
    np.testing.assert_allclose(
        host(scores), expected.score_samples(X), rtol=1e3 * RTOL[device]
    )
    filled = ours.impute(rows)
    assert filled.device.type == device
    np.testing.assert_allclose(
        host(filled), expected.impute(X), rtol=1e3 * RTOL[device], atol=1e-9
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_noise_component_and_variational_fits_on_tensors(device):
    X = DATASETS["wine"]
    rows = torch.as_tensor(X, device=device)
    for settings in ({"noise": True}, {"covariance_type": "VVE"}):
        expected = GaussianMixture(3, random_state=0, **settings).fit(X)
        ours = GaussianMixture(3, random_state=0, **settings).fit(rows)
        _assert_same_fit(ours, expected, 1e3 * RTOL[device])
        labels = ours.predict(rows)
        np.testing.assert_array_equal(host(labels), expected.predict(X))
    expected = BayesianGaussianMixture(4, random_state=0).fit(X)
    ours = BayesianGaussianMixture(4, random_state=0).fit(rows)
    assert ours.means_.device.type == device
    assert ours.n_iter_ == expected.n_iter_
    np.testing.assert_allclose(
        host(ours.weights_), expected.weights_, rtol=1e3 * RTOL[device], atol=1e-12
    )
    np.testing.assert_allclose(
        host(ours.means_), expected.means_, rtol=1e3 * RTOL[device], atol=1e-9
    )
