"""What Dask costs per EM iteration, and what that means past one machine.

Fits the same 2,000,000 x 16 float64 data, K=16 full, from the same start
(``_common.shared_start``) with a fixed number of iterations, twice:

- in this process on the numpy array (BLAS on every core);
- on a ``dask.distributed.LocalCluster(n_workers=2, threads_per_worker=1,
  processes=True)`` on 127.0.0.1, the data persisted on the workers first so
  that only parameters and Stats move during the fit.

Seconds per iteration = (t[max_iter=11] - t[max_iter=1]) / 10 for both.
Both fits cut the rows into chunks of ``CHUNK_ROWS`` (the default for this
shape), so the windows hold 64 chunks of 4,096 rows (a task computes a
window, or a share of one where windows are fewer than the workers); the
per-row compute time is read from the scheduler's record of what ran
where.

The "past one machine" estimate scales the measured per-row compute time to
``--workers`` workers sharing ``--total-rows`` rows, and prices one
iteration's traffic with a bandwidth-only model (no latency, no contention
other than the client's own link): the client sends the parameters to every
worker, and the windows' Stats are added in row order along a chain, so at
worst the critical path carries one Stats transfer per window.

Usage: python benchmarks/dask_overhead.py [--scale 0.02] [--block-rows N]
       [--workers 100] [--total-rows 1e8] [--bandwidth 1e9]
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np
from _common import blobs, machine_description, shared_start, timed

N_SAMPLES = 2_000_000
N_FEATURES = 16
N_COMPONENTS = 16
COVARIANCE = "full"
FEW_ITERATIONS = 1
MANY_ITERATIONS = 11
#: Rows per chunk: the default for this shape while pruning pays.
CHUNK_ROWS = 4096
#: Rows per window, whose chunks' sums add in order on one worker.
WINDOW_ROWS = 64 * CHUNK_ROWS
BYTES_PER_VALUE = 8  # float64


def fit(X, start, max_iter: int):
    """One fixed-iteration fit from the shared start; returns the fitted model."""
    from sklearn.exceptions import ConvergenceWarning

    from gaussmix import GaussianMixture

    weights, means, precisions = start
    model = GaussianMixture(
        N_COMPONENTS,
        covariance_type=COVARIANCE,
        tol=0.0,
        max_iter=max_iter,
        chunk_size=CHUNK_ROWS,
        weights_init=weights,
        means_init=means,
        precisions_init=precisions,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def per_iteration(X, start) -> tuple[float, float]:
    """(seconds per iteration, final lower bound) for the data ``X``."""
    fit(X, start, FEW_ITERATIONS)  # warm-up: imports, thread pools, caches
    few, _ = timed(lambda: fit(X, start, FEW_ITERATIONS))
    many, model = timed(lambda: fit(X, start, MANY_ITERATIONS))
    return (many - few) / (MANY_ITERATIONS - FEW_ITERATIONS), float(model.lower_bound_)


def task_seconds(records: list[dict]) -> tuple[list[float], int]:
    """Compute durations of the E-step tasks among the stream's records, and
    how many windows' sums were added (one task each)."""
    seconds, windows = [], 0
    for record in records:
        key = str(record["key"])
        windows += "_sum_lists" in key
        if "_kernel_chunk_sums" not in key:
            continue
        for phase in record["startstops"]:
            if phase["action"] == "compute":
                seconds.append(phase["stop"] - phase["start"])
    return seconds, windows


def dask_per_iteration(X: np.ndarray, start, block_rows: int):
    """(seconds per iteration, lower bound, per-task compute seconds) on 2 workers."""
    import dask.array as da
    from dask.distributed import Client, LocalCluster, get_task_stream, wait

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        blocks = da.from_array(X, chunks=(block_rows, X.shape[1]))
        blocks = client.persist(blocks)
        wait(blocks)
        with get_task_stream(client) as stream:
            seconds, bound = per_iteration(blocks, start)
        return seconds, bound, task_seconds(stream.data)


