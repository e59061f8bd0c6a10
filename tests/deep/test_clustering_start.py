"""The starting latent mixture of deep clustering."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_circles
from sklearn.metrics import adjusted_rand_score

from gaussmix import GaussianMixture

torch = pytest.importorskip("torch")

from gaussmix.deep.clustering_start import (  # noqa: E402
    START_POSTERIOR_SHARE,
    set_prior,
    tsne_embedding,
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


@pytest.mark.parametrize("seed", [0, 1])
def test_tsne_lays_concentric_rings_side_by_side(seed):
    # nested in every linear view: started from the principal axes alone,
    # t-SNE keeps them nested and a mixture of two blobs halves both rings
    X, rings = make_circles(400, noise=0.05, factor=0.4, random_state=0)
    embedding = tsne_embedding(X, seed)
    blobs = GaussianMixture(2, random_state=0).fit(embedding).predict(embedding)
    assert adjusted_rand_score(rings, blobs) > 0.95


def test_tsne_embedding_of_rows_on_one_line_is_finite():
    # a graph whose eigenmaps may be flat in one direction: no layout is lost
    values = np.repeat(np.linspace(0.0, 1.0, 40)[:, None], 2, axis=1)
    embedding = tsne_embedding(values, seed=0)
    assert embedding.shape == (40, 2) and np.all(np.isfinite(embedding))
