"""The EM loop shared by every model and every data source.

The loop sees two functions: one from the current state to the sums of an
E-step pass, and one from those sums (and the state that produced them) to
the next state and the iteration's lower bound. Whether the sums come from
an in-memory array, a file on disk or a Dask cluster, and whether the update
is a maximum-likelihood M-step, a variational one or one over class labels,
is the caller's business.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from gaussmix.core.conjugate_prior import ConjugatePrior, log_prior
from gaussmix.core.mstep import RepairLog, m_step
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.fit.progress import EMProgress

State = TypeVar("State")
Sums = TypeVar("Sums")

StatsFunction = Callable[[MixtureParams], Stats]


@dataclass
class EMResult(Generic[State]):
    """Outcome of one EM run from one start.

    ``params`` is the state the run ended in: a :class:`MixtureParams` for
    maximum likelihood, a posterior for variational Bayes.
    """

    params: State
    n_iter: int
    lower_bound: float
    lower_bounds: list[float] = field(default_factory=list)
    converged: bool = False


def maximum_likelihood_update(
    reg_covar: float, repairs: RepairLog, prior: ConjugatePrior | None = None
) -> Callable[[Stats, MixtureParams], tuple[MixtureParams, float]]:
    """The M-step of maximum likelihood (or a posteriori) as the loop's update.

    The lower bound is the average log-likelihood of the parameters that
    entered the E-step, as in scikit-learn. With a resolved conjugate
    ``prior`` the M-step is its MAP step, and the bound adds the log-prior
    (up to a constant) divided by the total weight: the average
    log-posterior, which MAP EM never lowers.
    """

    def update(stats: Stats, params: MixtureParams) -> tuple[MixtureParams, float]:
        if stats.total_weight <= 0:
            raise ValueError("the data's total sample weight is zero.")
        new = m_step(stats, params.covariance_type, reg_covar, repairs, prior)
        total = stats.log_likelihood
        if prior is not None:
            total += log_prior(params.to_numpy(), prior)
        return new, total / stats.total_weight

    return update


def run_em(
    compute_sums: Callable[[State], Sums],
    update: Callable[[Sums, State], tuple[State, float]],
    state: State,
    *,
    tol: float,
    max_iter: int,
    lower_bound: float = -math.inf,
    progress: EMProgress | None = None,
) -> EMResult[State]:
    """Iterate E- and M-steps until the lower bound changes by less than ``tol``."""
    lower_bounds: list[float] = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        state, lower_bound = update(compute_sums(state), state)
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
    return EMResult(state, n_iter, lower_bound, lower_bounds, converged)


def fit_with_restarts(
    compute_sums: Callable[[Any], Any],
    update: Callable[[Any, Any], tuple[Any, float]],
    start: Callable[[], tuple[Any, float]],
    *,
    n_init: int,
    tol: float,
    max_iter: int,
    progress: EMProgress,
) -> EMResult:
    """Run EM from ``n_init`` starts and keep the highest final lower bound.

    ``start()`` returns the state and lower bound a run begins from. With
    ``max_iter=0`` the starting state is returned unchanged.
    """
    best: EMResult | None = None
    for index in range(n_init):
        progress.start_init(index)
        state, lower_bound = start()
        if max_iter == 0:
            result = EMResult(state, 0, -math.inf, [], False)
        else:
            result = run_em(
                compute_sums,
                update,
                state,
                tol=tol,
                max_iter=max_iter,
                lower_bound=lower_bound,
                progress=progress,
            )
        progress.end_init(result.lower_bound, result.converged)
        if best is None or result.lower_bound > best.lower_bound:
            best = result
    return best


def fit_with_progress(
    compute_sums: Callable[[Any], Any],
    update: Callable[[Any, Any], tuple[Any, float]],
    start: Callable[[], tuple[Any, float]],
    settings: Any,
    *,
    restarts: bool,
) -> EMResult:
    """:func:`fit_with_restarts` with an estimator's settings, under a report.

    ``settings`` holds ``tol``, ``max_iter``, ``n_init``, ``verbose`` and
    ``verbose_interval`` (an estimator's validated settings); without
    ``restarts`` (a warm start) there is one run.
    """
    with EMProgress(
        settings.verbose, settings.verbose_interval, settings.max_iter
    ) as progress:
        return fit_with_restarts(
            compute_sums,
            update,
            start,
            n_init=settings.n_init if restarts else 1,
            tol=settings.tol,
            max_iter=settings.max_iter,
            progress=progress,
        )
