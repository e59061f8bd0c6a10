"""EM over class labels: one mixture per class, some rows without a label.

The model is ``p(x) = sum_c pi_c p_c(x)`` with each ``p_c`` a Gaussian
mixture. A labelled row belongs to its class; a row without a label belongs
to class ``c`` with its posterior probability. Each class's Stats are the
Stats of its labelled rows plus the Stats of the unlabelled rows weighted by
their posterior of that class, so the ordinary E- and M-steps do all the work.
The quantity that EM never lowers is the observed log-likelihood

    sum_labelled w_i log(pi_y_i p_y_i(x_i)) + sum_unlabelled w_i log p(x_i).

With ``shared_covariance`` every component of every class has the same
covariance (pooled after each M-step); without unlabelled rows this is the
supervised fit of a mixture discriminant with a common covariance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gaussmix._typing import Array
from gaussmix.core.discriminant import (
    class_log_likelihoods,
    class_log_posteriors,
    log_priors_from,
    share_covariance,
)
from gaussmix.core.mstep import RepairLog, m_step
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.fit.batch import run_em
from gaussmix.fit.chunks import dataset_stats, resolve_chunk_size, row_slices

#: The loop's state: each class's mixture, and the class priors.
ClassState = tuple[list[MixtureParams], np.ndarray]
#: One E-step's sums: each class's Stats, the observed log-likelihood and
#: the expected number of rows of each class.
ClassSums = tuple[list[Stats], float, np.ndarray]


@dataclass(frozen=True)
class ClassData:
    """The rows, split as the loop needs them.

    Attributes
    ----------
    labelled : list of (X_c, w_c)
        Each class's labelled rows and their sample weights (None: ones).
    unlabelled : array of shape (n_unlabelled, n_features) or None
    unlabelled_weight : array of shape (n_unlabelled,) or None
    """

    labelled: list[tuple[Array, np.ndarray | None]]
    unlabelled: Array | None = None
    unlabelled_weight: np.ndarray | None = None

    def labelled_weight(self, index: int) -> float:
        X, weight = self.labelled[index]
        return float(X.shape[0] if weight is None else np.sum(weight))

    @property
    def total_weight(self) -> float:
        total = sum(self.labelled_weight(c) for c in range(len(self.labelled)))
        if self.unlabelled is not None:
            total += (
                self.unlabelled.shape[0]
                if self.unlabelled_weight is None
                else float(np.sum(self.unlabelled_weight))
            )
        return float(total)


@dataclass
class ClassEMResult:
    """Outcome of EM over class labels."""

    class_params: list[MixtureParams]
    priors: np.ndarray
    n_iter: int
    lower_bound: float
    lower_bounds: list[float] = field(default_factory=list)
    converged: bool = False
    repairs: RepairLog = field(default_factory=RepairLog)


def run_class_em(
    data: ClassData,
    class_params: Sequence[MixtureParams],
    priors: np.ndarray,
    *,
    estimate_priors: bool,
    shared_covariance: bool,
    reg_covar: float,
    tol: float,
    max_iter: int,
    chunk_size: int | None = None,
    repairs: RepairLog | None = None,
) -> ClassEMResult:
    """EM for the class mixtures and (unless given) the class priors.

    As in :func:`gaussmix.fit.batch.run_em`, the lower bound of an
    iteration is the average observed log-likelihood of the parameters that
    entered its E-step, and convergence is a change below ``tol``.
    """
    repairs = repairs if repairs is not None else RepairLog()
    total_weight = data.total_weight
    labelled_weights = np.array(
        [data.labelled_weight(c) for c in range(len(class_params))], dtype=np.float64
    )

    def e_step(state: ClassState) -> ClassSums:
        params, priors = state
        log_priors = log_priors_from(priors)
        class_stats = [
            dataset_stats(X_c, w_c, params[c], chunk_size)
            for c, (X_c, w_c) in enumerate(data.labelled)
        ]
        log_likelihood = sum(stats.log_likelihood for stats in class_stats)
        log_likelihood += float(
            np.dot(labelled_weights, np.where(labelled_weights > 0, log_priors, 0.0))
        )
        expected_counts = labelled_weights.copy()
        if data.unlabelled is not None:
            log_norm, log_post = class_log_posteriors(
                _chunked_class_log_likelihoods(data.unlabelled, params, chunk_size),
                log_priors,
            )
            posterior = np.exp(log_post)
            if data.unlabelled_weight is not None:
                posterior *= data.unlabelled_weight[:, None]
                log_norm = log_norm * data.unlabelled_weight
            log_likelihood += float(log_norm.sum())
            expected_counts += posterior.sum(axis=0)
            class_stats = [
                stats
                + dataset_stats(data.unlabelled, posterior[:, c], params[c], chunk_size)
                for c, stats in enumerate(class_stats)
            ]
        return class_stats, log_likelihood, expected_counts

    def m_steps(sums: ClassSums, state: ClassState) -> tuple[ClassState, float]:
        class_stats, log_likelihood, expected_counts = sums
        params, priors = state
        params = [
            m_step(stats, p.covariance_type, reg_covar, repairs)
            for stats, p in zip(class_stats, params, strict=True)
        ]
        if shared_covariance:
            params = share_covariance(class_stats, params, reg_covar, repairs)
        if estimate_priors:
            priors = expected_counts / expected_counts.sum()
        return (params, priors), log_likelihood / total_weight

    result = run_em(
        e_step,
        m_steps,
        (list(class_params), np.asarray(priors, dtype=np.float64)),
        tol=tol,
        max_iter=max_iter,
    )
    params, priors = result.params
    return ClassEMResult(
        params,
        priors,
        result.n_iter,
        result.lower_bound,
        result.lower_bounds,
        result.converged,
        repairs,
    )


def _chunked_class_log_likelihoods(
    X: Array, class_params: Sequence[MixtureParams], chunk_size: int | None
) -> np.ndarray:
    widest = max(params.n_components for params in class_params)
    size = resolve_chunk_size(chunk_size, widest, class_params[0].n_features)
    return np.concatenate(
        [
            class_log_likelihoods(X[rows], class_params)
            for rows in row_slices(X.shape[0], size)
        ],
        axis=0,
    )
