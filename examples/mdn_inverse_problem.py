"""Bishop's inverse problem: predict t from x = t + 0.3 sin(2πt) + noise.

The forward map t -> x is a function, but its inverse is not: for x near 0.5
three values of t fit. A least-squares network predicts their average, which
is not a solution; a mixture density network predicts the whole conditional
density p(t | x) and its modes follow the branches.

    python examples/mdn_inverse_problem.py [--output mdn_inverse_problem.png]
"""

from __future__ import annotations

import argparse
import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from gaussmix.nn import MixtureDensityRegressor

logger = logging.getLogger("gaussmix.examples")


def bishop_data(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x = t + 0.3 sin(2πt) + U(-0.1, 0.1) for t ~ U(0, 1); returns (x, t)."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(0.0, 1.0, n_samples)
    x = t + 0.3 * np.sin(2.0 * np.pi * t) + rng.uniform(-0.1, 0.1, n_samples)
    return x[:, None], t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="mdn_inverse_problem.png")
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)

    x, t = bishop_data(args.rows, seed=0)
    x_test, t_test = bishop_data(2000, seed=1)
    mdn = MixtureDensityRegressor(3, random_state=0).fit(x, t)
    gaussian = MixtureDensityRegressor(1, random_state=0).fit(x, t)
    logger.info(
        "held-out average log-likelihood of t given x: MDN %.3f, Gaussian network %.3f",
        mdn.score(x_test, t_test),
        gaussian.score(x_test, t_test),
    )

    grid_x = np.linspace(x.min(), x.max(), 300)[:, None]
    grid_t = torch.linspace(-0.1, 1.1, 300, dtype=torch.float64)
    distribution = mdn.predict_distribution(grid_x)
    # density on the grid: one row of the mixture batch per (t, x) pair
    rows = torch.arange(len(grid_x)).repeat(len(grid_t))
    targets = grid_t.repeat_interleave(len(grid_x))[:, None]
    density = distribution[rows].log_prob(targets).exp().reshape(300, 300).numpy()
    weights = distribution.weights.numpy()
    component_means = distribution.means[..., 0].numpy()

    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    axes[0].scatter(x[:, 0], t, s=3, alpha=0.3, color="grey", label="data")
    axes[0].plot(grid_x, gaussian.predict(grid_x), "r-", label="least squares mean")
    axes[0].plot(grid_x, mdn.predict_mode(grid_x), "b.", ms=3, label="MDN mode")
    axes[0].set(xlabel="x", ylabel="t", title="predictions")
    axes[0].legend(loc="upper left")
    axes[1].imshow(
        density,
        origin="lower",
        aspect="auto",
        extent=(grid_x[0, 0], grid_x[-1, 0], -0.1, 1.1),
        cmap="viridis",
    )
    axes[1].set(xlabel="x", ylabel="t", title="conditional density p(t | x)")
    for k in range(weights.shape[1]):
        axes[2].plot(grid_x, weights[:, k], label=f"weight {k}")
        axes[2].plot(grid_x, component_means[:, k], "--", label=f"mean {k}")
    axes[2].set(xlabel="x", title="mixing weights and component means")
    axes[2].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(args.output, dpi=120)
    logger.info("wrote %s", args.output)


if __name__ == "__main__":
    main()
