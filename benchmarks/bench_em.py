"""EM speed of gaussmix against its peers: same data, same start, one run.

For every configuration, each implementation runs in a process of its own,
started for that configuration (with the environment the implementation
needs, ``_peers.ENVIRONMENT``); the processes take turns, so that a change
in the machine's load hits all of them alike:

- seconds per EM iteration = (time of max_iter=ITERATIONS - time of
  max_iter=1) / (ITERATIONS - 1) from the same start
  (``_common.shared_start``) with the convergence test off, so
  initialisation and validation cancel; median of ``--repeats`` turns;
- the whole default ``fit`` (each library's own initialisation and stopping
  rule), median over ``--seeds`` seeds, also in turns;
- peak RSS of the process (it holds the data, the imported libraries and
  the fits) and how much of that the fits added;
- the final average log-likelihood of each fit's parameters, all evaluated
  by one float64 routine here: from the same start after the same number of
  iterations the values agree up to float32 rounding.

GFLOP/s counts the useful work of one iteration, 4·N·K·D² flops for full and
tied (whitening every row by every component, 2·N·K·D², and the scatter of
the whitened rows, as much again), 6·N·K·D for diag and spherical (the
E-step's products with x and x², 4·N·K·D, and the M-step's first moments,
2·N·K·D), as a share of the square-matmul rate of numpy measured at the
start of the run in the same dtype.

Configurations a-d and their tied and spherical variants are separated
blobs; close, normal, descriptors and digits overlap: blobs whose centres
lie within ±0.5 of each other, one standard normal cloud, positive
gamma-distributed "descriptors" whose components differ by ±20% in scale,
and scikit-learn's 8 × 8 digits on their 16 leading principal components,
each image repeated 50 times with 10% noise (:func:`noisy_digits`).

Usage:
    python benchmarks/bench_em.py [--scale 0.05] [--configs a,c,a-tied]
                                  [--seeds 3] [--repeats 3] [--threads N]
                                  [--iterations 21]
                                  [--json results.json] [--skip-default]
                                  [--default-for gaussmix,scikit-learn]
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from _common import blobs, machine_description, peak_rss_mib, shared_start, timed
from _peers import ENVIRONMENT, IMPLEMENTATIONS, FittedMixture, quiet_warnings
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

FEW_ITERATIONS = 1


@dataclass(frozen=True)
class Config:
    name: str
    n_samples: int
    n_features: int
    n_components: int
    covariance_type: str
    data: str = "blobs"

    def scaled(self, scale: float) -> Config:
        n_samples = max(int(self.n_samples * scale), 50 * self.n_components)
        return Config(
            self.name,
            n_samples,
            self.n_features,
            self.n_components,
            self.covariance_type,
            self.data,
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
    "close": Config("close", 100_000, 16, 16, "full", "close"),
    "normal": Config("normal", 100_000, 16, 16, "full", "normal"),
    "descriptors": Config("descriptors", 200_000, 64, 64, "diag", "descriptors"),
    "digits": Config("digits", 89_850, 16, 10, "full", "digits"),
}


def noisy_digits(n_samples: int, n_features: int, rng) -> np.ndarray:
    """scikit-learn's digits on their leading principal components, repeated.

    Each of the 1,797 images is repeated (``n_samples`` rows in all) with
    Gaussian noise of a tenth of each component's standard deviation, so
    that a real dataset's shape is timed at a size where an EM iteration
    takes measurable time.
    """
    from sklearn.datasets import load_digits

    images = load_digits().data
    centred = images - images.mean(0)
    _, _, directions = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ directions[:n_features].T
    rows = projected[np.arange(n_samples) % len(projected)]
    noise = rng.standard_normal(rows.shape) * (0.1 * projected.std(0))
    return rows + noise


def make_data(config: Config) -> np.ndarray:
    """The float64 rows of a configuration."""
    n, d, k = config.n_samples, config.n_features, config.n_components
    rng = np.random.default_rng(0)
    if config.data == "close":
        return blobs(n, d, k, box=0.5)
    if config.data == "normal":
        return rng.standard_normal((n, d))
    if config.data == "descriptors":
        scales = rng.uniform(0.8, 1.2, size=(k, d))
        labels = rng.integers(0, k, size=n)
        return rng.gamma(2.0, 1.0, size=(n, d)) * scales[labels]
    if config.data == "digits":
        return noisy_digits(n, d, rng)
    return blobs(n, d, k)


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


def serve(connection, implementation: str, threads: int | None) -> None:
    """Process side: load data and time fits on request until told to stop.

    Requests are ``("load", data_path, start_path)``, ``("fixed",
    covariance_type, max_iter)`` and ``("default", n_components,
    covariance_type, seed)``; each answer is ``(status, result, peak RSS)``.
    """
    quiet_warnings()
    limit_threads(threads)
    runner = IMPLEMENTATIONS[implementation][0]()
    try:
        runner.import_modules()
        missing = None
    except ImportError as error:
        missing = f"not installed: {error}"
    state = {}
    while True:
        request = connection.recv()
        if request is None:
            return
        kind, *args = request
        try:
            if missing:
                raise RuntimeError(missing)
            if kind == "load":
                state["X"] = np.load(args[0])
                with np.load(args[1]) as start:
                    state["start"] = tuple(
                        start[name] for name in ("weights", "means", "precisions")
                    )
                result = current_rss_mib()
            elif kind == "fixed":
                result = timed(
                    lambda args=args: runner.fit_fixed(
                        state["X"], state["start"], *args
                    )
                )
            else:
                result = timed(lambda args=args: runner.fit_default(state["X"], *args))
            connection.send(("ok", result, peak_rss_mib()))
        except Exception as exc:  # reported to the parent as a table cell
            message = f"{type(exc).__name__}: {exc}"
            connection.send(("error", message, peak_rss_mib()))


class Worker:
    """One implementation's process, started with the environment it needs."""

    def __init__(self, implementation: str, threads: int | None) -> None:
        context = mp.get_context("spawn")
        self.connection, theirs = context.Pipe()
        saved = dict(os.environ)
        os.environ.update(ENVIRONMENT.get(implementation, {}))
        try:
            self.process = context.Process(
                target=serve, args=(theirs, implementation, threads)
            )
            self.process.start()
            # the child's end: closed here, so that a child that dies is seen
            theirs.close()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.peak_rss_mib = float("nan")

    def ask(self, *request):
        self.connection.send(request)
        status, result, self.peak_rss_mib = self.connection.recv()
        if status != "ok":
            raise RuntimeError(result)
        return result

    def stop(self) -> None:
        self.connection.send(None)
        self.process.join()


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
    """The data in both dtypes and the shared start, as files the workers load."""
    X = make_data(config)
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


