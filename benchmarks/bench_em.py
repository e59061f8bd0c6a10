"""EM speed of gaussmix against its peers: same data, same start, one run.

For every configuration and implementation, in a fresh child process each:

- seconds per EM iteration = (time of max_iter=21 - time of max_iter=1) / 20
  from the same start (``_common.shared_start``) with the convergence test
  off, so initialisation and validation cancel; best of ``--repeats``;
- the whole default ``fit`` (each library's own initialisation and stopping
  rule), median over ``--seeds`` seeds;
- peak RSS of the child (it holds the data, the imported libraries and the
  fit) and how much of that the fit added;
- the final average log-likelihood of each fit's parameters, all evaluated
  by one float64 routine here: from the same start after the same number of
  iterations the values agree up to float32 rounding.

GFLOP/s counts the useful work of one iteration, 4·N·K·D² flops for full and
tied, 6·N·K·D for diag and spherical, as a share of the square-matmul rate
of numpy measured at the start of the run in the same dtype.

Usage:
    python benchmarks/bench_em.py [--scale 0.05] [--configs a,c,a-tied]
                                  [--seeds 3] [--repeats 1] [--threads N]
                                  [--json results.json] [--skip-default]
                                  [--default-for gaussmix,scikit-learn]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from _common import blobs, in_child, machine_description, shared_start, timed
from _peers import IMPLEMENTATIONS, FittedMixture, quiet_warnings
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

FEW_ITERATIONS = 1
MANY_ITERATIONS = 21


@dataclass(frozen=True)
class Config:
    name: str
    n_samples: int
    n_features: int
    n_components: int
    covariance_type: str

    def scaled(self, scale: float) -> Config:
        n_samples = max(int(self.n_samples * scale), 50 * self.n_components)
        return Config(
            self.name,
            n_samples,
            self.n_features,
            self.n_components,
            self.covariance_type,
        )

    def flops_per_iteration(self) -> float:
        n, d, k = self.n_samples, self.n_features, self.n_components
        if self.covariance_type in ("full", "tied"):
            return 4.0 * n * k * d * d
        return 6.0 * n * k * d

    def label(self) -> str:
        return (
            f"{self.name}: N={self.n_samples:,} D={self.n_features} "
            f"K={self.n_components} {self.covariance_type}"
        )


CONFIGS = {
    "a": Config("a", 100_000, 16, 16, "full"),
    "b": Config("b", 100_000, 64, 16, "full"),
    "c": Config("c", 1_000_000, 16, 16, "diag"),
    "d": Config("d", 200_000, 32, 32, "full"),
    "a-tied": Config("a-tied", 100_000, 16, 16, "tied"),
    "a-spherical": Config("a-spherical", 100_000, 16, 16, "spherical"),
}


@dataclass
class Row:
    config: str
    implementation: str
    note: str = ""
    seconds_per_iteration: float = float("nan")
    peak_rss_mib: float = float("nan")
    fit_added_mib: float = float("nan")
    loglik: float = float("nan")
    reported_loglik: float = float("nan")
    means: list = field(default_factory=list, repr=False)
    default_seconds: float = float("nan")
    default_iterations: float = float("nan")
    default_loglik: float = float("nan")
    default_note: str = ""


# ---------------------------------------------------------------- child side


def limit_threads(threads: int | None) -> None:
    if threads is None:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def current_rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def load_inputs(data_path: str, start_path: str):
    X = np.load(data_path)
    with np.load(start_path) as start:
        return X, (start["weights"], start["means"], start["precisions"])


def time_fixed_iterations(
    implementation: str, data_path, start_path, covariance_type, threads, repeats
):
    """Child: (seconds per iteration, final FittedMixture, RSS before the fits)."""
    quiet_warnings()
    limit_threads(threads)
    runner = IMPLEMENTATIONS[implementation][0]()
    runner.import_modules()
    X, start = load_inputs(data_path, start_path)
    rss_before = current_rss_mib()
    runner.fit_fixed(X, start, covariance_type, FEW_ITERATIONS)  # warm-up

    def best_time(max_iter):
        runs = [
            timed(lambda: runner.fit_fixed(X, start, covariance_type, max_iter))
            for _ in range(repeats)
        ]
        return min(seconds for seconds, _ in runs), runs[-1][1]

    few, _ = best_time(FEW_ITERATIONS)
    many, fitted = best_time(MANY_ITERATIONS)
    per_iteration = (many - few) / (MANY_ITERATIONS - FEW_ITERATIONS)
    return per_iteration, fitted, rss_before


def time_default_fits(implementation, data_path, n_components, covariance_type, seeds):
    """Child: [(seconds, FittedMixture)] of default fits, one per seed."""
    quiet_warnings()
    runner = IMPLEMENTATIONS[implementation][0]()
    runner.import_modules()
    X = np.load(data_path)

    def fit(seed):
        return runner.fit_default(X, n_components, covariance_type, seed)

    return [timed(lambda seed=seed: fit(seed)) for seed in range(seeds)]


# --------------------------------------------------------------- parent side


def as_full_covariances(covariances, covariance_type, n_components, n_features):
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features))
    variances = covariances
    if covariance_type == "spherical":
        variances = np.repeat(covariances[:, None], n_features, axis=1)
    return np.stack([np.diag(v) for v in variances])


def average_loglik(X: np.ndarray, fitted: FittedMixture, covariance_type: str) -> float:
    """Mean log-density of the rows of X under the fitted mixture, in float64.

    NaN when a final covariance is not positive definite.
    """
    n_components, n_features = fitted.means.shape
    covariances = as_full_covariances(
        fitted.covariances, covariance_type, n_components, n_features
    )
    total = 0.0
    for start in range(0, len(X), 200_000):
        rows = np.asarray(X[start : start + 200_000], np.float64)
        log_density = np.empty((len(rows), n_components))
        for k in range(n_components):
            try:
                factor = np.linalg.cholesky(covariances[k])
            except np.linalg.LinAlgError:
                return float("nan")
            whitened = solve_triangular(factor, (rows - fitted.means[k]).T, lower=True)
            log_det = 2.0 * np.log(np.diag(factor)).sum()
            log_density[:, k] = -0.5 * (
                n_features * np.log(2 * np.pi) + log_det + (whitened**2).sum(axis=0)
            )
        with np.errstate(divide="ignore"):
            log_density += np.log(fitted.weights)
        total += logsumexp(log_density, axis=1).sum()
    return total / len(X)


def gemm_rate(dtype, size: int = 2048, repeats: int = 3) -> float:
    """Flop/s of a square numpy matmul in ``dtype``, best of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    a @ b  # warm-up
    best = min(timed(lambda: a @ b)[0] for _ in range(repeats))
    return 2.0 * size**3 / best


