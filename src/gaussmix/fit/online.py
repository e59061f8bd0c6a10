"""Stepwise (online) EM: running Stats blended with each new batch's.

After batch ``t`` the running statistics are
``S_t = (1 - rho_t) S_{t-1} + rho_t * s(batch_t) / w(batch_t)`` with step
``rho_t = (t + offset) ** -decay`` (Cappé & Moulines, 2009). The M-step is
invariant to the scale of the statistics, so they are kept per unit of
weight. With ``0.5 < decay <= 1`` the steps satisfy the Robbins-Monro
conditions and the estimates converge.

A stream may start from a fitted mixture rather than from nothing: its
running statistics are then :func:`parameter_stats`, the Stats whose M-step
gives its parameters back, and the fit counts as the first batch.
"""

from __future__ import annotations

import numpy as np

from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats


def step_size(batch_index: int, decay: float, offset: float) -> float:
    """``rho_t = (t + offset) ** -decay`` for the ``t``-th batch (t >= 1)."""
    return float((batch_index + offset) ** -decay)


def stepwise_update(running: Stats | None, batch: Stats, step: float) -> Stats:
    """Blend a batch's Stats into the running Stats with weight ``step``."""
    per_weight = batch.scaled(1.0 / batch.total_weight)
    if running is None:
        return per_weight
    return running.recentred(batch.shift).scaled(1.0 - step) + per_weight.scaled(step)


def parameter_stats(params: MixtureParams, reg_covar: float) -> Stats:
    """Per-unit-weight Stats whose maximum-likelihood M-step returns ``params``.

    Each component weighs its mixing weight, its rows average its mean, and
    its scatter about the mean is its covariance less the ``reg_covar`` that
    the M-step adds back. At a fixed point of EM these are exactly the
    expected Stats of the fitted rows under the fitted parameters (per unit
    of their weight), for the families whose M-step reads the scatter only
    through the covariance it estimates (full, tied, diag, spherical); the
    constrained mclust families get the Stats of their own constrained
    covariances, which their M-step also returns unchanged.

    Parameters
    ----------
    params : MixtureParams
        The mixture (numpy arrays). The weights may sum to less than one (a
        noise component holds the rest).
    reg_covar : float
        The ``reg_covar`` of the M-steps these Stats will feed.

    Returns
    -------
    Stats
        Of the family's scatter kind, ``total_weight`` one.
    """
    family = params.family
    weights = np.asarray(params.weights, dtype=np.float64)
    means = np.asarray(params.means, dtype=np.float64)
    n_components, n_features = means.shape
    covariances = family.full_covariances(
        np.asarray(params.covariances, dtype=np.float64), n_components, n_features
    ) - reg_covar * np.eye(n_features)
    centred_sum = np.zeros_like(means)
    shift = means
    if family.scatter_kind == "full":
        scatter = weights[:, None, None] * covariances
    elif family.scatter_kind == "diag":
        scatter = weights[:, None] * np.diagonal(covariances, axis1=1, axis2=2)
    else:
        # one shift for all: the between-component spread joins the scatter
        centre = np.mean(means, axis=0)
        shift = np.broadcast_to(centre, means.shape).copy()
        offset = means - centre
        centred_sum = weights[:, None] * offset
        scatter = (
            np.einsum("k,ki,kj->ij", weights, offset, offset)
            + weights.sum() * covariances[0]
        )
    return Stats(
        resp_sum=weights,
        centred_sum=centred_sum,
        scatter=scatter,
        shift=shift,
        scatter_kind=family.scatter_kind,
        total_weight=1.0,
    )
