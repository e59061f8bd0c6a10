"""Every public class and function has an Examples section, and it runs."""

from __future__ import annotations

import doctest
import importlib
import inspect
import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

PUBLIC_MODULES = (
    "gaussmix",
    "gaussmix.plot",
    "gaussmix.io",
    "gaussmix.nn",
    "gaussmix.deep",
)
SECTION = re.compile(r"^Examples\n-{3,}\n(.*?)(?=^\w[\w ]*\n-{3,}\n|\Z)", re.M | re.S)


def _public_objects() -> dict[str, object]:
    found = {}
    for module_name in PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # torch not installed: its modules are not public here
            continue
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found[f"{module_name}.{name}"] = obj
    return found


OBJECTS = _public_objects()


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_examples_section_runs(name, tmp_path, monkeypatch):
    obj = OBJECTS[name]
    match = SECTION.search(inspect.getdoc(obj) or "")
    assert match, f"{name} has no Examples section"
    # examples that write files write them here
    monkeypatch.chdir(tmp_path)
    namespace = {"np": np, name.rpartition(".")[2]: obj}
    test = doctest.DocTestParser().get_doctest(match.group(1), namespace, name, name, 0)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    report: list[str] = []
    runner.run(test, out=report.append)
    import matplotlib.pyplot as plt

    plt.close("all")
    assert runner.failures == 0, "".join(report)
