"""The EM loop shared by every data source.

The loop only sees a function from parameters to Stats; whether those Stats
come from an in-memory array, a file on disk or a Dask cluster is the
caller's business.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from gaussmix.core.mstep import RepairLog, m_step
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.fit.progress import EMProgress

StatsFunction = Callable[[MixtureParams], Stats]


@dataclass
class EMResult:
    """Outcome of one EM run from one start."""

    params: MixtureParams
    n_iter: int
    lower_bound: float
    lower_bounds: list[float] = field(default_factory=list)
    converged: bool = False


def run_em(
    compute_stats: StatsFunction,
    params: MixtureParams,
    *,
    reg_covar: float,
    tol: float,
    max_iter: int,
    lower_bound: float = -math.inf,
    progress: EMProgress | None = None,
    repairs: RepairLog | None = None,
) -> EMResult:
    """Iterate E- and M-steps until the lower bound changes by less than ``tol``.

    As in scikit-learn, the lower bound of an iteration is the average
    log-likelihood of the parameters that entered its E-step, and the
    parameters returned are those of the M-step that followed.
    """
    repairs = repairs if repairs is not None else RepairLog()
    lower_bounds: list[float] = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        stats = compute_stats(params)
        if stats.total_weight <= 0:
            raise ValueError("the data's total sample weight is zero.")
        params = m_step(stats, params.covariance_type, reg_covar, repairs)
        lower_bound = stats.log_likelihood / stats.total_weight
        if not math.isfinite(lower_bound):
            raise ValueError(
                "EM produced a non-finite log-likelihood; the data may hold "
                "extreme values. Scale the columns or increase reg_covar."
            )
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        if progress is not None:
            progress.iteration(n_iter, lower_bound, change)
        if abs(change) < tol:
            converged = True
            break
    return EMResult(params, n_iter, lower_bound, lower_bounds, converged)


StartFunction = Callable[[], tuple[MixtureParams, float]]


def fit_with_restarts(
    compute_stats: StatsFunction,
    start: StartFunction,
    *,
    n_init: int,
    reg_covar: float,
    tol: float,
    max_iter: int,
    progress: EMProgress,
    repairs: RepairLog,
) -> EMResult:
    """Run EM from ``n_init`` starts and keep the highest final lower bound.

    ``start()`` returns the parameters and lower bound a run begins from.
    With ``max_iter=0`` the starting parameters are returned unchanged.
    """
    best: EMResult | None = None
    for index in range(n_init):
        progress.start_init(index)
        params, lower_bound = start()
        if max_iter == 0:
            result = EMResult(params, 0, -math.inf, [], False)
        else:
            result = run_em(
                compute_stats,
                params,
                reg_covar=reg_covar,
                tol=tol,
                max_iter=max_iter,
                lower_bound=lower_bound,
                progress=progress,
                repairs=repairs,
            )
        progress.end_init(result.lower_bound, result.converged)
        if best is None or result.lower_bound > best.lower_bound:
            best = result
    return best
