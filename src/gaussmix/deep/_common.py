"""What the deep estimators share: seeds, devices, input checks, plain state.

Fitted torch modules are kept as *plain state*: a dict of numpy arrays
(``network_state_``) that any file format can store. Each estimator rebuilds
its modules from its hyperparameters and ``n_features_in_`` with
``_build_networks()`` and loads that state into them on first use.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from gaussmix._typing import Array, RandomStateLike
from gaussmix.models import validation as check
from gaussmix.models.tensors import check_device

#: Rows per forward pass when scoring.
PREDICT_BATCH = 4096


@dataclass(frozen=True)
class NetworkSettings:
    """What every deep estimator's validated hyperparameters hold.

    Each estimator extends it with its own values, validated once per use
    by its ``_settings()``.
    """

    device: torch.device
    verbose: int


def draw_seed(random_state: RandomStateLike) -> int:
    """One integer seed for torch from scikit-learn's ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def resolve_device(device: Any) -> torch.device:
    """``device`` as a ``torch.device``, None meaning the CPU."""
    return check_device("cpu" if device is None else device)


def seeded_generator(seed: int, device: torch.device) -> torch.Generator:
    """A generator on ``device``, so that draws there are repeatable."""
    return torch.Generator(device=device).manual_seed(seed)


@contextlib.contextmanager
def seeded_torch(seed: int, device: torch.device) -> Iterator[None]:
    """Torch's global generators seeded inside, and restored afterwards.

    Initial weights and dropout masks come from the global generators;
    forking them keeps a fit repeatable without changing the caller's
    random stream.
    """
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        # the CPU's generator and the fit's own GPU only: torch.manual_seed
        # would reseed every GPU, which the fork does not restore
        torch.random.default_generator.manual_seed(seed)
        if devices:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def check_rows(estimator: Any, X: Array, *, reset: bool) -> np.ndarray:
    """A finite 2-D float array; names the shape problem and the fix.

    A fit needs two rows (a scale to learn); scoring takes any number.
    """
    if hasattr(X, "ndim") and X.ndim != 2:
        raise ValueError(
            f"{type(estimator).__name__} expects a 2-D array (n_samples, "
            f"n_features), got shape {tuple(X.shape)}; flatten each sample to "
            "one row, for example X.reshape(len(X), -1)."
        )
    if torch.is_tensor(X):
        X = X.detach().cpu().numpy()
    return validate_data(
        estimator,
        X,
        reset=reset,
        dtype=[np.float64, np.float32],
        ensure_min_samples=2 if reset else 1,
    )


def as_tensor(values: np.ndarray, device: torch.device) -> torch.Tensor:
    """float32 rows on ``device`` (networks train in float32).

    Values beyond float32's range become infinite; what the networks make
    of them is checked where it is returned (:func:`refuse_unrepresentable`).
    """
    with np.errstate(over="ignore"):
        rows = np.asarray(values, dtype=np.float32)
    return torch.as_tensor(rows, device=device)


def module_device(module: nn.Module) -> torch.device:
    """The device of ``module``'s weights (all on one device)."""
    return next(module.parameters()).device


def state_to_numpy(module: nn.Module) -> dict[str, np.ndarray]:
    """A module's state dict as numpy arrays (a copy, on the host)."""
    return {
        name: value.detach().cpu().numpy().copy()
        for name, value in module.state_dict().items()
    }


def load_numpy_state(module: nn.Module, state: dict[str, np.ndarray]) -> nn.Module:
    """Load a :func:`state_to_numpy` dict into a freshly built module."""
    tensors = {name: torch.as_tensor(np.asarray(v)) for name, v in state.items()}
    module.load_state_dict(tensors)
    return module.eval()


def batched(
    function: Callable[[torch.Tensor], torch.Tensor],
    X: np.ndarray,
    device: torch.device,
) -> np.ndarray:
    """``function`` over the rows of ``X`` in batches, without gradients."""
    parts = []
    with torch.no_grad():
        for start in range(0, len(X), PREDICT_BATCH):
            rows = as_tensor(X[start : start + PREDICT_BATCH], device)
            parts.append(function(rows).to("cpu", torch.float64).numpy())
    return np.concatenate(parts)


def centre_and_scale(X: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-feature means and one common scale of the centred rows.

    One scale for all features keeps their relative sizes (pixels stay
    comparable, and a nearly constant feature is not blown up to unit
    variance); a constant X keeps scale 1 rather than dividing by 0.
    """
    with np.errstate(over="ignore"):
        offset = X.mean(axis=0).astype(np.float64)
        spread = float(np.sqrt(np.mean((X - offset) ** 2)))
    if not (np.isfinite(spread) and np.all(np.isfinite(offset))):
        # values whose squares (or sums) overflow float64: the same moments
        # in units of the largest magnitude
        unit = float(np.max(np.abs(X)))
        offset = unit * (X / unit).mean(axis=0, dtype=np.float64)
        spread = unit * float(np.sqrt(np.mean(((X - offset) / unit) ** 2)))
    return offset, spread if spread > 0 else 1.0


def refuse_unrepresentable(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` unchanged, or a ValueError naming the rows float32 cannot hold.

    The networks compute in float32: a row whose result is NaN came from
    values too large for it (rows are finite once validated), and would
    otherwise pass on as a silent NaN.
    """
    bad = np.isnan(values).reshape(len(values), -1).any(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{what} of row(s) {rows[:5].tolist()} cannot be computed: their "
            "values, scaled as in the fit, exceed what the float32 networks "
            "hold (about 3.4e38). Check those rows for wrong units or errors."
        )
    return values


def check_hidden_sizes(sizes: Any) -> tuple[int, ...] | None:
    """A tuple of positive layer widths, or None for the default networks."""
    if sizes is None:
        return None
    try:
        return tuple(check.check_int("hidden_layer_sizes", s, 1) for s in sizes)
    except TypeError:
        raise TypeError(
            "hidden_layer_sizes must be a tuple of positive integers or None, "
            f"got {sizes!r}."
        ) from None


class PlainStateNetworkMixin:
    """Seeded training and modules rebuilt from ``network_state_``.

    The estimator provides ``_build_networks()`` (untrained modules from its
    hyperparameters and ``n_features_in_``) and ``_train(X, settings,
    seed)``, which sets ``network_state_``; its fitted ``x_offset_`` and
    ``x_scale_`` give the rows the networks see (:meth:`_scaled`).
    """

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        """The rows as the networks see them, ``(X - x_offset_) / x_scale_``."""
        return (X - self.x_offset_) / self.x_scale_

    def _train_seeded(self, X: np.ndarray, settings: NetworkSettings) -> None:
        seed = draw_seed(self.random_state)
        with seeded_torch(seed, settings.device):
            self._train(X, settings, seed)

    def _network(self) -> nn.Module:
        """The trained modules, rebuilt from ``network_state_`` when needed."""
        check_is_fitted(self, "network_state_")
        cached = _NETWORKS.get(self)
        if cached is None or cached[0] is not self.network_state_:
            network = load_numpy_state(self._build_networks(), self.network_state_)
            network = network.to(resolve_device(self.device))
            self._remember_network(network)
        return _NETWORKS[self][1]

    def _remember_network(self, network: nn.Module) -> None:
        # kept beside the estimator, not in it, so that its attributes stay
        # plain data (model files, clone and pickle see no torch module)
        _NETWORKS[self] = (self.network_state_, network)


#: trained modules of fitted estimators, dropped with the estimator
_NETWORKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
