"""
Density estimation
==================

A mixture is a density: ``score_samples`` returns ``log p(x)`` for each row
and ``sample`` draws new rows. Here a ring-shaped cloud, which no single
Gaussian fits, is approximated by twelve components;
:func:`gaussmix.plot.plot_density` draws the log-density's contours over the
data, and the draws of the fitted model are shown beside.
"""

import matplotlib.pyplot as plt
import numpy as np

from gaussmix import GaussianMixture
from gaussmix.plot import plot_density

rng = np.random.default_rng(2)
angle = rng.uniform(0, 2 * np.pi, 800)
radius = 3 + 0.3 * rng.standard_normal(800)
ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
blob = rng.normal([0, 0], 0.5, size=(200, 2))
X = np.vstack([ring, blob])

gmm = GaussianMixture(n_components=12, random_state=0).fit(X)
print(f"average log-likelihood: {gmm.score(X):.3f}")

draws, components = gmm.sample(1000)

fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained", sharey=True)
# contours every half unit of log-density, from the peak down seven units
peak = np.ceil(gmm.score_samples(X).max())
plot_density(
    gmm,
    X,
    levels=np.arange(peak - 7, peak + 0.25, 0.5),
    feature_names=["x1", "x2"],
    ax=axes[0],
)
axes[0].set_title("log-density of the fitted mixture")
axes[1].scatter(draws[:, 0], draws[:, 1], s=4, c=components, cmap="tab20")
axes[1].set(title="1000 draws, coloured by component", xlabel="x1", aspect="equal")
plt.show()
