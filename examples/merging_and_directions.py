"""
Merging components, directions and the bootstrap LRT
====================================================

BIC chooses a mixture that fits the density well; a cluster that is not
Gaussian, such as the arc below, then takes several components.
:func:`gaussmix.merge_components` merges them two at a time, each time the
pair whose union lowers the entropy of the posterior probabilities most
(Baudry et al., 2010, mclust's ``clustCombi``); the elbow of the entropy
plot suggests the number of clusters.
:func:`gaussmix.dimension_reduction` (mclust's ``MclustDR``) finds the
directions that show the clusters, and :func:`gaussmix.bootstrap_lrt`
tests K against K + 1 components by a parametric bootstrap.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris

import gaussmix
from gaussmix.plot import (
    plot_bootstrap_lrt,
    plot_dimension_reduction,
    plot_merge_entropy,
)

rng = np.random.default_rng(1)
blobs = [rng.normal(centre, 0.7, (150, 2)) for centre in ([-6, 6], [6, 6])]
angle = rng.uniform(0, np.pi, 300)
radius = 5 + rng.normal(0, 0.35, 300)
arc = np.column_stack([radius * np.cos(angle), 1 - radius * np.sin(angle)])
X = np.vstack([*blobs, arc])

model = gaussmix.select_model(X, n_components=range(1, 8), covariance_types=["VVV"])
model = model.best_model
merged = gaussmix.merge_components(model, X)
print(merged)

# %%
# The BIC choice, the merged clusters and the entropy plots.

fig, axes = plt.subplots(2, 2, figsize=(10, 8), layout="constrained")
axes[0, 0].scatter(*X.T, c=model.predict(X), s=6, cmap="tab10")
axes[0, 0].set_title(f"BIC: {model.n_components} components")
n = merged.suggested_n_clusters
axes[0, 1].scatter(*X.T, c=merged.labels(n), s=6, cmap="tab10")
axes[0, 1].set_title(f"merged: {n} clusters")
plot_merge_entropy(merged, axes=axes[1])
plt.show()

# %%
# Iris on the first two directions of a three-component fit, and the
# bootstrap test of one against two components (19 samples, so the
# smallest possible p-value is 0.05).

iris = load_iris().data
fit = gaussmix.GaussianMixture(3, covariance_type="VEV", random_state=0).fit(iris)
dr = gaussmix.dimension_reduction(fit)
lrt = gaussmix.bootstrap_lrt(
    iris, "VVV", max_components=1, n_bootstrap=19, random_state=0
)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
plot_dimension_reduction(dr, iris, ax=axes[0])
plot_bootstrap_lrt(lrt, ax=axes[1])
plt.show()