def failure(error: RuntimeError) -> str:
    return "failed: " + str(error).removeprefix("RuntimeError: ")[:90]


def measure_fixed(
    rows: dict[str, Row], workers: dict, config: Config, X: np.ndarray, args
) -> None:
    """Seconds per iteration of every worker, in turns, median of the turns."""
    many = args.iterations
    times = {name: [] for name in workers}
    fitted = {}
    for repeat in range(args.repeats + 1):  # the first turn warms up
        for name, worker in workers.items():
            if rows[name].note:
                continue
            try:
                few, _ = worker.ask("fixed", config.covariance_type, FEW_ITERATIONS)
                seconds, fitted[name] = worker.ask(
                    "fixed", config.covariance_type, many
                )
            except RuntimeError as error:
                rows[name].note = failure(error)
                continue
            if repeat:
                times[name].append((seconds - few) / (many - FEW_ITERATIONS))
    for name, row in rows.items():
        if row.note or name not in workers:
            continue
        row.seconds_per_iteration = statistics.median(times[name])
        row.loglik = average_loglik(X, fitted[name], config.covariance_type)
        row.reported_loglik = fitted[name].reported_loglik
        row.means = fitted[name].means.tolist()


def measure_default(
    rows: dict[str, Row], workers: dict, config: Config, X: np.ndarray, args
) -> None:
    """Whole default fits, one seed at a time for every worker in turn."""
    prefixes = tuple(args.default_for.split(","))
    chosen = {
        name: worker
        for name, worker in workers.items()
        if name.startswith(prefixes) and not rows[name].default_note
    }
    runs = {name: [] for name in chosen}
    for seed in range(args.seeds):
        for name, worker in chosen.items():
            if rows[name].default_note:
                continue
            try:
                runs[name].append(
                    worker.ask(
                        "default", config.n_components, config.covariance_type, seed
                    )
                )
            except RuntimeError as error:
                rows[name].default_note = failure(error)
    for name in chosen:
        row = rows[name]
        if row.default_note:
            continue
        row.default_seconds = statistics.median(seconds for seconds, _ in runs[name])
        row.default_iterations = statistics.median(fit.n_iter for _, fit in runs[name])
        row.default_loglik = statistics.median(
            average_loglik(X, fit, config.covariance_type) for _, fit in runs[name]
        )


