"""Merging mixture components by entropy (Baudry, Raftery, Celeux, Lo & Gottardo).

Baudry et al. (2010), "Combining mixture components for clustering", JCGS
19(2): a mixture chosen by BIC may give one cluster several components.
Merging components ``k`` and ``l`` replaces their posterior probability
columns by their sum; the merge chosen at each step is the one leaving the
least entropy ``-sum_i sum_j t_ij log t_ij`` of the posterior probabilities.
The entropy plotted against the number of clusters (or against the number of
observations merged so far) falls steeply while components of one cluster
are merged and then levels off; the elbow, found by a two-segment
piecewise-linear least-squares fit, suggests the number of clusters.

Pure functions on arrays; no estimator state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def entropy(probabilities: np.ndarray) -> float:
    """``-sum t log t`` over all rows and columns, with ``0 log 0 = 0``.

    Parameters
    ----------
    probabilities : ndarray of shape (n_samples, n_clusters)
    """
    t = np.asarray(probabilities, dtype=np.float64)
    positive = t > 0
    return float(-np.sum(t[positive] * np.log(t[positive])))


def _xlogx(t: np.ndarray) -> np.ndarray:
    """Elementwise ``t log t`` with ``0 log 0 = 0``."""
    out = np.zeros_like(t)
    positive = t > 0
    out[positive] = t[positive] * np.log(t[positive])
    return out


@dataclass(frozen=True)
class MergeHierarchy:
    """The sequence of merges from K components down to one cluster.

    Attributes
    ----------
    groups : tuple of tuple of tuple of int
        ``groups[K - n]`` is the partition of the components into ``n``
        clusters, each cluster a sorted tuple of component indices, the
        clusters ordered by their smallest component.
    merges : tuple of tuple of int
        ``merges[s]`` is the pair of clusters (indices into ``groups[s]``)
        merged at step ``s``, giving ``groups[s + 1]``.
    entropies : ndarray of shape (K,)
        ``entropies[K - n]`` is the entropy with ``n`` clusters (0 for one).
    merged_counts : ndarray of shape (K - 1,)
        Observations in the two clusters merged at each step (each row
        counted in its most probable cluster before the merge).
    """

    groups: tuple[tuple[tuple[int, ...], ...], ...]
    merges: tuple[tuple[int, int], ...]
    entropies: np.ndarray
    merged_counts: np.ndarray


def merge_hierarchy(probabilities: np.ndarray) -> MergeHierarchy:
    """Greedy entropy merges of the columns of a posterior probability matrix.

    Parameters
    ----------
    probabilities : ndarray of shape (n_samples, n_components)
        Rows sum to one.

    Returns
    -------
    MergeHierarchy
    """
    t = np.asarray(probabilities, dtype=np.float64)
    if t.ndim != 2 or t.shape[1] < 1:
        raise ValueError(
            f"probabilities must be 2-D (n_samples, n_components), got {t.shape}."
        )
    groups: list[tuple[int, ...]] = [(k,) for k in range(t.shape[1])]
    history = [tuple(groups)]
    entropies = [entropy(t)]
    merges: list[tuple[int, int]] = []
    counts: list[float] = []
    while t.shape[1] > 1:
        per_column = _xlogx(t).sum(axis=0)
        best = None
        for a in range(t.shape[1]):
            for b in range(a + 1, t.shape[1]):
                # only the two merged columns change; sum t log t is minus
                # the entropy, so this is the entropy the merge removes
                merged = _xlogx(t[:, a] + t[:, b]).sum()
                change = merged - per_column[a] - per_column[b]
                if best is None or change > best[0] + 1e-12:
                    best = (change, a, b)
        _, a, b = best
        hard = np.argmax(t, axis=1)
        counts.append(float(np.sum((hard == a) | (hard == b))))
        merged = t[:, a] + t[:, b]
        keep = [j for j in range(t.shape[1]) if j not in (a, b)]
        new_groups = [groups[j] for j in keep] + [tuple(sorted(groups[a] + groups[b]))]
        columns = [t[:, j] for j in keep] + [merged]
        order = np.argsort([min(g) for g in new_groups], kind="stable")
        groups = [new_groups[i] for i in order]
        t = np.column_stack([columns[i] for i in order])
        merges.append((a, b))
        history.append(tuple(groups))
        entropies.append(entropy(t))
    return MergeHierarchy(
        groups=tuple(history),
        merges=tuple(merges),
        entropies=np.asarray(entropies),
        merged_counts=np.asarray(counts),
    )


def combine_columns(
    probabilities: np.ndarray, groups: tuple[tuple[int, ...], ...]
) -> np.ndarray:
    """Posterior probabilities of the clusters: each group's columns summed.

    Parameters
    ----------
    probabilities : ndarray of shape (n_samples, n_components)
    groups : tuple of tuple of int
        A partition of the component indices.

    Returns
    -------
    ndarray of shape (n_samples, len(groups))
    """
    t = np.asarray(probabilities, dtype=np.float64)
    return np.column_stack([t[:, list(group)].sum(axis=1) for group in groups])


@dataclass(frozen=True)
class ChangePoint:
    """A two-segment piecewise-linear least-squares fit.

    Attributes
    ----------
    index : int
        Position in ``x`` of the point shared by both segments.
    left, right : tuple of float
        ``(intercept, slope)`` of the segment up to and from ``x[index]``.
    residual : float
        Total squared residual of the two segments.
    """

    index: int
    left: tuple[float, float]
    right: tuple[float, float]
    residual: float


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares ``(intercept, slope, squared residual)``."""
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((y - intercept - slope * x) ** 2))
    return float(intercept), float(slope), residual


def piecewise_linear_changepoint(x: np.ndarray, y: np.ndarray) -> ChangePoint:
    """Best single change point of a two-segment linear fit of ``y`` on ``x``.

    Each segment is fitted on its own (the change point belongs to both) and
    every interior point is tried; the one of least total squared residual
    wins. Needs at least three points.

    Parameters
    ----------
    x, y : ndarray of shape (n_points,)
        ``x`` increasing.

    Returns
    -------
    ChangePoint
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ValueError("a change point needs x and y of one shape, 3 points or more.")
    best = None
    for c in range(1, x.size - 1):
        b0, a0, r0 = _line(x[: c + 1], y[: c + 1])
        b1, a1, r1 = _line(x[c:], y[c:])
        if best is None or r0 + r1 < best.residual - 1e-12:
            best = ChangePoint(c, (b0, a0), (b1, a1), r0 + r1)
    return best
