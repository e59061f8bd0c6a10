"""Data of the tests of rows far from every component."""

from __future__ import annotations

import numpy as np

#: Directions of rows far from every component, in three features.
FAR_DIRECTIONS = np.array([[1.0, 0.0, 0.0], [-1.0, 1.0, 0.5], [0.2, -0.3, 1.0]])


def two_clusters(dtype: type = np.float64) -> np.ndarray:
    """Sixty rows of three features, in two clusters five apart."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(5, 1, (30, 3))])
    return X.astype(dtype)


def assert_far_rows_go_to_the_mean_they_point_to(model) -> None:
    """A mixture of one shared covariance ``P^-1`` gives a far row to the
    component whose mean it points to.

    ``log p_k(t u) - log p_r(t u) = t (mu_k - mu_r)^T P u + const``: far
    out, the component with the largest ``mu_k^T P u`` takes the row
    outright, beyond float64's squares (1e155) as at its end (1e300).
    """
    precision = np.linalg.inv(model.get_covariances()[0])
    pull = FAR_DIRECTIONS @ precision @ model.means_.T
    expected = np.eye(len(model.means_))[np.argmax(pull, axis=1)]
    for far in (1e155, 1e300):
        np.testing.assert_array_equal(
            model.predict_proba(far * FAR_DIRECTIONS), expected
        )
