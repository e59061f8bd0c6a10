"""Minibatch training with early stopping (gaussmix.nn.training)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from gaussmix.nn.training import train  # noqa: E402


def _line_fit(monitor_of=None, max_epochs=20, n_iter_no_change=3):
    """A one-weight model trained to fit y = 3 x, from weight 0."""
    torch.manual_seed(0)
    module = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        module.weight.zero_()
    x = torch.linspace(-1.0, 1.0, 64).unsqueeze(1)
    y = 3.0 * x

    def loss(inputs, targets):
        return (module(inputs) - targets).pow(2).mean()

    result = train(
        module,
        loss,
        (x, y),
        None,
        learning_rate=0.1,
        weight_decay=0.0,
        batch_size=16,
        max_epochs=max_epochs,
        n_iter_no_change=n_iter_no_change,
        tol=0.0,
        generator=torch.Generator().manual_seed(0),
        monitor=None if monitor_of is None else (lambda: monitor_of(module)),
    )
    return module, result


def test_a_monitor_best_at_the_start_keeps_the_weights_given():
    # the monitor prefers the starting weight 0, which training leaves
    module, result = _line_fit(lambda module: float(module.weight.abs().sum()))
    assert result.start_loss == 0.0
    assert result.best_epoch == 0
    assert result.n_epochs == 3  # patience, counted from the start
    assert float(module.weight) == 0.0
    assert len(result.validation_losses) == result.n_epochs
    assert all(value > 0.0 for value in result.validation_losses)


def test_a_monitor_decides_which_epoch_is_kept():
    # the monitor prefers a weight near 1, which training passes on its way
    # to 3: the epoch nearest to 1 is kept, not the last
    module, result = _line_fit(
        lambda module: abs(float(module.weight) - 1.0), n_iter_no_change=20
    )
    best = min(range(result.n_epochs), key=result.validation_losses.__getitem__)
    assert result.best_epoch == best + 1
    assert abs(float(module.weight) - 1.0) == pytest.approx(
        result.validation_losses[best]
    )
    assert result.validation_losses[best] < result.start_loss


def test_without_a_monitor_there_is_no_start_loss():
    module, result = _line_fit()
    assert math.isnan(result.start_loss)
    assert result.best_epoch >= 1
    assert float(module.weight) == pytest.approx(3.0, abs=0.2)
