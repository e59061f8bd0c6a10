"""The sdist and the wheel build, install and import in a fresh environment.

Offline: the sdist is built with setuptools' PEP 517 hook, the wheel from the
sdist (as ``python -m build`` does), and the fresh virtual environment finds
the dependencies (numpy, scikit-learn...) through a ``.pth`` line pointing at
this interpreter's site-packages, so nothing is downloaded. gaussmix itself
comes only from the installed distribution. About 15 s; ``make
package-check`` runs this module alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: object, cwd: Path | None = None) -> str:
    # without PYTHONPATH: a source tree on it would shadow the installed package
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _version() -> str:
    # the one place the version is written (tomllib needs Python 3.11)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^version = "([^"]+)"$', text, re.MULTILINE).group(1)


def _fresh_environment(path: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(path)
    python = path / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    # appended after the environment's own site-packages, and .pth files
    # inside it are not run, so an editable gaussmix there stays invisible
    Path(site.strip(), "dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    return python


CHECK = """
import sys, importlib.resources as resources, gaussmix
assert "site-packages" in gaussmix.__file__, gaussmix.__file__
assert "matplotlib" not in sys.modules
assert resources.files("gaussmix").joinpath("py.typed").is_file()
print(gaussmix.__version__)
gaussmix.plot.plot_bic
"""


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    hook = (
        "import sys; from setuptools import build_meta; "
        "print(build_meta.build_sdist(sys.argv[1]))"
    )
    sdist = out / _run(sys.executable, "-c", hook, out, cwd=ROOT).splitlines()[-1]
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--no-index", "-w", out, sdist,
    )  # fmt: skip
    (wheel,) = out.glob("gaussmix-*.whl")
    return sdist, wheel


def test_the_sdist_holds_the_sources_license_changelog_and_typing(dists):
    sdist, _ = dists
    prefix = f"gaussmix-{_version()}/"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    for member in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        "src/gaussmix/__init__.py",
        "src/gaussmix/py.typed",
    ):
        assert prefix + member in names, member


def test_the_wheel_holds_py_typed_license_and_the_command(dists):
    _, wheel = dists
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"gaussmix-{_version()}.dist-info/"
        metadata = archive.read(info + "METADATA").decode()
        entry_points = archive.read(info + "entry_points.txt").decode()
    assert "gaussmix/py.typed" in names
    assert any(name.startswith(info) and name.endswith("LICENSE") for name in names)
    assert "License-Expression: BSD-3-Clause" in metadata
    assert "gaussmix = gaussmix.cli:main" in entry_points


@pytest.mark.parametrize("which", ["wheel", "sdist"])
def test_installs_and_imports_in_a_fresh_environment(dists, which, tmp_path):
    sdist, wheel = dists
    python = _fresh_environment(tmp_path / "env")
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
        "--no-index", "--no-build-isolation", wheel if which == "wheel" else sdist,
    )  # fmt: skip
    assert _run(python, "-c", CHECK).strip() == _version()
    assert _version() in _run(tmp_path / "env" / "bin" / "gaussmix", "--version")
