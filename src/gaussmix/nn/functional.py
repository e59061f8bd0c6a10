"""Differentiable log-densities and draws of Gaussian mixtures.

Everything is computed in the log domain from Cholesky factors of the
covariances (``scale_tril``, lower triangular with ``Sigma = L L^T``) or from
standard deviations (``scale``): a Mahalanobis term is a triangular solve,
never an explicit inverse, and a log-determinant is a sum of logs of the
factor's diagonal. All functions broadcast over leading batch dimensions, so
the same code serves one mixture for a whole batch (a density layer) and one
mixture per row (a mixture density network).

Shapes use ``K`` for components and ``D`` for features. ``x`` is ``(..., D)``;
``logits`` ``(..., K)``; ``means`` ``(..., K, D)``; ``scale_tril``
``(..., K, D, D)``, where one factor shared by all components (the tied
model) is passed with a component axis of length 1, ``(..., 1, D, D)``;
``scale`` ``(..., K, D)`` (diagonal) or
``(..., K, 1)`` (spherical).
"""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2.0 * math.pi)


def _solve_lower(scale_tril: torch.Tensor, diff: torch.Tensor) -> torch.Tensor:
    """``L^{-1} d`` for ``diff`` (..., D), batching the rows as columns.

    Batch dimensions of ``diff`` that ``scale_tril`` does not have become
    right-hand-side columns of one triangular solve, so a factor shared by
    many rows is never copied once per row.
    """
    # solve_triangular does not promote: a float32 factor would turn float64
    # rows into float32 results, so both take torch's promoted dtype, as the
    # diagonal densities do through ordinary arithmetic
    dtype = torch.promote_types(scale_tril.dtype, diff.dtype)
    scale_tril, diff = scale_tril.to(dtype), diff.to(dtype)
    n_features = diff.shape[-1]
    batch = torch.broadcast_shapes(diff.shape[:-1], scale_tril.shape[:-2])
    if math.prod(batch) == 0:
        # an empty batch of rows: nothing to solve (and no -1 to infer below)
        return diff.new_zeros(*batch, n_features)
    factor_batch = batch[len(batch) - (scale_tril.dim() - 2) :]
    factor = scale_tril.expand(*factor_batch, n_features, n_features)
    rhs = diff.expand(*batch, n_features).reshape(-1, *factor_batch, n_features)
    # (M, *fb, D) -> (*fb, D, M): the rows become columns of the right-hand side
    rhs = rhs.movedim(0, -1)
    solved = torch.linalg.solve_triangular(factor, rhs, upper=False)
    solved = solved.movedim(-1, 0).reshape(*batch, n_features)
    return solved


def gaussian_log_prob(
    x: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor
) -> torch.Tensor:
    """Per-component log-density ``log N(x | mu_k, L_k L_k^T)``.

    Parameters
    ----------
    x : Tensor of shape (..., D)
    means : Tensor of shape (..., K, D)
    scale_tril : Tensor of shape (..., K, D, D) or (..., 1, D, D)
        Lower Cholesky factors of the covariances (a component axis of length
        1 shares one factor, the tied model); only the lower triangle is read,
        and the sign of the diagonal does not matter.

    Returns
    -------
    Tensor of shape (..., K)

    Examples
    --------
    >>> import torch
    >>> from gaussmix.nn import gaussian_log_prob
    >>> x = torch.zeros(5, 2)
    >>> means = torch.tensor([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]])
    >>> scale_tril = torch.eye(2).expand(3, 2, 2)
    >>> gaussian_log_prob(x, means, scale_tril).shape  # rows x components
    torch.Size([5, 3])
    """
    diff = x.unsqueeze(-2) - means
    whitened = _solve_lower(scale_tril, diff)
    mahalanobis = whitened.pow(2).sum(-1)
    half_log_det = torch.diagonal(scale_tril, dim1=-2, dim2=-1).abs().log().sum(-1)
    return -0.5 * (x.shape[-1] * LOG_2PI + mahalanobis) - half_log_det


