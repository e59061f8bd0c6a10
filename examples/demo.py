"""The worked example of ``gaussmix demo``, run from Python.

Clusters the iris flowers, choosing the number of components and the
covariance type by BIC, prints the summary and writes a figure::

    python examples/demo.py --output gaussmix-demo.png
"""

from __future__ import annotations

import sys

from gaussmix.cli import main

if __name__ == "__main__":
    main(["demo", *sys.argv[1:]])
