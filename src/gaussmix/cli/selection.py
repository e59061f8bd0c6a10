"""Choosing the number of components (and covariance type) by BIC."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger("gaussmix")


@dataclass
class Selection:
    """The best mixture and the BIC of every candidate.

    Attributes
    ----------
    model : GaussianMixture
        The candidate with the lowest BIC, fitted.
    ks : list of int
    bic : dict of str to list of float or None
        For each covariance type, the BIC at each K (None where the fit
        was impossible or failed).
    """

    model: Any
    ks: list[int]
    bic: dict[str, list[float | None]]


def select_by_bic(
    X: np.ndarray,
    ks: Sequence[int],
    covariance_types: Sequence[str],
    *,
    on_candidate: Callable[[], None] | None = None,
    **estimator_params: Any,
) -> Selection:
    """Fit a GaussianMixture per (covariance type, K) and keep the lowest BIC.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    ks : sequence of int
        Numbers of components to try; those above n_samples are skipped.
    covariance_types : sequence of str
    on_candidate : callable, default=None
        Called after each candidate (progress reporting).
    **estimator_params
        Passed to every GaussianMixture (``random_state``, ``n_init``...).

    Returns
    -------
    Selection
    """
    from gaussmix.models import GaussianMixture

    best, best_bic = None, np.inf
    table: dict[str, list[float | None]] = {}
    for covariance_type in covariance_types:
        row: list[float | None] = []
        for k in ks:
            value = None
            if k <= X.shape[0]:
                model = GaussianMixture(
                    k, covariance_type=covariance_type, **estimator_params
                )
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        value = model.fit(X).bic(X)
                except ValueError as exc:
                    logger.info("K=%d %s: fit failed (%s)", k, covariance_type, exc)
                if value is not None and value < best_bic:
                    best, best_bic = model, value
            row.append(value)
            if on_candidate is not None:
                on_candidate()
        table[covariance_type] = row
    if best is None:
        raise ValueError("no candidate mixture could be fitted to the data.")
    return Selection(best, list(ks), table)
