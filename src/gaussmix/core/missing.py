"""EM with missing values: the E-step marginalises what a row does not show.

Under missing-at-random, a row's likelihood is the mixture's marginal density
over its observed columns, and EM's expected sufficient statistics fill each
missing block with its conditional mean plus the conditional covariance
(Ghahramani & Jordan 1994). NaN marks a missing value.

The algebra works from each component's precision ``P = S^-1``. For a row
with observed columns ``o`` and missing columns ``m``, let ``d`` be the row
minus the mean with zeros where values are missing, and ``a = P d``; then

    E[x_m | x_o, k] - mu_m  = -P_mm^-1 a_m
    Cov[x_m | x_o, k]       =  P_mm^-1
    (x_o - mu_o)^T S_oo^-1 (x_o - mu_o) = d^T a - a_m^T P_mm^-1 a_m
    log |S_oo|              =  log |S| + log |P_mm|

so each row needs only a factorisation of ``P_mm``, whose size is the
number of its missing values (usually a few). The result is ordinary
:class:`Stats`, which the M-step of every covariance family takes as it is.

Two E-steps share this algebra:

- :mod:`gaussmix.core.missing_moments` (the usual one) fills the missing
  values with a common centre, so that the costly parts are GEMMs shared by
  every (component, row) pair, as in the complete-data kernel; only the
  r × r algebra of each pair's missing block is left, compiled
  (:mod:`gaussmix.core.missing_rows`) and factored once per run of rows
  with one pattern of missing values;
- :mod:`gaussmix.core.missing_blocks` takes each difference from the
  component's own mean, pair by pair, in rows of equal missing count whose
  many small factorisations run batched (:mod:`gaussmix.core.small_spd`);
  it serves the chunks where expanding about the centre would round
  visibly worse, and the scores and imputations below.

Components of diagonal covariance need neither: their columns are
independent, and :mod:`gaussmix.core.missing_diagonal` forms their E-step
with a few GEMMs.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from gaussmix.core import small_spd
from gaussmix.core.far_rows import (
    component_forms,
    exact_log_responsibilities,
    imprecise_rows,
)
from gaussmix.core.missing_blocks import (
    Block,
    Precisions,
    blocks,
    refuse_empty_rows,
    whitened_chunk_stats,
)
from gaussmix.core.missing_diagonal import (
    diagonal_chunk_stats,
    has_diagonal_precisions,
)
from gaussmix.core.missing_moments import gemm_chunk_stats
from gaussmix.core.missing_pairs import CentredMixture, pattern_order
from gaussmix.core.noise import NoiseParams, NoiseSums, observed_log_noise
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats, sum_in_order

#: Numbers the E-step's per-pair temporaries may hold for one slice of rows.
_SLICE_ELEMENTS = 1 << 21


def missing_chunk_stats(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    params: MixtureParams,
) -> Stats:
    """E-step on a chunk whose NaN are missing values.

    Returns the Stats of the family's scatter kind, about the means (about
    their average for the pooled kind): the moments of the rows completed
    by their conditional means plus, in each missing block, the conditional
    covariance weighted by the rows' responsibilities; the log-likelihood
    is that of the observed values.
    """
    return _chunk_sums(X, sample_weight, params, None)


def missing_noise_chunk_sums(
    X: np.ndarray, sample_weight: np.ndarray | None, params: NoiseParams
) -> NoiseSums:
    """The E-step of a Gaussian mixture plus uniform noise on a chunk whose
    NaN are missing values, in the form ``DataSource.chunk_sums`` calls.

    Each row's noise density is over its observed columns (see
    :func:`~gaussmix.core.noise.observed_log_noise`); the Gaussians' Stats
    are those of :func:`missing_chunk_stats` with the noise in each row's
    normaliser.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    sample_weight : ndarray of shape (n_rows,) or None
    params : NoiseParams
        With ``log_extents`` set.
    """
    if params.log_extents is None:
        raise ValueError("rows with missing values need the noise's column extents.")
    return _chunk_sums(X, sample_weight, params.gaussian, params)


def _chunk_sums(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    params: MixtureParams,
    noise: NoiseParams | None,
) -> Stats | NoiseSums:
    values = np.asarray(X, dtype=np.float64)
    hidden = np.isnan(values)
    refuse_empty_rows(~hidden)
    n_rows, n_features = values.shape
    log_noise = None
    if noise is not None:
        log_noise = observed_log_noise(
            hidden, noise.noise_proportion, noise.log_volume, noise.log_extents
        )
    components = Precisions.of(params)
    mixture = CentredMixture(components)
    n_components = components.means.shape[0]
    weights = np.ones(n_rows) if sample_weight is None else sample_weight
    weights = np.asarray(weights, dtype=np.float64)
    kind = params.family.scatter_kind
    if kind == "diag" and has_diagonal_precisions(components):
        # independent columns: a few GEMMs, in the rows' own order
        stats = diagonal_chunk_stats(values, hidden, weights, mixture, log_noise)
        if stats is not None:
            return NoiseSums(*stats) if log_noise is not None else stats
    # rows of one pattern brought together share their blocks'
    # factorisations within a slice; the order follows from the chunk's
    # rows alone, so every storage of the same rows sums them alike
    order = pattern_order(hidden)
    values, hidden, weights = values[order], hidden[order], weights[order]
    if log_noise is not None:
        log_noise = log_noise[order]
    # the GEMMs' temporaries grow with rows * K * D: keep them bounded
    width = max(n_components * n_features, n_features * (n_features + 3) // 2)
    step = max(64, _SLICE_ELEMENTS // max(width, 1))
    parts = []
    for start in range(0, max(n_rows, 1), step):
        rows = slice(start, start + step)
        args = (values[rows], hidden[rows], weights[rows])
        noise_part = None if log_noise is None else log_noise[rows]
        # the pair-by-pair E-step only where the GEMMs would round worse:
        # choosing it by its bound's share of skipped pairs cost a pass per
        # chunk and won nothing (blobs, 10 % and 30 % missing, rows grouped)
        stats = gemm_chunk_stats(*args, mixture, kind, noise_part)
        if stats is None:
            stats = whitened_chunk_stats(*args, components, kind, noise_part)
        if noise_part is not None:
            stats = NoiseSums(*stats)
        parts.append(stats)
    return sum_in_order(parts)


def observed_log_responsibilities(
    X: np.ndarray, params: MixtureParams
) -> tuple[np.ndarray, np.ndarray]:
    """``log p(x_o)`` of each row's observed values, (n,), and the row's
    log-responsibilities, (n, K), exact for rows far from every component.

    A row whose largest log-density cannot be trusted (its squares
    overflowed, or it is so large that its rounding swamps the differences
    between components) is worked out again from its observed columns'
    marginal mixture by :func:`gaussmix.core.far_rows.exact_log_responsibilities`,
    as complete rows are: its responsibilities sum to one, never NaN.
    """
    values = np.asarray(X, dtype=np.float64)
    components = Precisions.of(params)
    n_rows, n_components = values.shape[0], components.means.shape[0]
    log_norm, log_resp = np.empty(n_rows), np.empty((n_rows, n_components))
    for block in blocks(values, components):
        norm, resp = _block_log_responsibilities(block, components, values)
        log_norm[block.rows], log_resp[block.rows] = norm, resp
    return log_norm, log_resp


def _block_log_responsibilities(
    block: Block, components: Precisions, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    joint = block.log_density.T + components.log_weights
    n_rows, n_components = joint.shape
    if not np.isfinite(components.log_weights).any():
        # no component holds any weight (a noise component took it all):
        # every row's density is 0, and the components share it equally
        return (
            np.full(n_rows, -np.inf),
            np.full((n_rows, n_components), -np.log(n_components)),
        )
    peak = joint.max(axis=1)
    with np.errstate(invalid="ignore"):
        # rows that are -inf throughout are NaN here, and redone below
        log_norm = logsumexp(joint, axis=1)
        log_resp = joint - log_norm[:, None]
    for index in imprecise_rows(peak, np.dtype(np.float64)):
        row = values[block.rows[index]]
        seen = ~np.isnan(row)
        forms = _observed_forms(components, seen)
        norm, resp = exact_log_responsibilities(row[None, seen], *forms)
        log_norm[index], log_resp[index] = norm[0], resp[0]
    return log_norm, log_resp


def _observed_forms(
    components: Precisions, seen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The components' marginal forms over the columns ``seen``, as
    :func:`gaussmix.core.far_rows.component_forms` gives them."""
    observed = components.covariances[:, seen][:, :, seen]
    return component_forms(
        np.exp(components.log_weights),
        components.means[:, seen],
        np.linalg.inv(observed),
        matrix_layout=True,
    )


