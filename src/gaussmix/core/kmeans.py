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

    def nearest(self, centers: np.ndarray) -> np.ndarray:
        """Each row's nearest centre (centres in centred coordinates), (N,).

        The rows' own norms do not change which centre is nearest, so only
        ``|c|^2 - 2 x.c`` is formed.
        """
        labels = np.empty(self.rows.shape[0], dtype=np.intp)
        scaled = -2.0 * centers.T
        c_norms = np.einsum("ij,ij->i", centers, centers)
        for rows in _chunks(self.rows.shape[0], centers.shape[0]):
            scores = self.rows[rows] @ scaled
            scores += c_norms
            labels[rows] = np.argmin(scores, axis=1)
        return labels


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
    for _ in range(max_iter):
        labels = rows.nearest(centers)
        # a sparse one-hot product adds each row once (N * D), where a dense
        # one would cost K times more
        membership = sparse.csr_matrix(
            (w, (labels, np.arange(len(labels)))), shape=(n_clusters, len(labels))
        )
        counts = np.asarray(membership.sum(axis=1)).ravel()
        sums = membership @ rows.rows
        occupied = counts > 0
        new_centers = centers.copy()
        new_centers[occupied] = sums[occupied] / counts[occupied, None]
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if shift <= threshold:
            break
    labels = rows.nearest(centers)
    return centers + rows.centre, labels
