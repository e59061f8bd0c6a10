"""Bayes' rule over classes, each class a Gaussian mixture.

With class priors ``pi_c`` and class densities ``p_c(x)`` (each a mixture),
the class posterior is ``pi_c p_c(x) / sum_c' pi_c' p_c'(x)``; it is what a
mixture classifier predicts and what semi-supervised EM assigns to the rows
without a label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import logsumexp

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.covariance import get_family
from gaussmix.core.estep import log_responsibilities
from gaussmix.core.far_rows import component_forms, exact_log_responsibilities
from gaussmix.core.mstep import RepairLog, safe_precision_cholesky
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats

#: The per-class family whose covariances are pooled across classes.
SHARED_FAMILY = "tied"


def class_log_likelihoods(
    X: Array, class_params: Sequence[MixtureParams]
) -> np.ndarray:
    """``log p_c(x_i)`` for every row and class, shape (n_samples, n_classes)."""
    xp = get_backend(X)
    columns = [
        np.asarray(
            xp.to_numpy(log_responsibilities(X, params.cast(X))[0]), dtype=np.float64
        )
        for params in class_params
    ]
    return np.stack(columns, axis=1)


def class_log_posteriors(
    class_log_likelihood: np.ndarray, log_priors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``log p(x_i)`` and the log class posteriors (n_samples, n_classes).

    Classes of prior zero get a log posterior of ``-inf``. The posteriors are
    taken from the joint log-densities less their row's largest, so that
    they stay exact however large the log-densities are; rows that no class
    can explain in float64 are left to :func:`exact_class_log_posteriors`.
    """
    joint = class_log_likelihood + np.asarray(log_priors)[None, :]
    peak = joint.max(axis=1)
    peak[~np.isfinite(peak)] = 0.0
    shifted = joint - peak[:, None]
    with np.errstate(invalid="ignore"):
        log_total = logsumexp(shifted, axis=1)
        return peak + log_total, shifted - log_total[:, None]


def exact_class_log_posteriors(
    X: np.ndarray, class_params: Sequence[MixtureParams], log_priors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`class_log_posteriors` of rows far from every class, without overflow.

    All classes' components form one mixture, weighted by the class priors;
    a class's posterior gathers its components' responsibilities.
    """
    constants, means, precisions, owners = [], [], [], []
    for index, params in enumerate(class_params):
        host = params.to_numpy()
        forms = component_forms(
            host.weights,
            host.means,
            host.family.precisions(host.precisions_cholesky),
            host.family.matrix_layout,
        )
        constants.append(forms[0] + log_priors[index])
        means.append(forms[1])
        precisions.append(forms[2])
        owners.extend([index] * host.n_components)
    log_norm, log_resp = exact_log_responsibilities(
        X,
        np.concatenate(constants),
        np.concatenate(means),
        np.concatenate(precisions),
    )
    owners = np.asarray(owners)
    log_post = np.stack(
        [
            logsumexp(log_resp[:, owners == index], axis=1)
            for index in range(len(class_params))
        ],
        axis=1,
    )
    return log_norm, log_post


def log_priors_from(priors: np.ndarray) -> np.ndarray:
    """``log pi_c``, with ``-inf`` (and no warning) for a prior of zero."""
    priors = np.asarray(priors, dtype=np.float64)
    out = np.full(priors.shape, -np.inf)
    positive = priors > 0
    out[positive] = np.log(priors[positive])
    return out


def share_covariance(
    class_stats: Sequence[Stats],
    class_params: Sequence[MixtureParams],
    reg_covar: float,
    repairs: RepairLog,
) -> list[MixtureParams]:
    """The class mixtures with one covariance pooled over all their components.

    Each class's stats must be of the ``'tied'`` family (scatter kind
    ``'pooled'``); the shared covariance is the average of the classes'
    within-class covariances weighted by their total responsibility, which
    with one component per class is linear discriminant analysis's pooled
    maximum-likelihood covariance.
    """
    family = get_family(SHARED_FAMILY)
    pooled = None
    total = 0.0
    for stats, params in zip(class_stats, class_params, strict=True):
        weight = float(stats.resp_sum.sum())
        within = family.estimate(stats, np.asarray(params.means), 0.0)
        pooled = weight * within if pooled is None else pooled + weight * within
        total += weight
    shared = pooled / max(total, np.finfo(np.float64).tiny)
    shared[np.diag_indices_from(shared)] += reg_covar
    shared, factor = safe_precision_cholesky(family, shared, repairs)
    return [
        MixtureParams(
            weights=params.weights,
            means=params.means,
            covariances=shared,
            precisions_cholesky=factor,
            covariance_type=SHARED_FAMILY,
        )
        for params in class_params
    ]
