"""Stepwise (online) EM: running Stats blended with each new batch's.

After batch ``t`` the running statistics are
``S_t = (1 - rho_t) S_{t-1} + rho_t * s(batch_t) / w(batch_t)`` with step
``rho_t = (t + offset) ** -decay`` (Cappé & Moulines, 2009). The M-step is
invariant to the scale of the statistics, so they are kept per unit of
weight. With ``0.5 < decay <= 1`` the steps satisfy the Robbins-Monro
conditions and the estimates converge.
"""

from __future__ import annotations

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
