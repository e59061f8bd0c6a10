"""EM with missing values: the E-step marginalises what a row does not show.

Under missing-at-random, a row's likelihood is the mixture's marginal density
over its observed columns, and EM's expected sufficient statistics fill each
missing block with its conditional mean plus the conditional covariance
(Ghahramani & Jordan 1994). For component ``k`` and a row with observed
columns ``o`` and missing columns ``m``:

    E[x_m | x_o, k]    = mu_m + S_mo S_oo^-1 (x_o - mu_o)
    Cov[x_m | x_o, k]  = S_mm - S_mo S_oo^-1 S_om

Rows are grouped by their pattern of missing columns, so each pattern's
factorisations are shared by all its rows: the cost grows with the number
of patterns, not of rows. The result is ordinary :class:`Stats`, which the
M-step of every covariance family takes as it is. NaN marks a missing value.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.special import logsumexp

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats


def missing_patterns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct patterns of observed columns and each row's pattern.

    Raises ValueError for a row with every value missing: it says nothing
    about the mixture.
    """
    observed = ~np.isnan(X)
    empty = np.flatnonzero(~observed.any(axis=1))
    if empty.size:
        raise ValueError(
            f"row {int(empty[0])} of X has every value missing (NaN); remove "
            "rows without any observed value."
        )
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    return patterns, inverse.reshape(-1)


def _full_covariances(params: MixtureParams) -> np.ndarray:
    n_components, n_features = params.means.shape
    covariances = np.asarray(params.covariances, dtype=np.float64)
    return params.family.full_covariances(covariances, n_components, n_features)


def _as_float64(
    X: np.ndarray, params: MixtureParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows, means, full covariances and log weights, in float64."""
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
    return (
        np.asarray(X, dtype=np.float64),
        np.asarray(params.means, dtype=np.float64),
        _full_covariances(params),
        log_weights,
    )


def _pattern_terms(
    rows: np.ndarray,
    observed: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per component: log-densities of the rows' observed parts, the rows
    completed by their conditional means, and the conditional covariances.

    Shapes (K, n), (K, n, D) and (K, |m|, |m|).
    """
    missing = ~observed
    n_components, n_features = means.shape
    seen = int(observed.sum())
    log_density = np.empty((n_components, rows.shape[0]))
    completed = np.empty((n_components, rows.shape[0], n_features))
    conditional = np.empty((n_components, int(missing.sum()), int(missing.sum())))
    values = rows[:, observed]
    for k in range(n_components):
        cov = covariances[k]
        factor = np.linalg.cholesky(cov[np.ix_(observed, observed)])
        diff = values - means[k, observed]
        whitened = solve_triangular(factor, diff.T, lower=True)
        log_det = np.log(np.diagonal(factor)).sum()
        log_density[k] = -0.5 * (seen * LOG_2PI + (whitened**2).sum(0)) - log_det
        completed[k][:, observed] = values
        if missing.any():
            cross = cov[np.ix_(missing, observed)]
            gain = cho_solve((factor, True), cross.T).T  # S_mo S_oo^-1
            completed[k][:, missing] = means[k, missing] + diff @ gain.T
            conditional[k] = cov[np.ix_(missing, missing)] - gain @ cross.T
    return log_density, completed, conditional


def missing_chunk_stats(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    params: MixtureParams,
) -> Stats:
    """E-step on a chunk whose NaN are missing values, about the means.

    Returns the Stats of the family's scatter kind: the moments of the
    completed rows plus, in each missing block, the conditional covariance
    weighted by the rows' responsibilities; the log-likelihood is that of
    the observed values.
    """
    values = np.asarray(X, dtype=np.float64)
    n_rows, n_features = values.shape
    means = np.asarray(params.means, dtype=np.float64)
    n_components = means.shape[0]
    covariances = _full_covariances(params)
    weights = np.ones(n_rows) if sample_weight is None else np.asarray(sample_weight)
    weights = weights.astype(np.float64)
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
    patterns, which = missing_patterns(values)
    kind = params.family.scatter_kind
    shift = means.copy()
    if kind == "pooled":
        shift[:] = means.mean(axis=0)
    resp_sum = np.zeros(n_components)
    centred = np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, n_features, n_features))
    log_likelihood = 0.0
    worst = (np.inf, None)
    for index, observed in enumerate(patterns):
        members = np.flatnonzero(which == index)
        rows = values[members]
        log_density, completed, conditional = _pattern_terms(
            rows, observed, means, covariances
        )
        joint = log_density.T + log_weights  # (n, K)
        log_norm = logsumexp(joint, axis=1)
        resp = np.exp(joint - log_norm[:, None]) * weights[members, None]
        log_likelihood += float(weights[members] @ log_norm)
        positive = weights[members] > 0
        if positive.any():
            lowest = int(np.argmin(np.where(positive, log_norm, np.inf)))
            if log_norm[lowest] < worst[0]:
                point = completed[int(np.argmax(resp[lowest]))][lowest]
                worst = (float(log_norm[lowest]), point)
        missing = ~observed
        block = np.ix_(missing, missing)
        for k in range(n_components):
            deviations = completed[k] - shift[k]
            weighted = deviations * resp[:, k, None]
            resp_sum[k] += resp[:, k].sum()
            centred[k] += weighted.sum(axis=0)
            scatter[k] += weighted.T @ deviations
            scatter[k][block] += resp[:, k].sum() * conditional[k]
    if kind == "diag":
        scatter = np.diagonal(scatter, axis1=1, axis2=2).copy()
    elif kind == "pooled":
        scatter = scatter.sum(axis=0)
    return Stats(
        resp_sum=resp_sum,
        centred_sum=centred,
        scatter=scatter,
        shift=shift,
        scatter_kind=kind,
        log_likelihood=log_likelihood,
        total_weight=float(weights.sum()),
        worst_log_density=worst[0],
        worst_point=worst[1],
    )


def observed_log_prob(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``log w_k + log p_k(x_o)`` of each row's observed values, (n, K)."""
    values, means, covariances, log_weights = _as_float64(X, params)
    patterns, which = missing_patterns(values)
    out = np.empty((values.shape[0], means.shape[0]))
    for index, observed in enumerate(patterns):
        members = np.flatnonzero(which == index)
        log_density, _, _ = _pattern_terms(
            values[members], observed, means, covariances
        )
        out[members] = log_density.T + log_weights
    return out


def conditional_means(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``E[x_m | x_o]`` under the mixture, filled into a copy of X.

    Each row's completion is the responsibility-weighted average of the
    components' conditional means; observed values are kept.
    """
    values, means, covariances, log_weights = _as_float64(X, params)
    patterns, which = missing_patterns(values)
    out = values.copy()
    for index, observed in enumerate(patterns):
        if observed.all():
            continue
        members = np.flatnonzero(which == index)
        log_density, completed, _ = _pattern_terms(
            values[members], observed, means, covariances
        )
        joint = log_density.T + log_weights
        resp = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
        hidden = ~observed
        # only the missing values are written: the observed ones keep their bits
        out[np.ix_(members, np.flatnonzero(hidden))] = np.einsum(
            "nk,knd->nd", resp, completed[:, :, hidden]
        )
    return out
