"""The starting latent mixture of deep clustering."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gaussmix.deep.clustering_start import (  # noqa: E402
    START_POSTERIOR_SHARE,
    set_prior,
)
from gaussmix.deep.networks import mlp  # noqa: E402
from gaussmix.deep.variational import VariationalClusteringNetwork  # noqa: E402


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_codes_start_as_wide_as_the_thinnest_component(covariance_type):
    torch.manual_seed(0)
    network = VariationalClusteringNetwork(
        mlp((3, 8)),
        mlp((2, 3), final_activation=False),
        8,
        2,
        2,
        covariance_type,
        "gaussian",
    )
    draw = np.random.default_rng(0)
    # two groups, one of them thin along the second axis
    codes = np.vstack(
        [draw.normal(size=(30, 2)), draw.normal(5.0, [1.0, 0.05], size=(30, 2))]
    )
    resp = np.repeat(np.eye(2), 30, axis=0)
    set_prior(network, codes, resp, covariance_type)
    with torch.no_grad():
        covariances = network.prior.covariances.double().numpy()
        _, log_var = network.encode(torch.randn(6, 3))
    if covariance_type == "full":
        thinnest = np.linalg.eigvalsh(covariances).min()
    else:
        thinnest = covariances.min()
    np.testing.assert_allclose(
        log_var.exp().numpy(), START_POSTERIOR_SHARE * thinnest, rtol=1e-5
    )
