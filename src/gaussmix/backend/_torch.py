"""torch implementation of the backend interface.

Computes on the device and in the dtype of the tensors it is given, so the EM
core runs unchanged on CPU tensors and on GPUs. Imported only when a tensor
reaches :func:`gaussmix.backend.get_backend`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - only reached without torch
    raise ImportError(
        "computing on torch tensors needs PyTorch; install it with "
        "`pip install gaussmix[torch]`."
    ) from exc

from gaussmix.backend._base import CholeskyError
from gaussmix.backend._numpy import HOST_CHUNK_ELEMENTS

_NUMPY_TO_TORCH = {
    np.dtype(np.float64): torch.float64,
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float16): torch.float16,
    np.dtype(np.int64): torch.int64,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.bool_): torch.bool,
}

#: Elements of the largest E-step temporary per chunk on an accelerator, at
#: least: big chunks keep the device busy and the number of host round trips
#: (each a wait for the device) small.
ACCELERATOR_CHUNK_ELEMENTS = 1 << 26

#: ... and at most, however large the GPU.
MAX_ACCELERATOR_CHUNK_ELEMENTS = 1 << 28

#: Share of a GPU's memory one float64 temporary may fill between the two
#: bounds: the E-step holds about three such blocks at once.
ACCELERATOR_MEMORY_SHARE = 1 / 64


def torch_dtype(dtype: Any) -> torch.dtype | None:
    """The torch dtype for a torch or numpy dtype (None stays None)."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    return _NUMPY_TO_TORCH[np.dtype(dtype)]


class TorchBackend:
    """Computes with torch on the tensors' own device."""

    name = "torch"

    def asarray(self, x: Any, dtype: Any = None, like: Any = None) -> torch.Tensor:
        device = like.device if isinstance(like, torch.Tensor) else None
        if isinstance(x, np.ndarray) and not (
            x.flags.writeable and x.flags.c_contiguous
        ):
            # torch refuses negative strides and warns on read-only memory
            x = np.array(x, order="C")
        return torch.as_tensor(x, dtype=torch_dtype(dtype), device=device)

    def to_numpy(self, x: Any) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    def float64(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float64)

    def astype(self, x: torch.Tensor, dtype: Any) -> torch.Tensor:
        return x.to(torch_dtype(dtype))

    def zeros(self, shape: tuple[int, ...], dtype: Any, like: Any) -> torch.Tensor:
        return torch.zeros(shape, dtype=torch_dtype(dtype), device=like.device)

    def eye(self, n: int, dtype: Any, like: Any) -> torch.Tensor:
        return torch.eye(n, dtype=torch_dtype(dtype), device=like.device)

    def logsumexp(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.logsumexp(a, dim=axis)

    def normalize_log_rows(
        self, log_prob: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        resp = torch.softmax(log_prob, dim=1)
        if resp.device.type == "cpu":
            # subnormal responsibilities (under e^-708 in float64) slow the
            # M-step's products many times on a CPU and add nothing to them
            tiny = torch.finfo(resp.dtype).tiny
            resp = torch.where(resp < tiny, torch.zeros((), dtype=resp.dtype), resp)
        return torch.logsumexp(log_prob, dim=1), resp

    def invert_lower(self, lower: torch.Tensor) -> torch.Tensor:
        eye = torch.eye(lower.shape[-1], dtype=lower.dtype, device=lower.device)
        return torch.linalg.solve_triangular(lower, eye, upper=False)

    def cholesky(self, a: torch.Tensor) -> torch.Tensor:
        lower, info = torch.linalg.cholesky_ex(a)
        if bool((info != 0).any()):
            raise CholeskyError("matrix is not positive definite")
        return lower

    def solve_triangular(
        self, a: torch.Tensor, b: torch.Tensor, lower: bool
    ) -> torch.Tensor:
        return torch.linalg.solve_triangular(a, b, upper=not lower)

    def log(self, a: torch.Tensor) -> torch.Tensor:
        return torch.log(a)

    def exp(self, a: torch.Tensor) -> torch.Tensor:
        return torch.exp(a)

    def sqrt(self, a: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(a)

    def matrix_transpose(self, a: torch.Tensor) -> torch.Tensor:
        return a.transpose(-1, -2)

    def permute(self, a: torch.Tensor, axes: tuple[int, ...]) -> torch.Tensor:
        return a.permute(*axes)

    def amax(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.amax(a, dim=axis)

    def argmax(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.argmax(a, dim=axis)

    def argmin(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.argmin(a, dim=axis)

    def diagonal(self, a: torch.Tensor) -> torch.Tensor:
        return torch.diagonal(a, dim1=-2, dim2=-1)

    def where(self, condition: Any, a: Any, b: Any) -> torch.Tensor:
        return torch.where(condition, a, b)

    def concatenate(self, arrays: list[torch.Tensor], axis: int) -> torch.Tensor:
        return torch.cat(list(arrays), dim=axis)

    def stack(self, arrays: list[torch.Tensor], axis: int) -> torch.Tensor:
        return torch.stack(list(arrays), dim=axis)

    def dtype_eps(self, x: torch.Tensor) -> float:
        return float(torch.finfo(x.dtype).eps)

    def is_accelerator(self, like: Any) -> bool:
        return isinstance(like, torch.Tensor) and like.device.type != "cpu"

    def chunk_elements(self, like: Any) -> int:
        if not self.is_accelerator(like):
            return HOST_CHUNK_ELEMENTS
        if like.device.type != "cuda":
            return ACCELERATOR_CHUNK_ELEMENTS
        total = torch.cuda.get_device_properties(like.device).total_memory
        fitting = int(total * ACCELERATOR_MEMORY_SHARE) // 8
        # a power of two from the device's total (not free) memory: a given
        # GPU model always cuts the rows alike, so its sums repeat to the bit
        elements = 1 << max(0, fitting.bit_length() - 1)
        return min(
            MAX_ACCELERATOR_CHUNK_ELEMENTS, max(ACCELERATOR_CHUNK_ELEMENTS, elements)
        )


TORCH_BACKEND = TorchBackend()
