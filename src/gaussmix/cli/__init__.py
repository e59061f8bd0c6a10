"""The ``gaussmix`` command: fit, predict, score, sample, info and demo.

Exit status: 0 on success, 2 for a usage or input error (one line on
stderr, no traceback), 1 for anything else. ``-v`` logs progress messages,
``-vv`` also debugging details and the traceback of unexpected errors.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Sequence

import click

from gaussmix.cli.commands import fit, info, predict, sample, score
from gaussmix.cli.demo import demo

logger = logging.getLogger("gaussmix")
_handler = logging.StreamHandler(sys.stderr)
_handler.setFormatter(logging.Formatter("gaussmix: %(message)s"))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gaussmix")
    except PackageNotFoundError:
        return "unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    warnings.showwarning = _show_warning
    try:
        status = cli.main(args=argv, prog_name="gaussmix", standalone_mode=False)
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
    sys.exit(status if isinstance(status, int) else 0)