def write_inputs(config: Config, directory: str) -> dict:
    """The data in both dtypes and the shared start, as files the children load."""
    X = blobs(config.n_samples, config.n_features, config.n_components)
    weights, means, precisions = shared_start(
        X, config.n_components, config.covariance_type
    )
    paths = {
        "float64": os.path.join(directory, f"{config.name}-float64.npy"),
        "float32": os.path.join(directory, f"{config.name}-float32.npy"),
        "start": os.path.join(directory, f"{config.name}-start.npz"),
    }
    np.save(paths["float64"], X)
    np.save(paths["float32"], X.astype(np.float32))
    np.savez(paths["start"], weights=weights, means=means, precisions=precisions)
    return paths


def measure_fixed(row: Row, config: Config, paths: dict, args) -> None:
    dtype_name = np.dtype(IMPLEMENTATIONS[row.implementation][1]).name
    X = np.load(paths["float64"], mmap_mode="r")
    try:
        (per_iteration, fitted, rss_before), peak = in_child(
            time_fixed_iterations,
            row.implementation,
            paths[dtype_name],
            paths["start"],
            config.covariance_type,
            args.threads,
            args.repeats,
        )
    except RuntimeError as error:
        row.note = "failed: " + str(error).removeprefix("RuntimeError: ")[:90]
        return
    row.seconds_per_iteration = per_iteration
    row.peak_rss_mib = peak
    row.fit_added_mib = peak - rss_before
    row.loglik = average_loglik(X, fitted, config.covariance_type)
    row.reported_loglik = fitted.reported_loglik
    row.means = fitted.means.tolist()


