"""The ``gaussmix`` program as a whole: its help, its demo, and the exit
status of an unexpected error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gaussmix import GaussianMixture
from gaussmix.cli import cli
from tests.cli.running import run


def test_demo_writes_the_figure(tmp_path):
    result = run("demo", "--max-components", 2, "--output", "demo.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "BIC by number of components" in result.stdout
    assert "adjusted Rand index" in result.stdout
    assert (tmp_path / "demo.png").read_bytes().startswith(b"\x89PNG")


def test_the_installed_command_has_help(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("fit", "predict", "score", "sample", "info", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize(
    "command", ["fit", "predict", "score", "sample", "info", "demo"]
)
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: cli {command}")


def test_unexpected_errors_exit_with_status_one(
    tmp_path, iris_csv, monkeypatch, capsys
):
    from gaussmix.cli import main

    def broken_fit(self, X, y=None, sample_weight=None):
        raise RuntimeError("something broke")

    monkeypatch.setattr(GaussianMixture, "fit", broken_fit)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", str(iris_csv), "-k", "2", "--columns", "0,1"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Error: unexpected RuntimeError: something broke"]
