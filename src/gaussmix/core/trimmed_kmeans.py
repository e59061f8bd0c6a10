"""Trimmed k-means (Cuesta-Albertos, Gordaliza & Matrán 1997).

Each Lloyd step leaves out the given share of the weight farthest from
every centre, so that scattered outliers neither draw a centre nor pull
one. The rows are centred and their norms taken once
(:class:`gaussmix.core.kmeans._CentredRows`), each step's distances are one
product per chunk, the trimmed rows are chosen by a partial sort where the
rows are unweighted, and the centres are weighted sums by label (one sparse
product). Hamerly's bounds, which spare most distances in
:func:`gaussmix.core.kmeans.kmeans`, were tried and measured slower here:
trimming needs every row's exact distance to its centre at every step.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from gaussmix.core.kmeans import _CentredRows

#: Lloyd steps of one start at most.
MAX_STEPS = 100


def trimmed_kmeans(
    X: np.ndarray,
    n_clusters: int,
    weights: np.ndarray,
    trimmed_share: float,
    n_starts: int,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels of every row and the rows kept, of the start of least
    trimmed inertia.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_clusters : int
    weights : ndarray of shape (n_samples,)
        Non-negative; at least ``n_clusters`` positive.
    trimmed_share : float
        The share of the total weight left out at each step.
    n_starts : int
        Random starts, each seeded by rows of positive weight drawn
        uniformly (k-means++ would favour the outliers).
    random_state : RandomState

    Returns
    -------
    labels : ndarray of int, shape (n_samples,)
        Each row's nearest centre at the end of the kept start.
    kept : ndarray of int
        The rows kept (not trimmed) by that start, ascending.
    """
    values = np.asarray(X, dtype=np.float64)
    rows = _CentredRows(values, weights)
    positive = np.flatnonzero(weights > 0)
    keep_weight = (1.0 - trimmed_share) * weights.sum()
    unweighted = bool(np.all(weights == 1.0))
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(n_starts):
        seeds = random_state.choice(positive, n_clusters, replace=False)
        centers = rows.rows[seeds]
        for _ in range(MAX_STEPS):
            labels, nearest = rows.nearest_squared(centers)
            if unweighted:
                kept = _nearest_count(nearest, int(np.ceil(keep_weight)))
            else:
                kept = _lightest_rows(nearest, weights, keep_weight)
            moved = _kept_means(rows.rows, weights, labels, kept, centers)
            if np.array_equal(moved, centers):
                break
            centers = moved
        inertia = float(weights[kept] @ nearest[kept])
        if best is None or inertia < best[0]:
            best = (inertia, labels, kept)
    _, labels, kept = best
    return labels, kept


def _nearest_count(distances: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` rows of least distance, ties taken in row order,
    ascending: a partial sort, the same rows a stable sort would give."""
    count = min(max(count, 1), distances.size)
    cut = np.partition(distances, count - 1)[count - 1]
    below = distances < cut
    at_cut = np.flatnonzero(distances == cut)[: count - int(below.sum())]
    below[at_cut] = True
    return np.flatnonzero(below)


def _lightest_rows(
    distances: np.ndarray, weights: np.ndarray, keep_weight: float
) -> np.ndarray:
    """The nearest rows of positive weight whose weights add up to
    ``keep_weight`` (the row that reaches it included), ascending."""
    order = np.argsort(distances, kind="stable")
    order = order[weights[order] > 0]
    reached = np.searchsorted(np.cumsum(weights[order]), keep_weight)
    return np.sort(order[: reached + 1])


def _kept_means(
    rows: np.ndarray,
    weights: np.ndarray,
    labels: np.ndarray,
    kept: np.ndarray,
    centers: np.ndarray,
) -> np.ndarray:
    """Weighted means of the kept rows by label; a centre left without
    weight stays where it was."""
    n_clusters = centers.shape[0]
    chosen = labels[kept]
    kept_weights = weights[kept]
    totals = np.bincount(chosen, weights=kept_weights, minlength=n_clusters)
    # one sparse product adds every cluster's rows
    membership = sparse.csr_matrix(
        (kept_weights, (chosen, kept)), shape=(n_clusters, rows.shape[0])
    )
    sums = np.asarray(membership @ rows)
    moved = centers.copy()
    filled = totals > 0
    moved[filled] = sums[filled] / totals[filled, None]
    return moved
