"""
The covariance models and their mclust names
============================================

Every mclust covariance model is a ``covariance_type``. The three letters
say whether the volume, the shape and the orientation of the components'
ellipsoids are Equal across components, Variable, or (for shape and
orientation) the Identity. scikit-learn's four types are four of them:
``spherical`` is VII, ``diag`` is VVI, ``tied`` is EEE and ``full`` is VVV.

The same data, fitted with six of the fourteen models, show what each
constraint allows.
"""

import matplotlib.pyplot as plt
import numpy as np

from gaussmix import GaussianMixture
from gaussmix.plot import plot_clusters

rng = np.random.default_rng(1)
X = np.vstack(
    [
        rng.multivariate_normal([0, 0], [[3.0, 2.2], [2.2, 2.0]], size=200),
        rng.multivariate_normal([6, 1], [[0.5, 0.0], [0.0, 0.5]], size=150),
        rng.multivariate_normal([2, 6], [[2.0, -1.0], [-1.0, 1.0]], size=150),
    ]
)

models = {
    "EII": "equal spheres",
    "VII": "spheres (spherical)",
    "VVI": "axis-aligned (diag)",
    "EEE": "one shared ellipse (tied)",
    "VEV": "equal shape",
    "VVV": "unconstrained (full)",
}

fig, axes = plt.subplots(2, 3, figsize=(13, 8), layout="constrained")
for ax, (name, meaning) in zip(axes.ravel(), models.items(), strict=True):
    gmm = GaussianMixture(3, covariance_type=name, random_state=0).fit(X)
    plot_clusters(gmm, X, ax=ax)
    ax.set_title(f"{name}: {meaning}\nBIC {gmm.bic(X):.0f}")
    print(f"{name}: BIC {gmm.bic(X):8.1f}")
plt.show()

# %%
# Lower BIC is better here (scikit-learn's sign). The unconstrained model
# wins on these data, whose three groups differ in volume, shape and
# orientation; :func:`gaussmix.select_model` compares every model and number
# of components at once (see the BIC example).
