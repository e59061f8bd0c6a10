"""DAGMM's energy: scipy's mixture density, an M-step, and its gradient."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

torch = pytest.importorskip("torch")

from gaussmix.deep import mixture_statistics, sample_energy  # noqa: E402


def _memberships(n_rows: int, n_components: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n_rows, n_components, generator=generator, dtype=torch.float64)
    return torch.softmax(logits, -1)


def test_statistics_are_weighted_means_and_covariances():
    rng = np.random.RandomState(0)
    z = rng.normal(size=(40, 3))
    membership = _memberships(40, 2, 0)
    weights, means, covariances = mixture_statistics(torch.as_tensor(z), membership)
    resp = membership.numpy()
    np.testing.assert_allclose(weights.numpy(), resp.mean(0), rtol=1e-12)
    for k in range(2):
        np.testing.assert_allclose(
            means[k].numpy(), np.average(z, axis=0, weights=resp[:, k]), rtol=1e-12
        )
        expected = np.cov(z.T, aweights=resp[:, k], bias=True)
        np.testing.assert_allclose(covariances[k].numpy(), expected, rtol=1e-10)


def test_energy_is_minus_log_scipy_mixture_density():
    rng = np.random.RandomState(1)
    z = rng.normal(size=(30, 3))
    weights, means, covariances = mixture_statistics(
        torch.as_tensor(z), _memberships(30, 3, 1)
    )
    jitter = 1e-3
    energy = sample_energy(torch.as_tensor(z), weights, means, covariances, jitter)
    log_densities = np.stack(
        [
            np.log(weights[k].item())
            + multivariate_normal(
                means[k].numpy(), covariances[k].numpy() + jitter * np.eye(3)
            ).logpdf(z)
            for k in range(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(energy.numpy(), -logsumexp(log_densities, axis=1))


def test_energy_of_a_collapsed_component_stays_finite():
    z = torch.zeros(10, 2, dtype=torch.float64)
    membership = torch.full((10, 2), 0.5, dtype=torch.float64)
    weights, means, covariances = mixture_statistics(z, membership)
    energy = sample_energy(z, weights, means, covariances, 1e-6)
    assert torch.all(torch.isfinite(energy))


def test_energy_gradient_matches_finite_differences():
    generator = torch.Generator().manual_seed(2)
    z = torch.randn(12, 2, generator=generator, dtype=torch.float64)
    logits = torch.randn(12, 2, generator=generator, dtype=torch.float64)
    z.requires_grad_(True)
    logits.requires_grad_(True)

    def mean_energy(z, logits):
        statistics = mixture_statistics(z, torch.softmax(logits, -1))
        return sample_energy(z, *statistics, 1e-3).mean()

    assert torch.autograd.gradcheck(mean_energy, (z, logits))
    # the gradient reaches the memberships: nothing is detached on the way
    mean_energy(z, logits).backward()
    assert logits.grad.abs().sum() > 0
