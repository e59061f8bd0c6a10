"""Model-based agglomerative hierarchical clustering, mclust's default start.

Starting from one cluster per distinct row, the two clusters whose merge
costs least under a Gaussian criterion are merged, until one is left; the
tree cut at K clusters gives the hard partition whose M-step starts EM
(``init_params="hc"``). As in mclust (Fraley 1998, "Algorithms for
model-based Gaussian hierarchical clustering", SIAM J. Sci. Comput. 20(1)):

- the criterion is the unconstrained (VVV) one, regularised so that small
  clusters have a finite cost: a cluster of ``n`` rows with scatter ``W``
  costs ``n log(|W/n| + beta (tr W + alpha) / n)``, with ``beta = 1`` and
  ``alpha = tr(W_all) / (N d)`` (``W_all`` the scatter of all the clustered
  rows);
- the rows are first transformed as mclust's default ``hcUse = "SVD"`` does:
  columns standardised (standard deviation with ``N - 1``), then projected on
  the right singular vectors of the standardised data and each projection
  divided by the square root of its singular value;
- identical rows start in one cluster;
- beyond ``HC_SUBSET`` rows, the tree is grown on a random subset and the
  other rows are left out of the first M-step.

Ties between equal merge costs are broken by position, not as mclust's
Fortran does, so trees can differ where costs tie exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest number of rows the tree is grown on (mclust's default subset).
HC_SUBSET = 2000
#: Singular values below this fraction of the largest are dropped by the SVD
#: transform (their directions carry no information and would divide by ~0).
SINGULAR_TOL = 1e-10
#: Pairs whose merged scatter needs a determinant are processed this many at
#: a time, bounding memory at ``PAIR_BLOCK * d * d`` numbers.
PAIR_BLOCK = 4096


def svd_transform(X: np.ndarray) -> np.ndarray:
    """mclust's ``hcUse = "SVD"`` transformation of the rows of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    Z : ndarray of shape (n_samples, rank)
        Constant columns and null singular directions are dropped.
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    if X.shape[0] < 2:
        return centred
    deviations = centred.std(axis=0, ddof=1)
    kept = deviations > 0
    standard = centred[:, kept] / deviations[kept]
    _, singular, right = np.linalg.svd(standard, full_matrices=False)
    informative = singular > SINGULAR_TOL * (singular[0] if singular.size else 0.0)
    return (standard @ right[informative].T) / np.sqrt(singular[informative])


@dataclass(frozen=True)
class HierarchicalTree:
    """The merges of an agglomerative clustering, cut at any number of clusters.

    Attributes
    ----------
    initial_labels : ndarray of shape (n_samples,)
        The starting partition (identical rows together), labels
        ``0 .. n_initial - 1``.
    merges : ndarray of shape (n_initial - 1, 2)
        Merge ``t`` joins cluster ``merges[t, 1]`` into cluster
        ``merges[t, 0]`` (labels of the starting partition).
    costs : ndarray of shape (n_initial - 1,)
        Increase of the criterion at each merge.
    """

    initial_labels: np.ndarray
    merges: np.ndarray
    costs: np.ndarray

    @property
    def n_initial(self) -> int:
        return int(self.merges.shape[0] + 1)

    def labels(self, n_clusters: int) -> np.ndarray:
        """Partition into ``n_clusters`` clusters, labels ``0 .. n_clusters-1``.

        Labels are numbered in order of first appearance among the rows.
        """
        if not 1 <= n_clusters <= self.n_initial:
            raise ValueError(
                f"the tree cuts into 1 to {self.n_initial} clusters (the number "
                f"of distinct rows), not {n_clusters}; use fewer components."
            )
        owner = np.arange(self.n_initial)
        for kept, absorbed in self.merges[: self.n_initial - n_clusters]:
            owner[owner == absorbed] = kept
        _, first, inverse = np.unique(
            owner[self.initial_labels], return_index=True, return_inverse=True
        )
        order = np.argsort(np.argsort(first))
        return order[inverse]


def _cluster_terms(counts, traces, log_dets, alpha: float, beta: float):
    """``n log(|W/n| + beta (tr W + alpha) / n)`` with ``log|W/n|`` given."""
    return counts * np.logaddexp(log_dets, np.log(beta * (traces + alpha) / counts))


