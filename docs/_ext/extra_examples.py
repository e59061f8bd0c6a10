"""Examples sections for public docstrings that do not have one yet.

The API reference appends each text below (numpydoc's doctest format) to the
docstring of the named object when that docstring has no Examples section.
Once a docstring gains its own section, the build says so and the entry here
should go.
"""

from __future__ import annotations

EXTRA_EXAMPLES: dict[str, str] = {}
