"""
Letting the data choose K: Bayesian mixtures
============================================

:class:`gaussmix.BayesianGaussianMixture` starts with more components than
needed; a small ``weight_concentration_prior`` (a Dirichlet-process prior on
the weights) switches the surplus ones off. :func:`gaussmix.plot.plot_weights`
shows the sorted weights and the threshold that counts a component as used.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import make_blobs

from gaussmix import BayesianGaussianMixture
from gaussmix.plot import plot_clusters, plot_weights

X, _ = make_blobs(
    n_samples=800,
    centers=[[-5, 0], [0, 5], [5, 0], [0, -4]],
    cluster_std=[1.0, 1.5, 0.7, 1.2],
    random_state=5,
)
bgm = BayesianGaussianMixture(
    n_components=10, weight_concentration_prior=1e-3, random_state=0
).fit(X)
print("components in use:", bgm.effective_n_components())

fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
plot_weights(bgm, threshold=0.01, ax=axes[0])
plot_clusters(bgm, X, ax=axes[1], min_weight=0.01)
axes[1].set_title("components of weight above 0.01")
plt.show()
