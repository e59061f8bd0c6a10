"""Torch modules in model files: their weights as arrays, rebuilt on load.

A module is never pickled. An estimator that holds one saves its
``state_dict()`` as numpy arrays (exact: same dtype and bits) and, on load,
builds a fresh module from its own hyperparameters and copies the weights
into it. The module is first built on torch's ``meta`` device, which
allocates nothing, so that the file's arrays are checked against the shapes
the hyperparameters imply before any memory is committed to them.

torch is imported inside the functions: importing this module does not
import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gaussmix.io import rules
from gaussmix.io.registry import fitted_state, restore_fitted_state

#: what an estimator keeps of a module: ``weights`` (name -> array) and
#: ``training`` (the module's mode)
ModuleState = dict[str, Any]


def module_state(module: Any) -> ModuleState:
    """A module's weights as numpy arrays, and whether it is in training mode."""
    weights = {
        name: tensor.detach().cpu().numpy()
        for name, tensor in module.state_dict().items()
    }
    return {"weights": weights, "training": bool(module.training)}


def rebuild_module(build: Callable[[], Any], saved: ModuleState, device: Any) -> Any:
    """``build()``'s module on ``device``, holding the saved weights.

    Raises
    ------
    ValueError
        When the saved weights do not match the module's names, shapes and
        dtypes, are not finite, or ``device`` is not available here.
    """
    import torch

    if not isinstance(saved, dict) or not isinstance(saved.get("weights"), dict):
        raise ValueError("a module must be saved as a dict of weights.")
    training = rules.require_bool("the module's training mode", saved.get("training"))
    with torch.device("meta"):
        template = build()
    _check_weights(template.state_dict(), saved["weights"])
    # building draws initial weights from torch's global generator: leave the
    # caller's random stream as it was
    with torch.random.fork_rng(devices=[]):
        module = build()
    module.load_state_dict(
        {name: torch.from_numpy(array) for name, array in saved["weights"].items()}
    )
    try:
        module = module.to(device)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(
            f"the model was saved for device {str(device)!r}, which is not "
            f"available here ({exc})."
        ) from None
    return module.train(training)


def state_with_module(estimator: Any, attribute: str) -> dict[str, Any]:
    """The default state of ``estimator``, its module ``attribute`` as weights.

    For an estimator's ``__gaussmix_state__``.
    """
    state = fitted_state(estimator)
    if attribute in state:
        state[attribute] = module_state(state[attribute])
    return state


def restore_with_module(
    estimator: Any,
    state: dict[str, Any],
    attribute: str,
    build: Callable[[], Any],
    device: Any,
) -> None:
    """Restore ``state`` made by :func:`state_with_module`.

    The other attributes are set first, so that ``build`` may use them (the
    number of features, ...). For an estimator's ``__gaussmix_restore__``.
    """
    state = dict(state)
    saved = state.pop(attribute, None)
    restore_fitted_state(estimator, state)
    if saved is not None:
        setattr(estimator, attribute, rebuild_module(build, saved, device))


def _check_weights(expected: dict[str, Any], weights: dict[str, Any]) -> None:
    if set(weights) != set(expected):
        raise ValueError(
            f"the module's weights are named {sorted(weights)}; the model's "
            f"hyperparameters give {sorted(expected)}."
        )
    for name, template in expected.items():
        dtype = np.dtype(str(template.dtype).removeprefix("torch."))
        array = weights[name]
        shape = tuple(template.shape)
        if dtype.kind == "f":
            rules.require_float_array(f"weight {name!r}", array, shape, (dtype,))
        elif not (
            isinstance(array, np.ndarray)
            and array.dtype == dtype
            and array.shape == shape
        ):
            raise ValueError(f"weight {name!r} must be a {dtype} array of {shape}.")
