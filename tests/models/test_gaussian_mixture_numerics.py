"""GaussianMixture on extreme but legal input: weights, outliers, far rows."""

import numpy as np
import pytest

from gaussmix import GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical", "EII", "VVI", "EEE", "VVV"]


def two_clusters(dtype=np.float64):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(40, 2), rng.randn(40, 2) + 4.0])
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scaling_all_weights_does_not_change_the_fit(covariance_type, dtype):
    X = two_clusters(dtype)
    weights = np.random.RandomState(1).uniform(0.5, 2.0, len(X))
    reference = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
        X, sample_weight=weights
    )
    tolerance = 1e-4 if dtype == np.float32 else 1e-9
    for factor in (1e-300, 1e-20, 1e20, 1e300):
        model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
            X, sample_weight=factor * weights
        )
        for name in ("weights_", "means_", "covariances_"):
            np.testing.assert_allclose(
                getattr(model, name),
                getattr(reference, name),
                rtol=tolerance,
                atol=tolerance,
                err_msg=f"{name} with weights x {factor}",
            )


@pytest.mark.parametrize("init_params", ["random_from_data", "k-means++", "random"])
def test_huge_weights_work_with_every_initialisation(init_params):
    X = two_clusters()
    weights = np.ones(len(X))
    reference = GaussianMixture(2, init_params=init_params, random_state=0).fit(
        X, sample_weight=weights
    )
    model = GaussianMixture(2, init_params=init_params, random_state=0).fit(
        X, sample_weight=1e307 * weights
    )
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-9)
    assert model.score(X, sample_weight=1e307 * weights) == pytest.approx(
        reference.score(X)
    )
