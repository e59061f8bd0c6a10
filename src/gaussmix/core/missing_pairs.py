"""The (row, component) pairs of rows with missing values, about a centre.

Used by :mod:`gaussmix.core.missing_moments`, whose docstring has the
algebra: each pair needs ``g = (P_k (x~ - mu'_k))_m``, read from one GEMM
for all pairs, and the factorisation of its precision block ``P_k,mm``.
A block depends only on the row's pattern of missing values and on the
component's precision, so it is factored once per (pattern, distinct
precision). Where all components share one precision (tied covariances,
or a common start), that is once per pattern, and the factors are
broadcast over the components rather than copied to each pair.

Skipping pairs by a bound on their log-density, as the pair-by-pair
algebra does, does not pay here: with broad or elongated components the
eigenvalue bounds keep 35 to 85 % of the pairs where 9 % carry weight
(blobs in 16 dimensions, 30 % missing, after five EM steps), and the bound
with each row's exact best costs a pass of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gaussmix.core.covariance.base import LOG_2PI
from gaussmix.core.kernels.full_moments import QuadraticForms
from gaussmix.core.missing_blocks import Precisions
from gaussmix.core.small_spd import Factored

#: Numbers a group of rows may hold in its per-pair arrays.
_GROUP_ELEMENTS = 1 << 21

#: Above this many patterns per row, each row's blocks are factored apart.
_SHARED_PATTERNS = 0.75


class CentredMixture:
    """The mixture about the centre ``c`` (the average of the means)."""

    def __init__(self, components: Precisions):
        n_components, n_features = components.means.shape
        self.components = components
        self.centre = components.means.mean(axis=0)
        centred_means = components.means - self.centre
        self.centred_means = centred_means
        constant = (
            components.log_weights
            + 0.5 * components.log_det_precisions
            - 0.5 * n_features * LOG_2PI
        )
        self.forms = QuadraticForms(
            components.precisions, centred_means, constant, np.dtype(np.float64)
        )
        # columns j * K + k: row j of P_k, and -(P_k mu'_k)_j against the 1
        gains = np.empty((n_features + 1, n_features, n_components))
        gains[:n_features] = components.precisions.transpose(2, 1, 0)
        gains[n_features] = -np.einsum(
            "kde,ke->dk", components.precisions, centred_means
        )
        self.gains = gains.reshape(n_features + 1, n_features * n_components)
        # components that share a precision share its blocks' factors
        flat = components.precisions.reshape(n_components, -1)
        first_of: dict[bytes, int] = {}
        which = np.array(
            [first_of.setdefault(p.tobytes(), k) for k, p in enumerate(flat)]
        )
        if len(first_of) == n_components:  # the components' own order
            distinct = flat
        else:
            distinct = flat[list(first_of.values())]
            which = np.unique(which, return_inverse=True)[1]
        self.distinct = which.reshape(-1)
        # (D * D, distinct): entry (a, b) of every distinct precision
        self.entries = np.ascontiguousarray(distinct.T)


def _missing_columns(hidden: np.ndarray, n_missing: int) -> np.ndarray:
    """The missing columns of rows that each miss ``n_missing``, ascending."""
    return np.nonzero(hidden)[1].reshape(-1, n_missing)


def pattern_order(hidden: np.ndarray) -> np.ndarray:
    """An order of the rows that puts together the rows missing the same
    number of values and, among those, the same pattern of them.

    Parameters
    ----------
    hidden : ndarray of bool, shape (n_samples, n_features)
        Where values are missing.

    Returns
    -------
    ndarray of int, shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.missing_pairs import pattern_order
    >>> hidden = np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0], [0, 1, 0]], bool)
    >>> pattern_order(hidden)
    array([2, 1, 3, 0])
    """
    order, _ = _by_pattern(hidden)
    counts = hidden.sum(axis=1)[order]
    return order[np.argsort(counts, kind="stable")]


def _by_pattern(hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An order of the rows that puts equal patterns of missing values
    together, and where each pattern starts in that order."""
    n_features = hidden.shape[1]
    if n_features <= 62:
        codes = hidden.astype(np.int64) @ (np.int64(1) << np.arange(n_features))
        order = np.argsort(codes, kind="stable")
        codes = codes[order]
        changed = codes[1:] != codes[:-1]
    else:
        order = np.lexsort(hidden.T[::-1])
        changed = (hidden[order][1:] != hidden[order][:-1]).any(axis=1)
    return order, np.flatnonzero(np.concatenate([[True], changed]))


