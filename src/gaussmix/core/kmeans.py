"""Weighted k-means: greedy k-means++ seeding and Lloyd iterations.

Written for initialising EM: distances come from one GEMM per chunk of rows,
so memory stays O(chunk * K), and sample weights are honoured everywhere
(a row of integer weight w acts as w copies of the row).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from scipy import sparse

_CHUNK_ELEMENTS = 1 << 20


def _chunks(n_rows: int, n_columns: int) -> Iterator[slice]:
    step = max(256, _CHUNK_ELEMENTS // max(1, n_columns))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n_samples, n_centers), clipped at zero."""
    out = np.empty((X.shape[0], centers.shape[0]), dtype=np.float64)
    centre = centers.mean(0)
    c = centers - centre
    c_norms = np.einsum("ij,ij->i", c, c)
    for rows in _chunks(X.shape[0], centers.shape[0]):
        x = np.asarray(X[rows], dtype=np.float64) - centre
        block = np.einsum("ij,ij->i", x, x)[:, None] - 2.0 * (x @ c.T) + c_norms
        out[rows] = np.maximum(block, 0.0)
    return out


class _CentredRows:
    """Rows moved once to their weighted mean, with their squared norms.

    Lloyd's iterations and the k-means++ seeding compare every row with new
    centres many times; centring and the rows' norms are the same each time,
    and centring keeps ``|x|^2 - 2 x.c + |c|^2`` accurate for data far from
    the origin.
    """

    def __init__(self, X: np.ndarray, weights: np.ndarray) -> None:
        self.centre = (weights @ X) / weights.sum()
        self.rows = X - self.centre
        self.norms = np.einsum("ij,ij->i", self.rows, self.rows)

    def squared_distances(self, centers: np.ndarray) -> np.ndarray:
        """Squared distances to centres given in centred coordinates, (N, K)."""
        products = self.rows @ (-2.0 * centers.T)
        products += self.norms[:, None]
        products += np.einsum("ij,ij->i", centers, centers)
        return np.maximum(products, 0.0, out=products)

    def nearest_squared(self, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's nearest centre (centred coordinates) and its squared
        distance to it, clipped at zero, (N,) and (N,)."""
        labels, closest, _ = self._nearest(centers, slice(None), runner_up=False)
        return labels, closest

    def nearest(
        self, centers: np.ndarray, subset: np.ndarray | slice = slice(None)
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest centre of each row of ``subset`` and the two nearest distances.

        Centres are given in centred coordinates. Returns ``labels`` (n,),
        ``closest`` and ``second`` (n,): the Euclidean distances to the
        nearest centre and to the next one (inf with one centre). Only
        ``|c|^2 - 2 x.c`` decides the label: the rows' own norms do not
        change which centre is nearest.
        """
        labels, closest, second = self._nearest(centers, subset, runner_up=True)
        return labels, np.sqrt(closest), np.sqrt(second)

    def _nearest(
        self, centers: np.ndarray, subset: np.ndarray | slice, runner_up: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels and the squared distances to the nearest and (with
        ``runner_up``) the next centre, clipped at zero; inf where none."""
        rows, norms = self.rows[subset], self.norms[subset]
        n_rows, n_clusters = rows.shape[0], centers.shape[0]
        labels = np.empty(n_rows, dtype=np.intp)
        closest = np.empty(n_rows)
        second = np.full(n_rows, np.inf)
        scaled = -2.0 * centers.T
        c_norms = np.einsum("ij,ij->i", centers, centers)
        for block in _chunks(n_rows, n_clusters):
            scores = rows[block] @ scaled
            scores += c_norms
            chosen = np.argmin(scores, axis=1)
            labels[block] = chosen
            best = np.take_along_axis(scores, chosen[:, None], axis=1)[:, 0]
            closest[block] = np.maximum(best + norms[block], 0.0)
            if runner_up and n_clusters > 1:
                np.put_along_axis(scores, chosen[:, None], np.inf, axis=1)
                following = scores.min(axis=1) + norms[block]
                second[block] = np.maximum(following, 0.0)
        return labels, closest, second


class _Assignment:
    """Lloyd's assignment step with Hamerly's (2010) distance bounds.

    Each row keeps an upper bound on its distance to its centre and a lower
    bound on its distance to every other centre; when centres move, the
    bounds move by at most as much (triangle inequality), and a row whose
    upper bound stays below its lower bound (or below half the gap from its
    centre to the next centre) cannot change centre, so it is not compared
    again. Late iterations, where centres barely move, skip nearly every
    row; the labels are those of comparing every row every time. Bounds
    carry a margin for the rounding of distances computed from norms. The
    clusters' weights and sums are updated by the rows that change cluster.
    """

    def __init__(
        self, rows: _CentredRows, centers: np.ndarray, weights: np.ndarray
    ) -> None:
        self.rows, self.weights = rows, weights
        self.labels, self.upper, self.lower = rows.nearest(centers)
        # centres are weighted means of rows, so no centre is farther from the
        # rows' mean than the farthest row
        scale = rows.norms + float(rows.norms.max())
        # |sqrt(a) - sqrt(b)| <= sqrt(|a - b|): a bound on each distance's
        # rounding from the rounding of its square, twice (two distances)
        self.margin = 2.0 * np.sqrt(1e-12 * scale)
        self.counts = np.zeros(len(centers))
        self.sums = np.zeros_like(centers)
        # rows per cluster, exact where the summed weights round: a cluster
        # that loses its last row must read as empty, not as a rounding
        # residue divided by another
        self.members = np.zeros(len(centers), dtype=np.intp)
        everything = np.arange(len(self.labels))
        self._move(everything, self.labels, weights)

    def _move(self, members: np.ndarray, labels: np.ndarray, weights: np.ndarray):
        # a sparse one-hot product adds each row once (n * D), where a dense
        # one would cost K times more
        membership = sparse.csr_matrix(
            (weights, (labels, members)), shape=(len(self.counts), len(self.labels))
        )
        self.counts += np.asarray(membership.sum(axis=1)).ravel()
        self.sums += membership @ self.rows.rows
        self.members += np.bincount(
            labels, np.sign(weights).astype(np.intp), len(self.counts)
        ).astype(np.intp)
        empty = self.members == 0
        self.counts[empty] = 0.0
        self.sums[empty] = 0.0

    def means(self, centers: np.ndarray) -> np.ndarray:
        """The clusters' weighted means; an empty cluster keeps its centre."""
        occupied = (self.members > 0) & (self.counts > 0)
        means = centers.copy()
        means[occupied] = self.sums[occupied] / self.counts[occupied, None]
        return means

    def update(self, old: np.ndarray, new: np.ndarray) -> None:
        """Move the bounds as centres ``old`` become ``new``; relabel doubtful rows."""
        moved = np.sqrt(((new - old) ** 2).sum(axis=1))
        self.upper += moved[self.labels]
        # every other centre moved by at most the largest move
        self.lower -= moved.max()
        gaps = np.sqrt(((new[:, None] - new[None]) ** 2).sum(-1))
        np.fill_diagonal(gaps, np.inf)
        bound = np.maximum(self.lower, 0.5 * gaps.min(axis=1)[self.labels])
        doubtful = np.flatnonzero(self.upper + self.margin > bound)
        if not len(doubtful):
            return
        # the exact distance to the row's own centre may settle it
        own = self.rows.rows[doubtful] - new[self.labels[doubtful]]
        self.upper[doubtful] = np.sqrt(np.einsum("ij,ij->i", own, own))
        doubtful = doubtful[
            self.upper[doubtful] + self.margin[doubtful] > bound[doubtful]
        ]
        if not len(doubtful):
            return
        labels, closest, second = self.rows.nearest(new, doubtful)
        previous = self.labels[doubtful]
        self.labels[doubtful] = labels
        self.upper[doubtful] = closest
        self.lower[doubtful] = second
        changed = labels != previous
        if changed.any():
            members = np.tile(doubtful[changed], 2)
            weights = self.weights[doubtful[changed]]
            self._move(
                members,
                np.concatenate([previous[changed], labels[changed]]),
                np.concatenate([-weights, weights]),
            )


def kmeans_plusplus(
    X: np.ndarray,
    n_clusters: int,
    sample_weight: np.ndarray,
    random_state: np.random.RandomState,
    n_local_trials: int | None = None,
) -> np.ndarray:
    """Indices of ``n_clusters`` seeds chosen by greedy weighted k-means++."""
    rows = _CentredRows(np.asarray(X, dtype=np.float64), sample_weight)
    return _plusplus(rows, n_clusters, sample_weight, random_state, n_local_trials)


def _plusplus(
    rows: _CentredRows,
    n_clusters: int,
    sample_weight: np.ndarray,
    random_state: np.random.RandomState,
    n_local_trials: int | None = None,
) -> np.ndarray:
    n_samples = rows.rows.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(n_clusters))
    probabilities = sample_weight / sample_weight.sum()
    first = int(random_state.choice(n_samples, p=probabilities))
    indices = [first]
    closest = rows.squared_distances(rows.rows[[first]])[:, 0]
    potential = float(sample_weight @ closest)
    for _ in range(1, n_clusters):
        cumulative = np.cumsum(sample_weight * closest)
        if potential <= 0.0:
            # every row coincides with a seed already: repeat one
            indices.append(int(random_state.choice(n_samples, p=probabilities)))
            continue
        draws = random_state.uniform(size=n_local_trials) * potential
        candidates = np.minimum(np.searchsorted(cumulative, draws), n_samples - 1)
        candidate_distances = rows.squared_distances(rows.rows[candidates])
        new_closest = np.minimum(closest[:, None], candidate_distances)
        potentials = sample_weight @ new_closest
        best = int(np.argmin(potentials))
        indices.append(int(candidates[best]))
        closest = new_closest[:, best]
        potential = float(potentials[best])
    return np.asarray(indices)


def kmeans(
    X: np.ndarray,
    n_clusters: int,
    sample_weight: np.ndarray,
    random_state: np.random.RandomState,
    max_iter: int = 300,
    tol: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Lloyd k-means from k-means++ seeds: (centers, labels).

    Stops when the squared movement of the centres falls below ``tol`` times
    the mean per-feature variance, as scikit-learn's KMeans does. A cluster
    that loses every row keeps its previous centre.
    """
    w = np.asarray(sample_weight, dtype=np.float64)
    rows = _CentredRows(np.asarray(X, dtype=np.float64), w)
    centers = rows.rows[_plusplus(rows, n_clusters, w, random_state)].copy()
    variance = float(np.mean((w @ rows.rows**2) / w.sum()))
    threshold = tol * variance
    assignment = _Assignment(rows, centers, w)
    for _ in range(max_iter):
        new_centers = assignment.means(centers)
        shift = float(((new_centers - centers) ** 2).sum())
        if shift <= threshold:
            centers = new_centers
            break
        assignment.update(centers, new_centers)
        centers = new_centers
    labels = rows.nearest(centers)[0]
    return centers + rows.centre, labels
