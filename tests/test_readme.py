"""The README's Python blocks run as written, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

#: An HTML comment on the line before a block: ``<!-- readme-test: needs-gpu -->``.
BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<marker>[\w-]+) -->\n)?```python\n(?P<code>.*?)```",
    re.DOTALL,
)


def python_blocks() -> list[tuple[int, str | None, str]]:
    """(line number, marker, code) of every ```python block, in order."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start("code")) + 1, match["marker"], match["code"])
        for match in BLOCK.finditer(text)
    ]


def _gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def test_readme_has_python_blocks_and_only_known_markers():
    blocks = python_blocks()
    assert len(blocks) >= 10
    assert {marker for _, marker, _ in blocks} <= {None, "needs-gpu"}
    text = README.read_text(encoding="utf-8")
    # the two set-up commands stay as they are
    assert "make demo   #" in text and "make test   #" in text


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::gaussmix.DegenerateComponentWarning")
def test_every_block_runs_in_order(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("dask.distributed")
    pytest.importorskip("zarr")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # blocks that write files (big.npy, big.zarr, model.gmm) write here
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    skipped = []
    try:
        for line, marker, code in python_blocks():
            if marker == "needs-gpu" and not _gpu_available():
                skipped.append(line)
                continue
            try:
                exec(compile(code, f"README.md:{line}", "exec"), namespace)
            except Exception as error:
                pytest.fail(f"README block at line {line} raised {error!r}")
    finally:
        plt.close("all")
    assert (tmp_path / "model.gmm").is_file()
    assert "VEV,2" in capsys.readouterr().out
    # only the GPU block may be left out, and only without a GPU
    assert len(skipped) <= 1
