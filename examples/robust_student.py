"""
Robust clustering with Student-t components
===========================================

Scattered outliers pull a Gaussian mixture: a component widens to cover
them, or one is spent on them. :class:`gaussmix.StudentMixture` fits
multivariate t components, whose heavy tails absorb far rows, and its
default trimmed k-means start leaves the farthest rows out of the start.
``outlier_weights`` tells how much each row counted in the fit.
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
tm = StudentMixture(3, random_state=0).fit(X)
print("Gaussian means:\n", np.round(gmm.means_, 2))
print("Student-t means:\n", np.round(tm.means_, 2))
print("degrees of freedom:", np.round(tm.degrees_of_freedom_, 2))

# %%
# Left, the Gaussian fit spends a component on the noise and merges two
# groups. Middle, enlarged, the t components sit on the three groups (the
# rows far away go to the heaviest-tailed one). Right, each row's weight in
# the fit on a logarithmic scale: the scattered rows count for little.

names = ["x1", "x2"]
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), layout="constrained")
plot_clusters(gmm, X, feature_names=names, ax=axes[0])
axes[0].set_title("GaussianMixture")
plot_clusters(tm, X, feature_names=names, ax=axes[1])
axes[1].set(xlim=(-5, 13), ylim=(-5, 13), title="StudentMixture (centre enlarged)")
weight = tm.outlier_weights(X)
order = np.argsort(weight)
points = axes[2].scatter(
    X[order, 0], X[order, 1], c=weight[order], s=8, cmap="viridis", norm=LogNorm()
)
fig.colorbar(points, ax=axes[2], label="outlier_weights (log scale)")
axes[2].set(title="far rows weigh little", xlabel="x1", ylabel="x2")
plt.show()
