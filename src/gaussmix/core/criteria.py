"""Information criteria for choosing among fitted mixtures.

scikit-learn's convention is used throughout: lower is better,
``BIC = -2 log L + p log n`` and ``AIC = -2 log L + 2 p``. mclust reports
``2 log L - p log n`` (higher is better), which is minus this BIC.
"""

from __future__ import annotations

import math

import numpy as np


def bic(total_log_likelihood: float, n_parameters: int, n_samples: float) -> float:
    """Bayesian information criterion (lower is better)."""
    return -2.0 * total_log_likelihood + n_parameters * math.log(n_samples)


def aic(total_log_likelihood: float, n_parameters: int) -> float:
    """Akaike information criterion (lower is better)."""
    return -2.0 * total_log_likelihood + 2.0 * n_parameters


def icl(
    total_log_likelihood: float,
    n_parameters: int,
    n_samples: float,
    responsibilities: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> float:
    """Integrated completed likelihood in the lower-is-better convention.

    ``ICL = BIC + 2 * sum_i w_i log(1 / z_i,map)``: the BIC penalised by the
    entropy of the hard (MAP) classification, as mclust's ``icl`` computes
    it (mclust reports the negative); ``w_i`` are the sample weights (1 when
    None).
    """
    r = np.asarray(responsibilities, dtype=np.float64)
    best = r.max(axis=1)
    log_best = np.log(np.clip(best, np.finfo(float).tiny, None))
    if sample_weight is not None:
        log_best = log_best * np.asarray(sample_weight, dtype=np.float64)
    hard_entropy = float(-log_best.sum())
    return bic(total_log_likelihood, n_parameters, n_samples) + 2.0 * hard_entropy
