"""Mixture log-densities against closed forms, gradcheck and sampling moments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

torch = pytest.importorskip("torch")

from gaussmix.nn import functional as F  # noqa: E402
from tests._devices import HAS_CUDA, TORCH_DEVICES, host  # noqa: E402

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _exact_rtol(device, on_cpu):
    """``on_cpu``, or 1e-10 on a GPU: its float64 solves and sums round in
    another order (a few ulps, amplified by the Mahalanobis terms)."""
    return on_cpu if device == "cpu" else max(on_cpu, 1e-10)


def _on(device, *tensors):
    """The tensors, drawn on the CPU, moved to ``device``."""
    return [t.to(device) for t in tensors]


def _random_mixture(covariance_type, n_components=3, n_features=2, seed=0):
    """Random parameters in the functional layout, and full covariances."""
    gen = torch.Generator().manual_seed(seed)
    k, d = n_components, n_features

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    logits = randn(k)
    means = randn(k, d)
    if covariance_type in ("full", "tied"):
        n_factors = k if covariance_type == "full" else 1
        raw = randn(n_factors, d, d) * 0.3
        scale = torch.tril(raw, -1) + torch.diag_embed(
            0.5 + torch.rand(n_factors, d, generator=gen, dtype=torch.float64)
        )
        covariances = (scale @ scale.mT).expand(k, d, d)
    else:
        width = d if covariance_type == "diag" else 1
        scale = 0.5 + torch.rand(k, width, generator=gen, dtype=torch.float64)
        covariances = torch.diag_embed(scale.expand(k, d) ** 2)
    return logits, means, scale, covariances


def _log_prob(covariance_type, x, logits, means, scale):
    if covariance_type in ("full", "tied"):
        return F.mixture_log_prob(x, logits, means, scale)
    return F.diagonal_mixture_log_prob(x, logits, means, scale)


def _scipy_log_prob(x, logits, means, covariances):
    log_weights = logits.numpy() - logsumexp(logits.numpy())
    per_component = np.stack(
        [
            multivariate_normal(m, c).logpdf(x.numpy())
            for m, c in zip(means.numpy(), covariances.numpy(), strict=True)
        ],
        axis=-1,
    )
    return logsumexp(per_component + log_weights, axis=-1)


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_prob_equals_scipy(covariance_type, device):
    logits, means, scale, covariances = _random_mixture(covariance_type, 4, 3)
    x = torch.randn(
        50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    ours = _log_prob(covariance_type, *_on(device, x, logits, means, scale))
    assert ours.shape == (50,) and ours.device.type == device
    np.testing.assert_allclose(
        host(ours),
        _scipy_log_prob(x, logits, means, covariances),
        rtol=_exact_rtol(device, 1e-12),
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gradcheck(covariance_type, device):
    logits, means, scale, _ = _random_mixture(covariance_type, 3, 2)
    x = torch.randn(
        5, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64
    )
    inputs = [
        t.clone().requires_grad_(True) for t in _on(device, x, logits, means, scale)
    ]

    def function(x, logits, means, scale):
        return _log_prob(covariance_type, x, logits, means, scale)

    assert torch.autograd.gradcheck(function, inputs)
    assert torch.autograd.gradgradcheck(function, inputs)


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_per_row_parameters_equal_one_row_at_a_time(covariance_type, device):
    n_rows = 6
    rows = [
        _on(device, *_random_mixture(covariance_type, 2, 3, seed=s))
        for s in range(n_rows)
    ]
    x = torch.randn(
        n_rows, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    ).to(device)
    batched = _log_prob(
        covariance_type,
        x,
        torch.stack([r[0] for r in rows]),
        torch.stack([r[1] for r in rows]),
        torch.stack([r[2] for r in rows]),
    )
    one_by_one = torch.stack(
        [_log_prob(covariance_type, x[i], *rows[i][:3]) for i in range(n_rows)]
    )
    # on a GPU a batch of solves may take another kernel than a single one
    torch.testing.assert_close(
        batched, one_by_one, rtol=_exact_rtol(device, 1e-13), atol=0.0
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_far_points_stay_finite_and_exact(device):
    """Points hundreds of standard deviations away: no underflow to -inf."""
    logits, means, scale, covariances = _random_mixture("full", 3, 2)
    x = torch.tensor([[300.0, -250.0], [1e3, 1e3]], dtype=torch.float64)
    reference = _scipy_log_prob(x, logits, means, covariances)
    x = x.to(device).requires_grad_(True)
    ours = F.mixture_log_prob(x, *_on(device, logits, means, scale))
    assert torch.isfinite(ours).all()
    np.testing.assert_allclose(host(ours), reference, rtol=_exact_rtol(device, 1e-12))
    (grad,) = torch.autograd.grad(ours.sum(), x)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_extreme_logits_do_not_overflow(device):
    logits, means, scale, _ = _random_mixture("diag", 3, 2)
    logits, means, scale = _on(device, logits, means, scale)
    shifted = logits + 1e4
    x = torch.randn(4, 2, dtype=torch.float64).to(device)
    torch.testing.assert_close(
        F.diagonal_mixture_log_prob(x, shifted, means, scale),
        F.diagonal_mixture_log_prob(x, logits, means, scale),
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_log_responsibilities_sum_to_one_and_match_bayes(device):
    logits, means, scale, _ = _random_mixture("full", 3, 2)
    logits, means, scale = _on(device, logits, means, scale)
    x = torch.randn(10, 2, dtype=torch.float64).to(device)
    component = F.gaussian_log_prob(x, means, scale)
    log_resp = F.log_responsibilities(logits, component)
    torch.testing.assert_close(
        log_resp.exp().sum(-1), torch.ones(10, dtype=torch.float64, device=device)
    )
    joint = torch.softmax(logits, -1) * component.exp()
    torch.testing.assert_close(log_resp.exp(), joint / joint.sum(-1, keepdim=True))


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_moments_match_the_mixture(covariance_type, device):
    mixture = _random_mixture(covariance_type, 3, 2)
    logits, means, scale, covariances = _on(device, *mixture)
    n = 200_000
    gen = torch.Generator(device=device).manual_seed(5)
    batch_logits = logits.expand(n, 3)
    batch_means = means.expand(n, 3, 2)
    if covariance_type in ("full", "tied"):
        draws = F.sample_mixture(batch_logits, batch_means, scale, gen)
    else:
        draws = F.sample_diagonal_mixture(batch_logits, batch_means, scale, gen)
    weights = torch.softmax(logits, -1)
    mean = weights @ means
    centred = means - mean
    covariance = (
        weights[:, None, None]
        * (covariances + centred[:, :, None] * centred[:, None, :])
    ).sum(0)
    assert draws.shape == (n, 2) and draws.device.type == device
    torch.testing.assert_close(draws.mean(0), mean, atol=0.02, rtol=0.0)
    torch.testing.assert_close(torch.cov(draws.T), covariance, atol=0.05, rtol=0.02)


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_a_generator_on_another_device_is_named_with_the_fix():
    logits = torch.zeros(2, device="cuda")
    means = torch.zeros(2, 3, device="cuda")
    scale = torch.ones(2, 1, device="cuda")
    with pytest.raises(ValueError, match=r"torch.Generator\(device='cuda:0'\)"):
        F.sample_diagonal_mixture(logits, means, scale, torch.Generator())
