"""A batch of Gaussian mixtures, one per row: what a mixture density head predicts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from gaussmix.nn import functional as F


@dataclass(frozen=True)
class ConditionalMixtureDensity:
    """Gaussian mixtures ``p(y | x_i)``, one per row of a batch, in torch.

    What a mixture density network predicts: every row has its own weights,
    means and covariances, held as tensors so that the log-density stays
    differentiable. (:class:`gaussmix.ConditionalMixture` is the numpy
    result of conditioning one fitted mixture, whose covariances all rows
    share.) Exactly one of ``scale_tril`` and ``scale`` is set.

    Attributes
    ----------
    logits : Tensor of shape (N, K)
        Unnormalised log-weights.
    means : Tensor of shape (N, K, D)
    scale_tril : Tensor of shape (N, K, D, D) or (N, 1, D, D), or None
        Lower Cholesky factors of the covariances (full, or tied with one
        factor per row).
    scale : Tensor of shape (N, K, D) or (N, K, 1), or None
        Standard deviations (diagonal, or spherical).

    Examples
    --------
    Four rows, each with its own two-component mixture over one variable:

    >>> import torch
    >>> from gaussmix.nn import ConditionalMixtureDensity
    >>> mixtures = ConditionalMixtureDensity(
    ...     logits=torch.zeros(4, 2),
    ...     means=torch.tensor([[[-1.0], [1.0]]]).repeat(4, 1, 1),
    ...     scale=torch.full((4, 2, 1), 0.5),
    ... )
    >>> len(mixtures), mixtures.n_components, mixtures.n_features
    (4, 2, 1)
    >>> mixtures.log_prob(torch.zeros(4, 1)).shape  # one value per row
    torch.Size([4])
    >>> mixtures.mean().squeeze(-1)
    tensor([0., 0., 0., 0.])
    >>> mixtures[:2].sample().shape
    torch.Size([2, 1])
    """

    logits: torch.Tensor
    means: torch.Tensor
    scale_tril: torch.Tensor | None = None
    scale: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if (self.scale_tril is None) == (self.scale is None):
            raise ValueError("give exactly one of scale_tril and scale.")

    @property
    def n_components(self) -> int:
        return int(self.means.shape[-2])

    @property
    def n_features(self) -> int:
        return int(self.means.shape[-1])

    @property
    def weights(self) -> torch.Tensor:
        """Mixing weights, shape (N, K)."""
        return torch.softmax(self.logits, dim=-1)

    @property
    def covariances(self) -> torch.Tensor:
        """Component covariances as full matrices, shape (N, K, D, D)."""
        if self.scale_tril is not None:
            factor = torch.tril(self.scale_tril)
            covariances = factor @ factor.mT
        else:
            variances = self.scale.pow(2).expand(*self.means.shape)
            covariances = torch.diag_embed(variances)
        return covariances.expand(*self.means.shape, self.n_features)

    def component_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        """``log N(y | mu_ik, Sigma_ik)``, shape (..., N, K) for ``y`` (..., N, D)."""
        if self.scale_tril is not None:
            return F.gaussian_log_prob(y, self.means, self.scale_tril)
        return F.diagonal_gaussian_log_prob(y, self.means, self.scale)

    def log_prob(self, y: torch.Tensor) -> torch.Tensor:
        """Log-density of each row's target, shape (N,) for ``y`` of shape (N, D)."""
        if y.shape[-1] != self.n_features:
            raise ValueError(
                f"y must have shape (..., {self.n_features}), got {tuple(y.shape)}."
            )
        joint = torch.log_softmax(self.logits, -1) + self.component_log_prob(y)
        return torch.logsumexp(joint, dim=-1)

    def nll(self, y: torch.Tensor) -> torch.Tensor:
        """Average negative log-likelihood of the targets: the training loss."""
        return -self.log_prob(y).mean()

    def mean(self) -> torch.Tensor:
        """Mean of each row's mixture, shape (N, D)."""
        return (self.weights.unsqueeze(-1) * self.means).sum(-2)

    def covariance(self) -> torch.Tensor:
        """Covariance of each row's mixture, shape (N, D, D)."""
        weights = self.weights[..., None, None]
        centred = self.means - self.mean().unsqueeze(-2)
        outer = centred.unsqueeze(-1) * centred.unsqueeze(-2)
        return (weights * (self.covariances + outer)).sum(-3)

    def mode(self, n_steps: int = 30) -> torch.Tensor:
        """The highest-density point of each row's mixture, shape (N, D).

        Runs the fixed-point iteration ``y <- (sum_k r_k P_k)^-1 sum_k r_k P_k mu_k``
        (``r_k`` the responsibilities at ``y``, ``P_k`` the precisions),
        which climbs the density monotonically, from every component mean,
        and keeps the best end point. Not differentiable.
        """
        with torch.no_grad():
            log_weights = torch.log_softmax(self.logits, -1).unsqueeze(-2)
            means = self.means.unsqueeze(-3)  # (N, 1, K, D): starts x components
            points = self.means  # (N, S=K, D)
            if self.scale_tril is not None:
                factor = torch.tril(self.scale_tril).unsqueeze(-4)
                precisions = torch.cholesky_inverse(factor)
                weighted_means = (precisions @ means.unsqueeze(-1)).squeeze(-1)
            else:
                precisions = self.scale.pow(-2).unsqueeze(-3)
                weighted_means = precisions * means
            for _ in range(n_steps):
                resp = torch.softmax(log_weights + self._start_log_prob(points), -1)
                if self.scale_tril is not None:
                    total = (resp[..., None, None] * precisions).sum(-3)
                    target = (resp[..., None] * weighted_means).sum(-2)
                    points = torch.linalg.solve(total, target)
                else:
                    total = (resp[..., None] * precisions).sum(-2)
                    points = (resp[..., None] * weighted_means).sum(-2) / total
            values = torch.logsumexp(log_weights + self._start_log_prob(points), -1)
            best = values.argmax(-1)
            index = best[..., None, None].expand(*best.shape, 1, self.n_features)
            return points.gather(-2, index).squeeze(-2)

    def _start_log_prob(self, points: torch.Tensor) -> torch.Tensor:
        """Component log-densities of several points per row, (N, S, K)."""
        if self.scale_tril is not None:
            return F.gaussian_log_prob(
                points, self.means.unsqueeze(-3), self.scale_tril.unsqueeze(-4)
            )
        return F.diagonal_gaussian_log_prob(
            points, self.means.unsqueeze(-3), self.scale.unsqueeze(-3)
        )

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw from each row's mixture, shape (N, D)."""
        if self.scale_tril is not None:
            return F.sample_mixture(self.logits, self.means, self.scale_tril, generator)
        return F.sample_diagonal_mixture(self.logits, self.means, self.scale, generator)

    def affine(
        self, loc: torch.Tensor, scale: torch.Tensor
    ) -> ConditionalMixtureDensity:
        """The mixtures of ``loc + scale * y`` for ``y`` from these, per feature.

        ``loc`` and ``scale`` have shape (D,); ``scale`` must be positive. A
        spherical mixture becomes diagonal when ``scale`` differs by feature.
        """
        means = loc + scale * self.means
        if self.scale_tril is not None:
            return replace(
                self, means=means, scale_tril=scale[:, None] * self.scale_tril
            )
        return replace(self, means=means, scale=scale * self.scale)

    def detach(self) -> ConditionalMixtureDensity:
        """These mixtures with no autograd history."""
        return self.map(torch.Tensor.detach)

    def to(self, *args, **kwargs) -> ConditionalMixtureDensity:
        """These mixtures moved like ``Tensor.to`` (device, dtype)."""
        return self.map(lambda t: t.to(*args, **kwargs))

    def map(self, function) -> ConditionalMixtureDensity:
        """``function`` applied to every tensor."""

        def apply(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else function(t)

        return ConditionalMixtureDensity(
            apply(self.logits),
            apply(self.means),
            apply(self.scale_tril),
            apply(self.scale),
        )

    @classmethod
    def concatenate(
        cls, parts: list[ConditionalMixtureDensity]
    ) -> ConditionalMixtureDensity:
        """The rows of several batches of mixtures, in order."""

        def join(name: str) -> torch.Tensor | None:
            tensors = [getattr(part, name) for part in parts]
            return None if tensors[0] is None else torch.cat(tensors)

        return cls(*(join(name) for name in ("logits", "means", "scale_tril", "scale")))

    def __len__(self) -> int:
        return int(self.means.shape[0])

    def __getitem__(self, rows) -> ConditionalMixtureDensity:
        """The mixtures of some rows (any index a tensor accepts on axis 0)."""
        return self.map(lambda t: t[rows])
