"""Seconds per EM iteration of this tree against an earlier revision, in one process.

The earlier revision's package is exported with ``git archive`` into a
temporary folder and imported under another name, so both run side by side
on the same data, from the same start, interleaved (new, old, new, old...),
so that a change in the machine's load hits both alike. The time per
iteration is the difference between fits of 10 and 2 iterations, over 8,
which leaves out validation and setup. Prints a markdown table and the
ratio new / old per configuration.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        .venv/bin/python benchmarks/against_revision.py b86d061 --scale 0.3

``--bench-configs close,digits`` times bench_em.py's configurations
instead (its data, from its shared start; ``--scale`` then multiplies its
rows), ``--cpu`` counts the process's CPU seconds instead of wall-clock
seconds, which a machine shared with other work disturbs less, and
``--memmap`` fits the rows from a ``.npy`` file opened as a memory map
(streamed, as out-of-core fits are) instead of from memory.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from io import BytesIO
from pathlib import Path

import numpy as np
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

#: name: (rows, columns, components, covariance type, half-width of the box
#: the centres are drawn from), as in bench_em.py; the last two overlap
CONFIGS = {
    "a: 100,000 x 16, K=16 full": (100_000, 16, 16, "full", 10.0),
    "c: 1,000,000 x 16, K=16 diag": (1_000_000, 16, 16, "diag", 10.0),
    "d: 200,000 x 32, K=32 full": (200_000, 32, 32, "full", 10.0),
    "a-tied": (100_000, 16, 16, "tied", 10.0),
    "a-spherical": (100_000, 16, 16, "spherical", 10.0),
    "overlapping, 100,000 x 16, K=16 full": (100_000, 16, 16, "full", 0.5),
    "overlapping, 200,000 x 64, K=64 diag": (200_000, 64, 64, "diag", 0.5),
    "few components, 200,000 x 16, K=5 full": (200_000, 16, 5, "full", 0.5),
    "few components, 400,000 x 32, K=8 diag": (400_000, 32, 8, "diag", 0.5),
    "many components, 200,000 x 16, K=64 full": (200_000, 16, 64, "full", 10.0),
}
OLD_NAME = "gaussmix_at_revision"


def export_revision(revision: str, folder: Path) -> None:
    """The package of ``revision``, importable as :data:`OLD_NAME` from ``folder``."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "archive", revision, "src/gaussmix"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    package = folder / OLD_NAME
    (folder / "src" / "gaussmix").rename(package)
    pattern = re.compile(r"\bgaussmix(?=[. ]|$)", re.MULTILINE)
    for path in package.rglob("*.py"):
        path.write_text(pattern.sub(OLD_NAME, path.read_text()))


def per_iteration(
    module, X: np.ndarray, start: dict, repeats: int, clock=time.perf_counter
) -> list[float]:
    """Fit times of 2 and 10 iterations, ``repeats`` times each."""
    times = {2: [], 10: []}
    for _ in range(repeats):
        for iterations in (2, 10):
            model = module.GaussianMixture(**dict(start, max_iter=iterations))
            began = clock()
            model.fit(X)
            times[iterations].append(clock() - began)
    return times


def blob_problems(prefixes: tuple[str, ...], scale: float, new):
    """(name, rows, start) of the blob configurations, each dtype."""
    for name, config in CONFIGS.items():
        if prefixes and not name.startswith(prefixes):
            continue
        rows, columns, components, family, box = config
        X64, _ = make_blobs(
            n_samples=int(rows * scale),
            n_features=columns,
            centers=components,
            center_box=(-box, box),
            random_state=0,
        )
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype)
            seed = new.GaussianMixture(
                components, covariance_type=family, max_iter=2, random_state=0
            ).fit(X)
            start = dict(
                n_components=components,
                covariance_type=family,
                weights_init=seed.weights_,
                means_init=seed.means_,
                precisions_init=seed.precisions_,
                tol=0.0,
            )
            yield name, X, start


def on_disk(X: np.ndarray, folder: Path) -> np.ndarray:
    """``X`` written to a .npy file in ``folder``, opened as a memory map:
    both revisions then stream it in chunks instead of holding it."""
    path = folder / f"rows-{X.dtype.name}.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


def bench_problems(names: list[str], scale: float):
    """(name, rows, start) of bench_em.py's configurations, each dtype."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import shared_start
    from bench_em import CONFIGS as BENCH_CONFIGS
    from bench_em import make_data

    for name in names:
        config = BENCH_CONFIGS[name].scaled(scale)
        X64 = make_data(config)
        family, components = config.covariance_type, config.n_components
        weights, means, precisions = shared_start(X64, components, family)
        start = dict(
            n_components=components,
            covariance_type=family,
            weights_init=weights,
            means_init=means,
            precisions_init=precisions,
            tol=0.0,
        )
        label = (
            f"{name}: {config.n_samples:,} x {config.n_features}, "
            f"K={components} {family}"
        )
        for dtype in (np.float64, np.float32):
            yield label, X64.astype(dtype), start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the earlier git revision, e.g. a commit")
    parser.add_argument("--scale", type=float, default=0.3, help="multiplies rows")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--configs",
        default="",
        help="only the configurations whose name starts with one of these "
        "comma-separated prefixes (default: all)",
    )
    parser.add_argument(
        "--bench-configs",
        default="",
        help="comma-separated configurations of bench_em.py to time instead",
    )
    parser.add_argument(
        "--cpu", action="store_true", help="CPU seconds instead of wall-clock"
    )
    parser.add_argument(
        "--memmap",
        action="store_true",
        help="fit the rows streamed from a .npy file opened as a memory map",
    )
    args = parser.parse_args()
    prefixes = tuple(p for p in args.configs.split(",") if p)
    clock = time.process_time if args.cpu else time.perf_counter
    warnings.simplefilter("ignore")
    import gaussmix as new

    with tempfile.TemporaryDirectory() as folder:
        export_revision(args.revision, Path(folder))
        sys.path.insert(0, folder)
        old = importlib.import_module(OLD_NAME)
        unit = "CPU s/iter" if args.cpu else "s/iter"
        print(f"| config | dtype | {args.revision} {unit} | this tree {unit} | ratio |")
        print("|---|---|---|---|---|")
        with threadpool_limits(args.threads):
            if args.bench_configs:
                names = [n for n in args.bench_configs.split(",") if n]
                problems = bench_problems(names, args.scale)
            else:
                problems = blob_problems(prefixes, args.scale, new)
            for name, X, start in problems:
                if args.memmap:
                    X = on_disk(X, Path(folder))
                seconds = {}
                timings = {"new": {2: [], 10: []}, "old": {2: [], 10: []}}
                for _ in range(args.repeats):
                    for label, module in (("new", new), ("old", old)):
                        once = per_iteration(module, X, start, 1, clock)
                        for iterations in (2, 10):
                            timings[label][iterations] += once[iterations]
                for label, times in timings.items():
                    seconds[label] = (min(times[10]) - min(times[2])) / 8
                ratio = seconds["new"] / seconds["old"]
                print(
                    f"| {name} | {X.dtype.name} | {seconds['old']:.4f} "
                    f"| {seconds['new']:.4f} | {ratio:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