def diagonal_gaussian_log_prob(
    x: torch.Tensor, means: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Per-component log-density with diagonal covariances ``diag(scale**2)``.

    Parameters
    ----------
    x : Tensor of shape (..., D)
    means : Tensor of shape (..., K, D)
    scale : Tensor of shape (..., K, D) or (..., K, 1)
        Standard deviations, positive; the spherical model passes one per
        component with a trailing axis of length 1.

    Returns
    -------
    Tensor of shape (..., K)

    Examples
    --------
    >>> import torch
    >>> from gaussmix.nn import diagonal_gaussian_log_prob
    >>> x = torch.zeros(4, 3)
    >>> means, scale = torch.zeros(2, 3), torch.ones(2, 3)
    >>> diagonal_gaussian_log_prob(x, means, scale).shape
    torch.Size([4, 2])
    """
    n_features = x.shape[-1]
    whitened = (x.unsqueeze(-2) - means) / scale
    mahalanobis = whitened.pow(2).sum(-1)
    log_scale = scale.log().expand(*scale.shape[:-1], n_features).sum(-1)
    return -0.5 * (n_features * LOG_2PI + mahalanobis) - log_scale


def mixture_log_prob(
    x: torch.Tensor,
    logits: torch.Tensor,
    means: torch.Tensor,
    scale_tril: torch.Tensor,
) -> torch.Tensor:
    """Log-density of a Gaussian mixture with Cholesky-factored covariances.

    Parameters
    ----------
    x : Tensor of shape (..., D)
    logits : Tensor of shape (..., K)
        Unnormalised log-weights; the weights are ``softmax(logits)``.
    means : Tensor of shape (..., K, D)
    scale_tril : Tensor of shape (..., K, D, D) or (..., 1, D, D)
        Lower Cholesky factors of the covariances (a component axis of length
        1 shares one factor, the tied model).

    Returns
    -------
    Tensor of shape (...)

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from gaussmix.nn import mixture_log_prob
    >>> logits = torch.zeros(2)  # equal weights
    >>> means = torch.tensor([[-1.0], [1.0]])
    >>> scale_tril = torch.ones(2, 1, 1)
    >>> log_p = mixture_log_prob(torch.tensor([[0.0]]), logits, means, scale_tril)
    >>> math.isclose(log_p.item(), -0.5 - 0.5 * math.log(2 * math.pi), rel_tol=1e-6)
    True
    """
    component = gaussian_log_prob(x, means, scale_tril)
    return torch.logsumexp(torch.log_softmax(logits, dim=-1) + component, dim=-1)


def diagonal_mixture_log_prob(
    x: torch.Tensor, logits: torch.Tensor, means: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Log-density of a mixture with diagonal or spherical covariances.

    Parameters
    ----------
    x : Tensor of shape (..., D)
    logits : Tensor of shape (..., K)
    means : Tensor of shape (..., K, D)
    scale : Tensor of shape (..., K, D) or (..., K, 1)
        Standard deviations.

    Returns
    -------
    Tensor of shape (...)

    Examples
    --------
    >>> import torch
    >>> from gaussmix.nn import diagonal_mixture_log_prob
    >>> x = torch.randn(6, 3)
    >>> logits, means, scale = torch.zeros(2), torch.randn(2, 3), torch.ones(2, 3)
    >>> diagonal_mixture_log_prob(x, logits, means, scale).shape
    torch.Size([6])
    """
    component = diagonal_gaussian_log_prob(x, means, scale)
    return torch.logsumexp(torch.log_softmax(logits, dim=-1) + component, dim=-1)


def log_responsibilities(
    logits: torch.Tensor, component_log_prob: torch.Tensor
) -> torch.Tensor:
    """``log p(k | x)`` from the logits and per-component log-densities (..., K).

    Examples
    --------
    >>> import torch
    >>> from gaussmix.nn import gaussian_log_prob, log_responsibilities
    >>> x = torch.tensor([[-1.0], [1.0]])
    >>> means, scale_tril = torch.tensor([[-1.0], [1.0]]), torch.ones(2, 1, 1)
    >>> component = gaussian_log_prob(x, means, scale_tril)
    >>> log_responsibilities(torch.zeros(2), component).exp().round(decimals=3)
    tensor([[0.8810, 0.1190],
            [0.1190, 0.8810]])
    """
    joint = torch.log_softmax(logits, dim=-1) + component_log_prob
    return joint - torch.logsumexp(joint, dim=-1, keepdim=True)


def sample_mixture(
    logits: torch.Tensor,
    means: torch.Tensor,
    scale_tril: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One draw per mixture in the batch: ``(..., D)`` from ``(..., K, ...)``.

    For several draws from one mixture, expand the parameters' batch shape
    first. Draws are reparameterised given the component (differentiable in
    means and scales, not in the logits).

    Parameters
    ----------
    logits : Tensor of shape (..., K)
    means : Tensor of shape (..., K, D)
    scale_tril : Tensor of shape (..., K, D, D) or (..., 1, D, D)
    generator : torch.Generator, optional
        On the parameters' device.

    Examples
    --------
    Three draws from one mixture: expand its parameters to a batch of three.

    >>> import torch
    >>> from gaussmix.nn import sample_mixture
    >>> logits = torch.zeros(2)
    >>> means = torch.tensor([[-5.0, 0.0], [5.0, 0.0]])
    >>> scale_tril = 0.1 * torch.eye(2).expand(2, 2, 2)
    >>> generator = torch.Generator().manual_seed(0)
    >>> draws = sample_mixture(
    ...     logits.expand(3, 2),
    ...     means.expand(3, 2, 2),
    ...     scale_tril.expand(3, 2, 2, 2),
    ...     generator=generator,
    ... )
    >>> draws.shape
    torch.Size([3, 2])
    """
    batch = means.shape[:-2]
    n_components, n_features = means.shape[-2:]
    component = _draw_components(logits.expand(*batch, n_components), generator)
    noise = torch.randn(
        (*batch, n_features, 1),
        generator=generator,
        dtype=means.dtype,
        device=means.device,
    )
    factors = scale_tril.expand(*batch, n_components, n_features, n_features)
    factor = torch.tril(_take(factors, component))
    return _take(means, component) + (factor @ noise).squeeze(-1)


def sample_diagonal_mixture(
    logits: torch.Tensor,
    means: torch.Tensor,
    scale: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One draw per mixture from a diagonal or spherical mixture, ``(..., D)``.

    Examples
    --------
    >>> import torch
    >>> from gaussmix.nn import sample_diagonal_mixture
    >>> logits = torch.zeros(4, 2)  # a batch of four mixtures
    >>> means = torch.randn(4, 2, 3)
    >>> scale = torch.ones(4, 2, 1)  # spherical: one deviation per component
    >>> sample_diagonal_mixture(logits, means, scale).shape
    torch.Size([4, 3])
    """
    batch = means.shape[:-2]
    n_components, n_features = means.shape[-2:]
    component = _draw_components(logits.expand(*batch, n_components), generator)
    noise = torch.randn(
        (*batch, n_features),
        generator=generator,
        dtype=means.dtype,
        device=means.device,
    )
    full_scale = scale.expand(*batch, n_components, n_features)
    return _take(means, component) + _take(full_scale, component) * noise


def _draw_components(
    logits: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """A component index per batch entry, drawn with ``softmax(logits)``."""
    if generator is not None and generator.device.type != logits.device.type:
        raise ValueError(
            f"the generator is on {generator.device.type} but the mixture's "
            f"parameters are on {logits.device}; create it there: "
            f"torch.Generator(device={str(logits.device)!r}).manual_seed(seed)."
        )
    probs = torch.softmax(logits.detach(), dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    drawn = torch.multinomial(flat, 1, generator=generator)
    return drawn.reshape(probs.shape[:-1])


def _take(values: torch.Tensor, component: torch.Tensor) -> torch.Tensor:
    """``values[..., component, ...]`` per batch entry along the component axis."""
    axis = component.dim()
    index = component.reshape(*component.shape, 1, *([1] * (values.dim() - axis - 1)))
    index = index.expand(*component.shape, 1, *values.shape[axis + 1 :])
    return values.gather(axis, index).squeeze(axis)
