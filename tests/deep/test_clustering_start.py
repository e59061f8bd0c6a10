"""The starting latent mixture of deep clustering."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_circles, make_moons
from sklearn.metrics import adjusted_rand_score

from gaussmix import GaussianMixture

torch = pytest.importorskip("torch")

from gaussmix.deep.clustering_start import (  # noqa: E402
    START_POSTERIOR_SHARE,
    pieces_as_clusters,
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


def _arcs() -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles, far enough apart that no row's ten
    nearest rows cross between them, and their mixture's responsibilities."""
    X, arcs = make_moons(400, noise=0.03, random_state=0)
    resp = GaussianMixture(2, random_state=0).fit(X).predict_proba(X)
    return X, arcs, resp


def test_pieces_of_the_neighbour_graph_become_the_clusters():
    X, arcs, resp = _arcs()
    # two Gaussian blobs cut both arcs
    assert adjusted_rand_score(arcs, resp.argmax(1)) < 0.8
    pieces = pieces_as_clusters(X, resp)
    assert adjusted_rand_score(arcs, pieces.argmax(1)) == 1.0
    np.testing.assert_array_equal(pieces.sum(1), 1.0)
    # each piece keeps the cluster that holds most of it
    for arc in (0, 1):
        mine = arcs == arc
        assert pieces[mine].argmax(1)[0] == resp[mine].sum(0).argmax()


def test_rows_order_does_not_change_the_pieces():
    X, _, resp = _arcs()
    order = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_array_equal(
        pieces_as_clusters(X[order], resp[order]), pieces_as_clusters(X, resp)[order]
    )


def test_a_few_outlying_rows_are_not_made_a_cluster():
    # one blob cut in two by the mixture, and six rows far away: two pieces
    # for two clusters, but the far piece holds little of either cluster
    draw = np.random.default_rng(0)
    X = np.vstack([draw.normal(size=(300, 2)), 50.0 + draw.normal(size=(6, 2))])
    resp = np.zeros((306, 2))
    resp[np.arange(306), (X[:, 0] > 0).astype(int)] = 1.0
    np.testing.assert_array_equal(pieces_as_clusters(X, resp), resp)


def test_pieces_that_do_not_match_the_clusters_one_to_one_are_ignored():
    draw = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [30.0, 0.0], [60.0, 0.0]])
    X = np.vstack([c + draw.normal(size=(100, 2)) for c in centres])
    # three pieces but two clusters: nothing to match
    two = np.repeat(np.eye(2), [100, 200], axis=0)
    np.testing.assert_array_equal(pieces_as_clusters(X, two), two)
    # three pieces and three clusters, but one cluster spans two pieces and
    # the third piece is split between the other two clusters
    three = np.repeat(np.eye(3), [200, 50, 50], axis=0)
    np.testing.assert_array_equal(pieces_as_clusters(X, three), three)
