"""MixtureDensityHead and the per-row mixtures it predicts."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from gaussmix.nn import ConditionalMixtureDensity, MixtureDensityHead  # noqa: E402
from tests._devices import HAS_CUDA, TORCH_DEVICES  # noqa: E402

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


def _best_component_mean(mixture):
    """Each row's highest log-density among its component means."""
    means = mixture.means.unbind(-2)
    return torch.stack([mixture.log_prob(mean) for mean in means], -1).max(-1).values


def test_mode_of_a_badly_conditioned_float32_mixture():
    # the third component's covariance has a condition number above 1e14,
    # beyond float32, yet its triangular factor gives a finite log-density
    logits = torch.tensor([[-10.89, -12.26, -6.71]])
    means = torch.tensor([[[0.14, 2.28], [18.88, -1.46], [-17.62, -14.15]]])
    scale_tril = torch.tensor(
        [
            [
                [[7.53, 0.0], [-18.42, 1e-3]],
                [[6.6e-2, 0.0], [3.35, 17.51]],
                [[4.7e-3, 0.0], [-16.12, 3.5e-3]],
            ]
        ]
    )
    mixture = ConditionalMixtureDensity(logits, means, scale_tril=scale_tril)
    # at the third mean the other components' log-densities are below -1e5,
    # so the mixture's mode is that of the third Gaussian alone: its mean
    joint = mixture.component_log_prob(means[:, 2]) + torch.log_softmax(logits, -1)
    assert joint[0, :2].max() < -1e5
    mode = mixture.mode()
    torch.testing.assert_close(mode, means[:, 2], rtol=0, atol=1e-6)
    assert mixture.log_prob(mode) >= mixture.log_prob(means[:, 2])


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(
    ("dtype", "feature_scale"),
    [(torch.float32, 1.0), (torch.float32, 10.0), (torch.float64, 100.0)],
)
def test_mode_is_never_below_the_best_component_mean(
    covariance_type, dtype, feature_scale, device
):
    # large features drive an untrained head to scales from min_scale to
    # hundreds within one factor: badly conditioned covariances
    for seed in range(5):
        torch.manual_seed(seed)
        head = MixtureDensityHead(5, 2, 3, covariance_type).to(dtype)
        features = torch.randn(64, 5, dtype=dtype) * feature_scale
        with torch.no_grad():
            mixture = head.to(device)(features.to(device))
        mode = mixture.mode()
        assert torch.isfinite(mode).all()
        # a few roundings of log-densities near 10 as slack
        slack = 1e-5 if dtype == torch.float32 else 1e-12
        best = _best_component_mean(mixture)
        assert (mixture.log_prob(mode) >= best - slack).all(), seed


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


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("bad", [-2.0, 0.0, float("nan"), float("inf")])
def test_affine_refuses_a_scale_that_is_not_positive(covariance_type, bad):
    _, _, mixture = _head_output(covariance_type)
    loc = torch.zeros(3, dtype=torch.float64)
    scale = torch.tensor([2.0, bad, 1.0], dtype=torch.float64)
    with pytest.raises(ValueError, match="scale passed to affine must be positive"):
        mixture.affine(loc, scale)


def test_construction_checks_the_scales():
    logits, means = torch.zeros(2, 3), torch.zeros(2, 3, 2)
    scale = torch.ones(2, 3, 2)
    scale[1, 2, 0] = -0.5
    with pytest.raises(ValueError, match=r"scale must be positive.*-0\.5"):
        ConditionalMixtureDensity(logits, means, scale=scale)
    with pytest.raises(ValueError, match="scale must be positive"):
        ConditionalMixtureDensity(logits, means, scale=torch.zeros(2, 3, 1))
    scale_tril = torch.eye(2).repeat(2, 3, 1, 1)
    scale_tril[0, 1, 1, 1] = 0.0
    with pytest.raises(ValueError, match="diagonal of scale_tril"):
        ConditionalMixtureDensity(logits, means, scale_tril=scale_tril)
    # a negative diagonal entry of a factor gives the same covariance
    scale_tril[0, 1, 1, 1] = -1.0
    flipped = ConditionalMixtureDensity(logits, means, scale_tril=scale_tril)
    torch.testing.assert_close(flipped.covariances, torch.eye(2).expand(2, 3, 2, 2))
    # validate=False leaves the values unread
    unchecked = ConditionalMixtureDensity(logits, means, scale=scale, validate=False)
    assert unchecked.scale is scale


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_head_forward_does_not_wait_for_the_gpu(covariance_type):
    head, features, _ = _head_output(covariance_type, device="cuda")
    torch.cuda.synchronize()
    # any host read of a GPU value (such as checking the scales) raises here
    torch.cuda.set_sync_debug_mode("error")
    try:
        mixture = head(features)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.linalg.eigvalsh(mixture.covariances).min() > 0


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


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_leading_batch_axes_give_the_mixtures_of_the_flattened_rows(covariance_type):
    # a sequence model's features (batch, time, width): one mixture per
    # batch entry and time step, the same as for the rows laid end to end
    torch.manual_seed(0)
    head = MixtureDensityHead(5, 3, 4, covariance_type).double()
    features = torch.randn(2, 7, 5, dtype=torch.float64)
    y = torch.randn(2, 7, 3, dtype=torch.float64)
    mixture, flat = head(features), head(features.reshape(14, 5))
    assert mixture.log_prob(y).shape == (2, 7)
    torch.testing.assert_close(
        mixture.log_prob(y).reshape(14), flat.log_prob(y.reshape(14, 3))
    )
    torch.testing.assert_close(mixture.nll(y), flat.nll(y.reshape(14, 3)))
    torch.testing.assert_close(mixture.mean().reshape(14, 3), flat.mean())
    torch.testing.assert_close(
        mixture.covariance().reshape(14, 3, 3), flat.covariance()
    )
    torch.testing.assert_close(mixture.mode().reshape(14, 3), flat.mode())
    draws = mixture.sample(torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        draws.reshape(14, 3), flat.sample(torch.Generator().manual_seed(1))
    )
    loc, scale = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([2.0, 0.5, 3.0])
    torch.testing.assert_close(
        mixture.affine(loc, scale).log_prob(y).reshape(14),
        flat.affine(loc, scale).log_prob(y.reshape(14, 3)),
    )
    assert len(mixture) == 2
    torch.testing.assert_close(mixture[1].log_prob(y[1]), flat[7:].log_prob(y[1]))


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
    with pytest.raises(ValueError, match=r"leading axes \(\.\.\., N, 3\)"):
        head(torch.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        head(torch.zeros(4, 3)).log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="exactly one"):
        ConditionalMixtureDensity(torch.zeros(1, 2), torch.zeros(1, 2, 2))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_an_empty_batch_gives_empty_results(covariance_type):
    # the last batch of a loader, or a filtered batch, may hold no row: a
    # torch module answers it with empty tensors, not an error
    torch.manual_seed(0)
    head = MixtureDensityHead(5, 2, 3, covariance_type=covariance_type)
    mixture = head(torch.zeros(0, 5))
    assert mixture.log_prob(torch.zeros(0, 2)).shape == (0,)
    assert mixture.mean().shape == (0, 2)
    assert mixture.mode().shape == (0, 2)
    assert mixture.sample().shape == (0, 2)
