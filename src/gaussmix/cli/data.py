"""Reading data files (CSV/TSV, .npy, Parquet) and writing result tables."""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaussmix.cli.errors import InputError

#: Field values read as missing (compared in lower case).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})


@dataclass
class Table:
    """The columns of a data file: numeric ones parsed, others remembered.

    Attributes
    ----------
    source : str
        The file's name, for messages.
    names : list of str
        Column names in file order: the header's, or "0", "1", ... without one.
    numeric : dict of str to ndarray of shape (n_rows,)
        Parsed values of the numeric columns, NaN where missing.
    text : dict of str to (int, str)
        For each non-numeric column, a place and value that is not a number.
    row_numbers : ndarray of shape (n_rows,)
        Where each row is in the file: line numbers (text) or row indices.
    row_word : str
        "line" or "row", for messages.
    has_header : bool
    """

    source: str
    names: list[str]
    numeric: dict[str, np.ndarray]
    text: dict[str, tuple[int, str]] = field(default_factory=dict)
    row_numbers: np.ndarray | None = None
    row_word: str = "row"
    has_header: bool = False

    def matrix(
        self,
        columns: Sequence[str] | None = None,
        *,
        missing: bool = False,
        why_not: str = "",
        empty_columns: bool = False,
        chosen_by: str | None = None,
    ) -> tuple[np.ndarray, list[str]]:
        """The selected columns as a float64 (n_rows, n_columns) array, and their names.

        ``columns`` holds names or 0-based positions; None selects every
        column, which must then all be numeric. With ``missing``, missing
        values come back as NaN (a column or a row without any value is
        still refused); without, the first is refused with its column and
        place, and ``why_not`` (a clause such as "--bayesian does not take
        them") says why. Infinite values are always refused. ``chosen_by``
        names, for messages, what chose ``columns`` when it was not the
        user's ``--columns`` (for instance "the columns the model was
        fitted on").
        """
        if columns is None:
            selected = list(self.names)
            if self.text:
                raise InputError(
                    f"{self.source} has non-numeric columns: {self._describe_text()}; "
                    "choose numeric columns with --columns."
                )
        else:
            selected = [self._resolve(token) for token in columns]
            if len(set(selected)) != len(selected):
                chooser = (
                    "--columns names" if chosen_by is None else f"{chosen_by} name"
                )
                raise InputError(f"{chooser} a column twice: {columns}.")
            text = [name for name in selected if name in self.text]
            if text and chosen_by is None:
                raise InputError(
                    f"--columns selects non-numeric columns of {self.source}: "
                    f"{self._describe_text(text)}."
                )
            if text:
                raise InputError(
                    f"{chosen_by} include non-numeric columns of {self.source}: "
                    f"{self._describe_text(text)}; choose numeric columns, in "
                    "the model's order, with --columns."
                )
        values = np.column_stack([self.numeric[name] for name in selected])
        if missing:
            self._check_not_empty(values, selected, empty_columns)
            self._check_finite(np.where(np.isnan(values), 0.0, values), selected)
        else:
            self._check_finite(values, selected, why_not)
        return values, selected

    def _resolve(self, token: str) -> str:
        token = token.strip()
        if token in self.names:
            return token
        if token.isdigit() and int(token) < len(self.names):
            return self.names[int(token)]
        raise InputError(
            f"{self.source} has no column {token!r} (columns: "
            f"{', '.join(self.names)}; positions count from 0)."
        )

    def _describe_text(self, names: Sequence[str] | None = None) -> str:
        names = list(self.text) if names is None else names
        parts = []
        for name in names:
            where, value = self.text[name]
            parts.append(f"{name!r} (e.g. {value!r} on {self.row_word} {where})")
        return ", ".join(parts)

    def _where(self, row: int) -> str:
        number = row if self.row_numbers is None else self.row_numbers[row]
        return f"{self.row_word} {number}"

    def _check_finite(
        self, values: np.ndarray, names: list[str], why_not: str = ""
    ) -> None:
        bad_rows, bad_columns = np.nonzero(~np.isfinite(values))
        if len(bad_rows):
            row, column = bad_rows[0], bad_columns[0]
            missing = np.isnan(values[row, column])
            kind = "a missing" if missing else "an infinite"
            reason = f"; {why_not}" if missing and why_not else ""
            raise InputError(
                f"column {names[column]!r} of {self.source} has {kind} value on "
                f"{self._where(row)} ({len(bad_rows)} such values in all{reason}); "
                "fill in or drop those rows."
            )

    def _check_not_empty(
        self, values: np.ndarray, names: list[str], empty_columns: bool
    ) -> None:
        """Refuse a row (and a column) without any value: nothing to use."""
        hidden = np.isnan(values)
        empty = np.flatnonzero(hidden.all(axis=0))
        if empty.size and not empty_columns:
            raise InputError(
                f"column {names[empty[0]]!r} of {self.source} has no value at "
                "all; leave it out with --columns."
            )
        blank = np.flatnonzero(hidden.all(axis=1))
        if blank.size:
            raise InputError(
                f"{self.source} has no value in the selected columns on "
                f"{self._where(blank[0])} ({blank.size} such rows in all); "
                "drop those rows."
            )


