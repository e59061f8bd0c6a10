"""
Missing values
==============

A table with holes needs neither complete-case deletion nor imputation
before the fit: ``GaussianMixture`` takes NaN as "missing" and EM
marginalises them, so each row counts through its observed values.
``impute`` then fills each hole with its conditional mean under the
mixture, or with draws from the conditional mixture for multiple
imputation.

Here a fifth of the cells of the (standardised) wine data are removed at
random. The mixture fitted with the holes imputes them with a smaller
error than the column means, and its draws spread about the truth: the
right panel shows, for one column, the removed values against their
conditional means, with the spread of ten draws.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

from gaussmix import GaussianMixture

X = StandardScaler().fit_transform(load_wine().data)
rng = np.random.default_rng(0)
holes = rng.uniform(size=X.shape) < 0.2
holes[holes.all(axis=1), 0] = False  # every row keeps a value
holed = np.where(holes, np.nan, X)

gmm = GaussianMixture(n_components=2, reg_covar=1e-2, random_state=0).fit(holed)
print(f"observed-data log-likelihood per row: {gmm.score(holed):.3f}")
print(f"BIC with the observed values: {gmm.bic(holed):.1f}")

filled = gmm.impute(holed)
draws = gmm.impute(holed, n_draws=10, random_state=0)  # (10, n, D)
column_means = np.nanmean(holed, axis=0)
mixture_error = np.sqrt(np.mean((filled[holes] - X[holes]) ** 2))
mean_error = np.sqrt(np.mean((column_means[np.nonzero(holes)[1]] - X[holes]) ** 2))
print(f"imputation RMSE: mixture {mixture_error:.3f}, column means {mean_error:.3f}")

column = 6  # flavanoids
rows = np.flatnonzero(holes[:, column])
spread = draws[:, rows, column].std(axis=0)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
axes[0].bar(["column means", "mixture"], [mean_error, mixture_error])
axes[0].set(title="error of the filled cells (RMSE)", ylabel="standardised units")
axes[1].errorbar(
    X[rows, column], filled[rows, column], yerr=spread, fmt="o", ms=4, alpha=0.7
)
low, high = X[:, column].min(), X[:, column].max()
axes[1].plot([low, high], [low, high], color="grey", lw=1)
axes[1].set(
    title="flavanoids: removed values and their imputations",
    xlabel="removed value",
    ylabel="conditional mean (bars: spread of 10 draws)",
)
plt.show()
