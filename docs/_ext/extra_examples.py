"""Examples sections for public docstrings that do not have one yet.

The API reference appends each text registered here (numpydoc's doctest
format) to the docstring of the named object when that docstring has no
Examples section; every public docstring has its own today, so none is
registered. Once a docstring gains its own section, the build says so and
the entry should go. ``python docs/check_examples.py`` runs every Examples
section.
"""

from __future__ import annotations

EXTRA_EXAMPLES: dict[str, str] = {}
