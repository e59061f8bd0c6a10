"""Deep clustering with a Gaussian mixture prior on scikit-learn's digits.

Clustering accuracy (best one-to-one matching of clusters to digits, by the
Hungarian algorithm), NMI and ARI of DeepGaussianMixtureClustering over
several seeds, against GaussianMixture on 30 PCA components and k-means on
the pixels, in the same run.

Run: ``python benchmarks/deep_clustering.py [--seeds 0 1 2 3 4] [--threads 1]``.
On a shared machine one torch thread is much faster than two competing
ones.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from gaussmix import GaussianMixture
from gaussmix.deep import DeepGaussianMixtureClustering

#: The estimator's defaults: latent_dim=10, activation='gelu', n_neighbors=10,
#: init_smoothing=3, n_init=10, init_components=None (2 * n_clusters, merged
#: down to n_clusters), n_autoencoders=5, pretrain_epochs=50, max_epochs=300.
SETTINGS: dict = {}


def clustering_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Fraction of rows right under the best one-to-one cluster relabelling."""
    size = int(max(labels.max(), clusters.max())) + 1
    counts = np.zeros((size, size))
    np.add.at(counts, (clusters, labels), 1)
    rows, columns = linear_sum_assignment(-counts)
    return float(counts[rows, columns].sum() / len(labels))


def measure(name: str, fit_predict, labels: np.ndarray) -> dict:
    start = time.perf_counter()
    clusters = fit_predict()
    seconds = time.perf_counter() - start
    return {
        "method": name,
        "accuracy": clustering_accuracy(labels, clusters),
        "nmi": normalized_mutual_info_score(labels, clusters),
        "ari": adjusted_rand_score(labels, clusters),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    digits = load_digits()
    X, y = digits.data, digits.target
    n_clusters = 10
    rows = []
    for seed in args.seeds:
        deep = DeepGaussianMixtureClustering(n_clusters, random_state=seed, **SETTINGS)
        rows.append(
            measure("deep GMM clustering", lambda deep=deep: deep.fit(X).labels_, y)
        )

        def pca_gmm(seed=seed):
            codes = PCA(30, random_state=seed).fit_transform(X)
            mixture = GaussianMixture(n_clusters, random_state=seed)
            return mixture.fit(codes).predict(codes)

        rows.append(measure("GMM on PCA-30", pca_gmm, y))
        kmeans = KMeans(n_clusters, n_init=10, random_state=seed)
        rows.append(measure("k-means", lambda kmeans=kmeans: kmeans.fit(X).labels_, y))
        for row in rows[-3:]:
            row["seed"] = seed
    header = (
        f"{'method':<22} {'seed':>4} {'accuracy':>9} {'NMI':>7} {'ARI':>7} {'fit s':>7}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['method']:<22} {row['seed']:>4} {row['accuracy']:9.3f} "
            f"{row['nmi']:7.3f} {row['ari']:7.3f} {row['seconds']:7.1f}"
        )
    lines.append("-" * len(header))
    for method in dict.fromkeys(row["method"] for row in rows):
        mine = [row for row in rows if row["method"] == method]
        means = {
            k: np.mean([row[k] for row in mine]) for k in ("accuracy", "nmi", "ari")
        }
        slowest = max(row["seconds"] for row in mine)
        lines.append(
            f"{method:<22} {'mean':>4} {means['accuracy']:9.3f} {means['nmi']:7.3f} "
            f"{means['ari']:7.3f} {slowest:7.1f} (slowest)"
        )
    lines.append(f"deep GMM clustering settings: {SETTINGS or 'defaults'}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
