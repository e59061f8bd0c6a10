"""verbose=1 shows a progress bar with the iteration, lower bound and change."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from gaussmix import GaussianMixture
from gaussmix.fit.progress import progress_bar_delay
from tests.conftest import DATASETS

BAR_STATE = re.compile(
    r"EM init (\d+):.*?\| (\d+)/(\d+) \[.*?change=([^,\]]+), lower_bound=([^\]]+)\]"
)


def bar_states(text: str) -> list[tuple[int, int, int, str, float]]:
    """The bar states drawn after at least one iteration, in order."""
    states = []
    for drawn in re.split(r"[\r\n]", text):
        match = BAR_STATE.search(drawn)
        if match:
            init, n, total, change, bound = match.groups()
            states.append((int(init), int(n), int(total), change, float(bound)))
    return states


def test_verbose_bar_shows_the_final_iteration_bound_and_change(capsys):
    X = DATASETS["iris"]
    model = GaussianMixture(3, verbose=1, max_iter=200, random_state=0).fit(X)
    states = bar_states(capsys.readouterr().err)
    assert states, "no progress bar on stderr"
    init, n_iter, total, change, bound = states[-1]
    assert (init, n_iter, total) == (0, model.n_iter_, 200)
    assert bound == pytest.approx(model.lower_bound_, rel=1e-5)
    expected_change = model.lower_bounds_[-1] - model.lower_bounds_[-2]
    assert float(change) == pytest.approx(expected_change, rel=1e-2)
    for _, n, _, _, drawn_bound in states:
        assert drawn_bound == pytest.approx(model.lower_bounds_[n - 1], rel=1e-5)


def test_every_drawn_state_matches_its_iteration(capsys):
    X = DATASETS["wine"]
    model = GaussianMixture(3, verbose=1, n_init=2, random_state=1).fit(X)
    states = bar_states(capsys.readouterr().err)
    assert {init for init, *_ in states} == {0, 1}
    final_bound = {init: bound for init, _, _, _, bound in states}
    assert max(final_bound.values()) == pytest.approx(model.lower_bound_, rel=1e-5)
    for _, n_iter, _, change, _ in states:
        assert n_iter >= 1
        assert (change == "-") == (n_iter == 1)


def test_quiet_by_default(capsys):
    GaussianMixture(2, random_state=0).fit(DATASETS["iris"])
    assert capsys.readouterr().err == ""


def test_bars_wait_for_the_delay(capsys):
    X = DATASETS["iris"]
    with progress_bar_delay(60.0):
        GaussianMixture(2, verbose=1, random_state=0).fit(X)
    assert capsys.readouterr().err == ""
    GaussianMixture(2, verbose=1, random_state=0).fit(X)
    assert "EM init 0" in capsys.readouterr().err


def test_verbose_two_logs_iterations(caplog):
    X = DATASETS["iris"]
    with caplog.at_level("INFO", logger="gaussmix"):
        model = GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0).fit(X)
    iterations = [r for r in caplog.records if "iteration" in r.getMessage()]
    assert len(iterations) == model.n_iter_
    assert f"{model.lower_bounds_[-1]:.8g}" in iterations[-1].getMessage()
    assert np.isfinite(model.lower_bound_)


SKLEARN_ITERATION = re.compile(
    r"^  Iteration (\d+)\t time lapse \d+\.\d{5}s\t ll change (-?\d+\.\d{5})$"
)
SKLEARN_END = re.compile(
    r"^Initialization converged\. time lapse \d+\.\d{5}s"
    r"\t lower bound (-?\d+\.\d{5})\.$"
)


def test_verbose_two_prints_sklearns_lines_on_stdout(capsys):
    X = DATASETS["iris"]
    model = GaussianMixture(3, verbose=2, verbose_interval=2, random_state=0).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Initialization 0"
    iterations = [SKLEARN_ITERATION.match(line) for line in lines[1:-1]]
    assert all(iterations), lines
    bounds = model.lower_bounds_
    numbers = [int(match.group(1)) for match in iterations]
    assert numbers == list(range(2, model.n_iter_ + 1, 2))
    for n_iter, match in zip(numbers, iterations, strict=True):
        change = bounds[n_iter - 1] - bounds[n_iter - 2]
        assert float(match.group(2)) == pytest.approx(change, abs=1e-5)
    end = SKLEARN_END.match(lines[-1])
    assert end and float(end.group(1)) == pytest.approx(model.lower_bound_, abs=1e-5)


def test_verbose_one_prints_what_sklearn_prints(capsys):
    from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

    X = DATASETS["iris"]
    settings = dict(verbose=1, verbose_interval=3, n_init=2, random_state=0)
    GaussianMixture(3, **settings).fit(X)
    ours = capsys.readouterr().out
    SklearnGaussianMixture(3, **settings).fit(X)
    assert ours == capsys.readouterr().out
    assert ours.startswith("Initialization 0\n  Iteration 3\n")


def test_the_front_ends_bar_alone_prints_no_lines(capsys):
    with progress_bar_delay(0.0):
        GaussianMixture(2, verbose=2, random_state=0).fit(DATASETS["iris"])
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "EM init 0" in captured.err


def test_log_records_are_kept_and_go_around_the_bar(capsys):
    import logging

    handler = logging.StreamHandler(sys.stderr)
    gaussmix_logger = logging.getLogger("gaussmix")
    gaussmix_logger.addHandler(handler)
    level = gaussmix_logger.level
    gaussmix_logger.setLevel(logging.INFO)
    try:
        model = GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0)
        model.fit(DATASETS["iris"])
    finally:
        gaussmix_logger.removeHandler(handler)
        gaussmix_logger.setLevel(level)
    err = capsys.readouterr().err
    records = [line for line in err.splitlines() if "iteration" in line]
    assert len(records) == model.n_iter_
    # while the bar is drawn, records go through tqdm.write: each on a line
    # of its own, never appended to a half-drawn bar
    for line in records:
        assert line.lstrip("\r").startswith("init 0 iteration"), line
    assert gaussmix_logger.handlers.count(handler) == 0
