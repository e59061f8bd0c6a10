"""
Robust clustering: a noise component and Student-t components
=============================================================

Scattered outliers pull a Gaussian mixture: a component widens to cover
them, or one is spent on them. Two remedies:

* ``GaussianMixture(noise=True)`` adds a uniform noise component (mclust's
  ``noise``) that takes the rows no Gaussian explains;
* :class:`gaussmix.StudentMixture` fits multivariate t components, whose
  heavy tails absorb far rows; its trimmed k-means start leaves the farthest
  rows out of the start, and ``outlier_weights`` tells how much each row
  counted in the fit.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from sklearn.datasets import make_blobs

from gaussmix import GaussianMixture, StudentMixture
from gaussmix.plot import plot_clusters

X, _ = make_blobs(n_samples=900, centers=[[0, 0], [8, 0], [0, 8]], random_state=0)
X[:90] = np.random.default_rng(0).uniform(-25, 35, size=(90, 2))  # 10% noise

gmm = GaussianMixture(3, random_state=0).fit(X)
noisy = GaussianMixture(3, noise=True, random_state=0).fit(X)
tm = StudentMixture(3, random_state=0).fit(X)
print("Gaussian means:\n", np.round(gmm.means_, 2))
print("with a noise component:\n", np.round(noisy.means_, 2))
print(f"noise proportion: {noisy.noise_proportion_:.3f} (10% of the rows are noise)")
print("Student-t means:\n", np.round(tm.means_, 2))
print("degrees of freedom:", np.round(tm.degrees_of_freedom_, 2))

# %%
# Top left, the Gaussian fit spends a component on the noise and merges two
# groups. Top right, the noise component takes the scattered rows (grey,
# labelled -1 by ``predict``) and the three Gaussians sit on the groups.
# Bottom left, enlarged, the t components do the same (the far rows go to
# the heaviest-tailed one). Bottom right, each row's weight in the t fit on
# a logarithmic scale: the scattered rows count for little.

names = ["x1", "x2"]
fig, axes = plt.subplots(2, 2, figsize=(12, 10), layout="constrained")
plot_clusters(gmm, X, feature_names=names, ax=axes[0, 0])
axes[0, 0].set_title("GaussianMixture")

labels = noisy.predict(X)
plot_clusters(noisy, None, feature_names=names, ax=axes[0, 1])
axes[0, 1].scatter(*X[labels == -1].T, s=8, color="0.6", label="noise (-1)")
for k in range(3):
    axes[0, 1].scatter(*X[labels == k].T, s=5, alpha=0.6)
axes[0, 1].legend(loc="upper right")
axes[0, 1].set_title("GaussianMixture(noise=True)")

plot_clusters(tm, X, feature_names=names, ax=axes[1, 0])
axes[1, 0].set(xlim=(-5, 13), ylim=(-5, 13), title="StudentMixture (centre enlarged)")

weight = tm.outlier_weights(X)
order = np.argsort(weight)
points = axes[1, 1].scatter(
    X[order, 0], X[order, 1], c=weight[order], s=8, cmap="viridis", norm=LogNorm()
)
fig.colorbar(points, ax=axes[1, 1], label="outlier_weights (log scale)")
axes[1, 1].set(title="StudentMixture: far rows weigh little", xlabel="x1", ylabel="x2")
plt.show()
