"""A batch of Gaussian mixtures, one per row: what a mixture density head predicts."""

from __future__ import annotations

from dataclasses import KW_ONLY, InitVar, dataclass, replace

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

    The shapes below name one batch axis, N; any number of leading batch
    axes works the same way (a sequence model's mixtures have logits of
    shape (batch, time, K), and their methods return (batch, time, ...)).
    ``len`` and indexing act on the first axis.

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

    Other Parameters
    ----------------
    validate : bool, default=True
        Keyword only. Check that ``scale`` is positive and finite, or that
        the diagonal of ``scale_tril`` is non-zero and finite, and raise a
        ValueError otherwise. The check reads the values, which waits for a
        GPU: :class:`MixtureDensityHead`, whose scales are positive by
        construction, skips it, as do the methods that derive mixtures from
        checked ones (``affine``, ``to``, indexing, ``concatenate``).

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
    _: KW_ONLY
    validate: InitVar[bool] = True

    def __post_init__(self, validate: bool) -> None:
        if (self.scale_tril is None) == (self.scale is None):
            raise ValueError("give exactly one of scale_tril and scale.")
        if not validate:
            return
        if self.scale is not None:
            _check_positive_scale("scale", self.scale)
        else:
            diagonal = torch.diagonal(self.scale_tril, dim1=-2, dim2=-1)
            # the sign of a Cholesky factor's diagonal does not change the
            # covariance; only a zero (singular) or non-finite entry is wrong
            valid = torch.isfinite(diagonal) & (diagonal != 0)
            if not bool(valid.all()):
                raise ValueError(
                    "the diagonal of scale_tril must be non-zero and finite (a "
                    "zero makes a covariance singular); got "
                    f"{_offending(diagonal, valid)}."
                )

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
        and keeps the best end point. A step is kept only where it raises
        the density, and is halved for that start's next try where it does
        not, so that rounding with badly conditioned covariances cannot
        lower it: each row's result is at least as dense as its densest
        component mean. Not differentiable.
        """
        with torch.no_grad():
            inverse = None
            if self.scale_tril is not None and self.scale_tril.shape[-3] > 1:
                factor = torch.tril(self.scale_tril)
                identity = torch.eye(
                    self.n_features, dtype=factor.dtype, device=factor.device
                )
                inverse = torch.linalg.solve_triangular(factor, identity, upper=False)
            points = self.means  # (N, S=K, D): one start per component
            log_resp, values = self._mode_log_responsibilities(points)
            step = torch.ones_like(values)
            for _ in range(n_steps):
                direction = self._mode_direction(points, log_resp, inverse)
                candidates = points + step.unsqueeze(-1) * direction
                new_log_resp, new_values = self._mode_log_responsibilities(candidates)
                # false for NaN too, so a step that rounding spoilt is dropped
                better = new_values >= values
                points = torch.where(better.unsqueeze(-1), candidates, points)
                log_resp = torch.where(better.unsqueeze(-1), new_log_resp, log_resp)
                values = torch.where(better, new_values, values)
                # a full step raises the density in exact arithmetic, and so
                # does any shorter one: a refused step is retried shorter
                step = torch.where(better, (2 * step).clamp(max=1), step / 2)
            best = values.argmax(-1)
            index = best[..., None, None].expand(*best.shape, 1, self.n_features)
            return points.gather(-2, index).squeeze(-2)

    def _mode_log_responsibilities(
        self, points: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``log r_k`` (N, S, K) and the log-density (N, S) of S points per row."""
        joint = torch.log_softmax(self.logits, -1).unsqueeze(-2)
        joint = joint + self._start_log_prob(points)
        values = torch.logsumexp(joint, -1)
        return joint - values.unsqueeze(-1), values

    def _mode_direction(
        self,
        points: torch.Tensor,
        log_resp: torch.Tensor,
        inverse: torch.Tensor | None,
    ) -> torch.Tensor:
        """The fixed-point iteration's step from each point, (N, S, D).

        Formed without the normal equations ``(sum_k r_k P_k) y = ...``,
        whose matrix is singular in floating point once one component's
        covariance is badly conditioned, although its log-density (from
        triangular solves) is not.
        """
        means = self.means.unsqueeze(-3)  # (N, 1, K, D)
        if self.scale is not None:
            # per feature a weighted mean of the means, with weights
            # r_k / s_k^2 normalised in the log domain so that none overflows
            log_precision = -2 * self.scale.log().unsqueeze(-3)
            weights = torch.softmax(log_resp.unsqueeze(-1) + log_precision, dim=-2)
            return (weights * means).sum(-2) - points
        if inverse is None:
            # one covariance for all components: it cancels, leaving the
            # responsibility-weighted mean of the means
            return (log_resp.exp().unsqueeze(-1) * means).sum(-2) - points
        # the step d minimises sum_k r_k |L_k^-1 (y + d - mu_k)|^2: a least
        # squares problem, solved by QR at the square root of the normal
        # equations' condition number
        d = self.n_features
        inverse = inverse.unsqueeze(-4)  # (N, 1, K, D, D)
        whitened = inverse @ (means - points.unsqueeze(-2)).unsqueeze(-1)
        root = (0.5 * log_resp)[..., None, None].exp()
        system = torch.cat([inverse.expand(*whitened.shape[:-1], d), whitened], -1)
        # built transposed, (N, S, D + 1, K * D), so that its .mT is in the
        # column-major layout that LAPACK's QR takes without a copy
        system = (root * system).movedim(-1, -3).flatten(-2)
        # QR of [A | b] holds R of A and Q^T b in its top rows at once
        factor, _ = torch.geqrf(system.mT)
        r, rotated = factor[..., :d, :d], factor[..., :d, d:]
        step = torch.linalg.solve_triangular(r, rotated, upper=True)
        return step.squeeze(-1)

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

        ``loc`` and ``scale`` have shape (D,); ``scale`` must be positive
        and finite (a change of units; ValueError otherwise). A spherical
        mixture becomes diagonal when ``scale`` differs by feature.
        """
        _check_positive_scale("the scale passed to affine", scale)
        means = loc + scale * self.means
        if self.scale_tril is not None:
            return replace(
                self,
                means=means,
                scale_tril=scale[:, None] * self.scale_tril,
                validate=False,
            )
        return replace(self, means=means, scale=scale * self.scale, validate=False)

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
            validate=False,
        )

    @classmethod
    def concatenate(
        cls, parts: list[ConditionalMixtureDensity]
    ) -> ConditionalMixtureDensity:
        """The rows of several batches of mixtures, in order."""

        def join(name: str) -> torch.Tensor | None:
            tensors = [getattr(part, name) for part in parts]
            return None if tensors[0] is None else torch.cat(tensors)

        names = ("logits", "means", "scale_tril", "scale")
        return cls(*(join(name) for name in names), validate=False)

    def __len__(self) -> int:
        return int(self.means.shape[0])

    def __getitem__(self, rows) -> ConditionalMixtureDensity:
        """The mixtures of some rows (any index a tensor accepts on axis 0)."""
        return self.map(lambda t: t[rows])


def _check_positive_scale(name: str, scale: torch.Tensor) -> None:
    """ValueError unless every standard deviation is positive and finite."""
    # NaN fails both tests, so it is reported too
    valid = torch.isfinite(scale) & (scale > 0)
    if not bool(valid.all()):
        raise ValueError(
            f"{name} must be positive and finite (standard deviations); got "
            f"{_offending(scale, valid)}."
        )


def _offending(values: torch.Tensor, valid: torch.Tensor) -> str:
    """How many entries are invalid, and the first of them, for a message."""
    bad = values.detach()[~valid]
    return f"{bad.numel()} invalid entries, the first {bad[0].item()}"
