"""Variational EM speed of gaussmix's BayesianGaussianMixture against scikit-learn's.

Configurations (a) and (c) of bench_em.py, the same data (``_common.blobs``),
each fitted with its own covariance type and with every type in ``--types``.
Both libraries start from one posterior: scikit-learn's fit with
``init_params`` (``--init``), ``random_state=0`` and one iteration; its
posterior attributes (the ones ``warm_start`` continues from in both
libraries) are copied onto every timed estimator, which then runs with
``warm_start=True``, ``tol=0`` and a fixed ``max_iter``, so that every fit
does the same iterations from the same numbers.

- seconds per variational iteration = (t[max_iter=1+n] - t[max_iter=1]) / n
  with n = ``--iterations``, so validation, the prior and the final E-step
  cancel;
- the machine may be shared: every repeat times scikit-learn, gaussmix
  float64 and gaussmix float32 one after the other in this one process
  (the order rotates from repeat to repeat), each pair of fits back to back,
  and the table gives the median over repeats of the s/iter and of each
  repeat's ratio; compare ratios, not absolute times, across machines;
- the same thread count for all: threadpoolctl's BLAS limit, which
  gaussmix's E-step workers follow too (``--threads``, default: BLAS's own);
- check: after the same iterations the two float64 ``lower_bound_`` agree
  to rounding (relative difference printed), and every ``n_iter_`` is the
  ``max_iter`` asked for.

Usage:
    python benchmarks/bench_bayesian.py [--scale 0.2] [--configs a,c]
                                        [--types full,diag] [--repeats 5]
                                        [--iterations 10] [--threads N]
                                        [--init kmeans]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from _common import blobs, machine_description, timed
from bench_em import CONFIGS, Config, blas_description, limit_threads

DEFAULT_CONFIGS = "a,c"
DEFAULT_TYPES = "full,diag"

# what warm_start continues from, in scikit-learn and in gaussmix alike
POSTERIOR_ATTRIBUTES = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
    "weight_concentration_",
    "mean_precision_",
    "degrees_of_freedom_",
    "converged_",
    "lower_bound_",
    "n_features_in_",
)

# (name, library, dtype); the first is the reference of the ratios
IMPLEMENTATIONS = (
    ("scikit-learn float64", "sklearn", np.float64),
    ("gaussmix float64", "gaussmix", np.float64),
    ("gaussmix float32", "gaussmix", np.float32),
)
REFERENCE = IMPLEMENTATIONS[0][0]


def estimator_class(library: str):
    if library == "sklearn":
        from sklearn.mixture import BayesianGaussianMixture
    else:
        from gaussmix import BayesianGaussianMixture
    return BayesianGaussianMixture


def settings(config: Config, max_iter: int) -> dict:
    return {
        "n_components": config.n_components,
        "covariance_type": config.covariance_type,
        "tol": 0.0,
        "max_iter": max_iter,
        "random_state": 0,
    }


def shared_posterior(X: np.ndarray, config: Config, init: str) -> dict:
    """scikit-learn's posterior after its initialisation and one iteration."""
    model = estimator_class("sklearn")(init_params=init, **settings(config, 1))
    model.fit(X)
    return {name: getattr(model, name) for name in POSTERIOR_ATTRIBUTES}


def fit_from(library: str, X, posterior: dict, config: Config, max_iter: int):
    model = estimator_class(library)(warm_start=True, **settings(config, max_iter))
    for name, value in posterior.items():
        # copies: neither library may write into the shared start
        setattr(model, name, value.copy() if hasattr(value, "copy") else value)
    return model.fit(X)


def timed_fit(library: str, X, posterior: dict, config: Config, max_iter: int):
    return timed(lambda: fit_from(library, X, posterior, config, max_iter))


@dataclass
class Result:
    seconds: list = field(default_factory=list)  # per iteration, one per repeat
    n_iter: set = field(default_factory=set)
    lower_bound: float = float("nan")
    failure: str = ""

    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def measure(config: Config, args) -> dict[str, Result]:
    """Interleaved timings of every implementation on one configuration."""
    X64 = blobs(config.n_samples, config.n_features, config.n_components)
    data = {np.float64: X64, np.float32: X64.astype(np.float32)}
    posterior = shared_posterior(X64, config, args.init)
    few, many = 1, 1 + args.iterations
    results = {name: Result() for name, _, _ in IMPLEMENTATIONS}
    for name, library, dtype in IMPLEMENTATIONS:  # warm-up: imports, thread pools
        try:
            fit_from(library, data[dtype], posterior, config, few)
        except Exception as error:  # reported in the table
            results[name].failure = f"{type(error).__name__}: {error}"[:80]
    for repeat in range(args.repeats):
        shift = repeat % len(IMPLEMENTATIONS)
        for name, library, dtype in IMPLEMENTATIONS[shift:] + IMPLEMENTATIONS[:shift]:
            result = results[name]
            if result.failure:
                continue
            short, _ = timed_fit(library, data[dtype], posterior, config, few)
            long, model = timed_fit(library, data[dtype], posterior, config, many)
            result.seconds.append((long - short) / (many - few))
            result.n_iter.add(int(model.n_iter_))
            result.lower_bound = float(model.lower_bound_)
    return results


