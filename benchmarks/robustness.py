"""Robust mixtures against uniform noise: ARI and the error of the means.

Three well separated Gaussian clusters (2-D and 10-D) with 0%, 1%, 5% and 10%
of the rows replaced by points drawn uniformly over a box ten times as wide
as the clusters' own. For each model, the adjusted Rand index on the rows
that stayed cluster rows, and the mean distance of the fitted means to the
true centres (each true centre matched to its nearest fitted component),
averaged over seeds. Models: GaussianMixture, StudentMixture and, when the
installed gaussmix has it, GaussianMixture(noise=True).

    python benchmarks/robustness.py [--seeds 5] [--rows 3000]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

import gaussmix

FRACTIONS = (0.0, 0.01, 0.05, 0.10)


def noisy_clusters(
    n_rows: int, n_features: int, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows, true labels, the rows kept as cluster rows, and the centres."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, n_features))
    centres[1, 0] = 8.0
    centres[2, 1] = 8.0
    labels = rng.integers(0, 3, size=n_rows)
    X = centres[labels] + rng.standard_normal((n_rows, n_features))
    low, high = X.min(0), X.max(0)
    middle, half = (low + high) / 2, 5.0 * (high - low)
    replaced = rng.choice(n_rows, round(fraction * n_rows), replace=False)
    X[replaced] = rng.uniform(middle - half, middle + half, (len(replaced), n_features))
    kept = np.setdiff1d(np.arange(n_rows), replaced)
    return X, labels, kept, centres


def mean_error(fitted: np.ndarray, centres: np.ndarray) -> float:
    """Mean distance of each true centre to the fitted mean matched to it."""
    distances = np.linalg.norm(centres[:, None, :] - fitted[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(distances)
    return float(distances[rows, cols].mean())


def models(seed: int) -> dict[str, object]:
    """The models compared, each with three components."""
    out = {
        "GaussianMixture": gaussmix.GaussianMixture(3, random_state=seed),
        "StudentMixture": gaussmix.StudentMixture(3, random_state=seed),
    }
    noisy = gaussmix.GaussianMixture(3, random_state=seed)
    if "noise" in noisy.get_params():
        out["GaussianMixture(noise=True)"] = noisy.set_params(noise=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print("| D | noise | model | ARI mean | ARI min | mean error |")
    print("|---|---|---|---|---|---|")
    for n_features in (2, 10):
        for fraction in FRACTIONS:
            scores: dict[str, list[tuple[float, float]]] = {}
            for seed in range(args.seeds):
                X, labels, kept, centres = noisy_clusters(
                    args.rows, n_features, fraction, seed
                )
                for name, model in models(seed).items():
                    model.fit(X)
                    ari = adjusted_rand_score(labels[kept], model.predict(X[kept]))
                    error = mean_error(np.asarray(model.means_), centres)
                    scores.setdefault(name, []).append((ari, error))
            for name, values in scores.items():
                ari, error = np.array(values).T
                print(
                    f"| {n_features} | {fraction:.0%} | {name} | {ari.mean():.3f} | "
                    f"{ari.min():.3f} | {error.mean():.3f} |"
                )


if __name__ == "__main__":
    main()
