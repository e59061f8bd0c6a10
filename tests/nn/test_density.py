"""GaussianMixtureDensity: the estimator's density, in both directions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

torch = pytest.importorskip("torch")

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix.nn import GaussianMixtureDensity  # noqa: E402
from tests._devices import TORCH_DEVICES, host  # noqa: E402
from tests.conftest import DATASETS  # noqa: E402

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _fitted(covariance_type, name="iris", n_components=3):
    return GaussianMixture(
        n_components, covariance_type=covariance_type, random_state=0
    ).fit(DATASETS[name])


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_from_estimator_log_prob_equals_score_samples(covariance_type, device):
    X = DATASETS["iris"]
    gmm = _fitted(covariance_type)
    module = GaussianMixtureDensity.from_estimator(gmm, device=device)
    assert module.means.device.type == device
    rows = torch.as_tensor(X, device=device)
    ours = host(module.log_prob(rows))
    np.testing.assert_allclose(ours, gmm.score_samples(X), rtol=1e-10, atol=0.0)
    resp = host(module.log_responsibilities(rows).exp())
    np.testing.assert_allclose(resp, gmm.predict_proba(X), atol=1e-10)


def test_from_sklearn_estimator():
    X = DATASETS["wine"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnGaussianMixture(3, covariance_type="full", random_state=0).fit(
            X
        )
    module = GaussianMixtureDensity.from_estimator(theirs)
    np.testing.assert_allclose(
        module(torch.as_tensor(X)).detach().numpy(), theirs.score_samples(X), rtol=1e-10
    )


def test_from_estimator_refuses_a_noise_component():
    X = DATASETS["iris"]
    gmm = GaussianMixture(2, noise=True, random_state=0).fit(X)
    assert gmm.noise_proportion_ > 0
    with pytest.raises(ValueError, match=r"noise=True.*score_samples"):
        GaussianMixtureDensity.from_estimator(gmm)
    # refitted without the noise, the same estimator converts exactly
    gmm.set_params(noise=False).fit(X)
    module = GaussianMixtureDensity.from_estimator(gmm)
    np.testing.assert_allclose(
        host(module.log_prob(torch.as_tensor(X))), gmm.score_samples(X), rtol=1e-10
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_to_estimator_round_trip(covariance_type, device):
    torch.manual_seed(0)
    module = GaussianMixtureDensity(3, 4, covariance_type, dtype=torch.float64)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    module = module.to(device)  # drawn on the CPU: the same mixture on any device
    X = np.random.RandomState(0).normal(size=(20, 4))
    estimator = module.to_estimator()
    assert estimator.covariance_type == covariance_type
    np.testing.assert_allclose(
        estimator.score_samples(X),
        host(module.log_prob(torch.as_tensor(X, device=device))),
        rtol=1e-10,
    )
    again = GaussianMixtureDensity.from_estimator(estimator, device=device)
    torch.testing.assert_close(again.weights, module.weights, rtol=1e-10, atol=0.0)
    torch.testing.assert_close(again.means, module.means, rtol=1e-12, atol=0.0)
    torch.testing.assert_close(
        again.covariances, module.covariances, rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_any_raw_parameters_give_a_valid_density(covariance_type):
    torch.manual_seed(1)
    module = GaussianMixtureDensity(2, 3, covariance_type, dtype=torch.float64)
    with torch.no_grad():
        module.raw_scale.copy_(3.0 * torch.randn_like(module.raw_scale))
    expected_shape = {
        "full": (2, 3, 3),
        "tied": (3, 3),
        "diag": (2, 3),
        "spherical": (2,),
    }[covariance_type]
    covariances = module.covariances
    assert covariances.shape == expected_shape
    full = module.to_estimator().covariances_
    if covariance_type in ("full", "tied"):
        assert np.all(np.linalg.eigvalsh(full) > 0)
    else:
        assert np.all(full > 0)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_gradient_ascent_reaches_the_em_optimum(device):
    """Adam from a perturbed EM solution climbs back to EM's log-likelihood."""
    X = DATASETS["blobs"]
    gmm = GaussianMixture(4, covariance_type="full", tol=1e-10, random_state=0).fit(X)
    module = GaussianMixtureDensity.from_estimator(gmm, device=device)
    with torch.no_grad():
        module.means.add_(0.3)
        module.raw_scale.mul_(0.7)
    data = torch.as_tensor(X, device=device)
    start = module.log_prob(data).mean().item()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        loss = -module.log_prob(data).mean()
        loss.backward()
        optimizer.step()
    final = module.log_prob(data).mean().item()
    assert start < gmm.score(X) - 0.1
    assert final == pytest.approx(gmm.score(X), abs=1e-3)


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_shape_and_moments(covariance_type, device):
    gmm = _fitted(covariance_type, "blobs", 4)
    module = GaussianMixtureDensity.from_estimator(gmm, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    draws = module.sample(100_000, generator=generator).detach()
    assert draws.shape == (100_000, 3) and draws.device.type == device
    reference, _ = gmm.sample(100_000)
    np.testing.assert_allclose(host(draws.mean(0)), reference.mean(0), atol=0.1)
    np.testing.assert_allclose(host(draws.std(0)), reference.std(0), rtol=0.02)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_float32_module_and_device_arguments(device):
    gmm = _fitted("diag")
    module = GaussianMixtureDensity.from_estimator(
        gmm, dtype=torch.float32, device=device
    )
    assert module.means.dtype == torch.float32
    assert all(p.device.type == device for p in module.parameters())
    rows = torch.as_tensor(DATASETS["iris"], dtype=torch.float32, device=device)
    values = module.log_prob(rows)
    assert values.device.type == device
    np.testing.assert_allclose(
        host(values), gmm.score_samples(DATASETS["iris"]), rtol=1e-4
    )
    assert module.to_estimator().means_.dtype == np.float32


def test_bad_input_is_reported():
    module = GaussianMixtureDensity(2, 3)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        module.log_prob(torch.zeros(4, 2))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        module.log_prob(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixtureDensity(2, 3, "banana")
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixtureDensity(0, 3)
    with pytest.raises(ValueError, match="fit"):
        GaussianMixtureDensity.from_estimator(GaussianMixture(2))
    with pytest.raises(AttributeError, match="scale_tril"):
        _ = module.scale


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scale_exists_only_where_the_covariances_have_one(covariance_type):
    # hasattr and getattr with a default see an AttributeError only
    module = GaussianMixtureDensity(2, 3, covariance_type)
    has_scale = covariance_type in ("diag", "spherical")
    assert hasattr(module, "scale") == has_scale
    assert (getattr(module, "scale", None) is not None) == has_scale
    assert hasattr(module, "scale_tril")


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(
    ("module_dtype", "input_dtype", "expected"),
    [
        (torch.float32, torch.float64, torch.float64),
        (torch.float64, torch.float32, torch.float64),
        (torch.float32, torch.float32, torch.float32),
    ],
)
def test_densities_take_torch_promoted_dtype(
    covariance_type, module_dtype, input_dtype, expected, device
):
    torch.manual_seed(0)
    module = GaussianMixtureDensity(2, 3, covariance_type, dtype=module_dtype)
    x = torch.randn(5, 3, dtype=input_dtype)
    module, x = module.to(device), x.to(device)  # the same values on any device
    for values in (
        module.log_prob(x),
        module.component_log_prob(x),
        module.log_responsibilities(x),
    ):
        assert values.dtype == expected
    # float64 rows are not rounded to float32 on the way (that would cost
    # ~1e-7): the answer is the float64 module's, up to the float32 log
    # weights (log_softmax of the float32 logits, ~1e-9)
    exact = GaussianMixtureDensity(
        2, 3, covariance_type, dtype=torch.float64, device=device
    )
    exact.load_state_dict({k: v.double() for k, v in module.state_dict().items()})
    torch.testing.assert_close(
        module.log_prob(x.double()), exact.log_prob(x.double()), rtol=1e-8, atol=0
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch without CUDA")
def test_an_unavailable_device_is_named():
    with pytest.raises(ValueError, match="device='cuda' is not available"):
        GaussianMixtureDensity(2, 3, device="cuda")


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_an_infinite_row_has_density_zero_and_spoils_no_gradient(covariance_type):
    density = GaussianMixtureDensity(3, 2, covariance_type, dtype=torch.float64)
    rows = torch.tensor(
        [[0.5, -1.0], [float("inf"), 0.0], [0.0, float("-inf")]], dtype=torch.float64
    )
    values = density.log_prob(rows)
    assert values[0].isfinite()
    assert values[1] == values[2] == float("-inf")
    # a missing value is no density at all
    assert density.log_prob(torch.tensor([[float("nan"), 0.0]])).isnan().all()
    # the finite row's loss, computed in a batch with the infinite ones
    density.log_prob(rows)[0].backward()
    for parameter in density.parameters():
        assert torch.isfinite(parameter.grad).all()
    alone = GaussianMixtureDensity(3, 2, covariance_type, dtype=torch.float64)
    alone.load_state_dict(density.state_dict())
    alone.log_prob(rows[:1])[0].backward()
    for ours, theirs in zip(density.parameters(), alone.parameters(), strict=True):
        torch.testing.assert_close(ours.grad, theirs.grad)
