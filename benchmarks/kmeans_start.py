"""The default start of EM: k-means++ seeds and Lloyd's iterations.

``GaussianMixture``'s default ``init_params='kmeans'`` runs k-means to
convergence before EM, as scikit-learn's does; on data where components
overlap, k-means takes hundreds of iterations and can cost more than EM
itself. This script fits ``max_iter=1`` (the start and one EM iteration) with
gaussmix and with scikit-learn on the same rows in the same process,
alternating, and prints single-thread CPU seconds (the fastest of
``--repeats``) and their ratio. Both must reach the same partition: the
average log-likelihood after the one iteration is printed beside.

Run: ``python benchmarks/kmeans_start.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _common import blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture
from threadpoolctl import threadpool_limits

from gaussmix import GaussianMixture

#: (name, rows, features, components, data)
CASES = [
    ("normal 20k x 16, K=16", 20_000, 16, 16, "normal"),
    ("normal 100k x 16, K=16", 100_000, 16, 16, "normal"),
    ("close blobs 100k x 16, K=16", 100_000, 16, 16, "close"),
    ("separated blobs 100k x 16, K=16", 100_000, 16, 16, "separated"),
    ("normal 50k x 64, K=64", 50_000, 64, 64, "normal"),
]


def make(n: int, d: int, k: int, kind: str) -> np.ndarray:
    if kind == "normal":
        return np.random.default_rng(0).standard_normal((n, d))
    return blobs(n, d, k, seed=0, box=0.5 if kind == "close" else 10.0)


def cpu_seconds(estimator, X: np.ndarray) -> tuple[float, float]:
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X)
    return time.process_time() - start, float(estimator.score(X))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        "| data | gaussmix CPU s | scikit-learn CPU s | sklearn / gaussmix | "
        "avg loglik (gaussmix / sklearn) |"
    )
    print("|---|---|---|---|---|")
    with threadpool_limits(1):
        for name, n, d, k, kind in CASES:
            X = make(n, d, k, kind)
            ours, theirs = [], []
            for _ in range(args.repeats):
                ours.append(
                    cpu_seconds(GaussianMixture(k, max_iter=1, random_state=0), X)
                )
                theirs.append(
                    cpu_seconds(SklearnMixture(k, max_iter=1, random_state=0), X)
                )
            mine, reference = min(ours), min(theirs)
            print(
                f"| {name} | {mine[0]:.3f} | {reference[0]:.3f} | "
                f"{reference[0] / mine[0]:.2f} | {mine[1]:.6f} / {reference[1]:.6f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
