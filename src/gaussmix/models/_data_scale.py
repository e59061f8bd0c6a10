"""Fitting data whose spread would overflow the squares EM forms.

A float32 cell at 1e19 (or a netCDF fill value, 9.97e36) squares beyond
float32's range; float64 data at 1e160 square beyond float64's. Such data
are fitted as ``Y = X / 2**e`` in float64, with ``2**e`` the smallest
power of two that brings their squares back within float64's range (1 for
float32 data, which only need float64), and ``reg_covar / 4**e`` in place
of ``reg_covar``. Scaling by a power of two is exact and EM is equivariant
under it, so the fit is the one the data's own units would give without
overflow; its parameters are mapped back at the end. Data of ordinary
spread never take this path.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gaussmix.core.covariance import get_family
from gaussmix.core.mstep import RegCovarWarning
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.core.variational import VariationalPosterior, VariationalPrior

#: The data are rescaled when the square of their largest spread comes
#: within this factor of the dtype's largest number: sums over rows and
#: features, and products with precisions, need the room.
HEADROOM = 2.0**64


@dataclass(frozen=True)
class DataScale:
    """Data units ``x = units * y`` of a rescaled fit, column by column.

    ``reg_covar_factor`` turns the ``reg_covar`` of the data's units into
    the one of the rescaled rows.
    """

    units: np.ndarray
    reg_covar_factor: float = 1.0
    #: The largest range of a column, for messages.
    spread: float = 0.0

    def rows(self, X: np.ndarray) -> np.ndarray:
        """``X / units`` in float64."""
        return np.asarray(X, dtype=np.float64) / self.units

    def reg_covar(self, reg_covar: float) -> float:
        return float(reg_covar * self.reg_covar_factor)

    def log_density_shift(self, n_features: int) -> float:
        """What a log-density in rescaled units gains in data units."""
        return -float(np.log(self.units).sum())

    def then(self, other: DataScale | None) -> DataScale:
        """This rescaling followed by ``other`` (applied to the rescaled rows)."""
        if other is None:
            return self
        return DataScale(
            self.units * other.units,
            self.reg_covar_factor * other.reg_covar_factor,
            other.spread,
        )

    def _scaled(self, params: MixtureParams, power: int) -> MixtureParams:
        """Parameters with the data's units raised to ``power`` (1 or -1)."""
        units = self.units**power
        covariances = np.asarray(params.covariances, np.float64)
        factors = np.asarray(params.precisions_cholesky, np.float64)
        if params.family.matrix_layout:
            covariances = covariances * np.multiply.outer(units, units)
            # P = U U^T scales as S^-1 P S^-1: the rows of U by 1 / units
            factors = factors / units[:, None]
        elif covariances.ndim == 2:
            covariances = covariances * units**2
            factors = factors / units
        else:
            covariances = covariances * units[0] ** 2
            factors = factors / units[0]
        return replace(
            params,
            means=np.asarray(params.means, np.float64) * units,
            covariances=covariances,
            precisions_cholesky=factors,
        )

    def user_init(self, user_init: dict, matrix_layout: bool) -> dict:
        """Given starting means and precisions, in rescaled units."""
        out = dict(user_init)
        if out.get("means") is not None:
            out["means"] = self.rows(out["means"])
        if out.get("precisions") is not None:
            precisions = np.asarray(out["precisions"], np.float64)
            if matrix_layout:
                precisions = precisions * np.multiply.outer(self.units, self.units)
            elif precisions.ndim == 2:
                precisions = precisions * self.units**2
            else:
                precisions = precisions * self.units[0] ** 2
            out["precisions"] = precisions
        return out

    def to_rescaled(self, params: MixtureParams) -> MixtureParams:
        """Parameters in data units, as parameters of the rescaled rows."""
        return self._scaled(params, -1)

    def to_data_units(self, params: MixtureParams, dtype) -> MixtureParams:
        """Parameters of the rescaled rows, in data units and ``dtype``.

        Raises ValueError when they do not fit in ``dtype``.
        """
        with np.errstate(over="ignore"):
            in_float64 = self._scaled(params, 1)
            data_units = in_float64.to_numpy(dtype)
        if all(
            np.all(np.isfinite(a)) for a in (data_units.means, data_units.covariances)
        ):
            return data_units
        fits_float64 = all(
            np.all(np.isfinite(a)) for a in (in_float64.means, in_float64.covariances)
        )
        raise self.out_of_range(dtype, fits_float64)

    def out_of_range(self, dtype, fits_float64: bool = False) -> ValueError:
        """The error of a fit whose covariances ``dtype`` cannot hold."""
        advice = (
            "pass X as float64"
            if np.dtype(dtype) == np.float32 and fits_float64
            else "divide X by a common factor"
        )
        return ValueError(
            f"X's columns span up to {self.spread:.3g}: the fitted covariances "
            f"exceed {np.dtype(dtype).name}'s range. Remove the extreme values "
            f"or {advice}."
        )

    def prior_to_rescaled(self, prior: VariationalPrior) -> VariationalPrior:
        """A prior of the data's units, as a prior of the rescaled rows."""
        covariance = np.asarray(prior.covariance, np.float64)
        if covariance.ndim == 2:
            covariance = covariance / np.multiply.outer(self.units, self.units)
        elif covariance.ndim == 1:
            covariance = covariance / self.units**2
        else:
            covariance = covariance / self.units[0] ** 2
        return replace(prior, mean=prior.mean / self.units, covariance=covariance)

    def prior_to_data_units(self, prior: VariationalPrior) -> VariationalPrior:
        """The inverse of :meth:`prior_to_rescaled`."""
        inverse = DataScale(1.0 / self.units)
        return inverse.prior_to_rescaled(prior)

    def posterior_to_data_units(
        self, posterior: VariationalPosterior, dtype
    ) -> VariationalPosterior:
        """A posterior of the rescaled rows, in data units (float64).

        Raises ValueError when its parameters do not fit in ``dtype``.
        """
        self.to_data_units(posterior.point_params(), dtype)
        point = self._scaled(posterior.point_params(), 1)
        return replace(
            posterior,
            means=point.means,
            covariances=point.covariances,
            precisions_cholesky=point.precisions_cholesky,
        )

    def stats_to_data_units(self, stats: Stats) -> Stats | None:
        """Stats of the rescaled rows, as Stats of the rows in data units.

        None where the second moments exceed float64 in the data's units
        (where the means and covariances may not): such a fit leaves no
        Stats to continue from.
        """
        units = np.asarray(self.units, dtype=np.float64)
        with np.errstate(over="ignore"):
            if stats.scatter_kind == "diag":
                scatter = stats.scatter * units**2
            else:
                # full (K, D, D) and pooled (D, D) scale alike on their last axes
                scatter = stats.scatter * np.multiply.outer(units, units)
        if not np.all(np.isfinite(scatter)):
            return None
        worst = stats.worst_point
        return replace(
            stats,
            centred_sum=stats.centred_sum * units,
            scatter=scatter,
            shift=stats.shift * units,
            worst_point=None if worst is None else worst * units,
        )

    def posterior_to_rescaled(
        self, posterior: VariationalPosterior
    ) -> VariationalPosterior:
        """A posterior in data units, as a posterior of the rescaled rows."""
        point = self._scaled(posterior.point_params(), -1)
        return replace(
            posterior,
            means=point.means,
            covariances=point.covariances,
            precisions_cholesky=point.precisions_cholesky,
        )

    def bound_shift(self, posterior: VariationalPosterior) -> float:
        """What the variational bound gains in data units.

        Only the Wishart normalisers depend on the units: each carries
        ``nu_k log |W_k|^(1/2)``, and ``sum_k nu_k`` does not change during a
        fit, so the shift is the same for every iteration.
        """
        nu = np.asarray(posterior.degrees_of_freedom, np.float64)
        total = nu * len(posterior.mean_precision) if nu.ndim == 0 else nu.sum()
        return -float(np.log(self.units).sum() * total)


