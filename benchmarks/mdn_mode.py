"""The mode of conditional mixtures: time, and how high it climbs.

Random MixtureDensityHead outputs (untrained, features of a given scale)
give one Gaussian mixture per row; ``ConditionalMixtureDensity.mode()`` is
timed on them for each covariance type, and its log-density is compared
with that of the best component mean (the mode can only be at least as
high). ``MixtureDensityRegressor.predict`` returns these modes.

    python benchmarks/mdn_mode.py [--rows 5000] [--features 4]
        [--components 6] [--scale 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch

from gaussmix.nn import MixtureDensityHead


def mixtures(covariance_type: str, args: argparse.Namespace, dtype: torch.dtype):
    torch.manual_seed(0)
    head = MixtureDensityHead(
        8, args.features, args.components, covariance_type=covariance_type
    ).to(dtype)
    features = args.scale * torch.randn(args.rows, 8, dtype=dtype)
    with torch.no_grad():
        return head(features)


def best_mean_log_density(mixture) -> torch.Tensor:
    means = mixture.means  # (N, K, D)
    per_mean = torch.stack(
        [mixture.log_prob(means[:, k]) for k in range(means.shape[1])], dim=1
    )
    return per_mean.max(dim=1).values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--features", type=int, default=4)
    parser.add_argument("--components", type=int, default=6)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| covariance | dtype | mode s | rows below the best mean | worst gap |")
    print("|---|---|---|---|---|")
    for covariance_type in ("full", "tied", "diag", "spherical"):
        for dtype in (torch.float64, torch.float32):
            mixture = mixtures(covariance_type, args, dtype)
            start = time.perf_counter()
            try:
                mode = mixture.mode()
            except RuntimeError as error:  # torch's LinAlgError is one
                name = type(error).__name__
                print(f"| {covariance_type} | {dtype} | fails ({name}) | | |")
                continue
            seconds = time.perf_counter() - start
            gap = best_mean_log_density(mixture) - mixture.log_prob(mode)
            below = int((gap > 1e-6 * (1 + gap.abs())).sum())
            print(
                f"| {covariance_type} | {dtype} | {seconds:.2f} | {below} of "
                f"{args.rows} | {float(gap.max()):.3g} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
