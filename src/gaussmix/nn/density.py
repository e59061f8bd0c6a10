"""A Gaussian mixture as a torch module with learnable parameters."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from torch import nn

from gaussmix.nn import functional as F

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _unconstrained_from_tril(scale_tril: torch.Tensor) -> torch.Tensor:
    """Strict lower triangle kept, diagonal replaced by its log."""
    diagonal = torch.diagonal(scale_tril, dim1=-2, dim2=-1)
    return torch.tril(scale_tril, -1) + torch.diag_embed(diagonal.log())


def _tril_from_unconstrained(raw: torch.Tensor) -> torch.Tensor:
    """A lower factor with positive diagonal from any square tensor."""
    diagonal = torch.diagonal(raw, dim1=-2, dim2=-1)
    return torch.tril(raw, -1) + torch.diag_embed(diagonal.exp())


class GaussianMixtureDensity(nn.Module):
    """A Gaussian mixture density whose parameters are learned by gradient.

    The weights are ``softmax(logits)``. Covariances are parameterised without
    constraints: ``'full'`` by a lower Cholesky factor whose diagonal is
    stored as its log (``Sigma_k = L_k L_k^T``), ``'tied'`` by one such factor
    shared by all components, ``'diag'`` and ``'spherical'`` by log standard
    deviations. Any value of the raw parameters is a valid mixture.

    Parameters
    ----------
    n_components : int
        Number of components ``K``.
    n_features : int
        Dimension ``D`` of the data.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    dtype : torch.dtype, optional
    device : torch.device or str, optional

    Attributes
    ----------
    logits : Parameter of shape (K,)
    means : Parameter of shape (K, D)
    raw_scale : Parameter
        The unconstrained covariance parameters: ``(K, D, D)`` for full,
        ``(1, D, D)`` for tied, ``(K, D)`` for diag, ``(K, 1)`` for spherical.

    Notes
    -----
    The means start as standard normal draws (from torch's global generator)
    and the covariances as the identity; :meth:`from_estimator` starts from a
    fitted EM solution instead, which is usually the better start.

    Densities are computed in torch's promoted dtype of the input and the
    parameters: float64 rows on a float32 module give float64 results (the
    rows are not rounded to float32), float32 rows on a float32 module give
    float32. Move the module with ``.to(dtype)`` to choose the precision.

    Examples
    --------
    A mixture learned by gradient descent on the negative log-likelihood:

    >>> import torch
    >>> from gaussmix.nn import GaussianMixtureDensity
    >>> _ = torch.manual_seed(0)
    >>> x = torch.cat([torch.randn(200, 2) - 3, torch.randn(200, 2) + 3])
    >>> density = GaussianMixtureDensity(2, 2, covariance_type="diag")
    >>> optimizer = torch.optim.Adam(density.parameters(), lr=0.1)
    >>> for _ in range(200):
    ...     optimizer.zero_grad()
    ...     loss = -density.log_prob(x).mean()
    ...     loss.backward()
    ...     optimizer.step()
    >>> density.weights.detach().round(decimals=2)
    tensor([0.5000, 0.5000])

    Or started from a mixture fitted by EM, and back:

    >>> from gaussmix import GaussianMixture
    >>> gmm = GaussianMixture(2, random_state=0).fit(x.numpy())
    >>> density = GaussianMixtureDensity.from_estimator(gmm)
    >>> density.means.shape
    torch.Size([2, 2])
    >>> density.to_estimator().predict(x.numpy()[:3]).shape
    (3,)
    """

    def __init__(
        self,
        n_components: int,
        n_features: int,
        covariance_type: str = "full",
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("n_components", n_components), ("n_features", n_features)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an integer, got {value!r}.")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}.")
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {list(COVARIANCE_TYPES)}, got "
                f"{covariance_type!r}."
            )
        if device is not None:
            from gaussmix.models.tensors import check_device

            # torch's own failure on a CPU-only build is a bare AssertionError
            device = check_device(device)
        self.n_components = int(n_components)
        self.n_features = int(n_features)
        self.covariance_type = covariance_type
        options = {"dtype": dtype, "device": device}
        k, d = self.n_components, self.n_features
        self.logits = nn.Parameter(torch.zeros(k, **options))
        self.means = nn.Parameter(torch.randn(k, d, **options))
        raw_shape = {
            "full": (k, d, d),
            "tied": (1, d, d),
            "diag": (k, d),
            "spherical": (k, 1),
        }[covariance_type]
        # zeros are the identity covariance in every parameterisation
        self.raw_scale = nn.Parameter(torch.zeros(raw_shape, **options))

    # -- the distribution's parameters -------------------------------------
    @property
    def uses_cholesky(self) -> bool:
        """True for full and tied covariances (Cholesky factors, not scales)."""
        return self.covariance_type in ("full", "tied")

    @property
    def weights(self) -> torch.Tensor:
        """Mixing weights, shape (K,)."""
        return torch.softmax(self.logits, dim=-1)

    @property
    def scale_tril(self) -> torch.Tensor:
        """Lower Cholesky factors of the covariances, (K, D, D) ((1, D, D) tied)."""
        if self.uses_cholesky:
            return _tril_from_unconstrained(self.raw_scale)
        scale = self.scale.expand(self.n_components, self.n_features)
        return torch.diag_embed(scale)

    @property
    def scale(self) -> torch.Tensor:
        """Standard deviations, (K, D) for diag and (K, 1) for spherical.

        Full and tied mixtures have none: the attribute is missing there
        (``hasattr`` is False) and reading it names ``scale_tril``.
        """
        if self.uses_cholesky:
            # falls through to __getattr__, which gives the message
            raise AttributeError("scale")
        return self.raw_scale.exp()

    def __getattr__(self, name: str) -> Any:
        # nn.Module's own __getattr__ would say only that there is no such
        # attribute; an AttributeError (not another error) keeps hasattr,
        # getattr with a default and torch's introspection working
        # (covariance_type is not yet set while the module is being built)
        if (
            name == "scale"
            and "covariance_type" in self.__dict__
            and self.uses_cholesky
        ):
            raise AttributeError(
                f"covariance_type={self.covariance_type!r} has no per-feature "
                "scale; use scale_tril."
            )
        return super().__getattr__(name)

    @property
    def covariances(self) -> torch.Tensor:
        """Covariances in scikit-learn's layout for the covariance type.

        full (K, D, D), tied (D, D), diag (K, D), spherical (K,).
        """
        if self.uses_cholesky:
            factor = self.scale_tril
            covariances = factor @ factor.mT
            return covariances[0] if self.covariance_type == "tied" else covariances
        variances = self.scale.pow(2)
        return variances[:, 0] if self.covariance_type == "spherical" else variances

    # -- densities and draws -------------------------------------------------
    def _check_x(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}.")
        if x.dim() < 1 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"x must have shape (..., {self.n_features}), got {tuple(x.shape)}."
            )

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log N(x | mu_k, Sigma_k)`` for every component, shape (..., K).

        A row with an infinite value is ``-inf`` under every component (a
        NaN stays NaN).
        """
        values, infinite = self._finite_component_log_prob(x)
        return values.masked_fill(infinite.unsqueeze(-1), float("-inf"))

    def _finite_component_log_prob(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Component log-densities with infinite rows evaluated at zero, and
        which rows those are, shape (...): masked only at the end, so that
        neither their values nor their gradients are NaN and a batch holding
        such a row still gives the parameters finite gradients from the
        others."""
        self._check_x(x)
        infinite = torch.isinf(x)
        # no branch on the data: a test of any() would wait for a GPU
        safe = x.masked_fill(infinite, 0.0)
        if self.uses_cholesky:
            values = F.gaussian_log_prob(safe, self.means, self.scale_tril)
        else:
            values = F.diagonal_gaussian_log_prob(safe, self.means, self.scale)
        return values, infinite.any(-1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-density of each row, shape (...) for ``x`` of shape (..., D).

        ``-inf`` for a row with an infinite value, with finite gradients.
        """
        component, infinite = self._finite_component_log_prob(x)
        values = torch.logsumexp(torch.log_softmax(self.logits, -1) + component, -1)
        return values.masked_fill(infinite, float("-inf"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The log-density of ``x``, as :meth:`log_prob`."""
        return self.log_prob(x)

    def log_responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(k | x)``, shape (..., K)."""
        return F.log_responsibilities(self.logits, self.component_log_prob(x))

    def sample(
        self, n_samples: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n_samples`` independent draws, shape (n_samples, D).

        Differentiable in the means and covariances (reparameterised), not in
        the weights.
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
            raise TypeError(f"n_samples must be an integer, got {n_samples!r}.")
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}.")
        logits = self.logits.expand(int(n_samples), self.n_components)
        means = self.means.expand(int(n_samples), *self.means.shape)
        if self.uses_cholesky:
            return F.sample_mixture(logits, means, self.scale_tril, generator)
        return F.sample_diagonal_mixture(logits, means, self.scale, generator)

    # -- conversion to and from fitted estimators ----------------------------
    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> GaussianMixtureDensity:
        """A module holding a fitted mixture's parameters.

        Parameters
        ----------
        estimator : fitted gaussmix or scikit-learn GaussianMixture
            Read through ``weights_``, ``means_``, ``covariances_`` and
            ``covariance_type``; other gaussmix covariance families become a
            ``'full'`` module.
        dtype : torch.dtype, default=torch.float64
        device : torch.device or str, optional

        Raises
        ------
        ValueError
            If the estimator is not fitted, or was fitted with a uniform noise
            component (``noise=True``, a positive ``noise_proportion_``),
            which a module of Gaussians cannot hold.
        """
        for name in ("weights_", "means_", "covariances_", "covariance_type"):
            if not hasattr(estimator, name):
                raise ValueError(
                    f"from_estimator needs a fitted Gaussian mixture; "
                    f"{type(estimator).__name__} has no attribute {name!r} "
                    "(call fit first)."
                )
        noise = getattr(estimator, "noise_proportion_", None)
        # a zero proportion leaves the Gaussians' density exactly as it is
        if noise is not None and float(noise) > 0:
            raise ValueError(
                "from_estimator cannot convert a mixture fitted with noise=True: "
                f"its uniform noise component (noise_proportion_={float(noise):.4g}) "
                "has no counterpart among the module's Gaussians, and dropping it "
                "would change every log-density. Refit without noise=True, or use "
                "the estimator's score_samples, which include the noise."
            )

        def tensor(value: Any) -> torch.Tensor:
            if isinstance(value, torch.Tensor):
                return value.detach().to(dtype=torch.float64, device="cpu")
            return torch.as_tensor(np.asarray(value, dtype=np.float64))

        weights = tensor(estimator.weights_)
        means = tensor(estimator.means_)
        covariances = tensor(estimator.covariances_)
        covariance_type = estimator.covariance_type
        n_components, n_features = means.shape
        if covariance_type not in COVARIANCE_TYPES:
            from gaussmix.core.covariance import get_family

            family = get_family(covariance_type)
            covariances = torch.as_tensor(
                family.full_covariances(covariances.numpy(), n_components, n_features)
            )
            covariance_type = "full"
        module = cls(n_components, n_features, covariance_type, dtype=torch.float64)
        with torch.no_grad():
            module.logits.copy_(weights.log())
            module.means.copy_(means)
            if covariance_type == "full":
                raw = _unconstrained_from_tril(torch.linalg.cholesky(covariances))
            elif covariance_type == "tied":
                raw = _unconstrained_from_tril(torch.linalg.cholesky(covariances))[None]
            elif covariance_type == "diag":
                raw = 0.5 * covariances.log()
            else:
                raw = 0.5 * covariances.log()[:, None]
            module.raw_scale.copy_(raw)
        return module.to(dtype=dtype, device=device)

    def to_estimator(self, **kwargs: Any):
        """A fitted :class:`gaussmix.GaussianMixture` with these parameters.

        Parameters
        ----------
        **kwargs
            Other constructor parameters of the estimator (``random_state``...).

        Returns
        -------
        gaussmix.GaussianMixture
            With float64 numpy attributes (float32 if the module is float32).
        """
        from gaussmix.models import GaussianMixture

        with torch.no_grad():

            def array(value: torch.Tensor) -> np.ndarray:
                return value.detach().to("cpu", torch.float64).numpy()

            weights = array(self.weights)
            means = array(self.means)
            covariances = array(self.covariances)
        if self.means.dtype == torch.float32:
            means = means.astype(np.float32)
        return GaussianMixture.from_params(
            weights / weights.sum(),
            means,
            covariances,
            self.covariance_type,
            **kwargs,
        )

    def extra_repr(self) -> str:
        return (
            f"n_components={self.n_components}, n_features={self.n_features}, "
            f"covariance_type={self.covariance_type!r}"
        )
