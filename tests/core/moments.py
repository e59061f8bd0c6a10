"""Mixtures and responsibility-weighted sums written out with numpy.

The expectations of the E-step and M-step tests: built from the definitions,
one component and one row at a time where that is clearer, never from the
library's own E-step.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gaussmix.core.covariance import available_families, get_family
from gaussmix.core.params import MixtureParams

#: every covariance family once (aliases name the same family)
FAMILIES = sorted({get_family(name).name for name in available_families()})


def random_covariance(rng, n_features: int) -> np.ndarray:
    """A well-conditioned symmetric positive definite matrix."""
    factor = rng.normal(size=(n_features, n_features))
    return factor @ factor.T / n_features + 0.5 * np.eye(n_features)


def random_mixture(
    covariance_type: str, rng, n_components: int = 3, n_features: int = 4
) -> tuple[MixtureParams, np.ndarray]:
    """Parameters in the family's storage layout, and the full (K, D, D)
    covariance matrices they stand for."""
    K, D = n_components, n_features
    family = get_family(covariance_type)
    shape = family.covariance_shape(K, D)
    if shape == (K, D, D):
        stored = np.stack([random_covariance(rng, D) for _ in range(K)])
        full = stored
    elif shape == (D, D):
        stored = random_covariance(rng, D)
        full = np.broadcast_to(stored, (K, D, D))
    elif shape == (K, D):
        stored = rng.uniform(0.3, 3.0, size=(K, D))
        full = np.stack([np.diag(row) for row in stored])
    else:
        assert shape == (K,), shape
        stored = rng.uniform(0.3, 3.0, size=K)
        full = stored[:, None, None] * np.eye(D)
    weights = rng.dirichlet(np.full(K, 2.0))
    means = rng.normal(scale=3.0, size=(K, D))
    params = MixtureParams(
        weights=weights,
        means=means,
        covariances=stored,
        precisions_cholesky=family.precision_cholesky(stored),
        covariance_type=covariance_type,
    )
    return params, np.array(full)


def scipy_log_prob(X: np.ndarray, params: MixtureParams, full: np.ndarray):
    """``log w_k + log N(x_i | mu_k, Sigma_k)`` by scipy, (n_samples, K)."""
    columns = [
        np.log(weight) + multivariate_normal(mean, cov).logpdf(X)
        for weight, mean, cov in zip(params.weights, params.means, full, strict=True)
    ]
    return np.stack(columns, axis=1)


def scipy_posteriors(X: np.ndarray, params: MixtureParams, full: np.ndarray):
    """Per-row ``log p(x_i)`` and the posterior probabilities of the components."""
    log_prob = scipy_log_prob(X, params, full)
    log_norm = logsumexp(log_prob, axis=1)
    return log_norm, np.exp(log_prob - log_norm[:, None])


def weighted_sums(
    X: np.ndarray, weighted_resp: np.ndarray, shift: np.ndarray, scatter_kind: str
) -> dict[str, np.ndarray]:
    """``sum_i r_ik``, ``sum_i r_ik (x_i - c_k)`` and the scatter about the
    shifts, in float64; the pooled kind takes every component about the mean
    of the shifts."""
    X = np.asarray(X, dtype=np.float64)
    r = np.asarray(weighted_resp, dtype=np.float64)
    shift = np.asarray(shift, dtype=np.float64)
    if scatter_kind == "pooled":
        shift = np.broadcast_to(shift.mean(0), shift.shape)
    diff = X[:, None, :] - shift[None, :, :]  # (n, K, D)
    sums = {
        "resp_sum": r.sum(0),
        "centred_sum": np.einsum("ik,ikd->kd", r, diff),
    }
    if scatter_kind == "full":
        sums["scatter"] = np.einsum("ik,ikd,ike->kde", r, diff, diff)
    elif scatter_kind == "diag":
        sums["scatter"] = np.einsum("ik,ikd->kd", r, diff * diff)
    else:
        centred = diff[:, 0, :]
        sums["scatter"] = np.einsum("i,id,ie->de", r.sum(1), centred, centred)
    return sums


def observed_row_terms(
    row: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> tuple[list[float], list[tuple[np.ndarray, np.ndarray]]]:
    """One row with NaN, component by component, in covariance form: scipy's
    ``log w_k + log N(x_o)``, and the row completed by its conditional mean
    with the conditional covariance placed in its missing block."""
    seen, hidden = ~np.isnan(row), np.isnan(row)
    log_joint, moments = [], []
    for weight, mean, cov in zip(weights, means, covariances, strict=True):
        s_oo = cov[np.ix_(seen, seen)]
        log_joint.append(
            float(np.log(weight))
            + multivariate_normal(mean[seen], s_oo).logpdf(row[seen])
        )
        gain = cov[np.ix_(hidden, seen)] @ np.linalg.inv(s_oo)
        completed = row.copy()
        completed[hidden] = mean[hidden] + gain @ (row[seen] - mean[seen])
        conditional = np.zeros((row.size, row.size))
        conditional[np.ix_(hidden, hidden)] = (
            cov[np.ix_(hidden, hidden)] - gain @ cov[np.ix_(seen, hidden)]
        )
        moments.append((completed, conditional))
    return log_joint, moments
