"""Combining mixture components into clusters (mclust's ``clustCombi``).

A mixture chosen by BIC fits the density; a cluster that is not Gaussian
(skewed, curved) is then covered by several components. Following Baudry,
Raftery, Celeux, Lo & Gottardo (2010), components are merged two at a time,
each time the pair whose merging leaves the least entropy of the posterior
probabilities (:mod:`gaussmix.core.merging`), from K components down to one
cluster; the elbow of the entropy curve suggests the number of clusters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array
from gaussmix.core.merging import (
    ChangePoint,
    MergeHierarchy,
    combine_columns,
    merge_hierarchy,
    piecewise_linear_changepoint,
)
from gaussmix.models import validation as check

_OWNER = "merge_components"


@dataclass(frozen=True)
class MergeResult:
    """The hierarchy of entropy merges of a mixture's components.

    Attributes
    ----------
    n_components : int
        Components of the mixture (the most clusters).
    hierarchy : MergeHierarchy
        Partitions, merged pairs, entropies and merged counts.
    entropies : ndarray of shape (n_components,)
        ``entropies[j]`` is the entropy with ``n_clusters[j]`` clusters.
    n_clusters : ndarray of shape (n_components,)
        ``n_components, n_components - 1, ..., 1``.
    cumulative_merged : ndarray of shape (n_components,)
        Observations merged before reaching each number of clusters (0 for
        ``n_components``): the x-axis of the normalised entropy plot.
    change_point : ChangePoint or None
        Two-segment fit of the entropies on the number of clusters (on
        ``n_clusters[::-1]``, increasing); None with fewer than three
        components.
    change_point_merged : ChangePoint or None
        Two-segment fit of the entropies on ``cumulative_merged``, drawn on
        the normalised plot.
    suggested_n_clusters : int
        The number of clusters at ``change_point`` (``n_components`` when
        there are fewer than three components).

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-4, 1, (100, 2)), rng.normal(4, 1, (100, 2))])
    >>> model = gaussmix.GaussianMixture(3, random_state=0).fit(X)
    >>> merged = gaussmix.merge_components(model, X)
    >>> merged.probabilities(2).shape
    (200, 2)
    >>> np.bincount(merged.labels(2)).tolist()
    [100, 100]
    """

    n_components: int
    hierarchy: MergeHierarchy = field(repr=False)
    responsibilities: np.ndarray = field(repr=False)
    cumulative_merged: np.ndarray = field(repr=False)
    change_point: ChangePoint | None
    change_point_merged: ChangePoint | None
    suggested_n_clusters: int

    @property
    def entropies(self) -> np.ndarray:
        return self.hierarchy.entropies

    @property
    def n_clusters(self) -> np.ndarray:
        return np.arange(self.n_components, 0, -1)

    def _step(self, n_clusters: int) -> int:
        n_clusters = check.check_int(
            "n_clusters", n_clusters, 1, owner="MergeResult", maximum=self.n_components
        )
        return self.n_components - n_clusters

    def groups(self, n_clusters: int) -> tuple[tuple[int, ...], ...]:
        """The components making up each of ``n_clusters`` clusters."""
        return self.hierarchy.groups[self._step(n_clusters)]

    def probabilities(self, n_clusters: int) -> np.ndarray:
        """Posterior probabilities of the clusters, shape (n_samples, n_clusters)."""
        return combine_columns(self.responsibilities, self.groups(n_clusters))

    def labels(self, n_clusters: int) -> np.ndarray:
        """The most probable of ``n_clusters`` clusters for each row."""
        return np.argmax(self.probabilities(n_clusters), axis=1)

    def __str__(self) -> str:
        lines = [
            "Combining mixture components by entropy",
            f"{'clusters':>8}{'entropy':>14}  groups of components",
        ]
        for n, value in zip(self.n_clusters, self.entropies, strict=True):
            groups = " ".join(
                "{" + ",".join(str(k) for k in g) + "}" for g in self.groups(int(n))
            )
            lines.append(f"{n:8d}{value:14.4f}  {groups}")
        lines.append(f"Suggested number of clusters: {self.suggested_n_clusters}")
        return "\n".join(lines)


def merge_components(model: object, X: Array) -> MergeResult:
    """The entropy hierarchy of merges of a fitted mixture's components.

    mclust's ``clustCombi`` (Baudry et al., 2010). From the posterior
    probabilities of X under ``model``, the two clusters whose merging most
    reduces the entropy ``-sum t_ij log t_ij`` are merged, again and again,
    down to one cluster. The entropy against the cumulative number of
    observations merged (or against the number of clusters) falls steeply
    while components of one cluster are merged and then levels off; a
    two-segment piecewise-linear fit of the entropy on the number of
    clusters puts the change point at the suggested number of clusters.

    Parameters
    ----------
    model : fitted mixture with ``predict_proba``
        Typically the BIC choice, ``gaussmix.select_model(X).best_model``.
        With a noise component its column is left out and the rows
        renormalised.
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    MergeResult
        ``labels(n)``, ``probabilities(n)``, ``groups(n)``, the entropies and
        ``suggested_n_clusters``; draw it with
        :func:`gaussmix.plot.plot_merge_entropy`.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(0)
    >>> blobs = [rng.normal(c, 1, (80, 2)) for c in (-6, 0, 6)]
    >>> X = np.vstack(blobs + [rng.normal(6, 1, (80, 2))])
    >>> model = gaussmix.GaussianMixture(5, random_state=0).fit(X)
    >>> merged = gaussmix.merge_components(model, X)
    >>> merged.n_clusters.tolist()
    [5, 4, 3, 2, 1]
    >>> len(merged.groups(3))
    3
    """
    check_is_fitted(model, ["weights_", "means_"])
    X = check_array(X, dtype=[np.float64, np.float32])
    t = np.asarray(model.predict_proba(X), dtype=np.float64)
    n_components = np.shape(model.means_)[0]
    if t.shape[1] > n_components:
        # the noise column: clusters are made of Gaussian components alone
        t = t[:, :n_components]
        total = t.sum(axis=1, keepdims=True)
        even = np.full_like(t, 1.0 / n_components)
        t = np.divide(t, total, out=even, where=total > 0)
    hierarchy = merge_hierarchy(t)
    cumulative = np.concatenate([[0.0], np.cumsum(hierarchy.merged_counts)])
    change = change_merged = None
    suggested = n_components
    if n_components >= 3:
        # the elbow on the number of clusters: a step that merges many rows
        # of two clusters that are truly apart removes little entropy, so
        # the merged-rows axis stretches the flat part and blurs the elbow
        counts = np.arange(1, n_components + 1, dtype=np.float64)
        change = piecewise_linear_changepoint(counts, hierarchy.entropies[::-1])
        change_merged = piecewise_linear_changepoint(cumulative, hierarchy.entropies)
        suggested = int(counts[change.index])
    return MergeResult(
        n_components=n_components,
        hierarchy=hierarchy,
        responsibilities=t,
        cumulative_merged=cumulative,
        change_point=change,
        change_point_merged=change_merged,
        suggested_n_clusters=suggested,
    )
