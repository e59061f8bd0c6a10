"""Starting partitions of deep clustering, and whether a label-free score picks one.

Deep clustering keeps most of the accuracy of its starting partition (the
joint training moves it by about a hundredth on the panel of
``deep_clustering.py``), so the start decides the result. This script
compares candidate starts on that panel, at the level of the partition
(no network is trained), with the labels used only to report accuracy:

- ``tsne``: EM (full covariances, 10 starts) on a two-dimensional t-SNE of
  the rows' leading principal components, the library's default start;
- ``tsne 3K + cut merge``: three times as many components, merged pairwise
  by the least increase of the normalised cut of the rows' 10-nearest-
  neighbour graph (connected arcs of one curved cluster join first);
- ``GMM on PCA``: GaussianMixture on the components explaining 90% of the
  variance; ``k-means``; ``spectral``: spectral clustering of the same
  neighbour graph.

Beside each accuracy is the partition's normalised cut of the neighbour
graph (lower: fewer neighbours split), a label-free score that could choose
among starts; ``QDA on t-SNE`` is the accuracy a supervised quadratic
discriminant reaches on the embedding, a ceiling for any Gaussian
partition of it.

Run: ``python benchmarks/deep_clustering_starts.py [--datasets wine digits ...]
[--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch
from deep_clustering import DATASETS, clustering_accuracy
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

from gaussmix import GaussianMixture
from gaussmix.deep.clustering_start import leading_components, tsne_embedding
from gaussmix.deep.clustering_training import neighbours

#: Rows above which spectral clustering's dense affinity is not attempted.
SPECTRAL_MAX_ROWS = 5_000


def edge_counts(near: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Symmetric counts of neighbour-graph edges between groups, (G, G)."""
    sources = np.repeat(np.arange(len(labels)), near.shape[1] - 1)
    targets = near[:, 1:].ravel()
    counts = np.zeros((n_groups, n_groups))
    np.add.at(counts, (labels[sources], labels[targets]), 1.0)
    return counts + counts.T


def normalised_cut(near: np.ndarray, labels: np.ndarray, n_groups: int) -> float:
    """Sum over groups of (edges leaving the group) / (edges touching it)."""
    counts = edge_counts(near, labels, n_groups)
    volume = np.maximum(counts.sum(1), 1.0)
    return float(((volume - np.diag(counts)) / volume).sum())


def cut_merge(near: np.ndarray, labels: np.ndarray, n_groups: int, n_clusters: int):
    """Merge groups pairwise, each time the pair whose union cuts least."""
    counts = edge_counts(near, labels, n_groups)
    owner = np.arange(n_groups)
    while counts.shape[0] > n_clusters:
        volume = np.maximum(counts.sum(1), 1.0)
        own = (volume - np.diag(counts)) / volume
        best, pair = np.inf, (0, 1)
        for a in range(len(counts)):
            for b in range(a + 1, len(counts)):
                joined = volume[a] + volume[b]
                inside = counts[a, a] + counts[b, b] + 2.0 * counts[a, b]
                change = (joined - inside) / joined - own[a] - own[b]
                if change < best:
                    best, pair = change, (a, b)
        a, b = pair
        counts[a] += counts[b]
        counts[:, a] += counts[:, b]
        counts = np.delete(np.delete(counts, b, 0), b, 1)
        owner[owner == b] = a
        owner[owner > b] -= 1
    return owner[labels]


def starts(X: np.ndarray, y: np.ndarray, n_clusters: int, seed: int) -> dict:
    """Each candidate's labels, and the supervised ceiling on the embedding."""
    embedded = tsne_embedding(leading_components(X, seed), seed)

    def mixture(values: np.ndarray, n_components: int) -> np.ndarray:
        fitted = GaussianMixture(n_components, n_init=10, random_state=seed)
        return fitted.fit(values).predict(values)

    near = neighbours(torch.as_tensor(X, dtype=torch.float32), 10).numpy()
    over = 3 * n_clusters
    found = {
        "tsne": mixture(embedded, n_clusters),
        "tsne 3K + cut merge": cut_merge(
            near, mixture(embedded, over), over, n_clusters
        ),
        "GMM on PCA": mixture(PCA(0.9, svd_solver="full").fit_transform(X), n_clusters),
        "k-means": KMeans(n_clusters, n_init=10, random_state=seed).fit(X).labels_,
    }
    if len(X) <= SPECTRAL_MAX_ROWS:
        spectral = SpectralClustering(
            n_clusters,
            affinity="nearest_neighbors",
            n_neighbors=10,
            random_state=seed,
        )
        found["spectral"] = spectral.fit_predict(X)
    ceiling = QuadraticDiscriminantAnalysis().fit(embedded, y).predict(embedded)
    return near, found, clustering_accuracy(y, ceiling)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print("| data | start | accuracy (mean) | normalised cut (mean) | lowest cut |")
    print("|---|---|---|---|---|")
    for dataset in args.datasets:
        X, y = DATASETS[dataset]()
        X = np.asarray(X, dtype=np.float64)
        n_clusters = len(np.unique(y))
        scores: dict[str, list[tuple[float, float]]] = {}
        ceilings = []
        for seed in args.seeds:
            near, found, ceiling = starts(X, y, n_clusters, seed)
            ceilings.append(ceiling)
            cuts = {
                n: normalised_cut(near, lab, n_clusters) for n, lab in found.items()
            }
            lowest = min(cuts, key=cuts.get)
            for name, labels in found.items():
                entry = (clustering_accuracy(y, labels), cuts[name], name == lowest)
                scores.setdefault(name, []).append(entry)
        for name, entries in scores.items():
            columns = zip(*entries, strict=True)
            accuracy, cut, chosen = (np.mean(column) for column in columns)
            print(
                f"| {dataset} | {name} | {accuracy:.3f} | {cut:.3f} | "
                f"{chosen:.0%} of seeds |",
                flush=True,
            )
        print(f"| {dataset} | QDA on t-SNE (labels) | {np.mean(ceilings):.3f} | | |")


if __name__ == "__main__":
    main()
