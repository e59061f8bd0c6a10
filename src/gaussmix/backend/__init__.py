"""Array operations behind one small interface, chosen from the input's type.

The EM core calls these functions instead of numpy directly so that the same
code runs on numpy arrays and, when torch is installed, on torch tensors.
"""

from __future__ import annotations

from gaussmix.backend._base import Backend, CholeskyError
from gaussmix.backend._numpy import NUMPY_BACKEND

__all__ = ["NUMPY_BACKEND", "Backend", "CholeskyError", "get_backend"]


def get_backend(array: object) -> Backend:
    """Return the backend that computes on ``array``'s library and device."""
    module = type(array).__module__
    if module.startswith("torch"):
        from gaussmix.backend._torch import TORCH_BACKEND

        return TORCH_BACKEND
    return NUMPY_BACKEND
