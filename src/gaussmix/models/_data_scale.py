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

import numpy as np

from gaussmix.core.mstep import RegCovarWarning
from gaussmix.core.params import MixtureParams

#: The data are rescaled when the square of their largest spread comes
#: within this factor of the dtype's largest number: sums over rows and
#: features, and products with precisions, need the room.
HEADROOM = 2.0**64


@dataclass(frozen=True)
class DataScale:
    """Data units ``x = centre + 2**exponent * y`` of a rescaled fit."""

    centre: np.ndarray
    exponent: int
    #: The largest range of a column, for messages.
    spread: float = 0.0

    @property
    def factor(self) -> float:
        return float(np.ldexp(1.0, self.exponent))

    def rows(self, X: np.ndarray) -> np.ndarray:
        """``(X - centre) / 2**exponent`` in float64."""
        # scaled first, so that values near float64's limit cannot overflow
        X = np.asarray(X, dtype=np.float64)
        return np.ldexp(X, -self.exponent) - np.ldexp(self.centre, -self.exponent)

    def reg_covar(self, reg_covar: float) -> float:
        return float(np.ldexp(reg_covar, -2 * self.exponent))

    def log_density_shift(self, n_features: int) -> float:
        """What a log-density in rescaled units gains in data units."""
        return -n_features * self.exponent * float(np.log(2.0))

    def user_init(self, user_init: dict) -> dict:
        """Given starting means and precisions, in rescaled units."""
        out = dict(user_init)
        if out.get("means") is not None:
            out["means"] = self.rows(out["means"])
        if out.get("precisions") is not None:
            out["precisions"] = np.ldexp(
                np.asarray(out["precisions"], np.float64), 2 * self.exponent
            )
        return out

    def to_rescaled(self, params: MixtureParams) -> MixtureParams:
        """Parameters in data units, as parameters of the rescaled rows."""
        return replace(
            params,
            means=self.rows(params.means),
            covariances=np.ldexp(
                np.asarray(params.covariances, np.float64), -2 * self.exponent
            ),
            precisions_cholesky=np.ldexp(
                np.asarray(params.precisions_cholesky, np.float64), self.exponent
            ),
        )

    def to_data_units(self, params: MixtureParams, dtype) -> MixtureParams:
        """Parameters of the rescaled rows, in data units and ``dtype``.

        Raises ValueError when they do not fit in ``dtype``.
        """
        with np.errstate(over="ignore"):
            means = self.centre + np.ldexp(np.asarray(params.means), self.exponent)
            covariances = np.ldexp(np.asarray(params.covariances), 2 * self.exponent)
            factors = np.ldexp(np.asarray(params.precisions_cholesky), -self.exponent)
            data_units = replace(
                params,
                means=means,
                covariances=covariances,
                precisions_cholesky=factors,
            ).to_numpy(dtype)
        arrays = (data_units.means, data_units.covariances)
        if not all(np.all(np.isfinite(a)) for a in arrays):
            in_float64 = replace(params, means=means, covariances=covariances)
            fits_float64 = all(
                np.all(np.isfinite(a))
                for a in (in_float64.means, in_float64.covariances)
            )
            advice = (
                "pass X as float64"
                if np.dtype(dtype) == np.float32 and fits_float64
                else "divide X by a common factor"
            )
            raise ValueError(
                f"X's columns span up to {self.spread:.3g}: the fitted "
                f"covariances exceed {np.dtype(dtype).name}'s range. Remove the "
                f"extreme values or {advice}."
            )
        return data_units


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
    return X.min(axis=0).astype(np.float64) / 2.0, X.max(axis=0).astype(
        np.float64
    ) / 2.0


def data_scale(
    X: np.ndarray, halves: tuple[np.ndarray, np.ndarray]
) -> DataScale | None:
    """The rescaling X needs to be fitted without overflow, or None.

    ``halves`` are X's :func:`column_halves`.
    """
    low, high = halves
    half_spread = float(np.max(high - low))
    if 2.0 * half_spread <= _limit(X.dtype):
        return None
    # float32 rows only need float64 to hold their squares; float64 rows
    # are scaled down just enough, so that small values keep their digits
    exponent = max(0, int(np.frexp(half_spread)[1]) + 1 - _limit_exponent())
    # no shift: a shift far from the bulk of the rows (their midrange, with
    # an outlier) would round their offsets away; EM centres on its own
    return DataScale(
        centre=np.zeros(X.shape[1]), exponent=exponent, spread=2.0 * half_spread
    )


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
        f"variance of column(s) {shown}{more} (range down to "
        f"{2 * float(half_range[dominated].min()):.3g}): it dominates their "
        "covariances and may merge clusters. Scale those columns (for example "
        "with sklearn.preprocessing.StandardScaler) or lower reg_covar.",
        RegCovarWarning,
        stacklevel=3,
    )


def _limit(dtype) -> float:
    """The largest spread whose squares keep :data:`HEADROOM` in ``dtype``."""
    return float(np.sqrt(np.finfo(dtype).max / HEADROOM))


def _limit_exponent() -> int:
    return int(np.frexp(_limit(np.float64))[1]) - 1
