"""The training of deep clustering: pretrained autoencoders, then the joint bound.

Several autoencoders are pretrained from different starts, the starting
latent mixture picks one of them (:mod:`gaussmix.deep.clustering_start`), and
its encoder, decoder and mixture are then trained together by maximising the
evidence lower bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import torch

from gaussmix.deep import _common as common
from gaussmix.deep.clustering_start import starting_network
from gaussmix.deep.variational import VariationalClusteringNetwork
from gaussmix.nn.training import TrainingResult, steps_per_epoch, train

if TYPE_CHECKING:
    # for annotations only: the estimator imports this module
    from gaussmix.deep.clustering import ClusteringSettings


#: Distances computed at once when finding every row's neighbours.
NEIGHBOUR_BLOCK_ELEMENTS = 1 << 24

#: ``max_epochs='auto'``: this many epochs, or :data:`MIN_JOINT_STEPS` Adam
#: steps where epochs are shorter than
#: ``MIN_JOINT_STEPS / JOINT_EPOCHS`` batches.
JOINT_EPOCHS = 100
MIN_JOINT_STEPS = 1_500

#: ``n_iter_no_change='auto'``: this many epochs, or
#: :data:`MIN_PATIENCE_STEPS` Adam steps where epochs are shorter.
PATIENCE_EPOCHS = 10
MIN_PATIENCE_STEPS = 150


def joint_budget(
    max_epochs: int | str, n_iter_no_change: int | str, n_rows: int, batch_size: int
) -> tuple[int, int]:
    """Epochs of joint training at most, and of patience, for ``n_rows`` rows.

    An integer is taken as given. ``'auto'`` counts optimizer steps as well
    as epochs, because an epoch of a small table is only a few steps: 100
    epochs of the 178 wine rows in batches of 128 are 200 steps, and there
    the bound was still rising (from -16.6 to -15.3 nats per row, mean of
    ten seeds, with ten times as many epochs), while 100 epochs of the
    1,797 digits are 1,500. So ``'auto'`` is :data:`JOINT_EPOCHS` epochs
    (patience :data:`PATIENCE_EPOCHS`) or enough epochs for
    :data:`MIN_JOINT_STEPS` steps (patience :data:`MIN_PATIENCE_STEPS`),
    whichever is longer; data of at least 15 batches get the plain epochs.

    Examples
    --------
    >>> joint_budget("auto", "auto", n_rows=178, batch_size=128)
    (750, 75)
    >>> joint_budget("auto", "auto", n_rows=5_000, batch_size=128)
    (100, 10)
    >>> joint_budget(30, "auto", n_rows=178, batch_size=128)
    (30, 75)
    """
    batches = steps_per_epoch(n_rows, batch_size)

    def epochs(value: int | str, plain: int, steps: int) -> int:
        if value != "auto":
            return int(value)
        return max(plain, -(-steps // batches))

    return (
        epochs(max_epochs, JOINT_EPOCHS, MIN_JOINT_STEPS),
        epochs(n_iter_no_change, PATIENCE_EPOCHS, MIN_PATIENCE_STEPS),
    )


class TrainedClustering(NamedTuple):
    """The trained network and its loss curves.

    Attributes
    ----------
    network : VariationalClusteringNetwork
        In evaluation mode.
    pretrain_losses : list of float
        Autoencoder loss per epoch of the kept network's pretraining.
    losses : list of float
        Negative evidence lower bound per epoch of joint training (of the
        neighbour targets, one drawn code per row).
    bounds : list of float
        The rows' own evidence lower bound at their mean codes, average per
        row, before joint training and after each epoch.
    """

    network: VariationalClusteringNetwork
    pretrain_losses: list[float]
    losses: list[float]
    bounds: list[float]


def neighbours(rows: torch.Tensor, n_neighbors: int) -> torch.Tensor | None:
    """Each row's index and its ``n_neighbors`` nearest rows, (N, k + 1).

    None when ``n_neighbors`` is 0 (every row is its own target).
    """
    if n_neighbors == 0:
        return None
    if n_neighbors >= len(rows):
        raise ValueError(
            f"n_neighbors={n_neighbors} must be smaller than the number of rows "
            f"({len(rows)}); lower it."
        )
    # blocks of rows keep the distance matrix at NEIGHBOUR_BLOCK_ELEMENTS
    # numbers, not N^2; the row itself sorts first (distance 0) and stays a
    # target
    step = max(1, NEIGHBOUR_BLOCK_ELEMENTS // len(rows))
    return torch.cat(
        [
            torch.cdist(rows[start : start + step], rows)
            .topk(n_neighbors + 1, largest=False)
            .indices
            for start in range(0, len(rows), step)
        ]
    )


def train_clustering(
    build_network: Callable[[], VariationalClusteringNetwork],
    rows: torch.Tensor,
    settings: ClusteringSettings,
    seed: int,
) -> TrainedClustering:
    """Pretrain, pick the starting mixture, and train the kept network jointly.

    Parameters
    ----------
    build_network : callable
        Returns a new untrained network; its weights come from torch's
        global generator, which the caller seeds.
    rows : Tensor of shape (n_samples, n_features)
        The scaled training rows, on ``settings.device``.
    settings : ClusteringSettings
        The estimator's validated hyperparameters.
    seed : int
        Seeds the batches, the draws of targets and codes and the EM starts.

    Returns
    -------
    TrainedClustering
    """
    device = settings.device
    draws = common.seeded_generator(seed, device)
    near = neighbours(rows, settings.n_neighbors)

    def target(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if near is None:
            return x
        column = torch.randint(
            near.shape[1], (len(index),), generator=draws, device=device
        )
        return rows[near[index, column]]

    dropout = settings.input_dropout

    def corrupted(x: torch.Tensor) -> torch.Tensor:
        if not dropout:
            return x
        # torch's global generator, seeded for the fit like the weights
        kept = torch.rand_like(x) > dropout
        return x * kept / (1.0 - dropout)

    data = (rows, torch.arange(len(rows), device=device))
    options = {
        "learning_rate": settings.learning_rate,
        "weight_decay": 0.0,
        "batch_size": settings.batch_size,
        "verbose": settings.verbose,
    }

    def run(
        network: VariationalClusteringNetwork,
        loss: Any,
        epochs: int,
        patience: int | None = None,
        **more: Any,
    ) -> TrainingResult:
        if not epochs:
            return TrainingResult()
        return train(
            network,
            loss,
            data,
            None,
            max_epochs=epochs,
            n_iter_no_change=patience or epochs,
            **options,
            **more,
        )

    candidates = []
    for start in range(settings.n_autoencoders):
        network = build_network().to(device)

        def autoencoder_loss(
            x: torch.Tensor,
            index: torch.Tensor,
            network: VariationalClusteringNetwork = network,
        ) -> torch.Tensor:
            return network.autoencoder_loss(corrupted(x), target(x, index))

        curve = run(
            network,
            autoencoder_loss,
            settings.pretrain_epochs,
            tol=0.0,
            generator=torch.Generator().manual_seed(seed + start),
            description="autoencoder",
        ).train_losses
        candidates.append((network, curve))
    network, pretrain_curve = starting_network(candidates, rows, near, settings, seed)

    def negative_elbo(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return -network.elbo(x, draws, target(x, index)).mean()

    def negative_rows_bound() -> float:
        bounds = network.calibrated_elbo(rows)
        total = sum(
            float(block.sum()) for block in torch.split(bounds, common.PREDICT_BATCH)
        )
        return -total / len(rows)

    max_epochs, patience = joint_budget(
        settings.max_epochs, settings.n_iter_no_change, len(rows), settings.batch_size
    )
    # the loss trains on neighbour targets, a means to codes that keep
    # neighbourhoods together; the rows' own bound is the model's objective
    # (what lower_bound_ reports) and decides when to stop and which
    # weights to keep. The two can part: on the panel's rings and digits
    # the rows' bound was highest at the start and joint training lowered
    # it, while it rose on every small table
    joint = run(
        network,
        negative_elbo,
        max_epochs,
        patience,
        tol=settings.tol,
        generator=torch.Generator().manual_seed(seed),
        description="deep clustering",
        monitor=negative_rows_bound,
    )
    network.eval()
    if max_epochs:
        # the kept weights' state holds the noise variance calibrated when
        # the monitor scored them
        bounds = [-value for value in [joint.start_loss, *joint.validation_losses]]
    else:
        bounds = [-negative_rows_bound()]
    return TrainedClustering(network, pretrain_curve, joint.train_losses, bounds)
