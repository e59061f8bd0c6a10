"""MixtureDensityHead and the per-row mixtures it predicts."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from gaussmix.nn import ConditionalMixtureDensity, MixtureDensityHead  # noqa: E402
from tests._devices import TORCH_DEVICES  # noqa: E402

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _head_output(
    covariance_type, n_rows=6, in_features=5, out_features=3, k=4, device="cpu"
):
    """A head, its features and their mixtures on ``device``; the weights and
    features are drawn on the CPU, so they are the same on every device."""
    torch.manual_seed(0)
    head = MixtureDensityHead(in_features, out_features, k, covariance_type).double()
    features = torch.randn(n_rows, in_features, dtype=torch.float64)
    head, features = head.to(device), features.to(device)
    return head, features, head(features)


def _randn(*shape, device):
    """Standard normal draws from torch's global (CPU) generator, on ``device``."""
    return torch.randn(*shape, dtype=torch.float64).to(device)


def _reference(mixture):
    """The same mixtures as torch.distributions objects."""
    d = torch.distributions
    return d.MixtureSameFamily(
        d.Categorical(logits=mixture.logits),
        d.MultivariateNormal(mixture.means, covariance_matrix=mixture.covariances),
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_prob_mean_and_variance_match_torch_distributions(covariance_type, device):
    _, _, mixture = _head_output(covariance_type, device=device)
    assert mixture.means.device.type == device
    y = _randn(6, 3, device=device)
    reference = _reference(mixture)
    torch.testing.assert_close(mixture.log_prob(y), reference.log_prob(y))
    torch.testing.assert_close(mixture.mean(), reference.mean)
    torch.testing.assert_close(
        torch.diagonal(mixture.covariance(), dim1=-2, dim2=-1), reference.variance
    )
    assert mixture.nll(y).item() == pytest.approx(-reference.log_prob(y).mean().item())


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_covariance_structure_of_each_type(covariance_type, device):
    _, _, mixture = _head_output(covariance_type, device=device)
    covariances = mixture.covariances
    assert covariances.shape == (6, 4, 3, 3)
    assert torch.linalg.eigvalsh(covariances).min() > 0
    off_diagonal = covariances - torch.diag_embed(
        torch.diagonal(covariances, dim1=-2, dim2=-1)
    )
    if covariance_type in ("diag", "spherical"):
        assert off_diagonal.abs().max() == 0
    if covariance_type == "tied":
        torch.testing.assert_close(
            covariances, covariances[:, :1].expand_as(covariances)
        )
    if covariance_type == "spherical":
        variances = torch.diagonal(covariances, dim1=-2, dim2=-1)
        torch.testing.assert_close(variances, variances[..., :1].expand_as(variances))


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_mode_is_the_highest_point_on_a_grid(covariance_type, device):
    torch.manual_seed(3)
    head = MixtureDensityHead(4, 2, 3, covariance_type).double().to(device)
    mixture = head(_randn(3, 4, device=device) * 2)
    mode = mixture.mode()
    assert mode.device.type == device
    # the grid's ends as plain numbers, as on the CPU
    lows = (mixture.means.min(1).values - 3).tolist()
    highs = (mixture.means.max(1).values + 3).tolist()
    for row in range(3):
        axes = [
            torch.linspace(lows[row][j], highs[row][j], 301, device=device)
            for j in range(2)
        ]
        grid = torch.cartesian_prod(*axes).double()
        row_mixture = mixture[[row] * len(grid)]
        best_on_grid = row_mixture.log_prob(grid).max()
        at_mode = mixture[[row]].log_prob(mode[[row]])
        assert at_mode >= best_on_grid - 1e-9


def test_mode_of_a_one_dimensional_mixture_solves_the_stationarity_equation():
    logits = torch.tensor([[0.3, 0.0]], dtype=torch.float64)
    means = torch.tensor([[[-1.0], [2.0]]], dtype=torch.float64)
    scale = torch.tensor([[[0.7], [1.1]]], dtype=torch.float64)
    mixture = ConditionalMixtureDensity(logits, means, scale=scale)
    mode = mixture.mode(n_steps=200).requires_grad_(True)
    (gradient,) = torch.autograd.grad(mixture.log_prob(mode).sum(), mode)
    assert abs(gradient.item()) < 1e-8
    grid = torch.linspace(-4, 5, 90001, dtype=torch.float64)[:, None]
    best = grid[mixture[[0] * len(grid)].log_prob(grid).argmax()]
    assert mode.item() == pytest.approx(best.item(), abs=1e-4)


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_affine_change_of_units(covariance_type, device):
    _, _, mixture = _head_output(covariance_type, device=device)
    loc = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, device=device)
    scale = torch.tensor([2.0, 0.5, 3.0], dtype=torch.float64, device=device)
    z = _randn(6, 3, device=device)
    moved = mixture.affine(loc, scale)
    expected = mixture.log_prob(z) - scale.log().sum()
    torch.testing.assert_close(moved.log_prob(loc + scale * z), expected)
    torch.testing.assert_close(moved.mean(), loc + scale * mixture.mean())


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_samples_follow_the_predicted_moments(covariance_type, device):
    _, _features, mixture = _head_output(covariance_type, n_rows=1, device=device)
    many = mixture[[0] * 100_000]
    draws = many.sample(torch.Generator(device=device).manual_seed(0)).detach()
    assert draws.device.type == device
    torch.testing.assert_close(
        draws.mean(0), mixture.mean()[0].detach(), atol=0.05, rtol=0
    )
    torch.testing.assert_close(
        torch.cov(draws.T), mixture.covariance()[0].detach(), atol=0.08, rtol=0.05
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loss_gradients_reach_every_parameter(covariance_type, device):
    head, features, _ = _head_output(covariance_type, device=device)
    head.loss(features, _randn(6, 3, device=device)).backward()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_gradcheck_through_the_head(device):
    torch.manual_seed(1)
    head = MixtureDensityHead(3, 2, 2, "full").double().to(device)
    features = _randn(4, 3, device=device).requires_grad_(True)
    y = _randn(4, 2, device=device)
    assert torch.autograd.gradcheck(lambda f: head(f).log_prob(y), (features,))


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="covariance_type"):
        MixtureDensityHead(3, 2, 2, "VVV")
    with pytest.raises(TypeError, match="n_components"):
        MixtureDensityHead(3, 2, 2.5)
    with pytest.raises(ValueError, match="min_scale"):
        MixtureDensityHead(3, 2, 2, min_scale=-1.0)
    head = MixtureDensityHead(3, 2, 2)
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        head(torch.zeros(4, 5))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        head(torch.zeros(4, 3)).log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="exactly one"):
        ConditionalMixtureDensity(torch.zeros(1, 2), torch.zeros(1, 2, 2))