def column_halves(X: object) -> tuple[np.ndarray, np.ndarray] | None:
    """Halves of the columns' minima and maxima in float64, or None.

    One pass for the minima and one for the maxima; halves stay finite even
    for values near float64's limit. None for anything but a non-empty numpy
    array.
    """
    if not isinstance(X, np.ndarray) or X.dtype not in (np.float32, np.float64):
        return None
    if X.size == 0:
        return None
    low = X.min(axis=0)
    if np.isnan(low).any():
        # missing values (NaN): the range of each column's observed values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column all NaN
            low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        low, high = np.nan_to_num(low), np.nan_to_num(high)
        return low.astype(np.float64) / 2.0, high.astype(np.float64) / 2.0
    return low.astype(np.float64) / 2.0, X.max(axis=0).astype(np.float64) / 2.0


#: The largest spread of a column whose square float64 holds.
SQUARE_LIMIT = float(np.sqrt(np.finfo(np.float64).max))


def refuse_overflowing_squares(
    halves: tuple[np.ndarray, np.ndarray] | None,
) -> None:
    """Raise a clear ValueError where the rows' squares overflow float64.

    For the estimators that fit in the data's own units (StudentMixture,
    MixtureOfFactorAnalyzers, HDDC, HDDAClassifier; GaussianMixture and
    BayesianGaussianMixture rescale instead): the moments their EM sums
    hold squares of the rows, infinite beyond about 1e154, and their starts
    (k-means) overflow before any step could say why. ``halves`` are
    :func:`column_halves` of the rows, or None (nothing to check).
    """
    if halves is None:
        return
    low, high = halves
    spread = 2.0 * float(np.max(high - low, initial=0.0))
    if spread <= SQUARE_LIMIT:
        return
    raise ValueError(
        f"X's columns span up to {spread:.3g}: the data hold values too large "
        "for the squares the fit computes (about 1e154 and beyond in float64). "
        "Rescale the data, for example divide X by a common factor or use "
        "sklearn.preprocessing.StandardScaler, or remove the extreme values."
    )


