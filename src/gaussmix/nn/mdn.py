"""Mixture density network head: features to one Gaussian mixture per row."""

from __future__ import annotations

import numbers

import torch
from torch import nn

from gaussmix.nn.conditional import ConditionalMixtureDensity
from gaussmix.nn.density import COVARIANCE_TYPES


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    return int(value)


class MixtureDensityHead(nn.Module):
    """Turns a network's features into a Gaussian mixture over the targets.

    Three linear maps of the features give, per row, the mixture's logits,
    its means, and its covariance parameters: standard deviations pass
    through ``softplus`` and are floored at ``min_scale``; for ``'full'``
    the strictly lower entries of each Cholesky factor are unconstrained.

    Parameters
    ----------
    in_features : int
        Width of the features.
    out_features : int
        Dimension ``D`` of the targets.
    n_components : int
        Components ``K`` per mixture.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        ``'tied'`` shares one covariance among a row's components.
    min_scale : float, default=1e-3
        Smallest standard deviation (in the targets' units): keeps the
        likelihood bounded when a component sits on one point.

    Examples
    --------
    >>> import torch
    >>> from gaussmix.nn import MixtureDensityHead
    >>> head = MixtureDensityHead(16, 2, n_components=3)
    >>> mixture = head(torch.randn(8, 16))
    >>> loss = mixture.nll(torch.randn(8, 2))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        n_components: int,
        covariance_type: str = "full",
        *,
        min_scale: float = 1e-3,
    ) -> None:
        super().__init__()
        in_features = _check_positive_int("in_features", in_features)
        d = _check_positive_int("out_features", out_features)
        k = _check_positive_int("n_components", n_components)
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {list(COVARIANCE_TYPES)}, got "
                f"{covariance_type!r}."
            )
        if not (isinstance(min_scale, numbers.Real) and min_scale >= 0):
            raise ValueError(f"min_scale must be a number >= 0, got {min_scale!r}.")
        self.in_features = in_features
        self.out_features = d
        self.n_components = k
        self.covariance_type = covariance_type
        self.min_scale = float(min_scale)
        n_factors = 1 if covariance_type == "tied" else k
        self._n_factors = n_factors
        n_scales = {
            "full": k * d,
            "tied": d,
            "diag": k * d,
            "spherical": k,
        }[covariance_type]
        n_off_diagonal = n_factors * d * (d - 1) // 2 if self.uses_cholesky else 0
        self.logits = nn.Linear(in_features, k)
        self.means = nn.Linear(in_features, k * d)
        self.scales = nn.Linear(in_features, n_scales)
        self.off_diagonal = (
            nn.Linear(in_features, n_off_diagonal) if n_off_diagonal else None
        )
        rows, columns = torch.tril_indices(d, d, offset=-1)
        self.register_buffer("_rows", rows, persistent=False)
        self.register_buffer("_columns", columns, persistent=False)

    @property
    def uses_cholesky(self) -> bool:
        return self.covariance_type in ("full", "tied")

    def forward(self, features: torch.Tensor) -> ConditionalMixtureDensity:
        """The mixture of each row, for ``features`` of shape (..., N, in_features).

        Leading axes are kept, as ``nn.Linear`` keeps them: the features of
        a sequence model, (batch, time, in_features), give one mixture per
        batch entry and time step, whose ``log_prob`` takes targets of shape
        (batch, time, D).
        """
        if features.dim() < 2 or features.shape[-1] != self.in_features:
            raise ValueError(
                f"features must have shape (N, {self.in_features}), or more "
                f"leading axes (..., N, {self.in_features}); got "
                f"{tuple(features.shape)}."
            )
        batch, k, d = features.shape[:-1], self.n_components, self.out_features
        logits = self.logits(features)
        means = self.means(features).reshape(*batch, k, d)
        scales = nn.functional.softplus(self.scales(features)) + self.min_scale
        if not self.uses_cholesky:
            width = d if self.covariance_type == "diag" else 1
            # positive by construction: checking would wait for a GPU
            return ConditionalMixtureDensity(
                logits, means, scale=scales.reshape(*batch, k, width), validate=False
            )
        factors = torch.diag_embed(scales.reshape(*batch, self._n_factors, d))
        if self.off_diagonal is not None:
            # explicit sizes: an empty batch has no -1 to infer
            lower = self.off_diagonal(features).reshape(
                *batch, self._n_factors, len(self._rows)
            )
            factors[..., self._rows, self._columns] = lower
        return ConditionalMixtureDensity(
            logits, means, scale_tril=factors, validate=False
        )

    def loss(self, features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Average negative log-likelihood of ``targets`` (..., N, D) given
        ``features`` (..., N, in_features)."""
        return self(features).nll(targets)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_components={self.n_components}, "
            f"covariance_type={self.covariance_type!r}"
        )