def _log_det_of_mean_scatter(scatter: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``log|W/n|`` for a batch, ``-inf`` where W is singular."""
    sign, log_det = np.linalg.slogdet(scatter / counts[:, None, None])
    return np.where(sign > 0, log_det, -np.inf)


class _Agglomeration:
    """Cluster state and the pairwise merge costs of the active clusters."""

    def __init__(self, Z: np.ndarray, labels: np.ndarray, alpha: float, beta: float):
        n_clusters = int(labels.max()) + 1
        n_features = Z.shape[1]
        self.alpha, self.beta, self.n_features = alpha, beta, n_features
        self.counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
        self.means = np.zeros((n_clusters, n_features))
        np.add.at(self.means, labels, Z)
        self.means /= self.counts[:, None]
        centred = Z - self.means[labels]
        self.scatter = np.zeros((n_clusters, n_features, n_features))
        np.add.at(self.scatter, labels, np.einsum("ni,nj->nij", centred, centred))
        self.traces = np.einsum("kii->k", self.scatter)
        log_dets = np.full(n_clusters, -np.inf)
        big = self.counts > n_features
        if big.any():
            log_dets[big] = _log_det_of_mean_scatter(
                self.scatter[big], self.counts[big]
            )
        self.terms = _cluster_terms(self.counts, self.traces, log_dets, alpha, beta)
        self.active = np.ones(n_clusters, dtype=bool)
        self.costs = np.full((n_clusters, n_clusters), np.inf)
        for i in range(n_clusters - 1):
            others = np.arange(i + 1, n_clusters)
            self.costs[i, others] = self._merge_costs(i, others)
        lower = np.tril_indices(n_clusters, -1)
        self.costs[lower] = self.costs.T[lower]
        self.row_best = self.costs.argmin(axis=1)
        self.row_min = self.costs[np.arange(n_clusters), self.row_best]

    def _merge_costs(self, i: int, others: np.ndarray) -> np.ndarray:
        """Criterion increase of merging cluster ``i`` with each of ``others``."""
        n_i, n_j = self.counts[i], self.counts[others]
        merged = n_i + n_j
        factor = n_i * n_j / merged
        delta = self.means[others] - self.means[i]
        traces = self.traces[i] + self.traces[others] + factor * (delta**2).sum(1)
        log_dets = np.full(len(others), -np.inf)
        # a cluster of at most d rows has a singular scatter: no determinant
        needs_det = np.flatnonzero(merged > self.n_features)
        for start in range(0, needs_det.size, PAIR_BLOCK):
            block = needs_det[start : start + PAIR_BLOCK]
            scatter = (
                self.scatter[i]
                + self.scatter[others[block]]
                + factor[block, None, None]
                * np.einsum("ki,kj->kij", delta[block], delta[block])
            )
            log_dets[block] = _log_det_of_mean_scatter(scatter, merged[block])
        merged_terms = _cluster_terms(merged, traces, log_dets, self.alpha, self.beta)
        return merged_terms - self.terms[i] - self.terms[others]

    def best_pair(self) -> tuple[int, int, float]:
        i = int(self.row_min.argmin())
        j = int(self.row_best[i])
        return min(i, j), max(i, j), float(self.row_min[i])

    def merge(self, kept: int, absorbed: int) -> None:
        n_k, n_a = self.counts[kept], self.counts[absorbed]
        merged = n_k + n_a
        delta = self.means[absorbed] - self.means[kept]
        self.scatter[kept] += self.scatter[absorbed] + (n_k * n_a / merged) * np.outer(
            delta, delta
        )
        self.means[kept] += (n_a / merged) * delta
        self.counts[kept] = merged
        self.traces[kept] = np.trace(self.scatter[kept])
        log_det = (
            _log_det_of_mean_scatter(self.scatter[kept][None], np.array([merged]))[0]
            if merged > self.n_features
            else -np.inf
        )
        self.terms[kept] = _cluster_terms(
            merged, self.traces[kept], log_det, self.alpha, self.beta
        )
        self.active[absorbed] = False
        self.costs[absorbed, :] = np.inf
        self.costs[:, absorbed] = np.inf
        others = np.flatnonzero(self.active)
        others = others[others != kept]
        new = self._merge_costs(kept, others) if others.size else others
        self.costs[kept, others] = new
        self.costs[others, kept] = new
        self.row_min[absorbed] = np.inf
        stale = others[np.isin(self.row_best[others], (kept, absorbed))]
        improved = others[new < self.row_min[others]]
        self.row_best[improved] = kept
        self.row_min[improved] = self.costs[improved, kept]
        for row in (kept, *stale):
            self.row_best[row] = int(self.costs[row].argmin())
            self.row_min[row] = self.costs[row, self.row_best[row]]


def duplicate_groups(X: np.ndarray) -> np.ndarray:
    """Labels grouping identical rows, numbered by first appearance."""
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[np.ravel(inverse)]


def agglomerate(
    Z: np.ndarray,
    initial_labels: np.ndarray | None = None,
    alpha: float = 1.0,
    beta: float = 1.0,
) -> HierarchicalTree:
    """Grow the tree by merging, each time, the pair of least criterion increase.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        The (already transformed) rows.
    initial_labels : ndarray of shape (n_samples,), default=None
        Starting partition; None groups identical rows.
    alpha, beta : float, default=1
        Regularisation of the criterion; ``alpha`` is relative to
        ``tr(W_all) / (n_samples * n_features)``.

    Returns
    -------
    HierarchicalTree
    """
    Z = np.asarray(Z, dtype=np.float64)
    labels = duplicate_groups(Z) if initial_labels is None else initial_labels
    centred = Z - Z.mean(axis=0)
    scale = float((centred**2).sum()) / (Z.shape[0] * max(Z.shape[1], 1))
    state = _Agglomeration(
        Z, labels, max(alpha * scale, np.finfo(np.float64).eps), beta
    )
    n_initial = int(labels.max()) + 1
    merges = np.zeros((max(n_initial - 1, 0), 2), dtype=np.intp)
    costs = np.zeros(max(n_initial - 1, 0))
    for step in range(n_initial - 1):
        kept, absorbed, cost = state.best_pair()
        state.merge(kept, absorbed)
        merges[step] = kept, absorbed
        costs[step] = cost
    return HierarchicalTree(labels, merges, costs)


def hierarchical_tree(
    X: np.ndarray,
    sample_weight: np.ndarray | None = None,
    random_state: np.random.RandomState | None = None,
    max_samples: int = HC_SUBSET,
) -> tuple[HierarchicalTree, np.ndarray]:
    """mclust's hierarchical tree of the rows of ``X`` (SVD-transformed).

    Rows of zero weight are left out; other weights do not enter the tree.
    Beyond ``max_samples`` rows a random subset is used.

    Returns
    -------
    tree : HierarchicalTree
    rows : ndarray of int
        The rows of ``X`` the tree partitions.
    """
    rows = np.arange(X.shape[0])
    if sample_weight is not None:
        rows = rows[np.asarray(sample_weight) > 0]
    if rows.size > max_samples:
        if not isinstance(random_state, np.random.RandomState):
            random_state = np.random.RandomState(random_state)
        rows = np.sort(random_state.choice(rows, size=max_samples, replace=False))
    Z = svd_transform(np.asarray(X, dtype=np.float64)[rows])
    return agglomerate(Z), rows


def partition_responsibilities(
    tree: HierarchicalTree, rows: np.ndarray, n_samples: int, n_clusters: int
) -> np.ndarray:
    """One-hot responsibilities of the tree cut at ``n_clusters``.

    Rows outside ``rows`` get zero responsibility: the first M-step ignores
    them.
    """
    resp = np.zeros((n_samples, n_clusters))
    resp[rows, tree.labels(n_clusters)] = 1.0
    return resp


def init_hc(X, n_components, sample_weight, random_state):
    """Hard partition of mclust's model-based hierarchical clustering."""
    tree, rows = hierarchical_tree(X, sample_weight, random_state)
    return partition_responsibilities(tree, rows, X.shape[0], n_components).astype(
        X.dtype
    )