def source_halves(source: object) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`column_halves` of a data source's rows, or None.

    Sources read from files or a cluster record their columns' ranges while
    they are validated; rows in memory are reduced here.
    """
    column_range = getattr(source, "column_range", None)
    if column_range is not None:
        low, high = column_range
        return low / 2.0, high / 2.0
    return column_halves(getattr(source, "X", None))


def data_scale(
    dtype: np.dtype, halves: tuple[np.ndarray, np.ndarray]
) -> DataScale | None:
    """The rescaling rows of ``dtype`` need to be fitted without overflow, or None.

    ``halves`` are the rows' :func:`column_halves`.
    """
    low, high = halves
    half_spread = float(np.max(high - low))
    if 2.0 * half_spread <= _limit(dtype):
        return None
    # float32 rows only need float64 to hold their squares; float64 rows
    # are scaled down just enough, so that small values keep their digits
    exponent = max(0, int(np.frexp(half_spread)[1]) + 1 - _limit_exponent())
    # no shift: a shift far from the bulk of the rows (their midrange, with
    # an outlier) would round their offsets away; EM centres on its own.
    # a power of two: the rescaling is exact
    return DataScale(
        units=np.full(len(low), np.ldexp(1.0, exponent)),
        reg_covar_factor=float(np.ldexp(1.0, -2 * exponent)),
        spread=2.0 * half_spread,
    )


#: Families whose models stay the same model when each column is scaled on
#: its own; the others (spherical components, shared orientations or
#: shapes) are rescaled by one common unit.
PER_COLUMN_FAMILIES = frozenset({"full", "tied", "diag", "EEI", "VEI", "EVI"})


def variance_units(
    X: np.ndarray, sample_weight: np.ndarray | None, per_column: bool
) -> DataScale:
    """Units in which each column (or, not ``per_column``, the average column)
    has unit weighted variance; constant columns keep their units.

    Deviations are taken in units of a power of two near the largest, so
    that neither the mean nor the squares overflow for any finite data.
    """
    values = np.asarray(X, dtype=np.float64)
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    if np.isnan(values).any():
        deviation = _observed_deviations(values, weights)
    else:
        centre = 2.0 * np.average(values / 2.0, axis=0, weights=weights)
        deviations = values / 2.0 - centre / 2.0
        unit = np.ldexp(1.0, np.frexp(np.abs(deviations).max(axis=0))[1])
        scaled = np.average((deviations / unit) ** 2, axis=0, weights=weights)
        deviation = 2.0 * unit * np.sqrt(scaled)
    if not per_column:
        largest = deviation.max()
        common = largest * np.sqrt(np.mean((deviation / largest) ** 2))
        deviation = np.full_like(deviation, common)
    units = np.where(deviation > 0, deviation, 1.0)
    return DataScale(units=units, reg_covar_factor=1.0)


def _observed_deviations(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Each column's weighted standard deviation over its observed values
    (NaN marks a missing value), as :func:`variance_units` takes it; 0 for
    a column without two distinct observed values."""
    seen = ~np.isnan(values)
    cell = seen if weights is None else seen * weights[:, None]
    total = cell.sum(axis=0)
    total = np.where(total > 0, total, 1.0)  # a column without values: 0
    halves = np.where(seen, values / 2.0, 0.0)
    centre = 2.0 * (cell * halves).sum(axis=0) / total
    deviations = np.where(seen, halves - centre / 2.0, 0.0)
    unit = np.ldexp(1.0, np.frexp(np.abs(deviations).max(axis=0))[1])
    scaled = (cell * (deviations / unit) ** 2).sum(axis=0) / total
    return 2.0 * unit * np.sqrt(scaled)


