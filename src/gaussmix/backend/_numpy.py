"""numpy/scipy implementation of the backend interface."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from scipy.special import logsumexp as _logsumexp

from gaussmix.backend._base import CholeskyError

#: Elements of the largest E-step temporary per chunk (about 16 MB in
#: float64): small enough to stay in cache-friendly sizes on a CPU.
HOST_CHUNK_ELEMENTS = 1 << 21


class NumpyBackend:
    """Computes with numpy and scipy."""

    name = "numpy"

    def asarray(self, x: Any, dtype: Any = None, like: Any = None) -> np.ndarray:
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def float64(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def astype(self, x: Any, dtype: Any) -> np.ndarray:
        return np.asarray(x, dtype=dtype)

    def zeros(self, shape: tuple[int, ...], dtype: Any, like: Any) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)

    def eye(self, n: int, dtype: Any, like: Any) -> np.ndarray:
        return np.eye(n, dtype=dtype)

    def logsumexp(self, a: np.ndarray, axis: int) -> np.ndarray:
        if a.ndim != 2 or axis not in (1, -1):
            return _logsumexp(a, axis=axis)
        return self.normalize_log_rows(np.array(a, copy=True))[0]

    def normalize_log_rows(self, log_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # one exp pass yields both the log-normaliser and the probabilities;
        # the input buffer is reused for the probabilities
        peak = log_prob.max(axis=1)
        peak = np.where(np.isfinite(peak), peak, 0.0)
        np.subtract(log_prob, peak[:, None], out=log_prob)
        np.exp(log_prob, out=log_prob)
        total = log_prob.sum(axis=1)
        log_prob /= total[:, None]
        with np.errstate(divide="ignore"):
            return peak + np.log(total), log_prob

    def invert_lower(self, lower: np.ndarray) -> np.ndarray:
        invert = linalg.lapack.get_lapack_funcs("trtri", (lower,))
        out = np.empty_like(lower)
        for index in np.ndindex(lower.shape[:-2]):
            inverse, info = invert(lower[index], lower=1)
            if info != 0:
                raise CholeskyError("triangular factor is singular")
            out[index] = np.tril(inverse)
        return out

    def cholesky(self, a: np.ndarray) -> np.ndarray:
        try:
            return np.linalg.cholesky(a)
        except np.linalg.LinAlgError as exc:
            raise CholeskyError(str(exc)) from exc

    def solve_triangular(self, a: np.ndarray, b: np.ndarray, lower: bool) -> np.ndarray:
        if a.ndim == 2:
            return linalg.solve_triangular(a, b, lower=lower, check_finite=False)
        rhs = np.broadcast_to(b, a.shape[:1] + b.shape[-2:])
        return np.stack(
            [
                linalg.solve_triangular(a_k, b_k, lower=lower, check_finite=False)
                for a_k, b_k in zip(a, rhs, strict=True)
            ]
        )

    def log(self, a: np.ndarray) -> np.ndarray:
        return np.log(a)

    def exp(self, a: np.ndarray) -> np.ndarray:
        return np.exp(a)

    def sqrt(self, a: np.ndarray) -> np.ndarray:
        return np.sqrt(a)

    def matrix_transpose(self, a: np.ndarray) -> np.ndarray:
        return np.swapaxes(a, -1, -2)

    def permute(self, a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        return np.transpose(a, axes)

    def amax(self, a: np.ndarray, axis: int) -> np.ndarray:
        return np.max(a, axis=axis)

    def argmax(self, a: np.ndarray, axis: int) -> np.ndarray:
        return np.argmax(a, axis=axis)

    def argmin(self, a: np.ndarray, axis: int) -> np.ndarray:
        return np.argmin(a, axis=axis)

    def diagonal(self, a: np.ndarray) -> np.ndarray:
        return np.diagonal(a, axis1=-2, axis2=-1)

    def where(self, condition: Any, a: Any, b: Any) -> np.ndarray:
        return np.where(condition, a, b)

    def concatenate(self, arrays: list[np.ndarray], axis: int) -> np.ndarray:
        return np.concatenate(arrays, axis=axis)

    def stack(self, arrays: list[np.ndarray], axis: int) -> np.ndarray:
        return np.stack(arrays, axis=axis)

    def dtype_eps(self, x: Any) -> float:
        return float(np.finfo(np.asarray(x).dtype).eps)

    def is_accelerator(self, like: Any) -> bool:
        return False

    def chunk_elements(self, like: Any) -> int:
        return HOST_CHUNK_ELEMENTS


NUMPY_BACKEND = NumpyBackend()
