"""Rows far outside the bulk of the data, by a robust per-column scale.

A data-driven prior takes its mean and scale from the data's moments, and
one row with a value of 1e12 among values of order one makes those
moments its own: every covariance the prior regularises then inherits a
variance of 1e22 along that column, and the fits it shapes say nothing
about the other rows. This module finds such rows by a scale the outlier
cannot move: each column's median absolute deviation from its median.

A row is a gross outlier when one of its values lies more than
:data:`GROSS_OUTLIER_SPREADS` robust spreads from its column's median.
That is far beyond anything Gaussian data produce (the largest of 10^12
normal draws lies about 7 standard deviations out): gross errors are
flagged, and the farthest rows of heavy tails (2 of breast_cancer's 569
rows; the largest values of a log-normal column with sigma 1 once there
are thousands of rows). Leaving such rows out of a prior's moments only
narrows the prior to the bulk of the data. When more than
:data:`MAX_OUTLIER_SHARE` of the weight would be flagged (Cauchy data), the
far rows are the data's tails and none is.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger("gaussmix")

#: Robust spreads from the median beyond which a value is a gross outlier.
GROSS_OUTLIER_SPREADS = 30.0

#: The largest share of the weight that can be gross outliers (one row in
#: fifty): more far rows than that are the data's own heavy tails (Cauchy
#: data flag about 2% of their rows per column), and leaving those out of a
#: prior's moments cost a few points of accuracy in classifying such data.
MAX_OUTLIER_SHARE = 0.02

#: The median absolute deviation times this is a normal's standard deviation.
MAD_TO_SIGMA = 1.4826


def weighted_medians(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Each column's median, an integer weight counting as repeated rows.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,) or None
        Non-negative, with a positive sum.

    Returns
    -------
    ndarray of shape (n_features,)
        The mean of the lower and the upper weighted median, which is
        :func:`numpy.median` of the rows repeated by their weights (rows of
        zero weight take no part).
    """
    values = np.asarray(values, np.float64)
    if weights is None:
        return np.median(values, axis=0)
    order = np.argsort(values, axis=0, kind="stable")
    ordered = np.take_along_axis(values, order, axis=0)
    cumulative = np.cumsum(np.asarray(weights, np.float64)[order], axis=0)
    half = cumulative[-1] / 2.0
    lower = np.argmax(cumulative >= half, axis=0)
    upper = np.argmax(cumulative > half, axis=0)
    columns = np.arange(values.shape[1])
    return (ordered[lower, columns] + ordered[upper, columns]) / 2.0


def robust_spreads(
    values: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each column's median and robust spread.

    The spread is the median absolute deviation scaled to a normal's
    standard deviation. A column that is constant over most of its weight
    has none, and takes one of two others:

    - where at least :data:`MAX_OUTLIER_SHARE` of the weight differs from
      the median (a pixel blank in most images, lit in some), the median
      of those non-zero deviations, the typical distance of the rows that
      do differ;
    - where fewer rows differ, too few to have a spread of their own (a
      pixel blank in every image but one), the median spread of the other
      columns, the data's typical scale; ``inf`` (no row is far) when no
      column has a spread, or when every row is at the median.

    Returns
    -------
    medians, spreads : ndarray of shape (n_features,)
    """
    values = np.asarray(values, np.float64)
    row_weights = np.ones(len(values)) if weights is None else weights
    medians = weighted_medians(values, weights)
    deviations = np.abs(values - medians)
    spreads = MAD_TO_SIGMA * weighted_medians(deviations, weights)
    measured = spreads[spreads > 0.0]
    typical = float(np.median(measured)) if len(measured) else np.inf
    total = row_weights.sum()
    for column in np.flatnonzero(spreads == 0.0):
        moved = (deviations[:, column] > 0.0) & (row_weights > 0.0)
        if not moved.any():
            spreads[column] = np.inf
        elif row_weights[moved].sum() < MAX_OUTLIER_SHARE * total:
            spreads[column] = typical
        else:
            kept = None if weights is None else weights[moved]
            column_deviations = deviations[moved, column][:, None]
            spreads[column] = weighted_medians(column_deviations, kept)[0]
    return medians, spreads


def gross_outlier_rows(
    values: np.ndarray,
    weights: np.ndarray | None = None,
    spreads_out: float = GROSS_OUTLIER_SPREADS,
) -> np.ndarray:
    """Rows with a value more than ``spreads_out`` robust spreads from its median.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_features)
        Finite values.
    weights : ndarray of shape (n_samples,) or None
        Non-negative row weights with a positive sum; integer weights act
        as repeated rows.
    spreads_out : float, default=GROSS_OUTLIER_SPREADS

    Returns
    -------
    ndarray of bool, shape (n_samples,)
        True for the gross outliers; all False when they would carry more
        than :data:`MAX_OUTLIER_SHARE` of the weight: so many far rows are
        the shape of the data's tails, not errors outside it.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.arange(10.0), np.ones(10)])
    >>> X[3, 0] = 1e12
    >>> np.flatnonzero(gross_outlier_rows(X))
    array([3])
    """
    values = np.asarray(values, np.float64)
    medians, spreads = robust_spreads(values, weights)
    # a spread of inf (a constant column) flags nothing: inf * 30 = inf
    far = (np.abs(values - medians) > spreads_out * spreads).any(axis=1)
    row_weights = np.ones(len(values)) if weights is None else weights
    if row_weights[far].sum() > MAX_OUTLIER_SHARE * row_weights.sum():
        return np.zeros(len(values), dtype=bool)
    return far


def rows_to_train_on(values: np.ndarray, minimum: int, owner: str) -> np.ndarray:
    """Rows a network trains on: all but those holding a gross outlier.

    One value far outside its column's bulk sets a network's
    standardisation and, through squared errors, its loss: a value of 1e6
    among values of order ten makes every other row look alike. The rows
    left out are logged (``logging``, level INFO, logger ``"gaussmix"``);
    every row is kept when fewer than ``minimum`` would remain.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_features)
        Finite values.
    minimum : int
        Fewest rows to train on.
    owner : str
        Named in the log message.

    Returns
    -------
    ndarray of bool, shape (n_samples,)
    """
    far = gross_outlier_rows(values)
    if not far.any() or np.count_nonzero(~far) < minimum:
        return np.ones(len(values), dtype=bool)
    rows = np.flatnonzero(far)
    logger.info(
        "%s: %d row(s) holding a value more than %g robust spreads from its "
        "column's median left out of training (rows %s%s)",
        owner,
        len(rows),
        GROSS_OUTLIER_SPREADS,
        rows[:10].tolist(),
        ", ..." if len(rows) > 10 else "",
    )
    return ~far
