"""
Mixture density network: Bishop's inverse problem
=================================================

The forward map ``x = t + 0.3 sin(2πt) + noise`` is a function, but its
inverse is not: for x near 0.5 three values of t fit. A least-squares
network predicts their average, which is not a solution; a mixture density
network (:class:`gaussmix.nn.MixtureDensityRegressor`) predicts the whole
conditional density p(t | x), and its modes follow the branches.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import PowerNorm

from gaussmix.nn import MixtureDensityRegressor

torch.manual_seed(0)
torch.set_num_threads(1)


def bishop_data(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x = t + 0.3 sin(2πt) + U(-0.1, 0.1) for t ~ U(0, 1); returns (x, t)."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(0.0, 1.0, n_samples)
    x = t + 0.3 * np.sin(2.0 * np.pi * t) + rng.uniform(-0.1, 0.1, n_samples)
    return x[:, None], t


x, t = bishop_data(1500, seed=0)
x_test, t_test = bishop_data(1000, seed=1)
small = {"hidden_layer_sizes": (32, 32), "max_epochs": 400, "random_state": 0}
mdn = MixtureDensityRegressor(3, **small).fit(x, t)
gaussian = MixtureDensityRegressor(1, **small).fit(x, t)
print("held-out average log-likelihood of t given x:")
print(f"  MDN, 3 components:  {mdn.score(x_test, t_test):.3f}")
print(f"  Gaussian network:   {gaussian.score(x_test, t_test):.3f}")

# %%
# The density on a grid: ``predict_distribution`` returns one mixture per
# row of x, a batch that indexes like a tensor, so pairing every grid value
# of t with every grid value of x evaluates the whole image at once.

grid_x = np.linspace(x.min(), x.max(), 200)[:, None]
grid_t = torch.linspace(-0.1, 1.1, 200, dtype=torch.float64)
distribution = mdn.predict_distribution(grid_x)
rows = torch.arange(len(grid_x)).repeat(len(grid_t))
targets = grid_t.repeat_interleave(len(grid_x))[:, None]
density = distribution[rows].log_prob(targets).exp().reshape(200, 200).numpy()
weights = distribution.weights.numpy()
component_means = distribution.means[..., 0].numpy()

fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), layout="constrained")
axes[0].scatter(x[:, 0], t, s=3, alpha=0.3, color="grey", label="data")
axes[0].plot(grid_x, gaussian.predict(grid_x), "r-", label="least-squares mean")
axes[0].plot(grid_x, mdn.predict_mode(grid_x), "b.", ms=3, label="MDN mode")
axes[0].set(xlabel="x", ylabel="t", title="predictions")
axes[0].legend(loc="upper left")
axes[1].imshow(
    density,
    origin="lower",
    aspect="auto",
    extent=(grid_x[0, 0], grid_x[-1, 0], -0.1, 1.1),
    cmap="viridis",
    norm=PowerNorm(0.5, vmin=0, vmax=np.quantile(density, 0.995)),
)
axes[1].set(xlabel="x", ylabel="t", title="p(t | x) (square-root colour scale)")
for k in range(weights.shape[1]):
    (line,) = axes[2].plot(grid_x, weights[:, k], label=f"weight {k}")
    axes[2].plot(grid_x, component_means[:, k], "--", color=line.get_color())
axes[2].set(xlabel="x", title="mixing weights (solid), component means (dashed)")
axes[2].legend(fontsize="small")
plt.show()