def parameter_bytes(k: int, d: int) -> int:
    """Weights, means, covariances and their precision Cholesky factors."""
    return BYTES_PER_VALUE * (k + k * d + 2 * k * d * d)


def stats_bytes(k: int, d: int) -> int:
    """Responsibility sums, first moments, scatter matrices and their shifts."""
    return BYTES_PER_VALUE * (k + 2 * k * d + k * d * d)


def beyond_one_machine(seconds_per_row: float, args) -> list[str]:
    k, d, workers = N_COMPONENTS, N_FEATURES, args.workers
    params, stats = parameter_bytes(k, d), stats_bytes(k, d)
    rows_per_worker = args.total_rows / workers
    compute = rows_per_worker * seconds_per_row
    windows = math.ceil(args.total_rows / WINDOW_ROWS)
    moved = workers * params + windows * stats
    critical = (workers * params + windows * stats) / args.bandwidth
    return [
        f"# past one machine: {workers} workers, {args.total_rows:.0e} rows in all "
        f"({rows_per_worker:,.0f} per worker, one core each), K={k}, D={d} full",
        f"#   assumed network: {args.bandwidth / 1e9:g} GB/s, bandwidth only "
        "(no latency, no scheduler cost)",
        f"#   parameters out: {params:,} B per worker; Stats back: {stats:,} B "
        f"per window, {windows:,} windows of {WINDOW_ROWS:,} rows",
        f"#   bytes moved per iteration: {moved:,} B "
        f"({workers} x params + {windows} x Stats)",
        f"#   compute per iteration per worker: {compute:.3f} s "
        f"(measured {1e9 * seconds_per_row:.0f} ns/row on one core)",
        f"#   communication on the critical path, at worst: {1e3 * critical:.3f} ms "
        f"({workers} x params from the client + {windows} x Stats along the "
        "chain of windows)",
        f"#   compute-to-communication ratio: {compute / critical:,.0f}",
    ]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies N")
    parser.add_argument("--block-rows", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--total-rows", type=float, default=1e8)
    parser.add_argument("--bandwidth", type=float, default=1e9, help="bytes/s")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    n_samples = max(int(N_SAMPLES * args.scale), 1000)
    block_rows = min(args.block_rows, max(n_samples // 8, 1000))
    X = blobs(n_samples, N_FEATURES, N_COMPONENTS)
    start = shared_start(X, N_COMPONENTS, COVARIANCE)
    print(
        f"# Dask overhead: N={n_samples:,} D={N_FEATURES} K={N_COMPONENTS} "
        f"{COVARIANCE} float64, blocks of {block_rows:,} rows"
    )
    print(f"# {machine_description()}")
    local, local_bound = per_iteration(X, start)
    remote, remote_bound, (seconds, windows) = dask_per_iteration(X, start, block_rows)
    print("| run | s/iter | lower bound |")
    print("|---|---|---|")
    print(f"| single process (numpy, all cores) | {local:.4f} | {local_bound:.6f} |")
    print(f"| LocalCluster 2 workers x 1 thread | {remote:.4f} | {remote_bound:.6f} |")
    print(f"# overhead ratio (Dask / single process): {remote / local:.2f}")
    if not windows or not seconds:
        print("# no E-step tasks recorded under this revision's names")
        return
    # each pass adds every window once, and its tasks hold every row once
    passes = windows / math.ceil(n_samples / WINDOW_ROWS)
    per_row = sum(seconds) / (passes * n_samples)
    ideal = per_row * n_samples / 2
    print(
        f"# per-task compute: {len(seconds)} tasks over {passes:.0f} passes, "
        f"{1e9 * per_row:.0f} ns/row; ideal 2-worker "
        f"iteration {ideal:.4f} s"
    )
    print("\n".join(beyond_one_machine(per_row, args)))


if __name__ == "__main__":
    main()
