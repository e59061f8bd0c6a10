"""
Classification: one mixture per class
=====================================

:class:`gaussmix.GaussianMixtureClassifier` fits a Gaussian mixture to each
class and classifies by Bayes' rule. With one full-covariance component per
class it is quadratic discriminant analysis; with several (here K is chosen
per class by BIC among 1 to 4) it follows classes of any shape, such as
scikit-learn's two moons.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

from gaussmix import GaussianMixtureClassifier

X, y = make_moons(n_samples=600, noise=0.2, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

models = {
    "one component per class (QDA)": GaussianMixtureClassifier(1),
    "K per class chosen by BIC": GaussianMixtureClassifier(
        [1, 2, 3, 4], random_state=0
    ),
}
xx, yy = np.meshgrid(np.linspace(-2, 3, 250), np.linspace(-1.5, 2, 200))
grid = np.column_stack([xx.ravel(), yy.ravel()])

fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
for ax, (title, clf) in zip(axes, models.items(), strict=True):
    clf.fit(X_train, y_train)
    accuracy = clf.score(X_test, y_test)
    print(f"{title}: test accuracy {accuracy:.3f}")
    proba = clf.predict_proba(grid)[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap="RdBu_r", edgecolor="k", s=18)
    ax.set(title=f"{title}\ntest accuracy {accuracy:.2f}", xlabel="x1", ylabel="x2")
plt.show()
