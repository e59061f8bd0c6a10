"""The starting latent mixture of deep clustering.

EM fits an over-clustered mixture to the neighbour-smoothed codes of several
pretrained autoencoders side by side; its components are merged pairwise
down to the number of clusters; one M-step of the core then moves the
responsibilities onto each network's raw codes, and the network whose
mixture gives the highest evidence lower bound is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from gaussmix.core.covariance import get_family
from gaussmix.core.mstep import m_step
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
        The estimator's validated hyperparameters (``init_smoothing``,
        ``init_components``, ``n_clusters``, ``n_init``,
        ``covariance_type``).
    seed : int
        Seeds the EM starts.

    Returns
    -------
    network, curve : VariationalClusteringNetwork, list of float
        The kept candidate, its prior set to its starting mixture.

    Notes
    -----
    EM runs on the codes of all networks side by side (each
    neighbour-smoothed and divided by its overall spread), with
    ``init_components`` components merged down to ``n_clusters``
    (:func:`merge_components`).
    """
    raw_codes, blocks = [], []
    for network, _ in candidates:
        network.eval()
        codes = common.batched(
            lambda x, network=network: network.encode(x)[0],
            rows.cpu().numpy(),
            rows.device,
        )
        smoothed = codes
        if neighbours is not None:
            index = neighbours.cpu().numpy()
            for _ in range(settings.init_smoothing):
                smoothed = smoothed[index].mean(1)
        spread = max(float(smoothed.std()), 1e-12)
        raw_codes.append(codes)
        blocks.append((smoothed - smoothed.mean(0)) / spread)
    stacked = np.hstack(blocks)
    reg_covar = relative_reg_covar(stacked)
    n_components = min(
        settings.init_components or 2 * settings.n_clusters, len(stacked)
    )
    resp = (
        GaussianMixture(
            n_components,
            covariance_type="diag",
            n_init=settings.n_init,
            reg_covar=reg_covar,
            random_state=seed,
        )
        .fit(stacked)
        .predict_proba(stacked)
    )
    resp = merge_components(resp, stacked, settings.n_clusters, reg_covar)
    best, best_elbo = candidates[0], -np.inf
    for (network, curve), codes in zip(candidates, raw_codes, strict=True):
        set_prior(network, codes, resp, settings.covariance_type)
        if len(candidates) == 1:
            return network, curve
        elbo = common.batched(network.elbo, rows.cpu().numpy(), rows.device)
        if np.mean(elbo) > best_elbo:
            best, best_elbo = (network, curve), float(np.mean(elbo))
    return best


def set_prior(
    network: VariationalClusteringNetwork,
    codes: np.ndarray,
    resp: np.ndarray,
    covariance_type: str,
) -> None:
    """Set ``network``'s prior to the M-step of ``resp`` on its ``codes``.

    One M-step of the core on this network's raw codes, so that its prior
    starts on its own codes' scale.
    """
    family = get_family(covariance_type)
    stats = responsibilities_stats(codes, resp, None, family.scatter_kind)
    params = m_step(stats, covariance_type, relative_reg_covar(codes))
    mixture = GaussianMixture.from_params(
        params.weights,
        params.means,
        params.covariances,
        covariance_type=covariance_type,
    )
    fitted = GaussianMixtureDensity.from_estimator(mixture, dtype=torch.float64)
    network.prior.load_state_dict(fitted.to(torch.float32).state_dict())


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
