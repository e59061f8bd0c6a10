"""Run a test module shipped with scikit-learn against a gaussmix estimator.

The module is read from scikit-learn's wheel at test time, its one import of
the estimator pointed at gaussmix, and the result run with pytest in a fresh
process, with scikit-learn's fixtures (``global_dtype``,
``global_random_seed``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest


def sklearn_test_file(name: str) -> Path | None:
    """scikit-learn's ``mixture/tests/<name>``, or None when not shipped."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    if importlib.util.find_spec("sklearn.conftest") is None:
        return None
    path = Path(spec.origin).parent / "mixture" / "tests" / name
    return path if path.is_file() else None


def run_sklearn_test_module(
    tmp_path: Path, file_name: str, estimator: str, deselected: dict[str, str]
) -> None:
    """Run scikit-learn's ``file_name`` with ``estimator`` from gaussmix.

    ``deselected`` maps the names of tests left out to the reason; every
    other test of the module must pass.
    """
    source_file = sklearn_test_file(file_name)
    if source_file is None:
        pytest.skip("this scikit-learn installation ships no mixture tests")
    sklearn_import = f"from sklearn.mixture import {estimator}\n"
    gaussmix_import = f"from gaussmix import {estimator}\n"
    source = source_file.read_text()
    assert source.count(sklearn_import) == 1, "scikit-learn's imports have changed"
    target = tmp_path / f"test_sklearn_{file_name.removeprefix('test_')}"
    target.write_text(source.replace(sklearn_import, gaussmix_import))

    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(src), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.setdefault("MPLBACKEND", "Agg")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "sklearn.conftest",
        "--rootdir",
        str(tmp_path),
        str(target),
    ]
    if deselected:
        command[-3:-3] = ["-k", f"not ({' or '.join(deselected)})"]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    # the module really ran against gaussmix, not scikit-learn
    assert gaussmix_import in target.read_text()
