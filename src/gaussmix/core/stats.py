"""Sufficient statistics of a Gaussian mixture: values that add.

``Stats`` of two disjoint sets of rows, added, equal the ``Stats`` of their
union. Every driver (in-memory chunks, out-of-core files, streaming, Dask) is
built on that property.

All sums are kept in float64 whatever the data's dtype: a float32 chunk's
products are computed in float32, then accumulated in float64 so that the
rounding error does not grow with the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np

#: Added to every component's total weight before dividing by it, as
#: scikit-learn does, so that an empty component's mean stays finite.
EMPTY_WEIGHT_GUARD = 10 * np.finfo(np.float64).eps

Summable = TypeVar("Summable")


def sum_in_order(parts: Iterable[Summable]) -> Summable | None:
    """The sum of ``parts``, added left to right; None when there are none.

    The one way sums of chunks are formed: in chunk order, whatever thread
    computed each, so that the float64 totals (and hence a fit) do not
    depend on the number of threads.
    """
    total = None
    for part in parts:
        total = part if total is None else total + part
    return total


def to_float64(xp: Any, values: Any) -> np.ndarray:
    """``values`` of backend ``xp`` as a float64 numpy array on the host."""
    return np.asarray(xp.to_numpy(xp.float64(values)), dtype=np.float64)


def diagonal_moments_about(
    first: np.ndarray, second: np.ndarray, resp_sum: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal moments about each component's shift, from moments about a centre.

    ``first`` and ``second`` (K, D) are ``sum_i r_ik (x_i - c)`` and
    ``sum_i r_ik (x_i - c)^2`` about a common centre ``c``; ``offset`` (K, D)
    is each shift minus ``c``. Returns the centred sums and the diagonal
    scatter about the shifts, in float64.
    """
    scatter = second - 2.0 * offset * first + resp_sum[:, None] * offset**2
    return first - resp_sum[:, None] * offset, scatter


@dataclass(frozen=True)
class Stats:
    """Responsibility-weighted sums over a set of rows.

    Attributes
    ----------
    resp_sum : ndarray of shape (n_components,)
        ``sum_i w_i r_ik``.
    centred_sum : ndarray of shape (n_components, n_features)
        ``sum_i w_i r_ik (x_i - c_k)``, the first moment about ``shift``; the
        weighted mean is ``c_k + centred_sum_k / resp_sum_k``. Summing about
        the shift keeps float32 data far from the origin accurate.
    scatter : ndarray
        Second moments about ``shift``: ``sum_i w_i r_ik (x_i - c_k)(x_i - c_k)^T``
        of shape (n_components, n_features, n_features) for the ``"full"``
        kind, its diagonal (n_components, n_features) for ``"diag"``, and
        ``sum_i w_i (x_i - c)(x_i - c)^T`` of shape (n_features, n_features)
        for ``"pooled"`` (one shift shared by all components).
    shift : ndarray of shape (n_components, n_features)
        The centres ``c_k`` the scatter is taken about; accumulating about
        the current means avoids the cancellation of ``E[xx^T] - mu mu^T``.
    scatter_kind : str
        ``"full"``, ``"diag"`` or ``"pooled"``.
    log_likelihood : float
        ``sum_i w_i log p(x_i)`` under the parameters of the E-step (0 when
        the stats come from given responsibilities).
    total_weight : float
        ``sum_i w_i``.
    worst_log_density : float
        The smallest ``log p(x_i)`` among rows of positive weight; with
        ``worst_point`` it is where a collapsed component is re-seeded.
    worst_point : ndarray of shape (n_features,) or None
    """

    resp_sum: np.ndarray
    centred_sum: np.ndarray
    scatter: np.ndarray
    shift: np.ndarray
    scatter_kind: str
    log_likelihood: float = 0.0
    total_weight: float = 0.0
    worst_log_density: float = np.inf
    worst_point: np.ndarray | None = None

    def means(self) -> np.ndarray:
        """Weighted means of the components, (n_components, n_features).

        The ``10 * eps`` added to each component's weight keeps an empty
        component's mean finite (it is then its shift), as scikit-learn does.
        """
        nk = self.resp_sum + EMPTY_WEIGHT_GUARD
        return self.shift + self.centred_sum / nk[:, None]

    def __add__(self, other: Stats) -> Stats:
        if not isinstance(other, Stats):
            return NotImplemented
        if self.scatter_kind != other.scatter_kind:
            raise ValueError(
                f"cannot add Stats of kinds {self.scatter_kind!r} and "
                f"{other.scatter_kind!r}"
            )
        if self.shift is not other.shift and (
            self.shift.shape != other.shift.shape
            or not np.array_equal(self.shift, other.shift)
        ):
            raise ValueError("cannot add Stats accumulated about different shifts")
        if other.worst_log_density < self.worst_log_density:
            worst = (other.worst_log_density, other.worst_point)
        else:
            worst = (self.worst_log_density, self.worst_point)
        return Stats(
            resp_sum=self.resp_sum + other.resp_sum,
            centred_sum=self.centred_sum + other.centred_sum,
            scatter=self.scatter + other.scatter,
            shift=self.shift,
            scatter_kind=self.scatter_kind,
            log_likelihood=self.log_likelihood + other.log_likelihood,
            total_weight=self.total_weight + other.total_weight,
            worst_log_density=worst[0],
            worst_point=worst[1],
        )

    def __radd__(self, other: object) -> Stats:
        # lets ``sum(list_of_stats)`` start from 0
        if other == 0:
            return self
        return self.__add__(other)  # type: ignore[arg-type]

    def scaled(self, factor: float) -> Stats:
        """All sums multiplied by ``factor`` (used by stepwise EM)."""
        return Stats(
            resp_sum=self.resp_sum * factor,
            centred_sum=self.centred_sum * factor,
            scatter=self.scatter * factor,
            shift=self.shift,
            scatter_kind=self.scatter_kind,
            log_likelihood=self.log_likelihood * factor,
            total_weight=self.total_weight * factor,
            worst_log_density=self.worst_log_density,
            worst_point=self.worst_point,
        )

    def recentred(self, new_shift: np.ndarray) -> Stats:
        """The same sums with the scatter taken about ``new_shift``.

        Uses ``S(c') = S(c) - n (m - c)(m - c)^T + n (m - c')(m - c')^T`` with
        ``m`` the weighted mean, exact in exact arithmetic; the streaming driver
        needs it to blend statistics gathered about different means.
        """
        new_shift = np.asarray(new_shift, dtype=np.float64)
        n = self.resp_sum
        safe_n = np.where(n > 0, n, 1.0)
        old_d = self.centred_sum / safe_n[:, None]
        new_d = old_d + (self.shift - new_shift)
        if self.scatter_kind == "full":
            scatter = self.scatter + n[:, None, None] * (
                np.einsum("ki,kj->kij", new_d, new_d)
                - np.einsum("ki,kj->kij", old_d, old_d)
            )
        elif self.scatter_kind == "diag":
            scatter = self.scatter + n[:, None] * (new_d**2 - old_d**2)
        else:
            total = self.total_weight if self.total_weight > 0 else 1.0
            od = self.centred_sum.sum(axis=0) / total
            nd = od + (self.shift[0] - new_shift[0])
            scatter = self.scatter + total * (np.outer(nd, nd) - np.outer(od, od))
        centred_sum = self.centred_sum + n[:, None] * (self.shift - new_shift)
        return replace(self, centred_sum=centred_sum, scatter=scatter, shift=new_shift)
