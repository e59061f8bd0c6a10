"""Mixture density network against the true conditional density.

Data: x ~ U(0, 1), y = ±sqrt(x) + N(0, 0.05²), the branch chosen by a fair
coin, so p(y | x) is a known two-component mixture. Prints the held-out
average negative log-likelihood (nats) of the true density, of a
MixtureDensityRegressor with default settings, and of a Gaussian regression
network (the same network with one component).

    python benchmarks/mdn_two_branch.py [--rows 10000] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.special import logsumexp
from scipy.stats import norm

from gaussmix.nn import MixtureDensityRegressor

NOISE = 0.05


def two_branch(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, targets and the true log p(y | x) of every row."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(0.0, 1.0, n_samples)
    y = rng.choice([-1.0, 1.0], n_samples) * np.sqrt(x)
    y += NOISE * rng.normal(size=n_samples)
    branches = [norm.logpdf(y, s * np.sqrt(x), NOISE) for s in (1.0, -1.0)]
    return x[:, None], y, logsumexp(branches, axis=0) + np.log(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, y, _ = two_branch(args.rows, seed=0)
    X_test, y_test, true = two_branch(5000, seed=1)
    print(f"train rows {args.rows}, held-out rows {len(X_test)}")
    print(
        f"{'model':>28} {'held-out NLL':>13} {'minus truth':>12} {'epochs':>7} {'s':>6}"
    )
    print(f"{'true p(y | x)':>28} {-true.mean():>13.4f} {0.0:>12.4f}")
    for name, n_components in (("MDN, 5 components", 5), ("Gaussian network", 1)):
        start = time.perf_counter()
        model = MixtureDensityRegressor(n_components, random_state=0).fit(X, y)
        seconds = time.perf_counter() - start
        nll = -model.score(X_test, y_test)
        print(
            f"{name:>28} {nll:>13.4f} {nll + true.mean():>12.4f} "
            f"{model.n_epochs_:>7} {seconds:>6.1f}"
        )


if __name__ == "__main__":
    main()
