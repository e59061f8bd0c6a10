"""A start every fit can share, and the check that two fits are the same."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture


def shared_start(X, covariance_type: str, n_components: int = 4) -> dict:
    """weights_init, means_init and precisions_init from one short EM run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seed = GaussianMixture(
            n_components,
            covariance_type=covariance_type,
            max_iter=1,
            init_params="random_from_data",
            random_state=1,
        ).fit(X)
    return dict(
        weights_init=seed.weights_,
        means_init=seed.means_,
        precisions_init=seed.precisions_,
    )


def assert_same_fit(
    a: GaussianMixture, b: GaussianMixture, float32: bool = False
) -> None:
    """Same iterations, lower bound to 1e-10 and parameters to 1e-8.

    With ``float32``, fits whose sums may run in different orders agree to
    float32's accuracy: lower bound to 1e-6, parameters to 1e-4.
    """
    assert a.n_iter_ == b.n_iter_
    bound_rtol, rtol = (1e-6, 1e-4) if float32 else (1e-10, 1e-8)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=bound_rtol)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(
            getattr(a, name), getattr(b, name), rtol=rtol, atol=1e-12
        )


def assert_same_bits(a: GaussianMixture, b: GaussianMixture) -> None:
    """Same iterations, and every fitted number equal to the bit."""
    assert a.n_iter_ == b.n_iter_
    assert a.lower_bound_ == b.lower_bound_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
