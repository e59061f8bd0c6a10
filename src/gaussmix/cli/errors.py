"""Errors of the command line and the exit codes they map to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

#: Exit status of a usage or input error (click's own usage errors use it too).
INPUT_ERROR = 2


class InputError(click.ClickException):
    """Bad input from the user: a one-line message and exit status 2."""

    exit_code = INPUT_ERROR


@contextmanager
def input_errors(context: str | None = None) -> Iterator[None]:
    """Report ValueError and OSError raised on user input as input errors.

    The library raises ValueError for invalid data, parameters and model
    files, and OSError for unreadable or unwritable files.
    """
    try:
        yield
    except BrokenPipeError:
        # the reader left (``| head``): not an input error; main exits quietly
        raise
    except (ValueError, OSError) as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
            # the context already names the file
            message = exc.strerror if context else f"{exc.filename}: {exc.strerror}"
        raise InputError(
            message if context is None else f"{context}: {message}"
        ) from exc
