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


def _packed_rows(size: int) -> list[int]:
    """Where row i of a lower triangle starts when packed row by row."""
    return [i * (i + 1) // 2 for i in range(size)]


def _dot(
    left: np.ndarray, right: list[np.ndarray], first: np.ndarray | None = None
) -> np.ndarray | None:
    """``first + sum_j left[j] * right[j]``, the batch axes broadcast.

    Summed term by term into one buffer: at the sizes of a missing block
    (a handful of terms) this beats a reduction over a stacked axis, which
    would first copy the operands side by side.
    """
    total = None if first is None else np.array(first, copy=True)
    for a, b in zip(left, right, strict=True):
        if total is None:
            total = a * b
        else:
            total += a * b
    return total


def _packed_cholesky(packed: np.ndarray, size: int) -> np.ndarray:
    """The Cholesky factor of matrices given by packed lower triangles
    (T, ...), packed the same way: entry by entry, each a short dot
    product of two rows of the factor over the batch."""
    starts = _packed_rows(size)
    out = np.empty_like(packed)
    reciprocal = []
    for i, row in enumerate(starts):
        for j, other in enumerate(starts[: i + 1]):
            earlier = [out[other + m] for m in range(j)]
            inner = _dot(out[row : row + j], earlier)
            value = packed[row + j] if inner is None else packed[row + j] - inner
            if i == j:
                out[row + j] = np.sqrt(value)
                reciprocal.append(1.0 / out[row + j])
            else:
                np.multiply(value, reciprocal[j], out=out[row + j])
    return out


class Factored:
    """A batch of small SPD matrices (r, r, B), factored to solve with.

    Blocks of one or two rows, which are most of them where few values are
    missing, take closed forms (a division; the 2 × 2 adjugate over the
    determinant), which round like the Cholesky factor (``det / a`` is the
    factor's last pivot squared); larger blocks keep their Cholesky factor,
    packed by rows of its lower triangle, ``T = r (r + 1) / 2`` numbers.
    Every piece has the batch as its last axis, so :meth:`take` can repeat
    one factorisation for many right-hand sides. Only the lower triangle
    of ``matrices`` is read.

    Parameters
    ----------
    matrices : ndarray of shape (r, r, ...)
        Symmetric positive definite, batch axes last (any number of them).

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
        lower, upper = np.tril_indices(matrices.shape[0])
        self._factor(matrices.shape[0], matrices[lower, upper])

    @classmethod
    def from_lower(cls, packed: np.ndarray) -> Factored:
        """Factor matrices given by their lower triangles packed by rows,
        (T, ...) with ``T = r (r + 1) / 2``."""
        size = round((np.sqrt(8 * packed.shape[0] + 1) - 1) / 2)
        out = object.__new__(cls)
        out._factor(size, packed)
        return out

    def _factor(self, size: int, packed: np.ndarray) -> None:
        self.size = size
        if size == 1:
            self._parts: tuple[np.ndarray, ...] = (packed[0],)
        elif size == 2:
            a, b, c = packed
            self._parts = (a, b, c, a * c - b * b)
        else:
            self._parts = (_packed_cholesky(packed, size),)

    def take(self, index: np.ndarray, axis: int = -1) -> Factored:
        """The factorisations ``index`` along a batch axis."""
        out = object.__new__(Factored)
        out.size = self.size
        out._parts = tuple(part.take(index, axis=axis) for part in self._parts)
        return out

    def pick(self, *index: np.ndarray) -> Factored:
        """The factorisations at ``part[..., *index]``, fancy indexing of the
        batch axes."""
        out = object.__new__(Factored)
        out.size = self.size
        out._parts = tuple(part[(Ellipsis, *index)] for part in self._parts)
        return out

    def log_determinant(self) -> np.ndarray:
        """``log |A|`` of each matrix, (B,)."""
        if self.size == 1:
            return np.log(self._parts[0])
        if self.size == 2:
            return np.log(self._parts[3])
        factor = self._parts[0]
        total = None
        for i, start in enumerate(_packed_rows(self.size)):
            term = np.log(factor[start + i])
            total = term if total is None else np.add(total, term, out=total)
        total *= 2.0
        return total

    def _whiten(self, rhs: np.ndarray) -> np.ndarray:
        """``L^-1 b`` for the packed factor L, b (r, ...) broadcast against it."""
        factor = self._parts[0]
        batch = np.broadcast_shapes(rhs.shape[1:], factor.shape[1:])
        out = np.empty((self.size, *batch))
        for i, start in enumerate(_packed_rows(self.size)):
            inner = _dot(factor[start : start + i], list(out[:i]))
            known = rhs[i] if inner is None else rhs[i] - inner
            np.divide(known, factor[start + i], out=out[i])
        return out

    def form(self, rhs: np.ndarray) -> np.ndarray:
        """``b^T A^-1 b`` (B,) for b (r, B)."""
        if self.size == 1:
            return rhs[0] * rhs[0] / self._parts[0]
        if self.size == 2:
            a, b, c, det = self._parts
            return (c * rhs[0] ** 2 - 2.0 * b * rhs[0] * rhs[1] + a * rhs[1] ** 2) / det
        whitened = self._whiten(rhs)
        return _dot(whitened, list(whitened))

    def solve(self, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``A^-1 b`` (r, B) and ``b^T A^-1 b`` (B,) for b (r, B)."""
        if self.size == 1:
            solution = rhs / self._parts[0]
            return solution, rhs[0] * solution[0]
        if self.size == 2:
            a, b, c, det = self._parts
            solution = np.stack([c * rhs[0] - b * rhs[1], a * rhs[1] - b * rhs[0]])
            solution /= det
            return solution, (rhs * solution).sum(axis=0)
        whitened = self._whiten(rhs)
        form = _dot(whitened, list(whitened))
        factor = self._parts[0]
        starts = _packed_rows(self.size)
        out = np.empty_like(whitened)
        for i in reversed(range(self.size)):
            below = [factor[starts[j] + i] for j in range(i + 1, self.size)]
            inner = _dot(below, list(out[i + 1 :]))
            known = whitened[i] if inner is None else whitened[i] - inner
            np.divide(known, factor[starts[i] + i], out=out[i])
        return out, form

    def inverse(self) -> np.ndarray:
        """The lower triangle of ``A^-1`` packed by rows, (T, B)."""
        if self.size == 1:
            return 1.0 / self._parts[0][None]
        if self.size == 2:
            a, b, c, det = self._parts
            return np.stack([c, -b, a]) / det
        # W = L^-1 column by column, then the lower triangle of W^T W,
        # every entry a short dot product over the batch
        size = self.size
        factor = self._parts[0]
        starts = _packed_rows(size)
        reciprocal = [1.0 / factor[start + i] for i, start in enumerate(starts)]
        inverse = np.empty_like(factor)
        for j in range(size):
            inverse[starts[j] + j] = reciprocal[j]
            for i in range(j + 1, size):
                terms = [factor[starts[i] + m] for m in range(j, i)]
                column = [inverse[starts[m] + j] for m in range(j, i)]
                np.multiply(
                    _dot(terms, column), -reciprocal[i], out=inverse[starts[i] + j]
                )
        out = np.empty_like(factor)
        for a, start in enumerate(starts):
            for b in range(a + 1):
                left = [inverse[starts[m] + a] for m in range(a, size)]
                right = [inverse[starts[m] + b] for m in range(a, size)]
                out[start + b] = _dot(left, right)
        return out
