"""
Gaussian mixture regression on a multi-valued map
=================================================

``y = x + 0.3 sin(2 pi x) + noise`` is a function of x, but x as a function
of y has up to three branches. A least-squares regressor of x on y averages
the branches into a value that is on none of them; the conditional mixture
returned by :meth:`gaussmix.GaussianMixtureRegressor.predict_distribution`
keeps every branch.

The script prints the held-out log-density of x given y for one Gaussian
(linear regression with Gaussian noise) and for mixtures, and the mass the
conditional mixture puts near each true solution x of f(x) = 0.5; the figure
shows the conditional density of x given y.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import PowerNorm

from gaussmix import GaussianMixtureRegressor

#: Width of the window around a true solution counted as "on the branch".
BRANCH_HALF_WIDTH = 0.05


def forward(x: np.ndarray) -> np.ndarray:
    return x + 0.3 * np.sin(2.0 * np.pi * x)


def make_data(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, ...]:
    """Inputs y (n_samples, 1) and targets x (n_samples,) of the inverse map."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(0.0, 1.0, size=n_samples)
    y = forward(x) + noise * rng.standard_normal(n_samples)
    return y[:, None], x


def solutions(level: float) -> np.ndarray:
    """Every x in [0, 1] with forward(x) == level (sign changes on a grid)."""
    # an even number of points keeps x = 0.5 off the grid, so that no root
    # falls exactly on a grid point and is counted twice
    grid = np.linspace(0.0, 1.0, 200_000)
    gap = forward(grid) - level
    crossings = np.flatnonzero(gap[:-1] * gap[1:] < 0)
    return 0.5 * (grid[crossings] + grid[crossings + 1])


y_train, x_train = make_data(2000, 0.05, seed=0)
y_test, x_test = make_data(2000, 0.05, seed=1)
roots = solutions(0.5)
print("true solutions of f(x) = 0.5: x =", ", ".join(f"{r:.3f}" for r in roots))
print(f"{'components':>10}  {'held-out log p(x|y)':>20}  mass within ±0.05 of each")
models = {}
for n_components in (1, 5, 10):
    model = GaussianMixtureRegressor(n_components, random_state=0)
    models[n_components] = model.fit(y_train, x_train)
    log_density = model.predict_distribution(y_test).log_prob(x_test).mean()
    draws = model.sample_y(np.array([[0.5]]), 20_000, random_state=0)[0]
    masses = [np.mean(np.abs(draws - root) < BRANCH_HALF_WIDTH) for root in roots]
    masses_text = "  ".join(f"{m:.3f}" for m in masses)
    print(f"{n_components:>10}  {log_density:>20.4f}  {masses_text}")

# %%
# The conditional density of x given y, from the ten-component model. Each
# column of the image is the mixture ``predict_distribution`` returns for one
# value of y: its weights, means and variances give the density on a grid of
# x. The conditional mean (white) runs between the branches.

grid_y = np.linspace(y_train.min(), y_train.max(), 300)
grid_x = np.linspace(-0.05, 1.05, 300)
distribution = models[10].predict_distribution(grid_y[:, None])
means = distribution.means[:, :, 0]  # (rows, components)
variances = distribution.full_covariances()[:, 0, 0]  # (components,)
gaussians = np.exp(-0.5 * (grid_x[:, None, None] - means) ** 2 / variances) / np.sqrt(
    2 * np.pi * variances
)
density = np.einsum("rk,xrk->xr", distribution.weights, gaussians)
mean, std = models[10].predict(grid_y[:, None], return_std=True)

fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
ax.imshow(
    density,
    origin="lower",
    aspect="auto",
    extent=(grid_y[0], grid_y[-1], grid_x[0], grid_x[-1]),
    cmap="viridis",
    norm=PowerNorm(0.5, vmin=0, vmax=np.quantile(density, 0.995)),
)
ax.scatter(y_train[::4, 0], x_train[::4], s=2, color="w", alpha=0.3)
ax.plot(grid_y, mean, color="w", lw=2, label="conditional mean")
ax.plot(grid_y, mean + 2 * std, color="w", lw=1, ls="--", label="mean ± 2 std")
ax.plot(grid_y, mean - 2 * std, color="w", lw=1, ls="--")
ax.set(
    xlabel="y", ylabel="x", title="p(x | y), 10 components (square-root colour scale)"
)
ax.set_ylim(grid_x[0], grid_x[-1])
ax.legend(loc="upper left", facecolor="0.3", labelcolor="w")
plt.show()
