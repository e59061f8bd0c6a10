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


class Factored:
    """A batch of small SPD matrices (r, r, B), ready to solve with.

    Blocks of one or two rows, which are most of them where few values are
    missing, take closed forms (a division; the 2 × 2 adjugate over the
    determinant), which round like the Cholesky factor (``det / a`` is the
    factor's last pivot squared); larger blocks take the batched Cholesky
    above. Only the lower triangle of ``matrices`` is read.

    Parameters
    ----------
    matrices : ndarray of shape (r, r, B)
        Symmetric positive definite, batch last.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.small_spd import Factored
    >>> blocks = np.array([[2.0, 1.0], [1.0, 2.0]])[:, :, None]
    >>> solution, form = Factored(blocks).solve(np.array([[1.0], [1.0]]))
    >>> solution.ravel(), form
    (array([0.33333333, 0.33333333]), array([0.66666667]))
    >>> Factored(blocks).log_determinant()
    array([1.09861229])
    """

    def __init__(self, matrices: np.ndarray):
        self.size = matrices.shape[0]
        if self.size == 1:
            self._parts: tuple[np.ndarray, ...] = (matrices[0, 0],)
        elif self.size == 2:
            a, b, c = matrices[0, 0], matrices[1, 0], matrices[1, 1]
            self._parts = (a, b, c, a * c - b * b)
        else:
            self._parts = (cholesky(matrices),)

    def take(self, index: np.ndarray) -> Factored:
        """The matrices ``index`` of the batch, already factored."""
        out = object.__new__(Factored)
        out.size = self.size
        out._parts = tuple(part[..., index] for part in self._parts)
        return out

    def log_determinant(self) -> np.ndarray:
        """``log |A|`` of each matrix, (B,)."""
        if self.size == 1:
            return np.log(self._parts[0])
        if self.size == 2:
            return np.log(self._parts[3])
        return log_determinant(self._parts[0])

    def solve(self, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``A^-1 b`` (r, B) and ``b^T A^-1 b`` (B,) for b (r, B)."""
        if self.size == 1:
            solution = rhs / self._parts[0]
            return solution, (rhs[0] * solution[0])
        if self.size == 2:
            a, b, c, det = self._parts
            solution = np.stack([c * rhs[0] - b * rhs[1], a * rhs[1] - b * rhs[0]])
            solution /= det
            return solution, (rhs * solution).sum(axis=0)
        whitened = solve_lower(self._parts[0], rhs)
        form = (whitened * whitened).sum(axis=0)
        return solve_upper_transposed(self._parts[0], whitened), form

    def inverse(self) -> np.ndarray:
        """``A^-1``, (r, r, B)."""
        if self.size == 1:
            return (1.0 / self._parts[0])[None, None]
        if self.size == 2:
            a, b, c, det = self._parts
            return np.stack([np.stack([c, -b]), np.stack([-b, a])]) / det
        return inverse(self._parts[0])
