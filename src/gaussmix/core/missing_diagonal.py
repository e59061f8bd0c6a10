"""EM's E-step with missing values for components of diagonal covariance.

With a diagonal covariance the columns of a component are independent, so
marginalising a missing value drops its term and its conditional
distribution is the component's own: mean ``mu_kd``, variance ``s_kd``. A
row's log-density sums its observed columns' terms, and with ``M`` the
observed mask, ``y = x - c`` about a centre ``c`` (the average of the
means), ``y0`` that with zeros where missing and ``p = 1/s``:

    log w_k p_k(x_o) = log w_k - (y0^2 @ p_k - 2 y0 @ (p_k mu'_k)
                                  + M @ (p_k mu'_k^2 + log(2 pi s_k))) / 2

three GEMMs of the rows with (D, K) tables, and the moments about the
means are as short:

    sum r (x - mu)_d     = (r^T y0)_d - mu'_d (r^T M)_d
    sum r (x - mu)_d^2   = (r^T y0^2)_d - 2 mu'_d (r^T y0)_d
                           + mu'_d^2 (r^T M)_d + s_d (sum r - (r^T M)_d)

(the last term the missing values' conditional variance). The expansion
about ``c`` rounds like the quadratic features of the full kernel, and
the same bound (:meth:`QuadraticForms.accurate`) sends the chunks where
it would round visibly worse to the general E-step.
"""

from __future__ import annotations

import numpy as np

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.missing_blocks import (
    NEGLIGIBLE_RESPONSIBILITY,
    Precisions,
    noise_share_sum,
    normalise,
    worst_row,
)
from gaussmix.core.missing_pairs import CentredMixture
from gaussmix.core.stats import Stats


def has_diagonal_precisions(components: Precisions) -> bool:
    """Whether every component's precision is diagonal, exactly."""
    n_features = components.means.shape[1]
    off_diagonal = ~np.eye(n_features, dtype=bool)
    return not np.any(components.precisions[:, off_diagonal])


def diagonal_chunk_stats(
    values: np.ndarray,
    hidden: np.ndarray,
    weights: np.ndarray,
    mixture: CentredMixture,
    log_noise: np.ndarray | None = None,
) -> Stats | tuple[Stats, float] | None:
    """The E-step of rows with missing values under diagonal precisions,
    as diag-kind Stats about the means.

    ``values`` (n, D) float64 with NaN where ``hidden``; every row has an
    observed value. None where the expansion about the centre would round
    visibly worse than the general E-step. With ``log_noise`` (n,), a noise
    component's column of each row, the Stats (whose log-likelihood then
    includes the noise) and the noise's weighted responsibility sum.
    """
    components = mixture.components
    filled = np.where(hidden, 0.0, values - mixture.centre)
    squares = filled * filled
    if not mixture.forms.accurate(squares.sum(axis=1)):
        return None
    observed = (~hidden).astype(np.float64)
    precision = np.diagonal(components.precisions, axis1=1, axis2=2)  # (K, D)
    centred_means = mixture.centred_means
    weighted_means = precision * centred_means
    per_column = weighted_means * centred_means + LOG_2PI - np.log(precision)
    joint = squares @ precision.T
    joint -= 2.0 * (filled @ weighted_means.T)
    joint += observed @ per_column.T
    joint *= -0.5
    joint += components.log_weights
    log_norm, shares = normalise(joint, log_noise)
    shares[~(shares > NEGLIGIBLE_RESPONSIBILITY)] = 0.0
    resp = shares * weights[:, None]
    resp_sum = resp.sum(axis=0)
    seen = resp.T @ observed
    first = resp.T @ filled
    centred = first - centred_means * seen
    scatter = resp.T @ squares
    scatter -= 2.0 * centred_means * first
    scatter += centred_means * centred_means * seen
    scatter += (resp_sum[:, None] - seen) / precision
    worst = worst_row(values, hidden, weights, log_norm, resp, components)
    stats = Stats(
        resp_sum=resp_sum,
        centred_sum=centred,
        scatter=scatter,
        shift=components.means.copy(),
        scatter_kind="diag",
        log_likelihood=float(weights @ log_norm),
        total_weight=float(weights.sum()),
        worst_log_density=worst[0],
        worst_point=worst[1],
    )
    if log_noise is None:
        return stats
    return stats, noise_share_sum(log_noise, log_norm, weights)
