"""Cluster built-in data with gaussmix and save a picture of the result.

Runs the scikit-learn quick-start program with only the import changed, then
clusters the iris measurements and draws the clusters with their covariance
ellipses.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse
from sklearn.datasets import load_iris
from sklearn.decomposition import PCA

from gaussmix import GaussianMixture


def draw_ellipses(ax, means, covariances, colors) -> None:
    for mean, cov, color in zip(means, covariances, colors, strict=False):
        values, vectors = np.linalg.eigh(cov)
        angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
        for n_std in (1.0, 2.0):
            width, height = 2.0 * n_std * np.sqrt(values[::-1])
            ax.add_patch(
                Ellipse(mean, width, height, angle=angle, fill=False, color=color)
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", default="gaussmix-demo.png")
    args = parser.parse_args()

    # the scikit-learn program, unchanged but for the import
    X = np.random.randn(100, 2)
    gmm = GaussianMixture(n_components=2, random_state=42)
    gmm.fit(X)
    labels = gmm.predict(X)

    iris = load_iris()
    Z = PCA(n_components=2).fit_transform(iris.data)
    model = GaussianMixture(n_components=3, random_state=0).fit(Z)
    iris_labels = model.predict(Z)
    print(f"iris: {model.n_iter_} iterations, converged={model.converged_}")
    print(f"average log-likelihood {model.score(Z):.4f}, BIC {model.bic(Z):.2f}")
    for k, (w, m) in enumerate(zip(model.weights_, model.means_, strict=False)):
        print(f"  component {k}: weight {w:.3f}, mean {np.round(m, 3)}")

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    axes[0].scatter(X[:, 0], X[:, 1], c=labels, cmap="viridis")
    axes[0].set_title("np.random.randn(100, 2), 2 components")
    colors = plt.cm.viridis(np.linspace(0, 1, 3))
    axes[1].scatter(Z[:, 0], Z[:, 1], c=colors[iris_labels], s=15)
    draw_ellipses(axes[1], model.means_, model.covariances_, colors)
    axes[1].set_title("iris (2 principal components), 3 components, 1σ/2σ")
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
