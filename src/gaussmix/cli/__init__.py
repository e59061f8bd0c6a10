"""The ``gaussmix`` command: fit, predict, score, sample, info and demo.

Exit status: 0 on success, 2 for a usage or input error (one line on
stderr, no traceback), 1 for anything else, and 141 (as for SIGPIPE), with
nothing printed, when the reader of the output goes away early
(``gaussmix predict ... | head``). ``-v`` logs progress messages, ``-vv``
also debugging details and the traceback of unexpected errors. numpy's
floating-point warnings are not shown: the library checks its results and
reports a problem that matters as an error; its own warnings are shown once.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import click

from gaussmix.cli.commands import fit, info, predict, sample, score
from gaussmix.cli.demo import demo

logger = logging.getLogger("gaussmix")
_handler = logging.StreamHandler(sys.stderr)
_handler.setFormatter(logging.Formatter("gaussmix: %(message)s"))


#: Exit status when the output's reader has gone: 128 + SIGPIPE, as a shell
#: reports a command that a closed pipe stopped.
CLOSED_PIPE_STATUS = 141


class _OutputClosed(Exception):
    """The reader of standard output went away (raised past click, which
    would otherwise exit with status 1)."""


class _Commands(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _OutputClosed from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gaussmix")
    except PackageNotFoundError:
        return "unknown"


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More messages (-vv for debugging).")
@click.version_option(version=_version(), prog_name="gaussmix")
def cli(verbose: int) -> None:
    """Gaussian mixture models from the command line.

    Fit a mixture to a CSV, TSV, .npy or Parquet file, save it as a .gmm
    model file (no pickle), then predict, score, sample or describe with it.
    Try `gaussmix demo` for a worked example.
    """
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logger.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))


for command in (fit, predict, score, sample, info, demo):
    cli.add_command(command)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"Warning: {message}", err=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line and exit with its status."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        warnings.simplefilter("once")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        status = _run(argv)
    sys.exit(status)


def _run(argv: Sequence[str] | None) -> int:
    try:
        status = cli.main(args=argv, prog_name="gaussmix", standalone_mode=False)
        # a reader that left shows here when the last output is flushed
        sys.stdout.flush()
    except (_OutputClosed, BrokenPipeError):
        _discard_output()
        return CLOSED_PIPE_STATUS
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)
        status = exc.exit_code
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        status = exc.exit_code
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        status = exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        status = 1
    except Exception as exc:
        logger.debug("unexpected error", exc_info=True)
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc}", err=True)
        status = 1
    return status if isinstance(status, int) else 0


def _discard_output() -> None:
    """Point standard output at the null device, so that the interpreter's
    last flush at exit cannot fail on the closed pipe again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        # not a real file (a test's capture): nothing is flushed at exit
        pass
