"""Out-of-core EM: a .npy file larger than the memory we allow ourselves.

Writes an N x 32 float32 file (20,000,000 rows, 2.56 GB by default), fits it
through ``np.load(mmap_mode="r")`` with K=16 (diag and full) in a child
process, and reports peak RSS and seconds per iteration next to an
in-memory fit on a tenth of the rows, scaled by ten.

Seconds per iteration = (time of max_iter=6 - time of max_iter=1) / 5, both
from the same start, so validation and start-up cancel.

Usage: python benchmarks/out_of_core.py [--rows N] [--path FILE]
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np
from _common import blobs, in_child, machine_description, shared_start, timed

N_FEATURES = 32
N_COMPONENTS = 16


def write_file(path: str, n_rows: int) -> None:
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(n_rows, N_FEATURES)
    )
    step = 1_000_000
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        out[start:stop] = blobs(stop - start, N_FEATURES, N_COMPONENTS, seed=start)
    out.flush()
    del out


def fit_seconds(path: str, rows: int | None, covariance_type: str, max_iter: int):
    from sklearn.exceptions import ConvergenceWarning

    from gaussmix import GaussianMixture

    X = np.load(path, mmap_mode="r")
    if rows is not None:
        X = np.array(X[:rows])  # in memory
    start = shared_start(np.asarray(X[:200_000]), N_COMPONENTS, covariance_type)
    model = GaussianMixture(
        N_COMPONENTS,
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=max_iter,
        weights_init=start[0],
        means_init=start[1],
        precisions_init=start[2],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seconds, _ = timed(lambda: model.fit(X))
    return seconds, float(model.lower_bound_)


def per_iteration(path, rows, covariance_type):
    (t1, _), rss1 = in_child(fit_seconds, path, rows, covariance_type, 1)
    (t6, bound), rss6 = in_child(fit_seconds, path, rows, covariance_type, 6)
    return (t6 - t1) / 5.0, max(rss1, rss6), bound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--path", default="/tmp/gaussmix-out-of-core.npy")
    parser.add_argument("--covariance", default="diag,full")
    args = parser.parse_args()
    if (
        not os.path.exists(args.path)
        or np.load(args.path, mmap_mode="r").shape[0] != args.rows
    ):
        write_file(args.path, args.rows)
    size_gb = os.path.getsize(args.path) / 1e9
    print(
        f"# out-of-core EM, {args.rows:,} x {N_FEATURES} float32 "
        f"({size_gb:.2f} GB), K={N_COMPONENTS}"
    )
    print(f"# {machine_description()}")
    print(
        "| covariance | streamed s/iter | peak RSS MiB "
        "| in-memory 1/10 s/iter x10 | ratio |"
    )
    print("|---|---|---|---|---|")
    for covariance_type in args.covariance.split(","):
        streamed, rss, _ = per_iteration(args.path, None, covariance_type)
        subset, _, _ = per_iteration(args.path, args.rows // 10, covariance_type)
        print(
            f"| {covariance_type} | {streamed:.2f} | {rss:.0f} | {10 * subset:.2f} | "
            f"{streamed / (10 * subset):.2f} |"
        )


if __name__ == "__main__":
    main()
