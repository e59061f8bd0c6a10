"""Responsibilities of rows far from every component, computed without overflow.

The E-step forms each ``log p_k(x)`` on its own, in the data's dtype. For a
row far from every component (a query at 1e200, a float32 cell at 1e19) the
squared Mahalanobis distances overflow, or are so large that their rounding
swamps the differences between components that the responsibilities depend
on: rows come out NaN, or as two equal halves where one component is
certain. Such rows are rare and cheap to detect from the row's largest
log-density; this module recomputes only them, in float64, from the
differences ``log p_k(x) - log p_r(x)`` to a reference component ``r``,
taken in units scaled by a power of two so that nothing overflows:

    q_k - q_r = v^T (P_k - P_r) v - 2 v^T P_k d_k + d_k^T P_k d_k

with ``v = x - mu_r``, ``d_k = mu_k - mu_r`` and ``P`` the precisions. The
quadratic terms cancel exactly where the precisions are equal (tied
models), so the linear term that separates the components survives.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gaussmix.core.covariance.base import LOG_2PI

#: A row's log-densities are recomputed when the rounding of its largest,
#: ``|log p| * eps``, exceeds this many nats: beyond it the responsibilities
#: formed from them would be off by about as much.
LOG_DENSITY_ROUNDING_LIMIT = 1e-2


def imprecise_rows(peak: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Indices of rows whose largest log-density ``peak`` cannot be trusted.

    Those are rows with a NaN or an infinite peak (every component's
    density overflowed) and rows whose peak is so large that its rounding
    exceeds :data:`LOG_DENSITY_ROUNDING_LIMIT`.
    """
    limit = LOG_DENSITY_ROUNDING_LIMIT / np.finfo(dtype).eps
    with np.errstate(invalid="ignore"):
        trusted = np.abs(peak) <= limit
    return np.flatnonzero(~trusted)


def row_scales(X: np.ndarray, means: np.ndarray) -> np.ndarray:
    """A power of two per row that brings it and the means to about unit size.

    The largest of the row's and the means' magnitudes, rounded down to a
    power of two and never below 1 (so that constants divided by its
    square stay finite); dividing by it is exact, and ``x / s - mu / s``
    cannot overflow where ``x - mu`` would. Shape (n_rows,).
    """
    size = np.maximum(np.abs(X).max(axis=1, initial=0.0), np.abs(means).max())
    return np.ldexp(1.0, np.frexp(np.maximum(size, 1.0))[1] - 1)