def measure_config(config: Config, args, directory: str) -> list[Row]:
    paths = write_inputs(config, directory)
    X = np.load(paths["float64"], mmap_mode="r")
    rows, workers, loaded = {}, {}, {}
    for implementation, (runner_class, _) in IMPLEMENTATIONS.items():
        row = Row(config.name, implementation)
        rows[implementation] = row
        reason = runner_class().unsupported(config.covariance_type)
        if reason:
            row.note = row.default_note = reason
        else:
            workers[implementation] = Worker(implementation, args.threads)
    try:
        for name, worker in workers.items():
            dtype_name = np.dtype(IMPLEMENTATIONS[name][1]).name
            try:
                loaded[name] = worker.ask("load", paths[dtype_name], paths["start"])
            except RuntimeError as error:
                rows[name].note = rows[name].default_note = failure(error)
        measure_fixed(rows, workers, config, X, args)
        if not args.skip_default:
            measure_default(rows, workers, config, X, args)
    finally:
        for worker in workers.values():
            worker.stop()
    for name, rss_before in loaded.items():
        rows[name].peak_rss_mib = workers[name].peak_rss_mib
        rows[name].fit_added_mib = workers[name].peak_rss_mib - rss_before
    del X
    for path in paths.values():
        os.remove(path)
    return list(rows.values())


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
    "| GFLOP/s | % of GEMM | peak RSS MiB (fit +MiB) | avg loglik, fixed its "
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


def speedup_summary(config: Config, rows: list[Row]) -> str:
    """How many times faster per iteration gaussmix is than the references."""
    times = reference_times(rows)
    parts = []
    for reference in ("scikit-learn float64", "scikit-learn torch float32"):
        for dtype in ("float64", "float32"):
            ratio = times.get(reference, np.nan) / times.get(
                f"gaussmix {dtype}", np.nan
            )
            parts.append(f"{dtype} {number(ratio, '.1f')}× {reference}")
    return f"# {config.name}: gaussmix " + ", ".join(parts)


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
        f"# scale {args.scale}; s/iter = (t[max_iter={args.iterations}] - "
        f"t[max_iter={FEW_ITERATIONS}]) / {args.iterations - FEW_ITERATIONS}, "
        f"median of {args.repeats} turns; default fit: median of {args.seeds} "
        "seeds; "
        "×columns: this row's s/iter over the reference's (>1: slower)"
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies N")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--iterations", type=int, default=21, help="EM iterations of the long fit"
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument(
        "--default-for",
        default="gaussmix,scikit-learn float,pomegranate,torchgmm",
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
    for config, rows in results:
        print(speedup_summary(config, rows))
    # the load of a shared machine changes during a run: the rate again
    after = {name: gemm_rate(np.dtype(name)) for name in ("float64", "float32")}
    print(
        f"# numpy square GEMM at the end: float64 {after['float64'] / 1e9:.1f}, "
        f"float32 {after['float32'] / 1e9:.1f} GFLOP/s"
    )
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
