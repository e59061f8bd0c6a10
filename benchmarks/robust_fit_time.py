"""Time of whole default fits of the robust and low-rank mixtures.

``StudentMixture`` starts from trimmed k-means by default, and the t, factor-
analyser and noise mixtures have E-steps of their own (not the fused
kernel's). This times each on 100,000 × 16 blobs with 16 components (the
trimmed k-means start alone, a default ``StudentMixture`` fit, and 8 EM
iterations of ``MixtureOfFactorAnalyzers`` and ``GaussianMixture(noise=True)``)
and prints the log-likelihood per row each reaches, so that two revisions
can be compared: run it with ``PYTHONPATH`` set to each revision's sources.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/robust_fit_time.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _common import blobs, machine_description

from gaussmix import GaussianMixture, MixtureOfFactorAnalyzers, StudentMixture
from gaussmix.core.seeding import init_trimmed_kmeans


def _timed(function) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--box", type=float, default=10.0, help="0.5: overlapping components"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X = blobs(100_000, 16, 16, seed=0, box=args.box)
    print(machine_description())
    print(
        f"100,000 x 16 blobs, 16 components, centres within +-{args.box:g}, "
        "default threads\n"
    )
    print("| work | wall s | CPU s | log-likelihood / row |")
    print("|---|---|---|---|")
    wall, cpu = _timed(
        lambda: init_trimmed_kmeans(X, 16, None, np.random.RandomState(0))
    )
    print(f"| trimmed k-means start | {wall:.2f} | {cpu:.2f} | |")
    models = {
        "StudentMixture(16), defaults": StudentMixture(16, random_state=0),
        "MixtureOfFactorAnalyzers(16, 4 factors), 8 iterations": (
            MixtureOfFactorAnalyzers(
                16, n_factors=4, max_iter=8, tol=0.0, random_state=0
            )
        ),
        "GaussianMixture(16, noise=True), 8 iterations": GaussianMixture(
            16, noise=True, max_iter=8, tol=0.0, random_state=0
        ),
    }
    for name, model in models.items():
        wall, cpu = _timed(lambda model=model: model.fit(X))
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {model.score(X):.4f} |")


if __name__ == "__main__":
    main()
