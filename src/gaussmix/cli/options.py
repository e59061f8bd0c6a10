"""Options shared by several commands, and how they are interpreted."""

from __future__ import annotations

import csv
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from gaussmix.cli.data import Table, read_table
from gaussmix.cli.errors import InputError, input_errors

#: Seconds a fit runs before its progress bar appears when --progress is not given.
AUTO_PROGRESS_DELAY = 1.5


class ComponentsType(click.ParamType):
    """A positive number of components, or "auto"."""

    name = "K|auto"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        if isinstance(value, int) or value == "auto":
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a positive integer or 'auto'.", param, ctx)
        return number


def data_options(command: Callable) -> Callable:
    """--columns, --header/--no-header and --delimiter."""
    decorators = [
        click.option(
            "--columns",
            metavar="A,B,...",
            help="Columns to use: names from the header or positions counted "
            "from 0. Default: every column (all must be numeric), or for a "
            "model the columns it was fitted on.",
        ),
        click.option(
            "--header/--no-header",
            default=None,
            help="Whether CSV/TSV data starts with a header row. Default: "
            "guessed (a first row of text above numbers is a header).",
        ),
        click.option(
            "--delimiter",
            metavar="CHAR",
            callback=check_delimiter,
            help="Field separator of text data: one character ('\\t' for a "
            "tab). Default: tab for .tsv/.tab, comma otherwise.",
        ),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def missing_option(command: Callable) -> Callable:
    """--no-missing: refuse missing values instead of handing them to the model."""
    return click.option(
        "--no-missing",
        is_flag=True,
        help="Refuse data with missing values (empty, NA, NaN, null or None "
        "cells), naming the first one's column and line. Default: a "
        "GaussianMixture takes them (EM marginalises them; scores and labels "
        "use each row's observed columns); --bayesian, --noise and models "
        "fitted with those refuse them.",
    )(command)


def max_components_option(default: int) -> Callable:
    """--max-components: the largest K a selection by BIC tries."""
    return click.option(
        "--max-components",
        type=click.IntRange(1),
        default=default,
        show_default=True,
        help="Largest number of components tried when choosing by BIC.",
    )


def progress_option(command: Callable) -> Callable:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Show a progress bar per EM run on stderr. Default: in a "
        f"terminal, for runs that last over {AUTO_PROGRESS_DELAY:g} s.",
    )(command)


def progress_settings(choice: bool | None) -> tuple[bool, float]:
    """Whether to draw progress bars, and how many seconds each waits first."""
    if choice is None:
        return sys.stderr.isatty(), AUTO_PROGRESS_DELAY
    return choice, 0.0


def split_columns(columns: str | None) -> list[str] | None:
    if columns is None:
        return None
    names = [name.strip() for name in columns.split(",")]
    if not all(names):
        raise InputError(f"--columns {columns!r} has an empty name.")
    return names


def load_table(path: str, header: bool | None, delimiter: str | None) -> Table:
    with input_errors(f"cannot read {path}"):
        return read_table(path, header=header, delimiter=delimiter)


def check_delimiter(ctx: Any, param: Any, value: str | None) -> str | None:
    """--delimiter as the one character the CSV reader accepts."""
    if value is None:
        return None
    if value == "\\t":
        value = "\t"
    try:
        csv.reader([], delimiter=value)
    except (TypeError, csv.Error):
        raise click.BadParameter(
            f"{value!r} is not a single character; give one, such as ';' or '\\t'.",
            ctx,
            param,
        ) from None
    if value in ('"', "\r", "\n"):
        raise click.BadParameter(
            f"{value!r} cannot separate fields; give another character.", ctx, param
        )
    return value


class Threshold(click.ParamType):
    """--threshold: a finite log-density T, or a percentage P% in [0, 100].

    Converted to ``("value", T)`` or ``("percent", P)``.
    """

    name = "T|P%"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str, float]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            number = float(text[:-1] if percent else text)
        except ValueError:
            number = math.nan
        if percent and 0 <= number <= 100:
            return "percent", number
        if not percent and math.isfinite(number):
            return "value", number
        self.fail(
            f"{text!r} is neither a finite log-density nor a percentage from 0% "
            "to 100% (such as 5%).",
            param,
            ctx,
        )


