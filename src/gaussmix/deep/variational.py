"""The network and the evidence lower bound of variational deep clustering.

The generative model (VaDE, Jiang et al. 2017) draws a cluster
``c ~ Cat(pi)``, a code ``z | c ~ N(mu_c, Sigma_c)`` and an observation
``x | z`` from the decoder. The approximate posterior is
``q(z, c | x) = q(z | x) q(c | x)`` with ``q(z | x) = N(m(x), diag s(x)^2)``
from the encoder and ``q(c | x)`` the bound's maximiser given ``q(z | x)``,
in closed form (:func:`cluster_log_posterior`), where VaDE takes
``p(c | z)`` at one code drawn from ``q(z | x)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as tf

from gaussmix.deep import _common as common
from gaussmix.nn import GaussianMixtureDensity

LOG_2PI = math.log(2.0 * math.pi)

#: Smallest noise variance of the Gaussian decoder (in scaled units); keeps
#: the likelihood bounded when a code reconstructs a row exactly.
MIN_LOG_NOISE_VARIANCE = math.log(1e-4)

#: Smallest per-feature noise variance, as a share of their mean.
FEATURE_NOISE_FLOOR = 0.1


class VariationalClusteringNetwork(nn.Module):
    """Encoder heads, decoder and the latent Gaussian mixture prior.

    Parameters
    ----------
    encoder : nn.Module
        Rows ``(B, D)`` to features ``(B, width)``.
    decoder : nn.Module
        Codes ``(B, latent_dim)`` to ``(B, D)``: means (Gaussian) or logits
        (Bernoulli) of the observations.
    encoder_width : int
    latent_dim : int
    n_clusters : int
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Covariances of the prior's components.
    reconstruction : {'gaussian', 'bernoulli'}
    noise_variance : {'shared', 'per_feature'}, default='shared'
        The Gaussian decoder's noise: one variance for all ``n_features``
        features, or one per feature.
    n_features : int, default=1
        Width of the rows; sizes the per-feature noise variances.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        encoder_width: int,
        latent_dim: int,
        n_clusters: int,
        covariance_type: str,
        reconstruction: str,
        noise_variance: str = "shared",
        n_features: int = 1,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.mean_head = nn.Linear(encoder_width, latent_dim)
        self.log_var_head = nn.Linear(encoder_width, latent_dim)
        self.decoder = decoder
        self.prior = GaussianMixtureDensity(n_clusters, latent_dim, covariance_type)
        self.reconstruction = reconstruction
        self.noise_variance = noise_variance
        # the noise variance balances reconstruction against the prior on any
        # scale; it is set to its maximum-likelihood value in closed form
        # (see reconstruction_log_prob), not learned
        shape = (n_features,) if noise_variance == "per_feature" else ()
        self.register_buffer("log_noise_variance", torch.zeros(shape))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of ``q(z | x)``, each (B, latent_dim)."""
        features = self.encoder(x)
        return self.mean_head(features), self.log_var_head(features)

    def reconstruction_log_prob(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x | z)`` of every row, shape (B,).

        In training mode the Gaussian decoder's noise variance is first set
        to its maximum-likelihood value for this batch (a calibrated
        decoder: Rybkin, Daniilidis & Levine 2021): the mean squared error
        of each feature with ``noise_variance='per_feature'`` (floored: see
        :meth:`_keep_noise_variance`), their mean with ``'shared'``; it is
        kept, as batch normalisation keeps its statistics; in
        evaluation mode the kept value is used. Learned by gradient steps
        instead, its logarithm moves by about the learning rate per step,
        so on a small table (two steps an epoch) it stayed near its start,
        the reconstruction weighed far less than the rows' fit allowed, and
        the bound merged clusters that the rows keep apart (on iris, two
        species on every seed). The variance is not differentiated: at its
        maximum the bound's gradient with respect to it is zero.
        """
        output = self.decoder(z)
        if self.reconstruction == "bernoulli":
            return -tf.binary_cross_entropy_with_logits(
                output, x, reduction="none"
            ).sum(-1)
        squares = (x - output).pow(2)
        if self.noise_variance == "per_feature":
            if self.training:
                self._keep_noise_variance(squares.detach().mean(0))
            return self._gaussian_log_prob(squares, x.shape[-1])
        squared = squares.sum(-1)
        if self.training:
            self._keep_noise_variance(squared.detach().mean() / x.shape[-1])
        return self._gaussian_log_prob(squared, x.shape[-1])

    def _gaussian_log_prob(self, squared: torch.Tensor, width: int) -> torch.Tensor:
        """Gaussian log-density at the kept noise variance of rows of
        ``width`` features whose errors are ``squared``: their squares
        (B, D) under one variance per feature, their sums of squares (B,)
        under a shared one."""
        log_var = self.log_noise_variance
        if log_var.dim():
            return -0.5 * (squared / log_var.exp() + LOG_2PI + log_var).sum(-1)
        return -0.5 * (squared / log_var.exp() + width * (LOG_2PI + log_var))

    @torch.no_grad()
    def calibrate_noise(
        self, x: torch.Tensor, batch_size: int = common.PREDICT_BATCH
    ) -> None:
        """Set the Gaussian noise variance (one per feature, or one shared)
        to its maximum-likelihood value for the rows ``x`` reconstructed from
        their posterior mean codes (what :meth:`elbo` scores without a
        generator); nothing for Bernoulli."""
        if self.reconstruction == "bernoulli" or not len(x):
            return
        self.calibrated_elbo(x, batch_size)

    @torch.no_grad()
    def calibrated_elbo(
        self, x: torch.Tensor, batch_size: int = common.PREDICT_BATCH
    ) -> torch.Tensor:
        """:meth:`calibrate_noise` for ``x``, then :meth:`elbo` of every row at
        its posterior mean code, (N,), from one pass of the networks over
        ``x`` instead of two."""
        blocks = torch.split(x, batch_size)
        if self.reconstruction == "bernoulli":
            return torch.cat([self.elbo(rows) for rows in blocks])
        # blocks summed on the host in double precision (not every device
        # has float64)
        per_feature = self.noise_variance == "per_feature"
        total, parts = 0.0, []
        for rows in blocks:
            mean, log_var = self.encode(rows)
            squares = (rows - self.decoder(mean)).pow(2)
            if per_feature:
                # each row's bound needs every feature's variance, known
                # only after the last block: the squares are kept, as much
                # memory as the rows themselves
                total = total + squares.sum(0).to("cpu", torch.float64)
                parts.append((squares, mean, log_var))
            else:
                total += float(squares.sum())
                parts.append((squares.sum(-1), mean, log_var))
        if per_feature:
            variance = (total / len(x)).to(x.device, self.log_noise_variance.dtype)
        else:
            variance = torch.tensor(total / x.numel(), device=x.device)
        self._keep_noise_variance(variance)
        return torch.cat(
            [
                evidence_lower_bound(
                    self._gaussian_log_prob(squared, x.shape[-1]),
                    mean,
                    log_var,
                    self.prior,
                )
                for squared, mean, log_var in parts
            ]
        )

    def _keep_noise_variance(self, variance: torch.Tensor) -> None:
        """Keep ``variance`` (a scalar, or one per feature), floored.

        Per feature, each variance is also held to at least
        :data:`FEATURE_NOISE_FLOOR` of their mean, so that no feature weighs
        more than ten times the average one in the reconstruction: features
        that the decoder reproduces almost exactly (pixels that are nearly
        always blank) otherwise dominate the bound.
        """
        if variance.dim():
            variance = torch.maximum(variance, FEATURE_NOISE_FLOOR * variance.mean())
        log_var = torch.log(variance).clamp(min=MIN_LOG_NOISE_VARIANCE)
        self.log_noise_variance.copy_(log_var.to(self.log_noise_variance.dtype))

    def autoencoder_loss(
        self, x: torch.Tensor, target: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Negative reconstruction log-likelihood through the mean code."""
        mean, _ = self.encode(x)
        target = x if target is None else target
        return -self.reconstruction_log_prob(target, mean).mean()

    def elbo(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        target: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Evidence lower bound of every row (B,), one reparameterised draw.

        Without a generator the code is the posterior mean (a deterministic
        value, used for scoring). ``target`` (default ``x``) is the row the
        decoder must reconstruct. The clusters' posterior ``q(c | x)`` is
        the bound's maximiser (:func:`cluster_log_posterior`) and needs no
        draw.
        """
        mean, log_var = self.encode(x)
        if generator is None:
            z = mean
        else:
            noise = torch.randn(
                mean.shape, generator=generator, dtype=mean.dtype, device=mean.device
            )
            z = mean + (0.5 * log_var).exp() * noise
        return evidence_lower_bound(
            self.reconstruction_log_prob(x if target is None else target, z),
            mean,
            log_var,
            self.prior,
        )


def precision_diagonal(prior: GaussianMixtureDensity) -> torch.Tensor:
    """Diagonals of the inverse covariances, (K, L) (or (1, L) when tied).

    ``[Sigma^{-1}]_jj`` is the squared norm of column j of ``L^{-1}`` for the
    Cholesky factor ``L``; diagonal and spherical covariances invert directly.
    """
    if not prior.uses_cholesky:
        return prior.scale.pow(-2)
    factor = prior.scale_tril
    eye = torch.eye(factor.shape[-1], dtype=factor.dtype, device=factor.device)
    inverse = torch.linalg.solve_triangular(factor, eye, upper=False)
    return inverse.pow(2).sum(-2)


def expected_log_prior(
    z_mean: torch.Tensor, z_log_var: torch.Tensor, prior: GaussianMixtureDensity
) -> torch.Tensor:
    """``E_q[log p(z | c)]`` of every row and component, (B, K).

    Under ``q(z | x) = N(m, diag s^2)`` it is
    ``log N(m | mu_c, Sigma_c) - sum_j s_j^2 [Sigma_c^{-1}]_jj / 2``.
    """
    trace = 0.5 * (z_log_var.exp().unsqueeze(-2) * precision_diagonal(prior)).sum(-1)
    return prior.component_log_prob(z_mean) - trace


def cluster_log_posterior(
    z_mean: torch.Tensor, z_log_var: torch.Tensor, prior: GaussianMixtureDensity
) -> torch.Tensor:
    """``log q(c | x)`` that maximises the bound given ``q(z | x)``, (B, K).

    The bound is ``sum_c q(c) (a_c - log q(c)) + ...`` with
    ``a_c = log pi_c + E_q[log p(z | c)]``, which the softmax of ``a``
    maximises (the E-step of a mixture, with the expected log-density in
    place of the log-density). VaDE's ``p(c | z)`` at one drawn code is a
    noisy estimate of it that ignores the codes' posterior spread; the
    closed form gives a tighter bound and gradients without that noise. On
    the panel of ``benchmarks/deep_clustering.py`` (five seeds) it raised
    wine from 0.972 to 0.978 and left breast_cancer (0.947) and iris
    (0.856) as they were.
    """
    return _maximising_log_resp(
        torch.log_softmax(prior.logits, dim=-1),
        expected_log_prior(z_mean, z_log_var, prior),
    )


def _maximising_log_resp(
    log_weights: torch.Tensor, expected: torch.Tensor
) -> torch.Tensor:
    return torch.log_softmax(log_weights + expected, dim=-1)


def evidence_lower_bound(
    reconstruction_log_prob: torch.Tensor,
    z_mean: torch.Tensor,
    z_log_var: torch.Tensor,
    prior: GaussianMixtureDensity,
    log_resp: torch.Tensor | None = None,
) -> torch.Tensor:
    """VaDE's lower bound on ``log p(x)`` with the latent terms in closed form.

    ``E_q[log p(x|z)] + E_q[log p(z|c)] + E_q[log pi_c] - E_q[log q(c|x)]
    + H[q(z|x)]``, where the expectation of the log prior density under a
    diagonal Gaussian ``N(m, diag s^2)`` is
    ``log N(m | mu_c, Sigma_c) - sum_j s_j^2 [Sigma_c^{-1}]_jj / 2``.

    Parameters
    ----------
    reconstruction_log_prob : Tensor of shape (B,)
        An estimate of ``E_q[log p(x | z)]``.
    z_mean, z_log_var : Tensor of shape (B, L)
        ``q(z | x) = N(z_mean, diag(exp(z_log_var)))``.
    prior : GaussianMixtureDensity
        Over the L latent dimensions, any covariance type.
    log_resp : Tensor of shape (B, K), optional
        ``log q(c | x)``; None takes the bound's maximiser
        (:func:`cluster_log_posterior`), from the same expected log-densities
        the bound uses.

    Returns
    -------
    Tensor of shape (B,)
    """
    latent_dim = z_mean.shape[-1]
    log_weights = torch.log_softmax(prior.logits, dim=-1)
    expected = expected_log_prior(z_mean, z_log_var, prior)
    if log_resp is None:
        log_resp = _maximising_log_resp(log_weights, expected)
    resp = log_resp.exp()
    # a component with responsibility exp(-inf) = 0 contributes 0, not 0 * inf
    log_resp = log_resp.clamp(min=-1e4)
    cluster_terms = (resp * (expected + log_weights - log_resp)).sum(-1)
    entropy = 0.5 * (latent_dim * (1.0 + LOG_2PI) + z_log_var.sum(-1))
    return reconstruction_log_prob + cluster_terms + entropy
