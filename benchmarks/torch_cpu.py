"""Time per EM iteration: gaussmix on torch CPU tensors against numpy arrays.

Both paths run the same EM core from the same start for the same number of
iterations, with the same number of threads (BLAS for numpy, intra-op for
torch); the table prints seconds per iteration and the torch/numpy ratio.

    python benchmarks/torch_cpu.py [--threads 1] [--iterations 10]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from gaussmix import GaussianMixture

SHAPES = [(20_000, 8, 8), (50_000, 16, 16), (50_000, 32, 16), (100_000, 64, 8)]
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def shared_start(X: np.ndarray, n_components: int, covariance_type: str) -> dict:
    """Initial weights, means and precisions both paths start from."""
    rng = np.random.RandomState(0)
    n_features = X.shape[1]
    precision = 1.0 / X.var(axis=0).mean()
    shape = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]
    if len(shape) == 3:
        precisions = np.broadcast_to(np.eye(n_features) * precision, shape).copy()
    elif covariance_type == "tied":
        precisions = np.eye(n_features) * precision
    else:
        precisions = np.full(shape, precision)
    return {
        "weights_init": np.full(n_components, 1.0 / n_components),
        "means_init": X[rng.choice(len(X), n_components, replace=False)],
        "precisions_init": precisions,
    }


def blobs(n_samples: int, n_features: int, n_components: int) -> np.ndarray:
    rng = np.random.RandomState(1)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.randint(n_components, size=n_samples)
    return centres[labels] + rng.normal(size=(n_samples, n_features))


def seconds_per_iteration(data, settings: dict, iterations: int) -> float:
    """(time of 1 + iterations EM steps - time of 1 step) / iterations, best of 3."""

    def fit_time(max_iter: int) -> float:
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            GaussianMixture(max_iter=max_iter, tol=0.0, **settings).fit(data)
            best = min(best, time.perf_counter() - start)
        return best

    return (fit_time(1 + iterations) - fit_time(1)) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ConvergenceWarning)
    header = f"{'N':>8} {'D':>3} {'K':>3} {'covariance':>10} {'numpy s/it':>11} "
    header += f"{'torch s/it':>11} {'torch/numpy':>11}"
    print(f"threads={args.threads}, torch {torch.__version__}, CPU tensors")
    print(header)
    ratios = []
    with threadpool_limits(args.threads):
        for n_samples, n_features, n_components in SHAPES:
            X = blobs(n_samples, n_features, n_components)
            for covariance_type in COVARIANCE_TYPES:
                settings = dict(
                    n_components=n_components,
                    covariance_type=covariance_type,
                    **shared_start(X, n_components, covariance_type),
                )
                numpy_time = seconds_per_iteration(X, settings, args.iterations)
                torch_time = seconds_per_iteration(
                    torch.as_tensor(X), settings, args.iterations
                )
                ratios.append(torch_time / numpy_time)
                print(
                    f"{n_samples:>8} {n_features:>3} {n_components:>3} "
                    f"{covariance_type:>10} {numpy_time:>11.4f} {torch_time:>11.4f} "
                    f"{ratios[-1]:>11.2f}"
                )
    geometric_mean = float(np.exp(np.mean(np.log(ratios))))
    print(f"worst ratio {max(ratios):.2f}, geometric mean {geometric_mean:.2f}")


if __name__ == "__main__":
    main()
