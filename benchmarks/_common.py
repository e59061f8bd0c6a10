"""Functions shared by the benchmark scripts: data, shared starts, child processes."""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def blobs(
    n_samples: int,
    n_features: int,
    n_components: int,
    seed: int = 0,
    dtype=np.float64,
    box: float = 10.0,
):
    """Gaussian blobs with random spreads: a mixture EM can actually fit.

    Centres are drawn within ``±box``: the default keeps the blobs apart,
    ``box=0.5`` makes them overlap almost entirely.
    """
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-box, box, size=(n_components, n_features))
    scales = rng.uniform(0.5, 2.0, size=(n_components, n_features))
    labels = rng.integers(0, n_components, size=n_samples)
    X = np.empty((n_samples, n_features), dtype=dtype)
    step = 1_000_000
    for start in range(0, n_samples, step):
        stop = min(start + step, n_samples)
        noise = rng.standard_normal((stop - start, n_features))
        X[start:stop] = centers[labels[start:stop]] + noise * scales[labels[start:stop]]
    return X


def shared_start(X: np.ndarray, n_components: int, covariance_type: str, seed: int = 0):
    """weights_init, means_init, precisions_init every implementation can take."""
    rng = np.random.default_rng(seed)
    sample = X[rng.choice(len(X), size=min(len(X), 20_000), replace=False)]
    means = sample[rng.choice(len(sample), size=n_components, replace=False)]
    variances = sample.var(axis=0).astype(np.float64)
    # constant columns (blank pixels) would give an infinite precision
    variances = np.maximum(variances, 1e-6 * variances.max())
    weights = np.full(n_components, 1.0 / n_components)
    precision = {
        "full": np.stack([np.diag(1.0 / variances)] * n_components),
        "tied": np.diag(1.0 / variances),
        "diag": np.tile(1.0 / variances, (n_components, 1)),
        "spherical": np.full(n_components, 1.0 / variances.mean()),
    }[covariance_type]
    return weights, means.astype(np.float64), precision


def peak_rss_mib() -> float:
    """Peak resident memory of this process, MiB.

    Read from /proc's VmHWM where there is one: ``ru_maxrss`` survives
    ``exec``, so a child started from a large parent would report the
    parent's peak.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(target: Callable[..., Any], args: tuple, queue: mp.Queue) -> None:
    try:
        result = target(*args)
        queue.put(("ok", result, peak_rss_mib()))
    except Exception as exc:  # reported to the parent as a table cell
        queue.put(("error", f"{type(exc).__name__}: {exc}", peak_rss_mib()))


def in_child(target: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """Run ``target(*args)`` in a fresh process: (result, peak RSS in MiB)."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(target, args, queue))
    process.start()
    status, result, rss = queue.get()
    process.join()
    if status != "ok":
        raise RuntimeError(result)
    return result, rss


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def best_time(call: Callable[[], Any], repeats: int) -> float:
    """Fewest seconds of ``repeats`` calls, after one call to warm up."""
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def machine_description() -> str:
    """CPU model, cores and the BLAS numpy uses, for the tables' headers."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            "{} {} ({})".format(
                info.get("internal_api"), info.get("version"), info.get("architecture")
            )
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        )
    except ImportError:
        blas = "threadpoolctl not installed"
    import os

    return f"{model}; {os.cpu_count()} cores; BLAS: {blas}"


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


__all__ = [
    "blobs",
    "in_child",
    "machine_description",
    "peak_rss_mib",
    "print_json",
    "shared_start",
    "timed",
]


def literal_settings(items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` strings (VALUE a Python literal) as a dict of settings."""
    import ast

    return {
        name: ast.literal_eval(value)
        for name, value in (item.split("=", 1) for item in items)
    }


def fit_seconds(
    estimator_class, X, start, n_iter: int, repeats: int, covariance_type: str = "full"
):
    """Median wall and CPU (all threads) seconds per EM iteration of a fit
    from ``start`` (weights, means, precisions of ``covariance_type``), run
    ``n_iter`` iterations without a tolerance, and the last model."""
    weights, means, precisions = start
    times = []
    cpu_times = []
    for _ in range(repeats):
        model = estimator_class(
            n_components=len(weights),
            covariance_type=covariance_type,
            max_iter=n_iter,
            tol=0.0,
            weights_init=weights,
            means_init=means,
            precisions_init=precisions,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cpu = time.process_time()
            seconds, _ = timed(lambda model=model: model.fit(X))
            cpu = time.process_time() - cpu
        times.append(seconds / n_iter)
        cpu_times.append(cpu / n_iter)
    return float(np.median(times)), float(np.median(cpu_times)), model
