"""A uniform noise component: one more column of constant density.

A Gaussian mixture with noise (Banfield and Raftery, 1993; mclust's
``noise``) has the density

    p(x) = pi_0 / V + sum_k pi_k N(x | mu_k, Sigma_k),   pi_0 + sum_k pi_k = 1,

where ``V`` is the hypervolume of the data's region. The E-step adds one
column ``log pi_0 - log V`` to the components' weighted log-densities; the
noise column has no moments, so its only sufficient statistic is its
responsibility sum. The M-step of the Gaussian components is the ordinary
one, with weights rescaled to share ``1 - pi_0``.

Everything here is a pure function of arrays (the start's clutter rule
included); the loop that drives them lives in :mod:`gaussmix.fit.noise`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gaussmix._typing import Array
from gaussmix.backend import get_backend
from gaussmix.core.estep import (
    exp_without_subnormals,
    responsibility_stats,
    weighted_log_prob,
)
from gaussmix.core.mstep import RepairLog, m_step
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats

NOISE_VOLUMES = ("auto", "box", "pca_box")

#: The smallest noise proportion EM keeps (the smallest normal float64).
TINY = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class NoiseParams:
    """A Gaussian mixture plus a uniform noise component.

    ``gaussian.weights`` sum to ``1 - noise_proportion``; ``log_volume`` is
    ``log V``, fixed for a fit. ``log_extents`` (D,), the logs of the
    columns' ranges, place rows with missing values (see
    :func:`observed_log_noise`); None where no row has any.
    """

    gaussian: MixtureParams
    noise_proportion: float
    log_volume: float
    log_extents: np.ndarray | None = None

    @property
    def log_noise(self) -> float:
        """``log pi_0 - log V``, the noise column of every row (-inf if pi_0=0)."""
        with np.errstate(divide="ignore"):
            return float(np.log(self.noise_proportion)) - self.log_volume


@dataclass(frozen=True)
class NoiseSums:
    """Sums of a noise E-step over a set of rows; they add like Stats.

    ``stats`` are the Gaussian components' (their ``log_likelihood`` is the
    whole mixture's, noise included); ``noise_sum`` is ``sum_i w_i r_i0``.
    """

    stats: Stats
    noise_sum: float

    def __add__(self, other: NoiseSums) -> NoiseSums:
        if not isinstance(other, NoiseSums):
            return NotImplemented
        return NoiseSums(self.stats + other.stats, self.noise_sum + other.noise_sum)


def observed_log_noise(
    hidden: np.ndarray,
    noise_proportion: float,
    log_volume: float,
    log_extents: np.ndarray,
) -> np.ndarray:
    """The noise column of rows with missing values, shape (n_rows,).

    Under missing-at-random a row's noise density is the noise's marginal
    density over its observed columns. The region is taken as a box whose
    sides are the columns' ranges (``exp(log_extents)``), so that this
    marginal is uniform: ``pi_0 / prod_{j observed} extent_j``. Complete
    rows keep ``pi_0 / V`` whatever rule gave ``V`` (the principal-axes
    box, or a given volume, does not factor by columns; its marginals are
    approximated by the box's).

    Parameters
    ----------
    hidden : ndarray of bool, shape (n_rows, n_features)
        Where values are missing.
    noise_proportion : float
    log_volume : float
    log_extents : ndarray of shape (n_features,)
        Finite: a column of no range has no uniform marginal.
    """
    with np.errstate(divide="ignore"):
        log_proportion = float(np.log(noise_proportion))
    seen = (~hidden).astype(np.float64)
    log_region = np.where(hidden.any(axis=1), seen @ log_extents, log_volume)
    return log_proportion - log_region


def noisy_log_prob(X: Array, params: MixtureParams, log_noise: float) -> Array:
    """``log pi_k N(x_i | k)`` for every component, then ``log pi_0 - log V``.

    Shape (n_samples, n_components + 1), the noise last (mclust's order).
    A Gaussian column that is not a number (a row far beyond float range)
    is -inf: the finite noise column then explains the row.
    """
    xp = get_backend(X)
    log_prob = weighted_log_prob(X, params)
    log_prob = xp.where(log_prob == log_prob, log_prob, -np.inf)
    noise = xp.zeros((X.shape[0], 1), log_prob.dtype, like=log_prob) + log_noise
    return xp.concatenate([log_prob, noise], axis=1)


def noisy_log_responsibilities(
    X: Array, params: MixtureParams, log_noise: float
) -> tuple[Array, Array]:
    """Per-row ``log p(x_i)`` and log-responsibilities (n_samples, K + 1)."""
    xp = get_backend(X)
    log_prob = noisy_log_prob(X, params, log_noise)
    log_norm = xp.logsumexp(log_prob, axis=1)
    return log_norm, log_prob - log_norm[:, None]


def noise_chunk_sums(
    X: np.ndarray, weights: np.ndarray | None, params: NoiseParams
) -> NoiseSums:
    """The noise E-step of one chunk, in the form ``DataSource.chunk_sums`` calls.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    weights : ndarray of shape (n_rows,) or None
        Sample weights of the rows (None: ones).
    params : NoiseParams
    """
    gaussian = params.gaussian.cast(X)
    log_norm, log_resp = noisy_log_responsibilities(X, gaussian, params.log_noise)
    resp = exp_without_subnormals(log_resp)
    if weights is not None:
        resp = resp * weights[:, None].astype(resp.dtype, copy=False)
        log_norm = np.where(weights > 0, log_norm, 0.0)
        log_likelihood = float(np.dot(weights, log_norm.astype(np.float64)))
    else:
        log_likelihood = float(log_norm.sum(dtype=np.float64))
    stats = responsibility_stats(
        X,
        np.ascontiguousarray(resp[:, :-1]),
        weights,
        params.gaussian.means,
        params.gaussian.family.scatter_kind,
    )
    worst = _worst_row(X, weights, log_norm)
    stats = replace(
        stats,
        log_likelihood=log_likelihood,
        worst_log_density=worst[0],
        worst_point=worst[1],
    )
    return NoiseSums(stats, float(resp[:, -1].sum(dtype=np.float64)))


def _worst_row(
    X: np.ndarray, weights: np.ndarray | None, log_norm: np.ndarray
) -> tuple[float, np.ndarray | None]:
    # where a collapsed component is re-seeded (see gaussmix.core.mstep)
    values = np.asarray(log_norm, dtype=np.float64)
    if weights is not None:
        values = np.where(weights > 0, values, np.inf)
    if values.size == 0 or not np.isfinite(values.min()):
        return np.inf, None
    row = int(np.argmin(values))
    return float(values[row]), np.asarray(X[row], dtype=np.float64)


def noise_m_step(
    sums: NoiseSums,
    covariance_type: str,
    reg_covar: float,
    repairs: RepairLog,
    log_volume: float,
    log_extents: np.ndarray | None = None,
) -> NoiseParams:
    """Maximum-likelihood parameters from one noise E-step's sums.

    ``pi_0`` is the noise's share of the total weight; the Gaussian
    components' M-step is the ordinary one, their weights (which that M-step
    makes sum to one) are multiplied by ``1 - pi_0``, which gives each its
    own share ``sum_i w_i r_ik / sum_i w_i``.
    """
    total = sums.stats.total_weight
    if total <= 0:
        raise ValueError("the data's total sample weight is zero.")
    # never exactly zero: a zero share would stay zero, and a noise column
    # of -inf could no longer keep every row's density finite
    noise_proportion = min(max(sums.noise_sum / total, TINY), 1.0)
    gaussian = m_step(sums.stats, covariance_type, reg_covar, repairs)
    gaussian = replace(gaussian, weights=gaussian.weights * (1.0 - noise_proportion))
    return NoiseParams(gaussian, noise_proportion, log_volume, log_extents)


# ----------------------------------------------------------------------
# the data's region
@dataclass(frozen=True)
class RowRange:
    """Column-wise smallest and largest values of rows of positive weight.

    Adding two ranges gives the range of the union, so that the box can be
    found in one pass over any data source.
    """

    lower: np.ndarray
    upper: np.ndarray

    def __add__(self, other: RowRange) -> RowRange:
        if not isinstance(other, RowRange):
            return NotImplemented
        return RowRange(
            np.minimum(self.lower, other.lower), np.maximum(self.upper, other.upper)
        )

    def log_volume(self) -> float:
        """``sum_j log(upper_j - lower_j)``; -inf for an empty or flat range."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.log(self.upper - self.lower)))


def observed_range(X: np.ndarray, weights: np.ndarray | None) -> RowRange:
    """The range of each column's observed (not NaN) values, rows of
    positive weight only; a column without any has the empty range."""
    rows = np.asarray(X, dtype=np.float64)
    if weights is not None:
        rows = rows[np.asarray(weights) > 0]
    hidden = np.isnan(rows)
    lower = np.where(hidden, np.inf, rows).min(axis=0, initial=np.inf)
    upper = np.where(hidden, -np.inf, rows).max(axis=0, initial=-np.inf)
    return RowRange(lower, upper)


def row_range(
    X: np.ndarray,
    weights: np.ndarray | None,
    centre: np.ndarray | None = None,
    axes: np.ndarray | None = None,
) -> RowRange:
    """The range of a chunk's rows, or of their coordinates ``(x - centre) @ axes``.

    Rows of zero weight are absent rows and do not count.
    """
    rows = np.asarray(X, dtype=np.float64)
    if weights is not None:
        rows = rows[np.asarray(weights) > 0]
    if axes is not None:
        rows = (rows - centre) @ axes
    width = rows.shape[1]
    if rows.shape[0] == 0:
        return RowRange(np.full(width, np.inf), np.full(width, -np.inf))
    return RowRange(rows.min(axis=0), rows.max(axis=0))


def moment_stats(
    X: np.ndarray, weights: np.ndarray | None, centre: np.ndarray
) -> Stats:
    """Stats of all rows as one component, scatter about ``centre``."""
    rows = np.asarray(X, dtype=np.float64)
    resp = np.ones((rows.shape[0], 1)) if weights is None else weights[:, None]
    return responsibility_stats(rows, resp, weights, centre[None, :], "full")


def principal_axes(stats: Stats) -> tuple[np.ndarray, np.ndarray, bool]:
    """The weighted mean and principal axes (columns) of one-component Stats,
    and whether the rows span every direction (a full-rank covariance)."""
    mean = stats.means()[0]
    offset = mean - stats.shift[0]
    weight = stats.resp_sum[0]
    # the scatter about the mean, moved from the shift it was summed about
    scatter = stats.scatter[0] - weight * np.outer(offset, offset)
    variances, axes = np.linalg.eigh(scatter / weight)
    # below this the smallest variance is rounding: fewer rows than columns,
    # or rows on a hyperplane, whose box in these axes has no volume
    resolution = len(variances) * np.finfo(np.float64).eps * max(variances[-1], 0.0)
    return mean, axes, bool(variances[0] > resolution)


# ----------------------------------------------------------------------
# the start
def clutter_mask(rows: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Rows that look like uniform clutter by their nearest-neighbour distances.

    The rule of Byers and Raftery (1998; R's ``NNclean``): in ``D``
    dimensions the volume ``y = d_k ** D`` of the ball reaching a row's
    ``k``-th nearest neighbour is, for points of a Poisson process of
    intensity ``lambda``, Gamma distributed with shape ``k`` and rate
    proportional to ``lambda``. Dense features and sparse clutter are two
    intensities, so a two-component mixture of such Gammas (shape fixed,
    rates and proportion by EM, all in closed form) is fitted to ``y``, and
    the rows more likely under the smaller rate are clutter.

    Why this rule: it does not depend on a mixture fit, which the noise has
    already distorted (a plain fit of clusters plus 10% wide noise spreads
    components over the noise), and its threshold adapts to the amount of
    noise instead of taking a fixed fraction.
    """
    from sklearn.neighbors import NearestNeighbors

    n_rows, n_features = rows.shape
    k = min(n_neighbors, n_rows - 1)
    if k < 1:
        return np.zeros(n_rows, dtype=bool)
    finder = NearestNeighbors(n_neighbors=k + 1).fit(rows)
    distances = finder.kneighbors(rows)[0][:, -1]
    positive = distances[distances > 0]
    if positive.size == 0:
        return np.zeros(n_rows, dtype=bool)
    # volumes in units of the median's, through logs: d ** D overflows for
    # large D; a ratio beyond exp(700) is clutter whatever its exact value
    with np.errstate(divide="ignore"):
        log_ratio = n_features * (np.log(distances) - np.log(np.median(positive)))
    volumes = np.exp(np.minimum(log_ratio, 700.0))
    clutter = volumes > np.quantile(volumes, 0.9)
    if not clutter.any() or clutter.all():
        return np.zeros(n_rows, dtype=bool)
    # responsibilities of component 1, started at the sparsest tenth
    resp = clutter.astype(np.float64)
    rates = np.ones(2)
    for _ in range(500):
        weight = np.array([(1.0 - resp).sum(), resp.sum()])
        spread = np.array([((1.0 - resp) * volumes).sum(), (resp * volumes).sum()])
        if np.any(weight <= 0) or np.any(spread <= 0):
            break
        rates = k * weight / spread
        # the (k - 1) log y and log Gamma(k) terms are the same for both
        log_joint = np.log(weight / n_rows) + k * np.log(rates)
        log_joint = log_joint - np.outer(volumes, rates)
        log_joint -= log_joint.max(axis=1, keepdims=True)
        joint = np.exp(log_joint)
        new = joint[:, 1] / joint.sum(axis=1)
        done = np.max(np.abs(new - resp)) < 1e-8
        resp = new
        if done:
            break
    # the clutter is the sparser component (the smaller rate)
    return resp > 0.5 if rates[1] <= rates[0] else resp < 0.5
