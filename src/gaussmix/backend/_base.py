"""The interface every array backend implements."""

from __future__ import annotations

from typing import Any, Protocol

Array = Any


class CholeskyError(ValueError):
    """A matrix handed to ``cholesky`` was not positive definite."""


class Backend(Protocol):
    """The array operations the EM core needs."""

    name: str

    def asarray(self, x: Any, dtype: Any = None, like: Array | None = None) -> Array:
        """Convert ``x`` to this backend (on ``like``'s device if given)."""

    def to_numpy(self, x: Array) -> Any:
        """Return ``x`` as a numpy array."""

    def float64(self, x: Array) -> Array:
        """Return ``x`` in float64 (a no-op when it already is)."""

    def astype(self, x: Array, dtype: Any) -> Array:
        """Return ``x`` cast to ``dtype``."""

    def zeros(self, shape: tuple[int, ...], dtype: Any, like: Array) -> Array:
        """An array of zeros on ``like``'s device."""

    def eye(self, n: int, dtype: Any, like: Array) -> Array:
        """The identity matrix on ``like``'s device."""

    def logsumexp(self, a: Array, axis: int) -> Array:
        """Stable ``log(sum(exp(a), axis))``."""

    def normalize_log_rows(self, log_prob: Array) -> tuple[Array, Array]:
        """Per row, ``logsumexp`` and the normalised probabilities (softmax).

        May overwrite ``log_prob``.
        """

    def invert_lower(self, lower: Array) -> Array:
        """Inverse of a (batch of) lower-triangular matrices."""

    def cholesky(self, a: Array) -> Array:
        """Lower Cholesky factor(s) of a (batch of) SPD matrix; CholeskyError if not."""

    def solve_triangular(self, a: Array, b: Array, lower: bool) -> Array:
        """Solve ``a @ x = b`` for a (batch of) triangular ``a``."""

    def log(self, a: Array) -> Array:
        """Elementwise natural logarithm."""

    def exp(self, a: Array) -> Array:
        """Elementwise exponential."""

    def sqrt(self, a: Array) -> Array:
        """Elementwise square root."""

    def matrix_transpose(self, a: Array) -> Array:
        """Swap the last two axes."""

    def permute(self, a: Array, axes: tuple[int, ...]) -> Array:
        """Reorder the axes."""

    def amax(self, a: Array, axis: int) -> Array:
        """Largest entry along ``axis`` (NaN where the slice holds a NaN)."""

    def argmax(self, a: Array, axis: int) -> Array:
        """Index of the largest entry along ``axis``."""

    def argmin(self, a: Array, axis: int) -> Array:
        """Index of the smallest entry along ``axis``."""

    def diagonal(self, a: Array) -> Array:
        """The diagonal of the last two axes."""

    def where(self, condition: Array, a: Any, b: Any) -> Array:
        """``a`` where ``condition`` holds, else ``b`` (scalars broadcast)."""

    def concatenate(self, arrays: list[Array], axis: int) -> Array:
        """Join arrays along an existing axis."""

    def stack(self, arrays: list[Array], axis: int) -> Array:
        """Join arrays along a new axis."""

    def dtype_eps(self, x: Array) -> float:
        """Machine epsilon of ``x``'s dtype."""

    def is_accelerator(self, like: Array) -> bool:
        """Whether ``like`` lives on an accelerator (a GPU), where each
        operation costs a launch and few large ones beat many small ones."""

    def chunk_elements(self, like: Array) -> int:
        """Elements of the largest E-step temporary per chunk on ``like``'s device."""