class Group:
    """Rows missing the same number of values, and their pairs' algebra.

    The rows come ordered by their pattern of missing values;
    ``log_density`` (n, K) is ``log w_k + log p_k(x_o)``.
    """

    def __init__(
        self,
        mixture: CentredMixture,
        block: np.ndarray,
        filled_log_density: np.ndarray,
        rows: np.ndarray,
        hidden: np.ndarray,
    ):
        self.mixture = mixture
        n_components, n_features = mixture.centred_means.shape
        order, self.starts = _by_pattern(hidden[rows])
        rows = rows[order]
        self.rows = rows
        self.missing = _missing_columns(hidden[rows], int(hidden[rows[0]].sum()))
        n_rows, n_missing = self.missing.shape
        if self.starts.size > _SHARED_PATTERNS * n_rows:
            # patterns barely repeat: a factorisation per row spares copying
            # the shared ones out to their rows
            self.starts = np.arange(n_rows)
        self.pattern = np.repeat(
            np.arange(self.starts.size), np.diff(self.starts, append=n_rows)
        )
        # (n, D * K): (P_k x~ - P_k mu'_k)_j at column j * K + k
        gradient = block[: n_features + 1, rows].T @ mixture.gains
        within = np.arange(n_rows) * n_features + self.missing.T  # (r, n)
        self.gradient = gradient.reshape(-1, n_components).take(within, axis=0)
        # lower triangles of every (pattern, distinct precision) block
        columns = self.missing[self.starts].T  # (r, p)
        lower, upper = np.tril_indices(n_missing)
        place = columns[lower] * n_features + columns[upper]  # (T, p)
        self.factors = Factored.from_lower(mixture.entries.take(place, axis=0))
        by_row = self.factors  # (T, n, distinct)
        if self.starts.size < n_rows:
            by_row = by_row.take(self.pattern, axis=-2)
        log_det = self.factors.log_determinant()
        if self.starts.size < n_rows:
            log_det = log_det[self.pattern]
        if mixture.entries.shape[1] not in (1, n_components):
            by_row = by_row.take(mixture.distinct, axis=-1)
            log_det = log_det[:, mixture.distinct]
        self.by_row = by_row
        # log p(x_o) minus what the filled row's quadratic form gave
        correction = by_row.form(self.gradient)
        correction -= log_det
        correction += n_missing * LOG_2PI
        correction *= 0.5
        self.log_density = filled_log_density[rows] + correction

    def all_completions(self) -> np.ndarray:
        """``E[x_m | x_o, k] - c_m`` of every pair, (r, n, K)."""
        solution, _ = self.by_row.solve(self.gradient)
        solution *= -1.0
        return solution

    def pattern_inverses(self) -> np.ndarray:
        """``P_mm^-1`` of every (pattern, component), lower triangles packed
        by rows, (T, p, K), or (T, p, 1) where all components share it."""
        inverses = self.factors.inverse()
        if inverses.shape[-1] not in (1, self.gradient.shape[2]):
            inverses = inverses.take(self.mixture.distinct, axis=-1)
        return inverses

    def completions(self, row: np.ndarray, component: np.ndarray) -> np.ndarray:
        """``E[x_m | x_o, k] - c_m = -P_mm^-1 g`` of pairs (row, component),
        (r, pairs)."""
        factors = self.factors.pick(self.pattern[row], self.mixture.distinct[component])
        solution, _ = factors.solve(self.gradient[:, row, component])
        solution *= -1.0
        return solution

    def inverses(self, pattern: np.ndarray, component: np.ndarray) -> np.ndarray:
        """``P_mm^-1`` of pairs (pattern, component), lower triangles packed
        by rows, (T, pairs)."""
        n_distinct = self.mixture.entries.shape[1]
        keys = pattern * n_distinct + self.mixture.distinct[component]
        unique, which = np.unique(keys, return_inverse=True)
        chosen = self.factors.pick(*np.divmod(unique, n_distinct))
        return chosen.inverse()[:, which.reshape(-1)]


def groups(
    mixture: CentredMixture,
    block: np.ndarray,
    filled_log_density: np.ndarray,
    hidden: np.ndarray,
) -> Iterator[Group]:
    """The rows with missing values in groups of equal missing count."""
    n_components, n_features = mixture.centred_means.shape
    counts = hidden.sum(axis=1)
    for n_missing in np.unique(counts):
        if n_missing == 0:
            continue
        rows = np.flatnonzero(counts == n_missing)
        r = int(n_missing)
        per_row = n_components * (3 * n_features + 2 * r * r + 4 * r)
        step = max(1, _GROUP_ELEMENTS // per_row)
        for start in range(0, rows.size, step):
            yield Group(
                mixture, block, filled_log_density, rows[start : start + step], hidden
            )
