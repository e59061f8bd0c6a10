"""DAGMM's energy: scipy's mixture density, an M-step, and its gradient."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

torch = pytest.importorskip("torch")

from gaussmix.deep import mixture_statistics, sample_energy  # noqa: E402
from tests._devices import TORCH_DEVICES, host  # noqa: E402

# float64 sums over the rows in another order on a GPU: a mean that nearly
# cancels keeps only an absolute accuracy of a few ulps of the rows' scale
CUDA_MOMENT_TOLERANCE = {"rtol": 1e-10, "atol": 1e-13}


def _memberships(n_rows: int, n_components: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n_rows, n_components, generator=generator, dtype=torch.float64)
    return torch.softmax(logits, -1)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_statistics_are_weighted_means_and_covariances(device):
    rng = np.random.RandomState(0)
    z = rng.normal(size=(40, 3))
    membership = _memberships(40, 2, 0)
    weights, means, covariances = mixture_statistics(
        torch.as_tensor(z, device=device), membership.to(device)
    )
    assert means.device.type == covariances.device.type == device
    resp = membership.numpy()
    on_cpu = device == "cpu"
    mean_tolerance = {"rtol": 1e-12} if on_cpu else CUDA_MOMENT_TOLERANCE
    covariance_tolerance = {"rtol": 1e-10} if on_cpu else CUDA_MOMENT_TOLERANCE
    np.testing.assert_allclose(host(weights), resp.mean(0), **mean_tolerance)
    for k in range(2):
        np.testing.assert_allclose(
            host(means[k]),
            np.average(z, axis=0, weights=resp[:, k]),
            **mean_tolerance,
        )
        expected = np.cov(z.T, aweights=resp[:, k], bias=True)
        np.testing.assert_allclose(
            host(covariances[k]), expected, **covariance_tolerance
        )


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_energy_is_minus_log_scipy_mixture_density(device):
    rng = np.random.RandomState(1)
    z = rng.normal(size=(30, 3))
    rows = torch.as_tensor(z, device=device)
    weights, means, covariances = mixture_statistics(
        rows, _memberships(30, 3, 1).to(device)
    )
    jitter = 1e-3
    energy = sample_energy(rows, weights, means, covariances, jitter)
    assert energy.device == rows.device
    log_densities = np.stack(
        [
            np.log(weights[k].item())
            + multivariate_normal(
                host(means[k]), host(covariances[k]) + jitter * np.eye(3)
            ).logpdf(z)
            for k in range(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(host(energy), -logsumexp(log_densities, axis=1))


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_energy_of_a_collapsed_component_stays_finite(device):
    z = torch.zeros(10, 2, dtype=torch.float64, device=device)
    membership = torch.full((10, 2), 0.5, dtype=torch.float64, device=device)
    weights, means, covariances = mixture_statistics(z, membership)
    energy = sample_energy(z, weights, means, covariances, 1e-6)
    assert torch.all(torch.isfinite(energy))


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_energy_gradient_matches_finite_differences(device):
    # drawn on the CPU, so that every device checks the same point
    generator = torch.Generator().manual_seed(2)
    z = torch.randn(12, 2, generator=generator, dtype=torch.float64).to(device)
    logits = torch.randn(12, 2, generator=generator, dtype=torch.float64).to(device)
    z.requires_grad_(True)
    logits.requires_grad_(True)

    def mean_energy(z, logits):
        statistics = mixture_statistics(z, torch.softmax(logits, -1))
        return sample_energy(z, *statistics, 1e-3).mean()

    assert torch.autograd.gradcheck(mean_energy, (z, logits))
    # the gradient reaches the memberships: nothing is detached on the way
    mean_energy(z, logits).backward()
    assert logits.grad.abs().sum() > 0
