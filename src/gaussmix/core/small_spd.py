"""Many small symmetric positive definite systems at once.

Rows with missing values each need their own factorisation of a small
block of a component's precision (one per row and component, of the size
of the row's missing block). LAPACK's batched calls pay a fixed cost per
matrix that dwarfs the arithmetic of a 3 × 3 block, so these routines loop
over the (small) matrix dimension in Python and over the (large) batch in
numpy: a few dozen long vector operations instead of a million short calls.

Layout: the batch is the LAST axis, so that every operation runs over
contiguous memory. A batch of matrices is (r, r, B), of vectors (r, B);
right-hand sides may carry extra axes between, (r, ..., B).
"""

from __future__ import annotations

import numpy as np


def cholesky(matrices: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of SPD matrices laid out (r, r, B)."""
    size = matrices.shape[0]
    factor = np.zeros_like(matrices)
    for j in range(size):
        done = factor[j, :j]  # (j, B)
        root = np.sqrt(matrices[j, j] - (done * done).sum(axis=0))
        factor[j, j] = root
        if j + 1 < size:
            inner = (factor[j + 1 :, :j] * done[None]).sum(axis=1)
            factor[j + 1 :, j] = (matrices[j + 1 :, j] - inner) / root
    return factor


def solve_lower(factor: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``L^-1 b`` for lower triangular L (r, r, B) and b (r, ..., B)."""
    out = np.empty((factor.shape[0], *rhs.shape[1:-1], factor.shape[-1]))
    extra = (1,) * (out.ndim - 2)
    for j in range(factor.shape[0]):
        row = factor[j, :j].reshape(j, *extra, factor.shape[-1])
        known = (row * out[:j]).sum(axis=0)
        out[j] = (rhs[j] - known) / factor[j, j]
    return out


def solve_upper_transposed(factor: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``L^-T b`` for lower triangular L (r, r, B) and b (r, ..., B)."""
    size = factor.shape[0]
    out = np.empty((size, *rhs.shape[1:-1], factor.shape[-1]))
    extra = (1,) * (out.ndim - 2)
    for j in reversed(range(size)):
        column = factor[j + 1 :, j].reshape(size - j - 1, *extra, factor.shape[-1])
        known = (column * out[j + 1 :]).sum(axis=0)
        out[j] = (rhs[j] - known) / factor[j, j]
    return out


def inverse(factor: np.ndarray) -> np.ndarray:
    """``(L L^T)^-1 = L^-T (L^-1)`` from the lower factor L (r, r, B)."""
    identity = np.eye(factor.shape[0])[:, :, None]
    return solve_upper_transposed(factor, solve_lower(factor, identity))


def log_determinant(factor: np.ndarray) -> np.ndarray:
    """``log |L L^T|`` from the lower factor L (r, r, B), shape (B,)."""
    diagonal = factor[np.arange(factor.shape[0]), np.arange(factor.shape[0])]
    return 2.0 * np.log(diagonal).sum(axis=0)