class OutputPath(click.Path):
    """A file to write, checked before any work: its folder exists and is
    writable, and for a figure its extension is a format matplotlib writes."""

    def __init__(self, figure: bool = False) -> None:
        super().__init__(dir_okay=False)
        self.figure = figure

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        path = super().convert(value, param, ctx)
        folder = os.path.dirname(os.path.abspath(os.fsdecode(path)))
        if not os.path.isdir(folder):
            self.fail(f"the folder {folder!r} does not exist.", param, ctx)
        if not os.access(folder, os.W_OK):
            self.fail(f"the folder {folder!r} is not writable.", param, ctx)
        if os.path.exists(path) and not os.access(path, os.W_OK):
            self.fail(f"{os.fsdecode(path)!r} is not writable.", param, ctx)
        if self.figure:
            self._check_format(os.fsdecode(path), param, ctx)
        return path

    def _check_format(self, path: str, param: Any, ctx: Any) -> None:
        suffix = os.path.splitext(path)[1].lower().lstrip(".")
        if not suffix:
            return  # matplotlib writes its default format, PNG
        from matplotlib.figure import Figure

        formats = Figure().canvas.get_supported_filetypes()
        if suffix not in formats:
            self.fail(
                f"matplotlib cannot write .{suffix} figures; use one of "
                f"{', '.join('.' + name for name in sorted(formats))}.",
                param,
                ctx,
            )


#: The prior types of BayesianGaussianMixture, as --weight-concentration-prior-type
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
#: Default weight above which a component of a Bayesian fit counts as in use
WEIGHT_THRESHOLD = 0.01


def bayesian_options(command: Callable) -> Callable:
    """--bayesian and the prior of a BayesianGaussianMixture."""
    positive = click.FloatRange(0, min_open=True)
    decorators = [
        click.option(
            "--bayesian",
            is_flag=True,
            help="Fit a BayesianGaussianMixture (variational Bayes) instead: "
            "-K is an upper bound, and the components the data do not need "
            "get weights near zero.",
        ),
        click.option(
            "--weight-concentration-prior-type",
            type=click.Choice(PRIOR_TYPES),
            help="With --bayesian: the prior of the weights.  [default: "
            "dirichlet_process]",
        ),
        click.option(
            "--weight-concentration-prior",
            type=positive,
            help="With --bayesian: the concentration of the weights' prior; "
            "smaller values favour fewer components.  [default: 1/K]",
        ),
        click.option(
            "--mean-precision-prior",
            type=positive,
            help="With --bayesian: how strongly the means are drawn to the "
            "data's mean.  [default: 1]",
        ),
        click.option(
            "--degrees-of-freedom-prior",
            type=positive,
            help="With --bayesian: degrees of freedom of the Wishart prior on "
            "the precisions, above the number of columns - 1.  [default: the "
            "number of columns]",
        ),
        click.option(
            "--weight-threshold",
            type=click.FloatRange(0, 1, max_open=True),
            help="With --bayesian: a component whose weight exceeds this is "
            f"counted as in use.  [default: {WEIGHT_THRESHOLD:g}]",
        ),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def bayesian_settings(
    bayesian: bool, k: int | str, covariance_type: str, prior: dict[str, Any]
) -> dict[str, Any]:
    """The prior given on the command line, checked against --bayesian.

    Returns the keyword arguments of BayesianGaussianMixture among ``prior``
    (the values given, by option name with underscores); raises InputError
    for a prior option without --bayesian, or for 'auto' with it.
    """
    given = {name: value for name, value in prior.items() if value is not None}
    if not bayesian:
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            verb = "applies" if len(given) == 1 else "apply"
            raise InputError(f"{options} {verb} only to a fit with --bayesian.")
        return {}
    if k == "auto" or covariance_type == "auto":
        raise InputError(
            "with --bayesian, -k is the largest number of components and the fit "
            "decides how many to use; give a number instead of 'auto' (and a "
            "covariance type with -t)."
        )
    given.pop("weight_threshold", None)
    return given
