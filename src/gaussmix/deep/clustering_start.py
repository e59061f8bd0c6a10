"""The starting latent mixture of deep clustering.

The clusters are first found where they are easiest to see: in a
two-dimensional t-SNE embedding (van der Maaten & Hinton 2008) of the rows
themselves, reduced to their 50 leading principal components as is usual
before t-SNE and started from whichever of two layouts ends at the lower
t-SNE cost, where EM fits a mixture of compact blobs (and where the
embedding's neighbour graph falls into one piece per cluster, the pieces
are taken whole: :func:`pieces_as_clusters`). One M-step of the
core then moves these responsibilities onto each pretrained network's codes
(full covariances hold a partition there that diagonal ones blur), and the
network whose mixture gives the highest evidence lower bound is kept. The
alternative start fits EM to neighbour-smoothed codes of the networks, side
by side, over-clustered and merged.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from gaussmix.core.covariance import get_family
from gaussmix.core.mstep import DegenerateComponentWarning, RegCovarWarning, m_step
from gaussmix.deep import _common as common
from gaussmix.deep.variational import VariationalClusteringNetwork
from gaussmix.fit.chunks import responsibilities_stats
from gaussmix.models import GaussianMixture
from gaussmix.nn import GaussianMixtureDensity

if TYPE_CHECKING:
    # for annotations only: the estimator imports this module
    from gaussmix.deep.clustering import ClusteringSettings


#: A pretrained network and its curve of autoencoder losses.
Candidate = tuple[VariationalClusteringNetwork, list[float]]

#: Rows embedded by t-SNE at most: its cost grows as N log N with a large
#: constant, and a few thousand rows place the clusters' mixture as well.
MAX_EMBEDDED_ROWS = 10_000

#: Share of the codes' variance added to the starting prior's covariances.
START_REG_SHARE = 0.1

#: The codes' starting posterior variance, as a share of the smallest
#: variance of any starting component along any direction.
START_POSTERIOR_SHARE = 1.0

#: Principal components t-SNE sees: its neighbour distributions need only
#: the leading directions, and distances in 50 of them cost far less.
EMBEDDED_COMPONENTS = 50

#: Neighbours of each row in the graph whose Laplacian eigenmaps start the
#: second t-SNE run: a local graph, so that separate parts stay unlinked.
SPECTRAL_NEIGHBOURS = 10

#: t-SNE's usual perplexity, lowered for small data (it must stay well
#: below the number of rows for the neighbour distributions to differ).
PERPLEXITY = 30.0


def relative_reg_covar(values: np.ndarray) -> float:
    """``reg_covar`` for a mixture of ``values``: 1e-4 of their variance.

    Codes have no natural unit, so the regularisation follows their scale
    (floored so that constant codes still get a positive one).
    """
    return 1e-4 * max(float(values.var()), 1e-12)


def starting_network(
    candidates: list[Candidate],
    rows: torch.Tensor,
    neighbours: torch.Tensor | None,
    settings: ClusteringSettings,
    seed: int,
) -> Candidate:
    """Fit the starting mixture; return the pretrained network that keeps it.

    Parameters
    ----------
    candidates : list of (VariationalClusteringNetwork, list of float)
        The pretrained networks and their loss curves.
    rows : Tensor of shape (n_samples, n_features)
        The scaled training rows.
    neighbours : Tensor of shape (n_samples, n_neighbors + 1) or None
        Each row's index and its nearest rows'; None smooths nothing.
    settings : ClusteringSettings
        The estimator's validated hyperparameters (``init_method``,
        ``init_smoothing``, ``init_components``, ``n_clusters``, ``n_init``,
        ``covariance_type``).
    seed : int
        Seeds the embedding, the choice of embedded rows and the EM starts.

    Returns
    -------
    network, curve : VariationalClusteringNetwork, list of float
        The kept candidate, its prior set to its starting mixture.

    Notes
    -----
    ``init_method='tsne'`` embeds the rows (at most
    :data:`MAX_EMBEDDED_ROWS`, drawn at random) and fits ``init_components``
    (default ``n_clusters``) full-covariance components there;
    ``init_method='codes'`` puts the networks' codes side by side, each
    divided by its overall spread and averaged over its row's neighbours
    ``init_smoothing`` times, and fits ``init_components`` (default
    ``2 * n_clusters``) diagonal components. Either way the components are
    merged pairwise down to ``n_clusters`` (:func:`merge_components`).
    """
    values = rows.cpu().numpy()
    raw_codes = [_codes(network, values, rows.device) for network, _ in candidates]
    chosen = np.arange(len(values))
    if settings.init_method == "tsne":
        if len(values) > MAX_EMBEDDED_ROWS:
            draw = np.random.default_rng(seed)
            chosen = np.sort(draw.choice(len(values), MAX_EMBEDDED_ROWS, replace=False))
        embedded = tsne_embedding(leading_components(values[chosen], seed), seed)
        resp = partition(embedded, settings, seed, "full", settings.n_clusters)
        resp = pieces_as_clusters(embedded, resp)
    else:
        blocks = []
        for codes in raw_codes:
            smoothed = _smoothed(codes, neighbours, settings.init_smoothing)
            spread = max(float(smoothed.std()), 1e-12)
            blocks.append((smoothed - smoothed.mean(0)) / spread)
        resp = partition(
            np.hstack(blocks), settings, seed, "diag", 2 * settings.n_clusters
        )
    best, best_elbo = candidates[0], -np.inf
    for (network, curve), codes in zip(candidates, raw_codes, strict=True):
        set_prior(network, codes[chosen], resp, settings.covariance_type)
        if len(candidates) == 1:
            return network, curve
        # the bound that chooses scores the rows themselves, so the noise
        # variance is the rows' (pretraining kept a batch's, of neighbours)
        elbo = network.calibrated_elbo(rows).to("cpu", torch.float64).numpy()
        if np.mean(elbo) > best_elbo:
            best, best_elbo = (network, curve), float(np.mean(elbo))
    return best


def _codes(
    network: VariationalClusteringNetwork, values: np.ndarray, device: torch.device
) -> np.ndarray:
    network.eval()
    return common.batched(lambda x: network.encode(x)[0], values, device)


def _smoothed(
    codes: np.ndarray, neighbours: torch.Tensor | None, passes: int
) -> np.ndarray:
    if neighbours is None:
        return codes
    index = neighbours.cpu().numpy()
    for _ in range(passes):
        codes = codes[index].mean(1)
    return codes


def leading_components(values: np.ndarray, seed: int) -> np.ndarray:
    """The rows' coordinates on their leading principal axes (at most
    :data:`EMBEDDED_COMPONENTS`), what :func:`tsne_embedding` is given."""
    from sklearn.decomposition import PCA

    centred = np.asarray(values, dtype=np.float64) - values.mean(0)
    if min(centred.shape) <= EMBEDDED_COMPONENTS:
        return centred
    return PCA(EMBEDDED_COMPONENTS, random_state=seed).fit_transform(centred)


def tsne_embedding(values: np.ndarray, seed: int) -> np.ndarray:
    """Two-dimensional t-SNE of ``values`` (Barnes-Hut), the better of two starts.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_features)
    seed : int

    Returns
    -------
    ndarray of shape (n_samples, 2)

    Notes
    -----
    t-SNE's cost is not convex, and its start sets the embedding's global
    layout. It is run twice: from the rows' two principal axes (the usual
    start, which keeps their linear layout) and from the Laplacian
    eigenmaps (Belkin & Niyogi 2003) of their
    :data:`SPECTRAL_NEIGHBOURS`-nearest-neighbour graph, which place parts
    of the data that few neighbours link far apart. Two concentric rings,
    nested in every linear view of them, stay nested from the first start,
    where a mixture of blobs can only cut both in half; from the second they
    lie side by side. The embedding with the lower Kullback-Leibler
    divergence, t-SNE's own objective (both runs share the rows' affinities),
    is kept. Each start is scaled to a spread of 1e-4, as t-SNE's
    principal-axes start is.

    The perplexity is 30 (t-SNE's usual value) or, for fewer than 91 rows,
    a third of the other rows, so that each row's neighbour distribution
    stays local.
    """
    from sklearn.manifold import TSNE

    n_rows = len(values)
    if n_rows < 4 or values.shape[1] < 2 or np.ptp(values, axis=0).max() == 0.0:
        # too few rows for neighbour distributions, one feature (already a
        # line: nothing to flatten), or rows that are all the same (nothing
        # to embed): the values' leading axes
        return np.pad(values[:, :2], ((0, 0), (0, max(0, 2 - values.shape[1]))))
    values = np.asarray(values, dtype=np.float64)
    perplexity = min(PERPLEXITY, (n_rows - 1) / 3.0)
    maps = _eigenmaps(values, seed)
    best, lowest = None, np.inf
    for start in ("pca",) if maps is None else ("pca", maps):
        tsne = TSNE(2, perplexity=perplexity, init=start, random_state=seed)
        embedding = tsne.fit_transform(values)
        if tsne.kl_divergence_ < lowest:
            best, lowest = embedding, tsne.kl_divergence_
    return np.asarray(best, dtype=np.float64)


def _eigenmaps(values: np.ndarray, seed: int) -> np.ndarray | None:
    """Laplacian eigenmaps of the rows' nearest-neighbour graph, (N, 2),
    scaled as t-SNE scales its principal-axes start; None where the first
    map is flat (no layout to start from)."""
    from sklearn.manifold import SpectralEmbedding

    n_neighbors = min(SPECTRAL_NEIGHBOURS, len(values) - 1)
    with warnings.catch_warnings():
        # a graph in several pieces is what this start is for: the maps set
        # the pieces apart
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        maps = SpectralEmbedding(
            2,
            affinity="nearest_neighbors",
            n_neighbors=n_neighbors,
            random_state=seed,
        ).fit_transform(values)
    spread = float(np.std(maps[:, 0]))
    return maps * (1e-4 / spread) if spread > 0 else None


def partition(
    values: np.ndarray,
    settings: ClusteringSettings,
    seed: int,
    covariance_type: str,
    default_components: int,
) -> np.ndarray:
    """Responsibilities of ``n_clusters`` clusters of ``values``, (N, n_clusters).

    EM fits ``init_components`` (or ``default_components``) components of
    ``covariance_type``, best of ``n_init`` starts, merged pairwise down to
    ``n_clusters``.
    """
    reg_covar = relative_reg_covar(values)
    n_components = min(settings.init_components or default_components, len(values))
    mixture = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        n_init=settings.n_init,
        reg_covar=reg_covar,
        random_state=seed,
    )
    with warnings.catch_warnings():
        # a start, not the user's model: its reg_covar follows the embedding's
        # scale, a start that stops short of convergence is still a start,
        # and a component it repairs is reported by the trained model (as a
        # cluster left empty) if it matters there
        warnings.simplefilter("ignore", RegCovarWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        resp = mixture.fit(values).predict_proba(values)
    return merge_components(resp, values, settings.n_clusters, reg_covar)


def pieces_as_clusters(embedded: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """``resp``, or one cluster per piece where the embedding's neighbour
    graph falls into as many pieces as there are clusters and they agree.

    Parameters
    ----------
    embedded : ndarray of shape (n_samples, 2)
    resp : ndarray of shape (n_samples, n_clusters)
        The mixture's responsibilities on ``embedded``.

    Returns
    -------
    ndarray of shape (n_samples, n_clusters)
        ``resp`` unchanged, or each row's piece's cluster, one-hot.

    Notes
    -----
    A mixture of Gaussian blobs cuts a curved or elongated cluster where
    its blobs meet: two interleaved half circles lie apart in t-SNE's
    embedding as two arcs, and two components cut both arcs (0.83 accuracy
    on the panel's moons). Where the graph linking each row to its
    :data:`SPECTRAL_NEIGHBOURS` nearest rows of the embedding has exactly
    ``n_clusters`` connected pieces, and each piece and one cluster hold
    most of each other (the larger part of the piece's responsibilities
    goes to that cluster and the larger part of that cluster's lies in
    that piece, one cluster per piece), each piece becomes its cluster. A
    piece that would be a few outlying rows holds little of any cluster,
    and a piece holding several clusters' rows is the majority of none of
    them but one, so neither case matches and ``resp`` is kept.
    """
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import kneighbors_graph

    n_rows, n_clusters = resp.shape
    if n_clusters < 2 or n_rows <= SPECTRAL_NEIGHBOURS:
        return resp
    graph = kneighbors_graph(embedded, SPECTRAL_NEIGHBOURS)
    n_pieces, piece = connected_components(graph, directed=False)
    if n_pieces != n_clusters:
        return resp
    # mass[p, c]: responsibility of cluster c held by the rows of piece p
    mass = np.zeros((n_pieces, n_clusters))
    np.add.at(mass, piece, resp)
    cluster_of_piece = mass.argmax(axis=1)
    piece_of_cluster = mass.argmax(axis=0)
    mutual = piece_of_cluster[cluster_of_piece] == np.arange(n_pieces)
    if not mutual.all():
        return resp
    return np.eye(n_clusters)[cluster_of_piece[piece]]


def set_prior(
    network: VariationalClusteringNetwork,
    codes: np.ndarray,
    resp: np.ndarray,
    covariance_type: str,
) -> None:
    """Set ``network``'s prior to the M-step of ``resp`` on its ``codes``.

    One M-step of the core on this network's raw codes, so that its prior
    starts on its own codes' scale, with :data:`START_REG_SHARE` of the
    codes' variance added to every component's covariance: a component
    that starts thin along some direction loses its rows to a broader one
    as soon as the codes' posterior spread exceeds its own, and the joint
    training then empties it (on the breast_cancer panel data with the
    usual 1e-4 share, two clusters became one in 20 epochs on one seed of
    three; with a tenth none did, and the MNIST starts lost at most 0.01
    accuracy). The encoder's variance head, which the autoencoder
    pretraining never used, is reset so that every code's posterior
    variance starts at the smallest variance of any component along any
    direction (:data:`START_POSTERIOR_SHARE` of it). Left at its random
    start, it can exceed the components' own spread many times, and the
    bound's first steps then inflate and merge the components instead of
    moving the codes. Started far below it, the bound's entropy term then
    widens every code's posterior fast, and the thinnest component loses
    its rows while it does: on iris (20 seeds) a start at a hundredth of
    that variance gave accuracy 0.832 with a worst seed of 0.713, at the
    variance itself 0.854 and 0.847, with wine (0.967 and 0.968),
    breast_cancer (0.915 and 0.914) and digits (0.939 and 0.941, five
    seeds) level.
    """
    family = get_family(covariance_type)
    stats = responsibilities_stats(codes, resp, None, family.scatter_kind)
    params = m_step(
        stats, covariance_type, START_REG_SHARE * float(codes.var()) + 1e-12
    )
    mixture = GaussianMixture.from_params(
        params.weights,
        params.means,
        params.covariances,
        covariance_type=covariance_type,
    )
    fitted = GaussianMixtureDensity.from_estimator(mixture, dtype=torch.float64)
    network.prior.load_state_dict(fitted.to(torch.float32).state_dict())
    variances = family.full_covariances(params.covariances, *params.means.shape)
    thinnest = max(float(np.linalg.eigvalsh(variances).min()), 1e-12)
    with torch.no_grad():
        network.log_var_head.weight.zero_()
        network.log_var_head.bias.fill_(float(np.log(START_POSTERIOR_SHARE * thinnest)))


def merge_components(
    resp: np.ndarray, codes: np.ndarray, n_clusters: int, reg_covar: float
) -> np.ndarray:
    """Merge the columns of ``resp`` pairwise down to ``n_clusters``.

    Each step merges the two components whose union, refitted as one
    diagonal Gaussian to their rows (weighted by the summed
    responsibilities), loses the least classification log-likelihood:
    ``n_ab log|S_ab| - n_a log|S_a| - n_b log|S_b|``, the agglomeration
    criterion of model-based hierarchical clustering.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities, ``n_components >= n_clusters``; not modified.
    codes : ndarray of shape (n_samples, n_features)
        The rows the components are fitted to.
    n_clusters : int
        Columns left after merging.
    reg_covar : float
        Added to every variance, so that a component of one row (or of
        identical rows) has a finite cost.

    Returns
    -------
    merged : ndarray of shape (n_samples, n_clusters)
        Each column the sum of the columns merged into it; a merged pair
        is kept in the lower of its two columns.
    """
    resp = resp.copy()
    while resp.shape[1] > n_clusters:
        # each component's scatter about its own mean, from the core
        stats = responsibilities_stats(codes, resp, None, "diag")
        counts = np.maximum(stats.resp_sum, 1e-12)
        means, scatter = stats.means(), stats.scatter

        def cost(n: np.ndarray, squares: np.ndarray) -> np.ndarray:
            return n * np.log(squares / n[..., None] + reg_covar).sum(-1)

        # a pair's scatter about its common mean is the two scatters plus
        # the spread of the two means: a sum of positive terms, where
        # E[x^2] - mean^2 would cancel for components far from the origin
        pair_counts = counts[:, None] + counts[None, :]
        spread = (counts[:, None] * counts[None, :] / pair_counts)[..., None] * (
            means[:, None] - means[None, :]
        ) ** 2
        pair_scatter = scatter[:, None] + scatter[None, :] + spread
        own = cost(counts, scatter)
        costs = cost(pair_counts, pair_scatter) - own[:, None] - own
        # each pair once, so that rounding cannot choose between (a, b) and
        # (b, a): the lower column is kept
        costs[np.tril_indices_from(costs)] = np.inf
        a, b = np.unravel_index(np.argmin(costs), costs.shape)
        resp[:, a] += resp[:, b]
        resp = np.delete(resp, b, axis=1)
    return resp
