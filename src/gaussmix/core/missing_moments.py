"""EM's E-step with missing values as GEMMs over rows filled at a centre.

Fill every missing value with a common centre ``c`` (the average of the
means) and write ``x~`` for the filled row minus ``c`` (zero where values
are missing), ``mu'`` for a component's mean minus ``c``. With the
component's precision ``P``, the filled row's quadratic form
``q_c = (x~ - mu')^T P (x~ - mu')`` and half its gradient over the missing
columns, ``g = (P (x~ - mu'))_m``, give everything by minimising over the
missing values:

    (x_o - mu_o)^T S_oo^-1 (x_o - mu_o) = q_c - g^T P_mm^-1 g
    E[x_m | x_o, k] - c_m               = -P_mm^-1 g
    Cov[x_m | x_o, k]                   =  P_mm^-1
    log |S_oo|                          =  log |S| + log |P_mm|

``x~`` is the same for every component, so most of the work is shared by
all pairs: the responsibility-weighted moments of ``x~`` come from one GEMM
over the quadratic features of the complete-data kernel
(:class:`~gaussmix.core.kernels.full_moments.QuadraticForms`), and
``P_k (x~ - mu'_k)`` for every column and component from one small GEMM
per block of rows against the table ``[P_1 ... P_K; -P_k mu'_k]``, which
gives both ``q_c`` and ``g``. What is left per pair is compiled
(:mod:`gaussmix.core.missing_rows`): the r × r algebra of its missing
block. The completions ``e`` (zero where observed) enter the second
moments as

    sum r (x~ + e)(x~ + e)^T = sum r x~ x~^T + C + C^T + sum r e e^T

with ``C = sum r e x~^T``, added pair by pair for the pairs that carry
weight, as is ``r P_mm^-1`` (once per run of rows of one pattern). The
expansion about ``c`` rounds like the complete-data kernel's, and the same
bound (:meth:`QuadraticForms.accurate`) sends the chunks where it would
round visibly worse to the pair-by-pair algebra.
"""

from __future__ import annotations

import numpy as np

from gaussmix.core.missing_blocks import (
    NEGLIGIBLE_RESPONSIBILITY,
    Precisions,
    as_stats,
    noise_share_sum,
    shift_of,
    worst_row,
)
from gaussmix.core.missing_pairs import CentredMixture
from gaussmix.core.stats import Stats


def gemm_chunk_stats(
    values: np.ndarray,
    hidden: np.ndarray,
    weights: np.ndarray,
    components: Precisions | CentredMixture,
    kind: str,
    log_noise: np.ndarray | None = None,
) -> Stats | tuple[Stats, float] | None:
    """The E-step of rows with missing values by GEMMs about a centre.

    ``values`` (n, D) float64 with NaN where ``hidden``; every row has an
    observed value. None where the expansion about the centre would round
    visibly worse than working pair by pair. With ``log_noise`` (n,), a
    noise component's column of each row, the Stats (whose log-likelihood
    then includes the noise) and the noise's weighted responsibility sum.
    """
    # compiled code, imported (numba with it) only once a row has a hole
    from gaussmix.core.missing_rows import missing_row_sums

    n_rows, n_features = values.shape
    if isinstance(components, CentredMixture):
        mixture, components = components, components.components
    else:
        mixture = CentredMixture(components)
    filled = np.where(hidden, 0.0, values - mixture.centre)
    squared_norms = np.einsum("nd,nd->n", filled, filled)
    forms = mixture.forms
    if not forms.accurate(squared_norms):
        return None
    n_components = mixture.constants.size
    log_norm = np.empty(n_rows)
    resp = np.empty((n_rows, n_components))
    dense = np.empty(n_rows, dtype=bool)
    resp_sum = np.zeros(n_components)
    first = np.zeros((n_components, n_features))
    cross = np.zeros((n_components, n_features, n_features))
    covariances = np.zeros((n_components, n_features, n_features))
    missing_row_sums(
        hidden,
        filled,
        mixture.gains,
        mixture.constants,
        components.precisions,
        np.full(n_rows, -np.inf) if log_noise is None else log_noise,
        weights,
        NEGLIGIBLE_RESPONSIBILITY,
        (log_norm, resp, dense, resp_sum, first, cross, covariances),
    )
    second = np.zeros((n_components, n_features, n_features))
    rows = np.flatnonzero(dense)
    if rows.size:
        # the rows that weigh many components: their moments of x~ by GEMM
        block = np.empty((n_features + 2, rows.size))
        block[:n_features] = filled[rows].T
        block[n_features] = 1.0
        block[n_features + 1] = squared_norms[rows]
        features = forms.features(block)
        more_sum, more_first, second = forms.moments(features, resp[rows].T)
        resp_sum += more_sum
        first += more_first
    second += cross
    second += cross.transpose(0, 2, 1)
    # ``covariances`` holds lower triangles
    diagonal = np.arange(n_features)
    covariances[:, diagonal, diagonal] *= 0.5
    second += covariances
    second += covariances.transpose(0, 2, 1)
    # moments about c moved to each shift
    shift = shift_of(components, kind)
    offsets = shift - mixture.centre
    centred = first - resp_sum[:, None] * offsets
    cross = centred[:, :, None] * offsets[:, None, :]
    second -= cross
    second -= cross.transpose(0, 2, 1)
    second -= resp_sum[:, None, None] * offsets[:, :, None] * offsets[:, None, :]
    stats = as_stats(
        (resp_sum, centred, second),
        shift,
        kind,
        float(weights @ log_norm),
        float(weights.sum()),
        worst_row(values, hidden, weights, log_norm, resp, components),
    )
    if log_noise is None:
        return stats
    return stats, noise_share_sum(log_noise, log_norm, weights)
