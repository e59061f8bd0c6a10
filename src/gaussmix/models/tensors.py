"""Torch tensors as estimator input: validation, devices and conversions.

A tensor is computed on where it lives and the fitted attributes follow it;
numpy input with a ``device`` is moved to that device for the computation
and the results come back as numpy. torch is imported only when a tensor or
a device is actually given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend

_TORCH_MISSING = "{what} needs PyTorch; install it with `pip install gaussmix[torch]`."


def is_tensor(X: object) -> bool:
    """True for a torch tensor (checked without importing torch)."""
    return type(X).__module__.startswith("torch")


def _torch(what: str):
    try:
        import torch
    except ImportError as exc:
        raise ImportError(_TORCH_MISSING.format(what=what)) from exc
    return torch


def check_device(device: object):
    """``device`` as a ``torch.device`` that this torch can compute on.

    Raises
    ------
    TypeError
        When ``device`` is neither a string nor a ``torch.device``.
    ValueError
        When it names no torch device, or one this installation of torch
        cannot use (a CPU-only build asked for ``'cuda'``, a missing GPU
        index); the message says how to fix it.
    """
    torch = _torch(f"device={device!r}")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"device must be a string such as 'cuda' or 'cpu', or a torch.device; "
            f"got {device!r}."
        )
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a torch device name ('cpu', 'cuda', "
            f"'cuda:1', 'mps', ...)."
        ) from exc
    _check_available(torch, resolved, device)
    return resolved


def _check_available(torch: Any, resolved: Any, device: object) -> None:
    # torch accepts any well-formed name and fails only at the first
    # allocation, with a bare AssertionError on CPU-only builds; say here
    # what is missing and what to do instead
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            built = torch.version.cuda is not None
            reason = (
                "no CUDA GPU is visible (check the driver and CUDA_VISIBLE_DEVICES)"
                if built
                else f"this torch ({torch.__version__}) was built without CUDA"
            )
            raise ValueError(
                f"device={device!r} is not available: {reason}. Use device='cpu' "
                "(or None), or install a CUDA build of torch "
                "(https://pytorch.org/get-started/locally/)."
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"device={device!r} is not available: torch sees {count} CUDA "
                f"device(s), 'cuda:0' to 'cuda:{count - 1}'."
            )
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} is not available: this machine or torch build "
            "has no Apple MPS support. Use device='cpu' (or None)."
        )


def validate_tensor(
    estimator: Any,
    X: Any,
    *,
    reset: bool,
    ensure_min_samples: int,
    allow_nan: bool = False,
) -> Any:
    """A checked 2-D floating tensor on ``X``'s device.

    float32 and float64 are kept; other floating types become float32 and
    integers or booleans float64, as scikit-learn converts arrays. Sets or
    checks ``n_features_in_`` like ``validate_data``. With ``allow_nan``,
    NaN marks a missing value; infinities are refused either way.
    """
    torch = _torch("fitting a torch tensor")
    if X.dim() != 2:
        raise ValueError(
            f"Expected a 2-D tensor (n_samples, n_features), got shape "
            f"{tuple(X.shape)}; reshape it with X.reshape(-1, 1) for one feature "
            "or X.reshape(1, -1) for one sample."
        )
    if X.is_complex():
        raise TypeError("X must hold real numbers; got a complex tensor.")
    if X.dtype not in (torch.float32, torch.float64):
        X = X.to(torch.float32 if X.is_floating_point() else torch.float64)
    X = X.detach()
    n_samples, n_features = X.shape
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={tuple(X.shape)}) "
            f"while a minimum of {ensure_min_samples} is required."
        )
    if n_features < 1:
        raise ValueError("X has 0 features; a minimum of 1 is required.")
    if allow_nan:
        if bool(torch.isinf(X).any()):
            raise ValueError("Input X contains infinity; remove or impute it.")
    elif not bool(torch.isfinite(X).all()):
        raise ValueError("Input X contains NaN or infinity; remove or impute them.")
    if reset:
        estimator.n_features_in_ = int(n_features)
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input."
        )
    return X


def to_device(X: np.ndarray, device: object) -> Any:
    """A numpy array as a tensor on ``device`` (same dtype)."""
    torch = _torch(f"device={device!r}")
    return torch.as_tensor(np.ascontiguousarray(X), device=check_device(device))


def numpy_dtype(X: Array) -> type:
    """The numpy float type matching ``X``'s dtype."""
    return np.float32 if "float32" in str(X.dtype) else np.float64


def sample_weight_like(sample_weight: Any, n_samples: int, X: Array, check) -> Any:
    """Validated weights on ``X``'s backend and device (None stays None).

    ``check`` is the numpy validation; tensors are checked on the host.
    """
    if sample_weight is None:
        return None
    if is_tensor(sample_weight):
        sample_weight = get_backend(sample_weight).to_numpy(sample_weight)
    weights = check(sample_weight, n_samples, numpy_dtype(X))
    if not is_tensor(X):
        return weights
    return get_backend(X).asarray(weights, like=X)


def as_output(values: Array, like: Any) -> Array:
    """``values`` on the caller's side: numpy unless ``like`` is a tensor."""
    if is_tensor(values) and not is_tensor(like):
        return get_backend(values).to_numpy(values)
    return values
