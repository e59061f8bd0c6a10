"""Gaussian mixture regression on a multi-valued map.

``y = x + 0.3 sin(2 pi x) + noise`` is a function of x, but x as a function
of y has up to three branches. A least-squares regressor of x on y averages
the branches into a value that is on none of them; the conditional mixture of
``GaussianMixtureRegressor.predict_distribution`` keeps every branch.

Prints the held-out log-density of x given y for one Gaussian (linear
regression with Gaussian noise) and for mixtures, and the mass the
conditional mixture puts near each true solution x of f(x) = 0.5.

Run with ``python examples/regression_inverse_problem.py``.
"""

from __future__ import annotations

import numpy as np

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


def inverse_problem_figures(
    n_train: int = 2000,
    n_test: int = 2000,
    components: tuple[int, ...] = (1, 5, 10),
    level: float = 0.5,
    seed: int = 0,
) -> dict:
    """Held-out log-densities and the mass on each branch at y = ``level``."""
    y_train, x_train = make_data(n_train, 0.05, seed)
    y_test, x_test = make_data(n_test, 0.05, seed + 1)
    roots = solutions(level)
    log_density, branch_mass = {}, {}
    for n_components in components:
        model = GaussianMixtureRegressor(n_components, random_state=seed)
        model.fit(y_train, x_train)
        distribution = model.predict_distribution(y_test)
        log_density[n_components] = float(distribution.log_prob(x_test).mean())
        draws = model.sample_y(np.array([[level]]), 20_000, random_state=seed)[0]
        branch_mass[n_components] = [
            float(np.mean(np.abs(draws - root) < BRANCH_HALF_WIDTH)) for root in roots
        ]
    return {"roots": roots, "log_density": log_density, "branch_mass": branch_mass}


def main() -> None:
    figures = inverse_problem_figures()
    roots = ", ".join(f"{root:.3f}" for root in figures["roots"])
    print("inverse problem: x from y, where y = x + 0.3 sin(2 pi x) + N(0, 0.05^2)")
    print(f"true solutions of f(x) = 0.5: x = {roots}")
    print(f"{'components':>10}  {'held-out log p(x|y)':>20}  mass within ±0.05 of each")
    single = figures["log_density"][1]
    for n_components, value in figures["log_density"].items():
        masses = "  ".join(f"{m:.3f}" for m in figures["branch_mass"][n_components])
        gain = value - single
        print(f"{n_components:>10}  {value:>12.4f} ({gain:+.3f})  {masses}")


if __name__ == "__main__":
    main()
