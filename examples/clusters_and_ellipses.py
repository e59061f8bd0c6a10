"""
Clusters and their ellipses
===========================

Three elongated groups in the plane, fitted by a three-component mixture
with full covariance matrices (mclust's ``VVV``). :func:`gaussmix.plot.plot_clusters`
colours each point by its likeliest component and draws every component's
1σ and 2σ ellipses; :func:`gaussmix.plot.plot_uncertainty` shows where the
assignment is doubtful (one minus the largest posterior probability), which
is where the groups touch.
"""

import matplotlib.pyplot as plt
import numpy as np

from gaussmix import GaussianMixture
from gaussmix.plot import plot_clusters, plot_uncertainty

rng = np.random.default_rng(0)


def group(n, mean, cov):
    return rng.multivariate_normal(mean, cov, size=n)


X = np.vstack(
    [
        group(250, [0.0, 0.0], [[2.0, 1.5], [1.5, 2.0]]),
        group(200, [5.0, 1.0], [[0.4, -0.3], [-0.3, 1.2]]),
        group(150, [2.0, 5.0], [[2.5, 0.0], [0.0, 0.3]]),
    ]
)

gmm = GaussianMixture(n_components=3, covariance_type="full", random_state=0)
gmm.fit(X)
print("weights:", np.round(gmm.weights_, 3))
print("means:\n", np.round(gmm.means_, 2))

# %%
# Each point takes the colour of its likeliest component; the ellipses have
# axes ``2 * n_std * sqrt(eigenvalue)`` along the covariance's eigenvectors.

fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
plot_clusters(gmm, X, feature_names=["x1", "x2"], ax=axes[0])
axes[0].set_title("classification with 1σ and 2σ ellipses")
plot_uncertainty(gmm, X, feature_names=["x1", "x2"], ax=axes[1])
axes[1].set_title("uncertainty: 1 - max posterior")
plt.show()
