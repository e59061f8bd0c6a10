"""Run the Examples section of every public class and function.

Takes each section from the docstring, or from ``_ext/extra_examples.py``
where the docstring has none, and runs it with doctest. Prints one line per
object and exits with status 1 if any example fails::

    PYTHONPATH=src MPLBACKEND=Agg python docs/check_examples.py [NAME ...]
"""

from __future__ import annotations

import doctest
import inspect
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from extra_examples import EXTRA_EXAMPLES
from gaussmix_docs import public_objects

SECTION = re.compile(r"^Examples\n-{3,}\n(.*?)(?=^\w[\w ]*\n-{3,}\n|\Z)", re.M | re.S)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def examples_of(name: str, obj: object) -> str | None:
    match = SECTION.search(inspect.getdoc(obj) or "")
    if match:
        return match.group(1)
    return EXTRA_EXAMPLES.get(name)


def main(names: list[str]) -> int:
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    failed = 0
    for name, obj in public_objects().items():
        if names and name not in names:
            continue
        text = examples_of(name, obj)
        if text is None:
            print(f"MISSING {name}")
            failed += 1
            continue
        # numpy, torch and the object itself are there, as in most docstrings
        namespace = {"np": np, "torch": torch, name.rpartition(".")[2]: obj}
        test = doctest.DocTestParser().get_doctest(text, namespace, name, name, 0)
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        runner.run(test)
        plt.close("all")
        status = "ok" if runner.failures == 0 else "FAILED"
        print(f"{status:7s} {name} ({runner.tries} lines)")
        failed += runner.failures > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
