"""
Gaussian mixture regression with an uncertainty band
====================================================

:class:`gaussmix.GaussianMixtureRegressor` fits one mixture to the inputs
and targets together and predicts from the conditional mixture of y given
x. ``predict(X, return_std=True)`` gives the conditional mean and standard
deviation; the deviation includes the spread between the components, so the
band widens where the noise grows.
"""

import matplotlib.pyplot as plt
import numpy as np

from gaussmix import GaussianMixtureRegressor

rng = np.random.default_rng(3)
x = rng.uniform(0, 10, 600)
noise = 0.1 + 0.08 * x  # the noise grows with x
y = np.sin(x) + noise * rng.standard_normal(600)

reg = GaussianMixtureRegressor(n_components=8, random_state=0).fit(x[:, None], y)
grid = np.linspace(0, 10, 400)
mean, std = reg.predict(grid[:, None], return_std=True)
print("held-out R² on fresh draws:", end=" ")
x_new = rng.uniform(0, 10, 400)
y_new = np.sin(x_new) + (0.1 + 0.08 * x_new) * rng.standard_normal(400)
print(f"{reg.score(x_new[:, None], y_new):.3f}")

fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
ax.scatter(x, y, s=6, color="0.6", label="data")
ax.fill_between(grid, mean - 2 * std, mean + 2 * std, alpha=0.3, label="mean ± 2 std")
ax.plot(grid, mean, lw=2, label="conditional mean")
ax.plot(grid, np.sin(grid), "k--", lw=1, label="sin(x)")
ax.set(xlabel="x", ylabel="y", title="GaussianMixtureRegressor, 8 components")
ax.legend(loc="lower left")
plt.show()
