"""Cost of EM with missing values across shapes of data.

`missing_em_cost.py` measures one shape (100,000 × 16, K=16); this panel
varies the columns, the components, the covariance type and the share
of missing cells, with
rows enough for a fit of a few seconds. For each shape: seconds per EM
iteration (wall and CPU, all threads) from the same start on the complete
rows and with cells removed completely at random, and their ratio.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/missing_shapes.py
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import blobs, fit_seconds, machine_description, shared_start

from gaussmix import GaussianMixture

#: (rows, columns, components, covariance type, share of cells missing)
SHAPES = (
    (20_000, 64, 8, "full", 0.05),
    (20_000, 64, 8, "full", 0.3),
    (20_000, 4, 32, "full", 0.2),
    (20_000, 32, 64, "full", 0.1),
    (100_000, 8, 4, "full", 0.3),
    (100_000, 16, 16, "diag", 0.3),
    (100_000, 16, 16, "spherical", 0.3),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(machine_description())
    print(
        f"{args.iterations} EM iterations from the same start, "
        f"median of {args.repeats}\n"
    )
    print(
        "| rows × columns, K, type | missing | complete s/iteration "
        "| missing s/iteration "
        "| wall ratio | CPU ratio |"
    )
    print("|---|---|---|---|---|---|")
    for n_rows, n_features, n_components, kind, share in SHAPES:
        X = blobs(n_rows, n_features, n_components, seed=0)
        start = shared_start(X, n_components, kind)
        holes = X.copy()
        holes[np.random.default_rng(1).uniform(size=X.shape) < share] = np.nan
        empty = np.isnan(holes).all(axis=1)
        holes[empty, 0] = X[empty, 0]
        # compiles the missing-value E-step, if not cached yet
        fit_seconds(GaussianMixture, holes[:500], start, 1, 1, kind)
        complete = fit_seconds(
            GaussianMixture, X, start, args.iterations, args.repeats, kind
        )
        missing = fit_seconds(
            GaussianMixture, holes, start, args.iterations, args.repeats, kind
        )
        print(
            f"| {n_rows:,} × {n_features}, {n_components}, {kind} | {share:.0%} "
            f"| {complete[0]:.3f} | {missing[0]:.3f} "
            f"| {missing[0] / complete[0]:.2f}× | {missing[1] / complete[1]:.2f}× |"
        )


if __name__ == "__main__":
    main()