def measure_default(row: Row, config: Config, paths: dict, args) -> None:
    dtype_name = np.dtype(IMPLEMENTATIONS[row.implementation][1]).name
    X = np.load(paths["float64"], mmap_mode="r")
    try:
        runs, _ = in_child(
            time_default_fits,
            row.implementation,
            paths[dtype_name],
            config.n_components,
            config.covariance_type,
            args.seeds,
        )
    except RuntimeError as error:
        row.default_note = "failed: " + str(error).removeprefix("RuntimeError: ")[:90]
        return
    row.default_seconds = statistics.median(seconds for seconds, _ in runs)
    row.default_iterations = statistics.median(fit.n_iter for _, fit in runs)
    row.default_loglik = statistics.median(
        average_loglik(X, fit, config.covariance_type) for _, fit in runs
    )


def measure_config(config: Config, args, directory: str) -> list[Row]:
    paths = write_inputs(config, directory)
    rows = []
    for implementation, (runner_class, _) in IMPLEMENTATIONS.items():
        row = Row(config.name, implementation)
        reason = runner_class().unsupported(config.covariance_type)
        if reason:
            row.note = row.default_note = reason
        else:
            measure_fixed(row, config, paths, args)
            if not args.skip_default and implementation.startswith(
                tuple(args.default_for.split(","))
            ):
                measure_default(row, config, paths, args)
        rows.append(row)
    for path in paths.values():
        os.remove(path)
    return rows


# ------------------------------------------------------------------ report


def number(value: float, digits: str) -> str:
    return "–" if np.isnan(value) else format(value, digits)


def loglik_cell(value: float) -> str:
    """NaN here means a final covariance was singular or not finite."""
    return "degenerate fit" if np.isnan(value) else format(value, ".6f")


def reference_times(rows: list[Row]) -> dict:
    return {row.implementation: row.seconds_per_iteration for row in rows}


def ratio_cells(row: Row, times: dict) -> tuple[str, str]:
    same_dtype = "gaussmix " + row.implementation.rsplit(" ", 1)[-1]
    own = row.seconds_per_iteration
    versus_gaussmix = own / times.get(same_dtype, np.nan)
    versus_sklearn = own / times.get("scikit-learn float64", np.nan)
    return number(versus_gaussmix, ".2f"), number(versus_sklearn, ".2f")


def throughput_cells(row: Row, config: Config, rates: dict) -> tuple[str, str]:
    gflops = config.flops_per_iteration() / row.seconds_per_iteration / 1e9
    rate = rates[row.implementation.rsplit(" ", 1)[-1]]
    return number(gflops, ".1f"), number(100 * gflops * 1e9 / rate, ".0f")


def default_loglik_cell(row: Row) -> str:
    if row.default_note or np.isnan(row.default_seconds):
        return "–"
    return loglik_cell(row.default_loglik)


