"""Torch tensors in model files: stored as arrays, restored on the CPU.

A tensor is written as the ``.npy`` array of its values (same dtype, shape
and bits) with its ``requires_grad`` flag and, for the record only, the
device it lived on. It is read back as a tensor **on the CPU**, whatever
device it was saved from: a file must load on a machine without that GPU,
and a :class:`~gaussmix.GaussianMixture` with CPU tensors still computes on
the device of the tensors it is given. When torch cannot be imported the
values come back as the numpy array, and a warning is logged: a mixture then
works on numpy input as before.

torch is never imported to write a file (a tensor exists only once torch is
imported) and only imported to read one that holds tensors.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def is_tensor(value: object) -> bool:
    """True for a plain ``torch.Tensor`` (not a subclass), without importing torch."""
    torch = sys.modules.get("torch")
    return torch is not None and type(value) is torch.Tensor


def encode_tensor(
    tensor: Any, store: Callable[[np.ndarray], str], where: str
) -> dict[str, Any]:
    """The node of a tensor, its values passed to ``store`` as a numpy array."""
    try:
        values = tensor.detach().cpu().numpy()
    except (TypeError, RuntimeError) as exc:
        raise TypeError(
            f"{where} is a {tensor.dtype} tensor, which model files cannot hold "
            f"({exc}); convert it to a dtype numpy knows."
        ) from None
    return {
        "kind": "tensor",
        "file": store(values),
        "requires_grad": bool(tensor.requires_grad),
        "device": str(tensor.device),
    }


def decode_tensor(node: dict[str, Any], values: np.ndarray, where: str) -> Any:
    """A CPU tensor of ``values``, or ``values`` itself when torch is missing."""
    requires_grad = node.get("requires_grad")
    if not isinstance(requires_grad, bool):
        raise ValueError(f"{where}: a tensor's requires_grad must be true or false.")
    try:
        import torch
    except ImportError:
        logger.warning(
            "%s was saved as a torch tensor; torch is not installed, so it is "
            "loaded as a numpy array.",
            where,
        )
        return values
    try:
        tensor = torch.from_numpy(values)
        return tensor.requires_grad_() if requires_grad else tensor
    except (TypeError, RuntimeError) as exc:
        raise ValueError(
            f"{where}: a {values.dtype} array cannot be restored as a tensor ({exc})."
        ) from None
