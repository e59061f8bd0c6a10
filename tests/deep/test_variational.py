"""The variational lower bound against a Monte-Carlo computation."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

torch = pytest.importorskip("torch")

from gaussmix.deep.networks import mlp  # noqa: E402
from gaussmix.deep.variational import (  # noqa: E402
    VariationalClusteringNetwork,
    cluster_log_posterior,
    evidence_lower_bound,
)
from gaussmix.nn import GaussianMixtureDensity  # noqa: E402
from tests._devices import TORCH_DEVICES, host  # noqa: E402


def _gaussian_network(noise_variance: str = "shared") -> VariationalClusteringNetwork:
    torch.manual_seed(0)
    decoder = mlp((2, 4, 3), final_activation=False).double()
    return VariationalClusteringNetwork(
        mlp((3, 4)).double(),
        decoder,
        4,
        2,
        3,
        "diag",
        "gaussian",
        noise_variance,
        n_features=3,
    ).double()


def _random_prior(covariance_type: str) -> GaussianMixtureDensity:
    torch.manual_seed(1)
    prior = GaussianMixtureDensity(3, 2, covariance_type, dtype=torch.float64)
    with torch.no_grad():
        prior.logits.copy_(torch.tensor([0.3, -0.5, 0.1]))
        prior.raw_scale.add_(0.4 * torch.randn_like(prior.raw_scale))
    return prior


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_latent_terms_equal_monte_carlo_expectation(covariance_type, device):
    prior = _random_prior(covariance_type)
    z_mean = torch.tensor([[0.2, -0.4], [1.0, 0.5]], dtype=torch.float64)
    z_log_var = torch.tensor([[-1.0, -0.3], [0.2, -2.0]], dtype=torch.float64)
    resp = torch.tensor([[0.2, 0.5, 0.3], [0.7, 0.1, 0.2]], dtype=torch.float64)
    # the closed form on ``device``; the Monte-Carlo estimate on the CPU
    closed = evidence_lower_bound(
        torch.zeros(2, dtype=torch.float64, device=device),
        z_mean.to(device),
        z_log_var.to(device),
        copy.deepcopy(prior).to(device),
        resp.log().to(device),
    )
    assert closed.device.type == device
    closed = closed.detach().cpu()

    # E_{z ~ q, c ~ resp}[log pi_c + log p(z | c) - log q(z) - log q(c)]
    generator = torch.Generator().manual_seed(0)
    n_draws = 200_000
    std = (0.5 * z_log_var).exp()
    noise = torch.randn((n_draws, 2, 2), generator=generator, dtype=torch.float64)
    z = z_mean + std * noise
    log_q = torch.distributions.Normal(z_mean, std).log_prob(z).sum(-1)
    with torch.no_grad():
        covariances = prior.covariances
        if covariance_type == "tied":
            covariances = covariances.expand(3, 2, 2)
        elif covariance_type != "full":
            covariances = torch.diag_embed(covariances.reshape(3, -1).expand(3, 2))
        per_component = torch.distributions.MultivariateNormal(
            prior.means, covariance_matrix=covariances
        ).log_prob(z[:, :, None, :])
        log_weights = torch.log(torch.softmax(prior.logits, -1))
    integrand = (resp * (log_weights + per_component - resp.log())).sum(-1) - log_q
    estimate = integrand.mean(0)
    standard_error = integrand.std(0) / math.sqrt(n_draws)
    difference = (closed - estimate).abs()
    assert torch.all(difference < 5 * standard_error + 1e-9), (closed, estimate)


def _latent_moments() -> tuple[torch.Tensor, torch.Tensor]:
    z_mean = torch.tensor([[0.2, -0.4], [1.0, 0.5], [-2.0, 3.0]], dtype=torch.float64)
    z_log_var = torch.tensor(
        [[-1.0, -0.3], [0.2, -2.0], [0.5, 0.5]], dtype=torch.float64
    )
    return z_mean, z_log_var


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_cluster_posterior_is_softmax_of_monte_carlo_expected_log_prior(
    covariance_type,
):
    prior = _random_prior(covariance_type)
    z_mean, z_log_var = _latent_moments()
    ours = cluster_log_posterior(z_mean, z_log_var, prior).detach().exp()

    # softmax over c of log pi_c + E_{z ~ q}[log p(z | c)], by drawing codes
    generator = torch.Generator().manual_seed(0)
    z = z_mean + (0.5 * z_log_var).exp() * torch.randn(
        (100_000, *z_mean.shape), generator=generator, dtype=torch.float64
    )
    with torch.no_grad():
        expected_log_prior = prior.component_log_prob(z).mean(0)
        log_weights = torch.log_softmax(prior.logits, -1)
    expected = torch.softmax(log_weights + expected_log_prior, -1)
    np.testing.assert_allclose(ours, expected, atol=2e-3)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_cluster_posterior_maximises_the_bound(covariance_type):
    prior = _random_prior(covariance_type)
    z_mean, z_log_var = _latent_moments()
    reconstruction = torch.zeros(3, dtype=torch.float64)
    with torch.no_grad():
        best = evidence_lower_bound(
            reconstruction,
            z_mean,
            z_log_var,
            prior,
            cluster_log_posterior(z_mean, z_log_var, prior),
        )
        # without a posterior the bound takes its maximiser
        torch.testing.assert_close(
            evidence_lower_bound(reconstruction, z_mean, z_log_var, prior), best
        )
        # VaDE's p(c | z) at the mean code, and random posteriors, bound lower
        at_mean = prior.log_responsibilities(z_mean)
        others = [at_mean] + [
            torch.log_softmax(3.0 * torch.randn(3, 3, dtype=torch.float64), -1)
            for _ in range(20)
        ]
        for log_resp in others:
            bound = evidence_lower_bound(
                reconstruction, z_mean, z_log_var, prior, log_resp
            )
            assert torch.all(bound <= best + 1e-12)
    # with an exact code the bound's maximiser is p(c | z) itself
    np.testing.assert_allclose(
        cluster_log_posterior(z_mean, torch.full_like(z_log_var, -60.0), prior)
        .detach()
        .exp(),
        at_mean.exp(),
        atol=1e-12,
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_gaussian_reconstruction_is_isotropic_normal_density(device):
    network = _gaussian_network()
    decoder = network.decoder
    with torch.no_grad():
        network.log_noise_variance.fill_(math.log(0.3))
    # evaluation mode scores with the kept noise variance
    network = network.to(device).eval()  # moves the decoder too
    x = torch.randn(5, 3, dtype=torch.float64).to(device)
    z = torch.randn(5, 2, dtype=torch.float64).to(device)
    ours = host(network.reconstruction_log_prob(x, z))
    means = host(decoder(z))
    expected = [
        multivariate_normal(mean, 0.3 * np.eye(3)).logpdf(row)
        for mean, row in zip(means, host(x), strict=True)
    ]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_bernoulli_reconstruction_is_binary_cross_entropy(device):
    torch.manual_seed(0)
    decoder = mlp((2, 3), final_activation=False).double()
    network = VariationalClusteringNetwork(
        mlp((3, 4)).double(), decoder, 4, 2, 2, "diag", "bernoulli"
    ).double()
    network = network.to(device)  # moves the decoder too
    x = torch.rand(4, 3, dtype=torch.float64).round().to(device)
    z = torch.randn(4, 2, dtype=torch.float64).to(device)
    p = host(torch.sigmoid(decoder(z)))
    expected = (host(x) * np.log(p) + (1 - host(x)) * np.log(1 - p)).sum(1)
    ours = host(network.reconstruction_log_prob(x, z))
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def _diagonal_log_likelihood(residuals: np.ndarray, variances: np.ndarray) -> float:
    density = multivariate_normal(np.zeros(residuals.shape[1]), np.diag(variances))
    return float(density.logpdf(residuals).sum())


def _isotropic_log_likelihood(residuals: np.ndarray, variance: float) -> float:
    return _diagonal_log_likelihood(residuals, np.full(residuals.shape[1], variance))


def test_training_sets_the_noise_variance_to_the_batch_maximum_likelihood():
    network = _gaussian_network().train()
    x = torch.randn(7, 3, dtype=torch.float64)
    z = torch.randn(7, 2, dtype=torch.float64)
    total = float(network.reconstruction_log_prob(x, z).sum())
    residuals = host(x - network.decoder(z))
    kept = math.exp(float(network.log_noise_variance))
    # the isotropic Gaussian's maximum-likelihood variance, and the value
    # the decoder scored the batch with
    assert kept == pytest.approx((residuals**2).mean(), rel=1e-12)
    assert total == pytest.approx(_isotropic_log_likelihood(residuals, kept), rel=1e-10)
    for factor in (0.8, 1.25):
        assert total > _isotropic_log_likelihood(residuals, factor * kept)


def test_training_sets_each_feature_noise_variance_to_its_maximum_likelihood():
    network = _gaussian_network("per_feature").train()
    x = torch.randn(40, 3, dtype=torch.float64) * torch.tensor([0.1, 1.0, 3.0])
    z = torch.randn(40, 2, dtype=torch.float64)
    total = float(network.reconstruction_log_prob(x, z).sum())
    residuals = host(x - network.decoder(z))
    kept = np.exp(host(network.log_noise_variance))
    # each feature's mean squared error, held to a tenth of their mean
    expected = (residuals**2).mean(0)
    expected = np.maximum(expected, 0.1 * expected.mean())
    np.testing.assert_allclose(kept, expected, rtol=1e-12)
    assert total == pytest.approx(_diagonal_log_likelihood(residuals, kept), rel=1e-10)
    # it fits the batch better than one variance for all three features
    assert total > _isotropic_log_likelihood(residuals, (residuals**2).mean())


def test_a_feature_reconstructed_exactly_is_held_to_a_tenth_of_the_mean_variance():
    network = _gaussian_network("per_feature").train()
    z = torch.randn(30, 2, dtype=torch.float64)
    with torch.no_grad():
        x = network.decoder(z) + torch.randn(30, 3, dtype=torch.float64)
        x[:, 0] = network.decoder(z)[:, 0]  # no error at all on feature 0
    network.reconstruction_log_prob(x, z)
    kept = np.exp(host(network.log_noise_variance))
    # a tenth of the three errors' mean, the first of which is 0
    assert kept[0] == pytest.approx(0.1 * (kept[1] + kept[2]) / 3, rel=1e-12)
    assert np.all(np.isfinite(kept))


@settings(max_examples=40, deadline=None)
@given(
    scales=st.lists(st.integers(-6, 6), min_size=3, max_size=3),
    exact=st.lists(st.booleans(), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_noise_per_feature_stays_finite_on_any_scale(scales, exact, seed):
    # columns whose errors differ by up to twelve orders of magnitude, some
    # reconstructed exactly: finite variances within the floors, finite
    # log-densities
    network = _gaussian_network("per_feature").train()
    draw = torch.Generator().manual_seed(seed)
    z = torch.randn(20, 2, dtype=torch.float64, generator=draw)
    with torch.no_grad():
        output = network.decoder(z)
        errors = torch.randn(20, 3, dtype=torch.float64, generator=draw)
        errors = errors * 10.0 ** torch.tensor(scales, dtype=torch.float64)
        errors[:, torch.tensor(exact)] = 0.0
        values = network.reconstruction_log_prob(output + errors, z)
    kept = np.exp(host(network.log_noise_variance))
    squares = host(errors).astype(np.float64) ** 2
    raw = squares.mean(0)
    assert np.all(np.isfinite(host(values)))
    assert np.all(np.isfinite(kept)) and np.all(kept > 0)
    floor = np.maximum(0.1 * raw.mean(), 1e-4)
    assert np.all(kept >= floor * (1 - 1e-9))
    np.testing.assert_allclose(kept, np.maximum(raw, floor), rtol=1e-9)


def test_evaluation_keeps_the_noise_variance():
    network = _gaussian_network().eval()
    with torch.no_grad():
        network.log_noise_variance.fill_(math.log(0.3))
    network.reconstruction_log_prob(
        torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    )
    assert float(network.log_noise_variance) == pytest.approx(math.log(0.3))


def test_calibrated_noise_maximises_the_scored_bound():
    network = _gaussian_network().eval()
    x = torch.randn(50, 3, dtype=torch.float64)
    network.calibrate_noise(x, batch_size=16)  # several blocks
    best = float(network.elbo(x).mean())
    calibrated = float(network.log_noise_variance)
    for shift in (-0.2, 0.2):
        with torch.no_grad():
            network.log_noise_variance.fill_(calibrated + shift)
        assert float(network.elbo(x).mean()) < best


@pytest.mark.parametrize(
    "reconstruction, noise_variance",
    [("gaussian", "shared"), ("gaussian", "per_feature"), ("bernoulli", "shared")],
)
def test_calibrated_bound_in_one_pass_equals_calibrating_then_scoring(
    reconstruction, noise_variance
):
    torch.manual_seed(0)
    network = (
        VariationalClusteringNetwork(
            mlp((3, 4)),
            mlp((2, 3), final_activation=False),
            4,
            2,
            2,
            "full",
            reconstruction,
            noise_variance,
            n_features=3,
        )
        .double()
        .eval()
    )
    x = torch.rand(50, 3, dtype=torch.float64)
    twin = copy.deepcopy(network)
    bounds = network.calibrated_elbo(x, batch_size=16)  # several blocks
    twin.calibrate_noise(x, batch_size=16)
    assert torch.equal(network.log_noise_variance, twin.log_noise_variance)
    with torch.no_grad():
        assert torch.equal(bounds, twin.elbo(x))


def test_noise_per_feature_bounds_the_rows_at_least_as_high_as_a_shared_one():
    # the shared variance is one point of the per-feature family, whose
    # calibrated value maximises the same reconstruction term (the floor
    # aside, which these features' errors do not reach)
    shared = _gaussian_network("shared").eval()
    per_feature = _gaussian_network("per_feature").eval()
    per_feature.load_state_dict(
        {**shared.state_dict(), "log_noise_variance": torch.zeros(3)}
    )
    x = torch.randn(60, 3, dtype=torch.float64) * torch.tensor([0.5, 1.0, 2.0])
    one = shared.calibrated_elbo(x, batch_size=16)
    each = per_feature.calibrated_elbo(x, batch_size=16)
    assert float(each.mean()) > float(one.mean())
    # the latent terms are the same: only the reconstruction differs
    with torch.no_grad():
        mean, _ = shared.encode(x)
        residuals = host(x - shared.decoder(mean))
    variances = (residuals**2).mean(0)
    gap = _diagonal_log_likelihood(residuals, variances) - _isotropic_log_likelihood(
        residuals, variances.mean()
    )
    assert float((each - one).sum()) == pytest.approx(gap, rel=1e-9)


def test_bernoulli_networks_have_no_noise_variance_to_calibrate():
    torch.manual_seed(0)
    network = VariationalClusteringNetwork(
        mlp((3, 4)), mlp((2, 3), final_activation=False), 4, 2, 2, "diag", "bernoulli"
    ).eval()
    network.calibrate_noise(torch.rand(5, 3))
    assert float(network.log_noise_variance) == 0.0
