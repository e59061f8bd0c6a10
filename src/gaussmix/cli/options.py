"""Options shared by several commands, and how they are interpreted."""

from __future__ import annotations

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
            help="Field separator of text data. Default: tab for .tsv/.tab, "
            "comma otherwise.",
        ),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


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