#: ``reg_covar`` is reported when it reaches this fraction of a column's
#: largest possible variance, the square of half its range.
REG_COVAR_FRACTION = 0.01


def warn_dominant_reg_covar(
    reg_covar: float, halves: tuple[np.ndarray, np.ndarray]
) -> None:
    """Warn when ``reg_covar`` dominates the variance of some column.

    A column's variance is at most the square of half its range, so the
    warning needs no pass beyond the one that found the ranges; constant
    columns, whose variance ``reg_covar`` is meant to set, are left out.
    """
    low, high = halves
    half_range = high - low
    with np.errstate(over="ignore"):
        # a range whose square overflows is dominated by nothing
        largest_variance = half_range * half_range
    dominated = np.flatnonzero(
        (half_range > 0) & (reg_covar >= REG_COVAR_FRACTION * largest_variance)
    )
    if dominated.size == 0:
        return
    shown = ", ".join(str(int(i)) for i in dominated[:5])
    more = "" if dominated.size <= 5 else f" and {dominated.size - 5} more"
    warnings.warn(
        f"reg_covar={reg_covar:.3g} is at least {REG_COVAR_FRACTION:.0%} of the "
        f"variance of column(s) {shown}{more} (the narrowest spans "
        f"{2 * float(half_range[dominated].min()):.3g} from its smallest value "
        "to its largest): it dominates their "
        "covariances and may merge clusters. Set reg_covar_scale='variance' "
        "(reg_covar relative to each column's variance), scale those columns "
        "(for example with sklearn.preprocessing.StandardScaler) or lower "
        "reg_covar.",
        RegCovarWarning,
        stacklevel=3,
    )


def _limit(dtype) -> float:
    """The largest spread whose squares keep :data:`HEADROOM` in ``dtype``."""
    return float(np.sqrt(np.finfo(dtype).max / HEADROOM))


def _limit_exponent() -> int:
    return int(np.frexp(_limit(np.float64))[1]) - 1


def fit_units(
    source: Any, reg_covar: float, reg_covar_scale: str, covariance_type: str
) -> DataScale | None:
    """The units a fit of ``source`` runs in, or None (the data's own).

    The columns' deviations with ``reg_covar_scale='variance'``; a power of
    two (or float64) where the rows' squares would overflow their dtype.
    """
    halves = source_halves(source)
    if reg_covar_scale == "absolute":
        if halves is not None and reg_covar > 0:
            warn_dominant_reg_covar(reg_covar, halves)
        return None if halves is None else data_scale(source.dtype, halves)
    if not isinstance(getattr(source, "X", None), np.ndarray):
        raise ValueError(
            "reg_covar_scale='variance' needs X as an in-memory numpy array; "
            "scale the columns beforehand and use reg_covar_scale='absolute'."
        )
    per_column = get_family(covariance_type).name in PER_COLUMN_FAMILIES
    units = variance_units(source.X, source.sample_weight, per_column)
    rows = units.rows(source.X)
    return units.then(data_scale(rows.dtype, column_halves(rows)))


def batch_stats(source: Any, params: MixtureParams) -> tuple[Stats, DataScale | None]:
    """A batch's Stats under ``params``, in the data's units.

    Rows whose squares overflow their dtype (float32 beyond about 1e19) are
    summarised in float64, as a fit fits them; the scale that says so comes
    with the Stats (None otherwise), so that the caller can check that the
    new parameters fit the dtype.
    """
    halves = source_halves(source)
    scale = None if halves is None else data_scale(source.dtype, halves)
    if scale is None:
        return source.stats(params), None
    if np.any(scale.units != 1.0):
        raise ValueError(
            f"X's columns span up to {scale.spread:.3g}, beyond what partial_fit "
            "can sum in float64; divide X by a common factor."
        )
    return source.rescaled(scale.units).stats(params), scale
