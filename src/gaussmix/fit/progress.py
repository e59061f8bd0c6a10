"""Progress of an EM run: scikit-learn's lines and a tqdm bar when verbose.

Log records are emitted always (at DEBUG unless ``verbose`` raises them).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from types import TracebackType

logger = logging.getLogger("gaussmix")

_bar_delay: ContextVar[float | None] = ContextVar("gaussmix_bar_delay", default=None)


@contextmanager
def progress_bar_delay(seconds: float) -> Iterator[None]:
    """Within the block, verbose fits show a bar alone, once it lasts ``seconds``.

    Front ends that turn ``verbose`` on for every fit (the ``gaussmix``
    command) use this so that quick fits stay silent and only long ones show
    a bar; scikit-learn's printed lines, which would mix with the front
    end's own output, are left out.
    """
    token = _bar_delay.set(float(seconds))
    try:
        yield
    finally:
        _bar_delay.reset(token)


class _TqdmHandler(logging.Handler):
    """Writes a console handler's records with ``tqdm.write``, around the bars."""

    def __init__(self, console: logging.StreamHandler) -> None:
        super().__init__(console.level)
        self.console = console
        self.setFormatter(console.formatter)
        self.filters = list(console.filters)

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm

        try:
            tqdm.write(self.format(record), file=self.console.stream)
        except Exception:
            self.handleError(record)


@contextmanager
def _console_records_through_tqdm() -> Iterator[None]:
    """Within the block, console handlers of gaussmix and root go via tqdm.

    Unlike ``tqdm.contrib.logging.logging_redirect_tqdm``, which adds a
    handler to every logger it is given, only handlers that exist are
    swapped: a program that has not configured logging stays silent.
    """
    swapped = []
    for owner in (logging.getLogger(), logger):
        for index, handler in enumerate(owner.handlers):
            if type(handler) is logging.StreamHandler and handler.stream in (
                sys.stdout,
                sys.stderr,
            ):
                owner.handlers[index] = _TqdmHandler(handler)
                swapped.append((owner, index, handler))
    try:
        yield
    finally:
        for owner, index, handler in reversed(swapped):
            if index < len(owner.handlers) and isinstance(
                owner.handlers[index], _TqdmHandler
            ):
                owner.handlers[index] = handler


class EMProgress:
    """Reports initialisations and iterations of EM.

    ``verbose=0`` reports nothing but DEBUG log records. ``verbose>=1``
    prints scikit-learn's lines on stdout (``Initialization 0``, every
    ``verbose_interval`` iterations ``  Iteration 10``, then ``Initialization
    converged.``; with ``verbose>=2`` the iteration and final lines add the
    time since the previous line, the change of the lower bound and the final
    lower bound, in scikit-learn's format) and shows a tqdm progress bar per
    initialisation on stderr (iteration, lower bound and its change).
    ``verbose>=2`` also logs every ``verbose_interval`` iterations at INFO
    level.

    The lines are written through ``tqdm.write`` and, while a bar is shown,
    console log handlers are routed through it as well, so that lines, log
    records and the bar never overwrite one another. Inside
    :func:`progress_bar_delay` only the bar is shown, and only once a run
    lasts that long.
    """

    def __init__(self, verbose: int, verbose_interval: int, max_iter: int) -> None:
        self.verbose = verbose
        self.verbose_interval = max(1, int(verbose_interval))
        self.max_iter = max_iter
        self._bar = None
        self._redirect: ExitStack | None = None
        self._init_index = 0
        self._start = 0.0
        self._last_line = 0.0
        delay = _bar_delay.get()
        self._delay = 0.0 if delay is None else delay
        self._lines = verbose >= 1 and delay is None

    def _write(self, line: str) -> None:
        from tqdm.auto import tqdm

        # stdout, as scikit-learn's print(); tqdm clears and redraws the bar
        tqdm.write(line, file=sys.stdout)

    def start_init(self, index: int) -> None:
        self._init_index = index
        self._start = self._last_line = time.perf_counter()
        if self._lines:
            self._write(f"Initialization {index}")
        if self.verbose >= 1:
            from tqdm.auto import tqdm

            self._redirect = ExitStack()
            self._redirect.enter_context(_console_records_through_tqdm())
            self._bar = tqdm(
                total=self.max_iter,
                desc=f"EM init {index}",
                unit="iter",
                leave=False,
                delay=self._delay,
            )
        logger.debug("initialisation %d started", index)

    def iteration(self, n_iter: int, lower_bound: float, change: float) -> None:
        if self._lines and n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                self._write(f"  Iteration {n_iter}")
            else:
                now = time.perf_counter()
                self._write(
                    f"  Iteration {n_iter}\t time lapse {now - self._last_line:.5f}s"
                    f"\t ll change {change:.5f}"
                )
                self._last_line = now
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
        elapsed = time.perf_counter() - self._start
        if self._bar is not None:
            # update() redraws at most every 0.1 s: draw the final state once
            if elapsed >= self._delay:
                self._bar.refresh()
        self._close()
        if self._lines:
            outcome = "converged" if converged else "did not converge"
            if self.verbose == 1:
                self._write(f"Initialization {outcome}.")
            else:
                self._write(
                    f"Initialization {outcome}. time lapse {elapsed:.5f}s\t "
                    f"lower bound {lower_bound:.5f}."
                )
        logger.log(
            logging.INFO if self.verbose >= 1 else logging.DEBUG,
            "initialisation %d %s: lower bound %.8g in %.3fs",
            self._init_index,
            "converged" if converged else "did not converge",
            lower_bound,
            elapsed,
        )

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._redirect is not None:
            self._redirect.close()
            self._redirect = None

    def __enter__(self) -> EMProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()
