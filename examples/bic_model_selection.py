"""
Choosing the model and K by BIC
===============================

:func:`gaussmix.select_model` fits every covariance model for every number
of components, each from mclust's model-based hierarchical start, and keeps
the best by BIC. :func:`gaussmix.plot.plot_bic` draws one curve per model;
``convention="mclust"`` draws them with mclust's sign, higher is better.

Fisher's iris measurements are the classic case: BIC prefers two
components (setosa, and the overlapping versicolor and virginica).
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_iris

import gaussmix
from gaussmix.plot import plot_bic, plot_clusters

X = load_iris().data
result = gaussmix.select_model(
    X, n_components=range(1, 7), covariance_types=["EII", "VII", "EEE", "VEV", "VVV"]
)
print(result.summary())

# %%
# The curves: BIC against the number of components, one line per model.

fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
plot_bic(result, convention="mclust", ax=axes[0])
axes[0].set_title("BIC (mclust's sign: higher is better)")
plot_clusters(
    result.best_model,
    X,
    dims=(2, 3),
    feature_names=load_iris().feature_names,
    ax=axes[1],
)
axes[1].set_title("the chosen model, petal measurements")
plt.show()

# %%
# ``result.bic`` holds the same numbers with scikit-learn's sign (lower is
# better), one row per model and one column per K.
print(result.bic.shape)