def component_forms(
    weights: np.ndarray,
    means: np.ndarray,
    precisions: np.ndarray,
    matrix_layout: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constants, means and full precision matrices of the components.

    ``precisions`` may be in any family's layout: matrices (K, D, D) or
    tied (D, D) when ``matrix_layout``, else variances' inverses, diagonal
    (K, D) or spherical (K,). The constant of component ``k`` is
    ``log w_k + log|P_k| / 2 - D log(2 pi) / 2``.
    """
    means = np.asarray(means, dtype=np.float64)
    n_components, n_features = means.shape
    precisions = np.asarray(precisions, dtype=np.float64)
    if matrix_layout:
        matrices = np.broadcast_to(precisions, (n_components, n_features, n_features))
    elif precisions.ndim == 2:
        matrices = precisions[:, :, None] * np.eye(n_features)
    else:
        matrices = precisions.reshape(-1, 1, 1) * np.eye(n_features)
    _, log_det = np.linalg.slogdet(matrices)
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(weights, dtype=np.float64))
    constants = log_weights + 0.5 * log_det - 0.5 * n_features * LOG_2PI
    return constants, means, np.ascontiguousarray(matrices)


#: ``differences(rows, scale, reference)``: ``log w_k p_k(x) - log w_r
#: p_r(x)`` per row in units of ``scale**2``, and ``log w_r p_r(x)`` in nats.
Differences = Callable[
    [np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]
]


def exact_log_responsibilities(
    X: np.ndarray,
    constants: np.ndarray,
    means: np.ndarray,
    precisions: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``log p(x_i)`` and log-responsibilities of rows, without overflow.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    constants, means, precisions
        As returned by :func:`component_forms`.

    Returns
    -------
    log_norm : ndarray of shape (n_rows,)
        ``-inf`` only where the log-density is below float64's range.
    log_resp : ndarray of shape (n_rows, n_components)
        Finite or ``-inf``; their exponentials sum to one in every row.
    """
    X = np.asarray(X, dtype=np.float64)

    def differences(
        rows: np.ndarray, scale: np.ndarray, reference: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return _differences(rows, scale, reference, constants, means, precisions)

    return log_responsibilities_by_differences(X, constants, means, differences)


def log_responsibilities_by_differences(
    X: np.ndarray, constants: np.ndarray, means: np.ndarray, differences: Differences
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`exact_log_responsibilities` for any form of the components.

    ``differences`` compares the components to a reference one for some
    rows, in units of a power of two near each row's size (see
    :data:`Differences`); the densities' own forms (dense precisions here,
    low-rank ones in :mod:`gaussmix.core.lowrank`) only enter through it.
    """
    n_rows = X.shape[0]
    rows = np.arange(n_rows)
    scale = row_scales(X, means)
    # a reference of positive weight, so that differences to it are not NaN
    reference = np.full(n_rows, np.argmax(constants), dtype=np.intp)
    # the differences are compared in units of scale**2, where they are
    # finite: in nats, several could overflow to +inf and tie. Each pass
    # moves a row to a likelier reference, and from the likeliest one the
    # differences are all <= 0 and cannot overflow upwards; one pass per
    # component suffices, with room for rounding to flip one comparison
    relative, reference_log = differences(X, scale, reference)
    for _ in range(len(constants)):
        best = np.argmax(relative, axis=1)
        moved = np.flatnonzero(best != reference)
        if moved.size == 0:
            break
        reference[moved] = best[moved]
        relative[moved], reference_log[moved] = differences(
            X[moved], scale[moved], reference[moved]
        )
    best = np.argmax(relative, axis=1)
    # rounding may still leave a difference slightly above the reference's
    # zero; taking the largest keeps every difference <= 0
    peak = relative[rows, best]
    s = scale[:, None]
    with np.errstate(over="ignore"):
        # (d * s) * s overflows only to -inf: the component is that improbable
        gaps = ((relative - peak[:, None]) * s) * s
        lift = (peak * scale) * scale
    with np.errstate(under="ignore"):
        total = np.exp(gaps).sum(axis=1)
    log_total = np.log(total)
    # a reference log-density below float64's range stays there: the peak
    # lies above it by rounding only
    log_norm = np.where(
        np.isneginf(reference_log), -np.inf, reference_log + lift + log_total
    )
    return log_norm, gaps - log_total[:, None]


def _differences(
    X: np.ndarray,
    scale: np.ndarray,
    reference: np.ndarray,
    constants: np.ndarray,
    means: np.ndarray,
    precisions: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``log w_k p_k(x) - log w_r p_r(x)`` per row in units of ``scale**2``,
    and ``log w_r p_r(x)`` in nats.
    """
    n_rows = X.shape[0]
    relative = np.empty((n_rows, means.shape[0]))
    reference_log = np.empty(n_rows)
    for r in np.unique(reference):
        rows = np.flatnonzero(reference == r)
        s = scale[rows]
        v = X[rows] / s[:, None] - means[r] / s[:, None]
        d = (means[None, :, :] - means[r][None, None, :]) / s[:, None, None]
        change = precisions - precisions[r]
        quadratic = np.einsum("ni,kij,nj->nk", v, change, v)
        linear = np.einsum("ni,kij,nkj->nk", v, precisions, d)
        offset = np.einsum("nki,kij,nkj->nk", d, precisions, d)
        scaled = quadratic - 2.0 * linear + offset
        with np.errstate(under="ignore"):
            # constants are a few nats: in units of a huge scale**2 they vanish
            constant = ((constants - constants[r]) / s[:, None]) / s[:, None]
        relative[rows] = constant - 0.5 * scaled
        own = np.einsum("ni,ij,nj->n", v, precisions[r], v)
        with np.errstate(over="ignore"):
            # (s * q) * s overflows only to -inf: the row is that improbable
            reference_log[rows] = constants[r] - 0.5 * ((own * s) * s)
    # a product of an overflowed and a vanishing term: such a component
    # cannot be compared, and is not taken for the likeliest
    relative[np.isnan(relative)] = -np.inf
    return relative, reference_log
