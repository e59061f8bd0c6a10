"""mclust's tools around a fitted mixture: calibration and recovery figures.

1. Bootstrap LRT calibration: data drawn from a 2-component spherical
   mixture (2-D, n rows); the test of 2 against 3 components is run on each
   of ``--reps`` data sets. Under this true null its p-values are uniform on
   the grid j / (B + 1); ``p - U / (B + 1)``, with U uniform on (0, 1), is
   then uniform on (0, 1), and the table gives the Kolmogorov-Smirnov
   distance of those to the uniform, its p-value, and the rejection rates
   of the p-values themselves at 5% and 10%. The power row runs 1 against
   2 on the same kind of data.
2. Bootstrap standard errors of a mean on a one-component fit against the
   closed form sigma / sqrt(n), for both resampling schemes.
3. Merging: two round clusters and one banana-shaped cluster; the adjusted
   Rand index of the BIC choice, of its merged 3-cluster solution, of the
   merged solution at the suggested number, and of scikit-learn's
   GaussianMixture(3) for reference, over seeds.

    python benchmarks/mclust_tools.py [--reps 200] [--bootstrap 19] [--jobs 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from joblib import Parallel, delayed
from scipy import stats
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import gaussmix


def two_spherical_groups(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    half = n // 2
    return np.vstack(
        [rng.normal(-2.5, 1, (half, 2)), rng.normal(2.5, 1, (n - half, 2))]
    )


def lrt_p_value(n: int, k: int, n_bootstrap: int, seed: int) -> float:
    result = gaussmix.bootstrap_lrt(
        two_spherical_groups(n, seed),
        "VII",
        min_components=k,
        max_components=k,
        n_bootstrap=n_bootstrap,
        random_state=seed,
    )
    return float(result.p_values[0])


def lrt_table(reps: int, n_bootstrap: int, n: int, jobs: int) -> None:
    print(f"\nBootstrap LRT, VII, 2-D, n={n}, B={n_bootstrap}, data from K=2")
    print(f"{'test':<8}{'reps':>6}{'KS D':>8}{'KS p':>8}{'rej 5%':>8}{'rej 10%':>9}")
    for k, count in ((2, reps), (1, max(10, reps // 10))):
        start = time.perf_counter()
        p = np.array(
            Parallel(n_jobs=jobs)(
                delayed(lrt_p_value)(n, k, n_bootstrap, 1000 + r) for r in range(count)
            )
        )
        # the grid's steps alone would put the KS distance near 1 / (B + 1)
        spread = np.random.default_rng(0).random(count) / (n_bootstrap + 1)
        ks = stats.kstest(p - spread, "uniform")
        print(
            f"{f'{k} vs {k + 1}':<8}{count:6d}{ks.statistic:8.3f}{ks.pvalue:8.3f}"
            f"{np.mean(p <= 0.05):8.3f}{np.mean(p <= 0.10):9.3f}"
            f"   ({time.perf_counter() - start:.0f} s)"
        )


def standard_error_table() -> None:
    print("\nBootstrap SE of the mean, one component, N(5, 2^2), B=300")
    print(f"{'n':>6}{'sigma/sqrt(n)':>15}{'bs':>10}{'wlbs':>10}")
    for n in (100, 400, 1600):
        X = np.random.default_rng(n).normal(5.0, 2.0, (n, 1))
        model = gaussmix.GaussianMixture(1).fit(X)
        cells = [
            gaussmix.bootstrap_parameters(
                model, X, n_bootstrap=300, type=kind, random_state=0
            ).standard_errors()["means"][0, 0]
            for kind in ("bs", "wlbs")
        ]
        print(f"{n:6d}{2.0 / np.sqrt(n):15.4f}{cells[0]:10.4f}{cells[1]:10.4f}")


def two_blobs_and_a_banana(seed: int, n: int = 150):
    rng = np.random.default_rng(seed)
    left = rng.normal([-6.0, 6.0], 0.7, (n, 2))
    right = rng.normal([6.0, 6.0], 0.7, (n, 2))
    angle = rng.uniform(0, np.pi, 2 * n)
    radius = 5 + rng.normal(0, 0.35, 2 * n)
    arc = np.column_stack([radius * np.cos(angle), 1 - radius * np.sin(angle)])
    return np.vstack([left, right, arc]), np.repeat([0, 1, 2], [n, n, 2 * n])


def merging_table(seeds: int) -> None:
    print("\nMerging: two blobs + a banana (ARI with the three true clusters)")
    print(
        f"{'seed':>4}{'BIC K':>7}{'BIC':>8}{'merged 3':>10}{'suggested':>11}"
        f"{'merged sugg.':>14}{'sklearn K=3':>13}"
    )
    rows = []
    for seed in range(seeds):
        X, truth = two_blobs_and_a_banana(seed)
        model = gaussmix.select_model(
            X, n_components=range(1, 8), covariance_types=["VVV"]
        ).best_model
        merged = gaussmix.merge_components(model, X)
        peer = SklearnGaussianMixture(3, n_init=5, random_state=seed).fit(X)
        row = (
            adjusted_rand_score(truth, model.predict(X)),
            adjusted_rand_score(truth, merged.labels(3)),
            adjusted_rand_score(truth, merged.labels(merged.suggested_n_clusters)),
            adjusted_rand_score(truth, peer.predict(X)),
        )
        rows.append(row)
        print(
            f"{seed:4d}{model.n_components:7d}{row[0]:8.3f}{row[1]:10.3f}"
            f"{merged.suggested_n_clusters:11d}{row[2]:14.3f}{row[3]:13.3f}"
        )
    mean = np.mean(rows, axis=0)
    print(
        f"{'mean':>4}{'':7}{mean[0]:8.3f}{mean[1]:10.3f}{'':11}{mean[2]:14.3f}"
        f"{mean[3]:13.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=19)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    standard_error_table()
    merging_table(args.seeds)
    lrt_table(args.reps, args.bootstrap, args.rows, args.jobs)


if __name__ == "__main__":
    main()
