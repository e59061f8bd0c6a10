"""Running the installed ``gaussmix`` command and reading what it writes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import DATASETS

GAUSSMIX = Path(sys.executable).with_name("gaussmix")
IRIS = DATASETS["iris"]
SPECIES = np.repeat(["setosa", "versicolor", "virginica"], 50)
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def run(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [str(GAUSSMIX), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def assert_input_error(result, *fragments):
    """Exit status 2 with a single line on stderr naming the problem."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def write_csv(path, rows, header=None, delimiter=","):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream, delimiter=delimiter)
        if header is not None:
            writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
            if i == 10:
                stream.write("\n")  # a blank line inside the data
    return path


def read_output(path_or_text, from_text=False):
    text = path_or_text if from_text else Path(path_or_text).read_text()
    rows = list(csv.reader(text.splitlines()))
    return rows[0], np.array(rows[1:], dtype=float)