# ------------------------------------------------------------------ report


def number(value: float, digits: str) -> str:
    return "–" if np.isnan(value) else format(value, digits)


def speedup(results: dict[str, Result], name: str) -> float:
    """Median over repeats of reference s/iter / this s/iter (>1: faster)."""
    reference, own = results[REFERENCE].seconds, results[name].seconds
    if not reference or len(own) != len(reference):
        return float("nan")
    return statistics.median(r / o for r, o in zip(reference, own, strict=True))


TABLE_HEADER = (
    "| config | type | N × D | K | sklearn f64 s/iter | gaussmix f64 s/iter "
    "| speed-up f64 | gaussmix f32 s/iter | speed-up f32 |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def table_line(config: Config, results: dict[str, Result]) -> str:
    cells = [
        config.name,
        config.covariance_type,
        f"{config.n_samples:,} × {config.n_features}",
        str(config.n_components),
    ]
    for name, _, _ in IMPLEMENTATIONS:
        result = results[name]
        if result.failure:
            cells.append("failed")
        else:
            cells.append(number(result.median(), ".4f"))
        if name != REFERENCE:
            cells.append(number(speedup(results, name), ".2f") + "×")
    return "| " + " | ".join(cells) + " |"


def relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def check_line(config: Config, results: dict[str, Result], max_iter: int) -> str:
    """Same computation? float64 lower bounds and every n_iter_."""
    label = f"{config.name} {config.covariance_type}"
    failures = [f"{n}: {r.failure}" for n, r in results.items() if r.failure]
    if failures:
        return f"# {label}: " + "; ".join(failures)
    reference = results[REFERENCE].lower_bound
    double = relative(results["gaussmix float64"].lower_bound, reference)
    single = relative(results["gaussmix float32"].lower_bound, reference)
    iterations = {n: sorted(r.n_iter) for n, r in results.items()}
    same_iterations = all(i == [max_iter] for i in iterations.values())
    verdict = "ok" if double <= 1e-9 and same_iterations else "MISMATCH"
    return (
        f"# {label}: sklearn lower_bound_ {reference:.10g}; relative difference "
        f"gaussmix f64 {double:.1e}, f32 {single:.1e}; n_iter_ "
        + ("all " + str(max_iter) if same_iterations else str(iterations))
        + f": {verdict}"
    )


def print_header(args) -> None:
    import sklearn

    import gaussmix
    from gaussmix.fit.parallel import host_threads

    print(
        "# Variational EM (BayesianGaussianMixture) seconds per iteration, "
        f"{datetime.date.today().isoformat()}"
    )
    print(f"# {machine_description()}")
    threads = f"limited to {args.threads}" if args.threads else "library defaults"
    print(
        f"# BLAS: {blas_description()}; gaussmix E-step workers: {host_threads()}; "
        f"threads: {threads}"
    )
    print(
        f"# scikit-learn {sklearn.__version__}, gaussmix {gaussmix.__version__}; "
        f"shared start: scikit-learn init_params={args.init!r}, random_state=0, "
        "one iteration, continued by warm_start in both"
    )
    print(
        f"# scale {args.scale}; s/iter = (t[max_iter={1 + args.iterations}] - "
        f"t[max_iter=1]) / {args.iterations}, tol=0; median of {args.repeats} "
        "interleaved repeats; speed-up = median of per-repeat sklearn s/iter "
        "over gaussmix s/iter (>1: gaussmix faster)"
    )


def config_list(args) -> list[Config]:
    """Each configuration with every type in ``--types`` and its own."""
    configs = []
    for name in args.configs.split(","):
        base = CONFIGS[name].scaled(args.scale)
        types = [*args.types.split(","), base.covariance_type]
        for covariance_type in dict.fromkeys(types):
            configs.append(replace(base, covariance_type=covariance_type))
    return configs


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies N")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS)
    parser.add_argument(
        "--types",
        default=DEFAULT_TYPES,
        help="covariance types fitted besides each configuration's own",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--iterations", type=int, default=10, help="timed iterations per fit"
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--init", default="kmeans", help="scikit-learn init_params of the start"
    )
    args = parser.parse_args()
    unknown = set(args.configs.split(",")) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; choose from {list(CONFIGS)}")
    types = set(args.types.split(",")) - {"full", "tied", "diag", "spherical"}
    if types:
        parser.error(f"unknown covariance types {sorted(types)}")
    if args.repeats < 1 or args.iterations < 1:
        parser.error("--repeats and --iterations must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 never converges
    for _, library, _ in IMPLEMENTATIONS:  # load every BLAS before limiting them
        estimator_class(library)
    limit_threads(args.threads)
    print_header(args)
    started = time.perf_counter()
    measured, checks = [], []
    for config in config_list(args):
        print(f"# measuring {config.label()}", file=sys.stderr, flush=True)
        results = measure(config, args)
        measured.append((config, results))
        checks.append(check_line(config, results, 1 + args.iterations))
    print(TABLE_HEADER)
    for config, results in measured:
        print(table_line(config, results))
    print("\n".join(checks))
    print(f"# total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
