"""Cost of EM with missing values: seconds per iteration at 0%, 10%, 30% missing.

GaussianMixture(K=16, full) on 100,000 × 16 blobs, from the same start,
with cells removed completely at random. Every missing pattern is its own
(at 30% nearly every row has a pattern of its own), so this measures the
worst case for grouping rows by pattern. scikit-learn's complete-data
iteration is printed as a yardstick. Besides wall time, the process's CPU
time per iteration (all threads) is shown: on a shared machine it moves
less with what else is running.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/missing_em_cost.py
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import blobs, fit_seconds, machine_description, shared_start
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--components", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--box", type=float, default=10.0, help="0.5: overlapping components"
    )
    args = parser.parse_args()
    X = blobs(args.rows, args.features, args.components, seed=0, box=args.box)
    start = shared_start(X, args.components, "full")
    rng = np.random.default_rng(1)
    uniforms = rng.uniform(size=X.shape)
    print(machine_description())
    print(
        f"{args.rows:,} x {args.features}, K={args.components} full, "
        f"centres within +-{args.box:g}, "
        f"{args.iterations} iterations from the same start, median of "
        f"{args.repeats}\n"
    )
    sklearn_time, _, _ = fit_seconds(
        SklearnGaussianMixture, X, start, args.iterations, args.repeats
    )
    complete_time, complete_cpu, _ = fit_seconds(
        GaussianMixture, X, start, args.iterations, args.repeats
    )
    print(
        "| missing | patterns | s/iteration | vs complete "
        "| CPU s/iteration | CPU vs complete |"
    )
    print("|---|---|---|---|---|---|")
    for share in (0.0, 0.1, 0.3):
        holes = X.copy()
        holes[uniforms < share] = np.nan
        holes[np.isnan(holes).all(axis=1), 0] = X[np.isnan(holes).all(axis=1), 0]
        patterns = len(np.unique(np.isnan(holes), axis=0))
        # loads the compiled missing-value E-step (compiles it, if not cached)
        fit_seconds(GaussianMixture, holes[:500], start, 1, 1)
        seconds, cpu, _ = fit_seconds(
            GaussianMixture, holes, start, args.iterations, args.repeats
        )
        print(
            f"| {share:.0%} | {patterns:,} | {seconds:.3f} | "
            f"{seconds / complete_time:.2f}× | {cpu:.3f} | "
            f"{cpu / complete_cpu:.2f}× |"
        )
    print(f"\nscikit-learn, complete data: {sklearn_time:.3f} s/iteration")


if __name__ == "__main__":
    main()
