"""Progress of an EM run: a tqdm bar when verbose, log records always."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType

logger = logging.getLogger("gaussmix")

_bar_delay: ContextVar[float] = ContextVar("gaussmix_bar_delay", default=0.0)


@contextmanager
def progress_bar_delay(seconds: float) -> Iterator[None]:
    """Within the block, a progress bar appears only once its run lasts ``seconds``.

    Front ends that turn ``verbose`` on for every fit use this so that quick
    fits stay silent and only long ones show a bar.
    """
    token = _bar_delay.set(float(seconds))
    try:
        yield
    finally:
        _bar_delay.reset(token)


class EMProgress:
    """Reports initialisations and iterations of EM.

    ``verbose=0`` reports nothing but DEBUG log records; ``verbose>=1`` shows
    a tqdm progress bar per initialisation (iteration, lower bound and its
    change); ``verbose>=2`` also logs every ``verbose_interval`` iterations at
    INFO level. Inside :func:`progress_bar_delay` a bar waits that long
    before it appears.
    """

    def __init__(self, verbose: int, verbose_interval: int, max_iter: int) -> None:
        self.verbose = verbose
        self.verbose_interval = max(1, int(verbose_interval))
        self.max_iter = max_iter
        self._bar = None
        self._init_index = 0
        self._start = 0.0
        self._delay = _bar_delay.get()

    def start_init(self, index: int) -> None:
        self._init_index = index
        self._start = time.perf_counter()
        if self.verbose >= 1:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.max_iter,
                desc=f"EM init {index}",
                unit="iter",
                leave=False,
                delay=self._delay,
            )
        logger.debug("initialisation %d started", index)

    def iteration(self, n_iter: int, lower_bound: float, change: float) -> None:
        if self._bar is not None:
            # the postfix first, so that the bar drawn by update() is current
            self._bar.set_postfix(
                lower_bound=f"{lower_bound:.6g}",
                change=f"{change:.3g}" if math.isfinite(change) else "-",
                refresh=False,
            )
            self._bar.update(1)
        level = logging.INFO if self.verbose >= 2 else logging.DEBUG
        if n_iter % self.verbose_interval == 0:
            logger.log(
                level,
                "init %d iteration %d: lower bound %.8g (change %.3g)",
                self._init_index,
                n_iter,
                lower_bound,
                change,
            )

    def end_init(self, lower_bound: float, converged: bool) -> None:
        if self._bar is not None:
            # update() redraws at most every 0.1 s: draw the final state once
            if time.perf_counter() - self._start >= self._delay:
                self._bar.refresh()
            self._bar.close()
            self._bar = None
        logger.log(
            logging.INFO if self.verbose >= 1 else logging.DEBUG,
            "initialisation %d %s: lower bound %.8g in %.3fs",
            self._init_index,
            "converged" if converged else "did not converge",
            lower_bound,
            time.perf_counter() - self._start,
        )

    def __enter__(self) -> EMProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
