"""Plot tests draw with the Agg backend and close their figures."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def unit_circle(n: int = 24) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([np.cos(angles), np.sin(angles)])


def mahalanobis_radii(ellipse, mean, covariance) -> np.ndarray:
    """Mahalanobis radius of points on a drawn ellipse's outline.

    matplotlib's patch transform maps the unit circle onto the ellipse, so
    this measures the patch as matplotlib draws it.
    """
    outline = ellipse.get_patch_transform().transform(unit_circle())
    diff = outline - np.asarray(mean)
    solved = np.linalg.solve(covariance, diff.T).T
    return np.sqrt((diff * solved).sum(axis=1))


def renders_png(figure) -> bool:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue().startswith(b"\x89PNG")


def full_covariance(model, k: int) -> np.ndarray:
    """Component k's covariance matrix, rebuilt from scikit-learn's layouts."""
    cov, n_features = model.covariances_, model.means_.shape[1]
    return {
        "full": lambda: cov[k],
        "tied": lambda: cov,
        "diag": lambda: np.diag(cov[k]),
        "spherical": lambda: cov[k] * np.eye(n_features),
    }[model.covariance_type]()
