"""Minibatch training with early stopping, shared by the torch estimators."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

logger = logging.getLogger("gaussmix")

LossFunction = Callable[..., torch.Tensor]


@dataclass
class TrainingResult:
    """What a training run did.

    Attributes
    ----------
    n_epochs : int
        Epochs run.
    train_losses : list of float
        Average training loss of each epoch.
    validation_losses : list of float
        Validation loss (or the monitored loss) after each epoch; empty
        without either.
    start_loss : float
        The monitored loss of the weights given, before the first epoch;
        NaN without a monitor.
    best_epoch : int
        The epoch (1-based) whose weights were kept; 0 when a monitor
        found none better than the weights given.
    stopped_early : bool
    """

    n_epochs: int = 0
    train_losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    start_loss: float = math.nan
    best_epoch: int = 0
    stopped_early: bool = False


def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    """Optimizer steps :func:`train` takes per epoch: its batches, the last
    one short.

    Examples
    --------
    >>> steps_per_epoch(178, 128), steps_per_epoch(256, 128)
    (2, 2)
    """
    return -(-n_rows // batch_size)


def _batches(
    n_rows: int, batch_size: int, generator: torch.Generator
) -> list[torch.Tensor]:
    order = torch.randperm(n_rows, generator=generator)
    return list(torch.split(order, batch_size))


def evaluate(
    loss: LossFunction, data: Sequence[torch.Tensor], batch_size: int
) -> float:
    """Row-weighted average of ``loss`` over ``data`` in batches, without grad."""
    total, n_rows = 0.0, data[0].shape[0]
    with torch.no_grad():
        for start in range(0, n_rows, batch_size):
            batch = [t[start : start + batch_size] for t in data]
            total += float(loss(*batch)) * batch[0].shape[0]
    return total / n_rows


def train(
    module: nn.Module,
    loss: LossFunction,
    train_data: Sequence[torch.Tensor],
    validation_data: Sequence[torch.Tensor] | None,
    *,
    learning_rate: float,
    weight_decay: float,
    batch_size: int,
    max_epochs: int,
    n_iter_no_change: int,
    tol: float,
    generator: torch.Generator,
    verbose: int = 0,
    description: str = "training",
    monitor: Callable[[], float] | None = None,
) -> TrainingResult:
    """Train ``module`` with Adam on minibatches of ``train_data``.

    ``loss(*batch)`` is the average loss of a batch (tensors of the same
    rows). After each epoch the monitored loss (``monitor()`` if given,
    else the validation loss if ``validation_data`` is given, else the
    epoch's training loss) is compared with the best so far: after
    ``n_iter_no_change`` epochs without an improvement of more than
    ``tol``, training stops and the best weights are restored.

    ``monitor`` scores the whole module in evaluation mode, without
    gradients; it is also scored before the first epoch, so the weights
    returned are never worse by it than those given. It is for a training
    loss that is only a means to the objective that matters.

    Shuffling uses ``generator`` (a CPU generator), so a run is repeatable
    on the CPU from the same seed and initial weights.
    """
    optimizer = torch.optim.Adam(
        module.parameters(), lr=learning_rate, weight_decay=weight_decay
    )
    result = TrainingResult()
    best_loss, best_state, stale = math.inf, None, 0
    if monitor is not None:
        module.eval()
        with torch.no_grad():
            best_loss = result.start_loss = float(monitor())
        best_state = copy.deepcopy(module.state_dict())
    n_rows = train_data[0].shape[0]
    level = logging.INFO if verbose >= 2 else logging.DEBUG
    bar = None
    if verbose >= 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_epochs, desc=description, unit="epoch", leave=False)
    try:
        for epoch in range(1, max_epochs + 1):
            module.train()
            total = 0.0
            for rows in _batches(n_rows, batch_size, generator):
                batch = [t[rows.to(t.device)] for t in train_data]
                optimizer.zero_grad()
                value = loss(*batch)
                if not torch.isfinite(value):
                    raise FloatingPointError(
                        f"the training loss became {float(value)} at epoch {epoch}; "
                        "lower learning_rate or scale the data."
                    )
                value.backward()
                optimizer.step()
                total += float(value.detach()) * rows.shape[0]
            module.eval()
            result.train_losses.append(total / n_rows)
            monitored = result.train_losses[-1]
            if monitor is not None:
                with torch.no_grad():
                    monitored = float(monitor())
                result.validation_losses.append(monitored)
            elif validation_data is not None:
                monitored = evaluate(loss, validation_data, max(batch_size, 1024))
                result.validation_losses.append(monitored)
            result.n_epochs = epoch
            if monitored < best_loss - tol:
                best_loss, stale, result.best_epoch = monitored, 0, epoch
                best_state = copy.deepcopy(module.state_dict())
            else:
                stale += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    loss=f"{result.train_losses[-1]:.4f}", best=f"{best_loss:.4f}"
                )
            logger.log(
                level,
                "%s epoch %d: train loss %.6g, monitored %.6g",
                description,
                epoch,
                result.train_losses[-1],
                monitored,
            )
            if stale >= n_iter_no_change:
                result.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    return result
