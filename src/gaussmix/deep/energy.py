"""The sample energy of DAGMM: a mixture estimated from soft memberships.

Both functions are differentiable in every argument, so the gradient of the
energy reaches the memberships, the codes and through them the networks.

Why the moments are written here again rather than taken from the core's
``Stats`` and M-step: those sums leave the array backend as float64 numpy
arrays (they are accumulated on the host so that chunks add without losing
digits), which cuts the autograd graph, and their M-step adds ``reg_covar``
and repairs collapsed components, neither of which a loss may do behind the
gradient's back. Here the memberships are the network's output and the
moments must stay tensors of the graph, in the batch's dtype.
"""

from __future__ import annotations

import torch

from gaussmix.nn.functional import mixture_log_prob


def mixture_statistics(
    z: torch.Tensor, membership: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The mixture whose responsibilities are ``membership`` (an M-step).

    Parameters
    ----------
    z : Tensor of shape (N, L)
    membership : Tensor of shape (N, K)
        Soft memberships; each row sums to 1.

    Returns
    -------
    weights : Tensor of shape (K,)
    means : Tensor of shape (K, L)
    covariances : Tensor of shape (K, L, L)
        Scatter about each component's own mean, so nothing cancels.

    Examples
    --------
    >>> import torch
    >>> from gaussmix.deep import mixture_statistics
    >>> z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]])
    >>> membership = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> weights, means, covariances = mixture_statistics(z, membership)
    >>> weights
    tensor([0.5000, 0.5000])
    >>> means
    tensor([[ 1.,  0.],
            [11., 10.]])
    >>> covariances.shape
    torch.Size([2, 2, 2])
    """
    totals = membership.sum(0)
    weights = totals / len(z)
    safe_totals = totals.clamp_min(torch.finfo(z.dtype).tiny).unsqueeze(-1)
    means = membership.T @ z / safe_totals
    centred = z.unsqueeze(1) - means  # (N, K, L)
    weighted = membership.unsqueeze(-1) * centred
    covariances = torch.einsum("nki,nkj->kij", weighted, centred)
    return weights, means, covariances / safe_totals.unsqueeze(-1)


def sample_energy(
    z: torch.Tensor,
    weights: torch.Tensor,
    means: torch.Tensor,
    covariances: torch.Tensor,
    jitter: float,
) -> torch.Tensor:
    """``-log sum_k w_k N(z | mu_k, Sigma_k + jitter I)`` of each row, (N,).

    The density comes from Cholesky factors (log-determinant from their
    diagonal, Mahalanobis distances by triangular solves), differentiable
    in every argument. The published reference code took a determinant to
    the power 1/4 and detached the inverse covariance; neither happens here.

    Examples
    --------
    >>> import torch
    >>> from gaussmix.deep import sample_energy
    >>> z = torch.tensor([[0.0, 0.0], [5.0, 5.0]])
    >>> weights = torch.tensor([1.0])
    >>> means, covariances = torch.zeros(1, 2), torch.eye(2).unsqueeze(0)
    >>> energy = sample_energy(z, weights, means, covariances, jitter=1e-6)
    >>> bool(energy[1] > energy[0])  # the far row has the higher energy
    True
    """
    eye = torch.eye(z.shape[-1], dtype=z.dtype, device=z.device)
    scale_tril = torch.linalg.cholesky(covariances + jitter * eye)
    log_weights = weights.clamp_min(torch.finfo(z.dtype).tiny).log()
    return -mixture_log_prob(z, log_weights, means, scale_tril)


def shrink_correlations(covariances: torch.Tensor, shrinkage: float) -> torch.Tensor:
    """``(1 - shrinkage) Sigma + shrinkage diag(Sigma)`` for each component.

    The variances stay; every correlation is multiplied by ``1 - shrinkage``,
    so the determinant is at least ``shrinkage ** L`` times the product of
    the variances: features cannot buy a low energy by lining up. Each
    feature keeps its own scale (the code's scale is the encoder's choice).

    Examples
    --------
    >>> import torch
    >>> from gaussmix.deep.energy import shrink_correlations
    >>> shrink_correlations(torch.tensor([[[4.0, 2.0], [2.0, 1.0]]]), 0.5)
    tensor([[[4., 1.],
             [1., 1.]]])
    """
    diagonal = torch.diagonal(covariances, dim1=-2, dim2=-1)
    return (1.0 - shrinkage) * covariances + shrinkage * torch.diag_embed(diagonal)