TABLE_HEADER = (
    "| config | implementation | s/iter | ×gaussmix same dtype | ×sklearn f64 "
    "| GFLOP/s | % of GEMM | peak RSS MiB (fit +MiB) | avg loglik, 21 it "
    "| default fit s | default iters | default avg loglik |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def table_line(row: Row, config: Config, times: dict, rates: dict) -> str:
    if row.note:
        fixed = [row.note, "", "", "", "", "", ""]
    else:
        fixed = [
            number(row.seconds_per_iteration, ".4f"),
            *ratio_cells(row, times),
            *throughput_cells(row, config, rates),
            f"{row.peak_rss_mib:.0f} (+{row.fit_added_mib:.0f})",
            loglik_cell(row.loglik),
        ]
    default = [
        row.default_note or number(row.default_seconds, ".2f"),
        number(row.default_iterations, ".0f"),
        default_loglik_cell(row),
    ]
    return "| " + " | ".join([config.name, row.implementation, *fixed, *default]) + " |"


def float32_check(rows: list[Row]) -> str:
    """gaussmix float32 against float64 from the same start: lower bound and means."""
    by_name = {row.implementation: row for row in rows}
    single, double = by_name["gaussmix float32"], by_name["gaussmix float64"]
    if single.note or double.note:
        return "not run"
    bound = abs(single.reported_loglik - double.reported_loglik) / abs(
        double.reported_loglik
    )
    means64 = np.asarray(double.means)
    means = np.abs(np.asarray(single.means) - means64).max() / np.abs(means64).max()
    verdict = "ok" if max(bound, means) <= 1e-4 else "FAIL"
    return f"lower bound {bound:.1e}, means {means:.1e} relative: {verdict}"


def blas_description() -> str:
    from threadpoolctl import threadpool_info

    return "; ".join(
        f"{info['internal_api']} {info.get('version')} {info['num_threads']} threads"
        for info in threadpool_info()
        if info["user_api"] == "blas"
    )


def torch_threads() -> str:
    try:
        import torch
    except ImportError:
        return "torch not installed"
    return f"torch {torch.__version__} {torch.get_num_threads()} intra-op threads"


def print_header(args, rates: dict) -> None:
    print(f"# EM seconds per iteration, {datetime.date.today().isoformat()}")
    print(f"# {machine_description()}")
    threads = f"limited to {args.threads}" if args.threads else "library defaults"
    print(f"# BLAS: {blas_description()}; {torch_threads()}; threads: {threads}")
    print(
        f"# numpy square GEMM: float64 {rates['float64'] / 1e9:.1f} GFLOP/s, "
        f"float32 {rates['float32'] / 1e9:.1f} GFLOP/s"
    )
    print(
        f"# scale {args.scale}; s/iter = (t[max_iter={MANY_ITERATIONS}] - "
        f"t[max_iter={FEW_ITERATIONS}]) / {MANY_ITERATIONS - FEW_ITERATIONS}, "
        f"best of {args.repeats}; default fit: median of {args.seeds} seeds; "
        "×columns: this row's s/iter over the reference's (>1: slower)"
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies N")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument(
        "--default-for",
        default="gaussmix,scikit-learn,pomegranate,torchgmm",
        help="implementations whose whole default fit is timed (name prefixes)",
    )
    parser.add_argument("--json", help="also write every measurement here")
    args = parser.parse_args()
    unknown = set(args.configs.split(",")) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; choose from {list(CONFIGS)}")
    return args


def main() -> None:
    args = parse_args()
    limit_threads(args.threads)
    rates = {name: gemm_rate(np.dtype(name)) for name in ("float64", "float32")}
    print_header(args, rates)
    configs = [CONFIGS[name].scaled(args.scale) for name in args.configs.split(",")]
    results, checks = [], []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gaussmix-bench-") as directory:
        for config in configs:
            rows = measure_config(config, args, directory)
            results.append((config, rows))
            checks.append(f"# {config.label()}: float32 check {float32_check(rows)}")
    for config, _ in results:
        print(f"# {config.label()}")
    print(TABLE_HEADER)
    for config, rows in results:
        times = reference_times(rows)
        for row in rows:
            print(table_line(row, config, times, rates))
    print("\n".join(checks))
    print(f"# total {time.perf_counter() - started:.0f} s")
    if args.json:
        dump = {
            "gemm_flops": rates,
            "configs": [
                {"config": asdict(c), "rows": [asdict(r) for r in rows]}
                for c, rows in results
            ],
        }
        with open(args.json, "w") as handle:
            json.dump(dump, handle, indent=2, default=str)


if __name__ == "__main__":
    main()
