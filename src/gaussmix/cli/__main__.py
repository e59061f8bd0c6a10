"""``python -m gaussmix.cli``: the ``gaussmix`` command."""

from gaussmix.cli import main

main()
