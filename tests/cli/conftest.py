"""Files shared by the command line tests: the iris data and a fitted model."""

from __future__ import annotations

import pytest

from tests.cli.running import IRIS, NAMES, SPECIES, run, write_csv


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("shared")


@pytest.fixture(scope="session")
def iris_csv(shared_dir):
    """Iris with a header and the species as a text column."""
    rows = [[*map(float, x), s] for x, s in zip(IRIS, SPECIES, strict=True)]
    return write_csv(shared_dir / "iris.csv", rows, [*NAMES, "species"])


@pytest.fixture(scope="session")
def model_file(shared_dir, iris_csv):
    """A model fitted by the command on the iris CSV, selecting the columns."""
    columns = ",".join(NAMES)
    result = run(
        "fit", iris_csv, "-k", 3, "--columns", columns, "-o", "m.gmm", cwd=shared_dir
    )
    assert result.returncode == 0, result.stderr
    return shared_dir / "m.gmm"