def read_table(
    path: str, header: bool | None = None, delimiter: str | None = None
) -> Table:
    """Read a data file by its extension: .npy, .parquet/.pq, else delimited text.

    Parameters
    ----------
    path : str
        A file name, or "-" for delimited text on standard input.
    header : bool or None
        Whether delimited text starts with a header row; None guesses (a
        first row with text above numbers is a header).
    delimiter : str or None
        Field separator of delimited text; None means tab for .tsv/.tab
        files and comma otherwise.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        return _read_npy(path)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    if delimiter is None:
        delimiter = "\t" if suffix in (".tsv", ".tab") else ","
    if path == "-":
        return parse_delimited(
            sys.stdin.read().splitlines(), "<stdin>", header, delimiter
        )
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            return parse_delimited(stream, path, header, delimiter)
    except UnicodeDecodeError:
        raise InputError(
            f"{path} is not UTF-8 text; give CSV/TSV text, .npy or Parquet."
        ) from None


def parse_delimited(lines, source: str, header: bool | None, delimiter: str) -> Table:
    """Parse delimited text; blank lines are skipped."""
    reader = csv.reader(lines, delimiter=delimiter)
    rows, line_numbers = [], []
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                rows.append([f.strip() for f in fields])
                line_numbers.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"{source} line {reader.line_num}: {exc}.") from None
    if not rows:
        raise InputError(f"{source} holds no data.")
    width = len(rows[0])
    for fields, line in zip(rows, line_numbers, strict=True):
        if len(fields) != width:
            raise InputError(
                f"{source} line {line} has {len(fields)} fields where line "
                f"{line_numbers[0]} has {width}; check the delimiter "
                f"({delimiter!r}, set with --delimiter)."
            )
    if header is None:
        header = _looks_like_header(rows)
    if header:
        names, rows, line_numbers = rows[0], rows[1:], line_numbers[1:]
        _check_names(names, source)
    else:
        names = [str(j) for j in range(width)]
    if not rows:
        raise InputError(f"{source} has a header but no data rows.")
    numeric, text = {}, {}
    for j, name in enumerate(names):
        column = [fields[j] for fields in rows]
        parsed = [_number(value) for value in column]
        failed = [i for i, value in enumerate(parsed) if value is None]
        if failed:
            text[name] = (line_numbers[failed[0]], column[failed[0]])
        else:
            numeric[name] = np.array(parsed, dtype=np.float64)
    return Table(source, names, numeric, text, np.array(line_numbers), "line", header)


def _number(value: str) -> float | None:
    """The value as a float (NaN when missing), or None when it is text."""
    if value.lower() in MISSING:
        return math.nan
    try:
        return float(value)
    except ValueError:
        return None


def _looks_like_header(rows: list[list[str]]) -> bool:
    first, rest = rows[0], rows[1:]
    is_text = [_number(value) is None for value in first]
    if all(is_text):
        return True
    return any(
        is_text[j] and all(_number(fields[j]) is not None for fields in rest)
        for j in range(len(first))
    )


def _check_names(names: list[str], source: str) -> None:
    seen = set()
    for j, name in enumerate(names):
        if not name:
            raise InputError(f"{source}: header field {j} is empty; name every column.")
        if name in seen:
            raise InputError(f"{source}: the header names column {name!r} twice.")
        seen.add(name)


def _read_npy(path: str) -> Table:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise InputError(
                f"{path} holds Python objects; give a numeric array."
            ) from None
        raise InputError(f"{path} is not a valid .npy file ({exc}).") from None
    if (
        not isinstance(array, np.ndarray)
        or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool)
        or np.iscomplexobj(array)
    ):
        raise InputError(f"{path} must hold a real numeric array, not {array.dtype}.")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise InputError(
            f"{path} must hold a 2-D array (rows, columns); got shape {array.shape}."
        )
    names = [str(j) for j in range(array.shape[1])]
    numeric = {name: array[:, j].astype(np.float64) for j, name in enumerate(names)}
    return Table(path, names, numeric, row_numbers=np.arange(array.shape[0]))


def _read_parquet(path: str) -> Table:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "reading Parquet needs pyarrow: pip install 'gaussmix[io]'."
        ) from None
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read {path} as Parquet ({exc}).") from None
    numeric, text = {}, {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
        ):
            values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
            numeric[name] = np.asarray(values, dtype=np.float64)
        else:
            examples = [
                (i, v) for i, v in enumerate(column.to_pylist()) if v is not None
            ]
            text[name] = examples[0] if examples else (0, None)
    return Table(
        path,
        list(table.column_names),
        numeric,
        text,
        np.arange(table.num_rows),
        "row",
        True,
    )


def write_table(
    path: str | None, names: Sequence[str], columns: Sequence[np.ndarray]
) -> None:
    """Write columns as CSV (to standard output when ``path`` is None).

    Floats are written as the shortest text that reads back to the same
    value; integer columns as integers.
    """

    def cells(column: np.ndarray) -> list[str]:
        if np.issubdtype(column.dtype, np.integer):
            return [str(int(v)) for v in column]
        return [repr(float(v)) for v in column]

    rows = zip(*(cells(np.asarray(c)) for c in columns), strict=True)
    if path is None:
        _write_csv(sys.stdout, names, rows)
        return
    with open(path, "w", newline="", encoding="utf-8") as stream:
        _write_csv(stream, names, rows)


def _write_csv(stream, names, rows) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