def _by_component(block: Block) -> np.ndarray:
    """The deviations of a block worked out whole, as (K, n, D)."""
    n_rows = block.rows.size
    return block.deviations.reshape(-1, n_rows, block.deviations.shape[1])


def _responsibilities(
    block: Block, components: Precisions, values: np.ndarray
) -> np.ndarray:
    return np.exp(_block_log_responsibilities(block, components, values)[1])


def conditional_means(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``E[x_m | x_o]`` under the mixture, filled into a copy of X.

    Each row's completion is the responsibility-weighted average of the
    components' conditional means; observed values are kept.
    """
    return _conditional(X, params, with_variances=False)[0]


def conditional_moments(
    X: np.ndarray, params: MixtureParams
) -> tuple[np.ndarray, np.ndarray]:
    """``E[x_m | x_o]`` filled into a copy of X, and ``Var[x_m | x_o]``.

    The variances (0 where observed) are the mixture's: the responsibility-
    weighted conditional variances of the components plus the spread of
    their conditional means about the average.
    """
    means, variances = _conditional(X, params, with_variances=True)
    return means, variances


def _conditional(
    X: np.ndarray, params: MixtureParams, with_variances: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """The conditional means, and the variances only when asked: they need
    the inverse of every row's precision block, the means do not."""
    values = np.asarray(X, dtype=np.float64)
    components = Precisions.of(params)
    out = values.copy()
    variances = np.zeros_like(values) if with_variances else None
    for block in blocks(values, components):
        if block.factors is None:
            continue
        resp = _responsibilities(block, components, values)  # (n, K)
        n_rows = block.rows.size
        index = np.broadcast_to(block.missing, (resp.shape[1], *block.missing.shape))
        completed = np.take_along_axis(
            _by_component(block) + components.means[:, None, :], index, axis=2
        )  # (K, n, r)
        average = np.einsum("nk,knr->nr", resp, completed)
        rows = block.rows[:, None]
        # only the missing values are written: the observed ones keep their bits
        out[rows, block.missing] = average
        if with_variances:
            inverse = small_spd.inverse(block.factors)  # (r, r, K * n)
            own = np.diagonal(inverse, axis1=0, axis2=1).T  # (r, K * n)
            own = own.reshape(-1, resp.shape[1], n_rows)  # (r, K, n)
            spread = (completed - average[None]) ** 2
            variances[rows, block.missing] = np.einsum(
                "nk,rkn->nr", resp, own
            ) + np.einsum("nk,knr->nr", resp, spread)
    return out, variances


def conditional_draws(
    X: np.ndarray,
    params: MixtureParams,
    n_draws: int,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Draws of the missing values from the conditional mixture, (m, n, D).

    For each draw and row, a component is drawn from the row's
    responsibilities given its observed values, then the missing values
    from that component's conditional Gaussian; observed values are kept.
    """
    values = np.asarray(X, dtype=np.float64)
    components = Precisions.of(params)
    out = np.repeat(values[None], n_draws, axis=0)
    for block in blocks(values, components):
        if block.factors is None:
            continue
        resp = _responsibilities(block, components, values)
        n_rows, n_missing = block.missing.shape
        cumulative = np.cumsum(resp, axis=1)
        uniforms = random_state.uniform(size=(n_draws, n_rows, 1))
        chosen = np.minimum(
            (uniforms * cumulative[:, -1:] > cumulative).sum(axis=2),
            resp.shape[1] - 1,
        )  # (m, n)
        rows = np.arange(n_rows)
        factors = block.factors[:, :, chosen * n_rows + rows]  # (r, r, m, n)
        noise = random_state.standard_normal(size=(n_missing, n_draws * n_rows))
        # L^-T e has covariance (L L^T)^-1 = Cov[x_m | x_o, k]
        spread = small_spd.solve_upper_transposed(
            factors.reshape(n_missing, n_missing, -1), noise
        ).reshape(n_missing, n_draws, n_rows)
        completed = _by_component(block)[chosen, rows] + components.means[chosen]
        index = np.broadcast_to(block.missing, (n_draws, n_rows, n_missing))
        centre = np.take_along_axis(completed, index, axis=2)
        out[:, block.rows[:, None], block.missing] = centre + np.moveaxis(spread, 0, 2)
    return out
