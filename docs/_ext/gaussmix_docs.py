"""Build helpers of the gaussmix documentation.

* writes the ``--help`` text of every ``gaussmix`` command to
  ``user_guide/generated/`` so that the command-line page always matches the code;
* appends the Examples sections kept in :mod:`extra_examples` to docstrings
  that have none;
* warns (an error under ``-W``) about every public class or function whose
  documentation has no Examples section;
* resets torch's seed and thread count before each gallery script.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import re
from pathlib import Path
from typing import Any

import click
from extra_examples import EXTRA_EXAMPLES
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The modules whose ``__all__`` is the public API.
PUBLIC_MODULES = (
    "gaussmix",
    "gaussmix.plot",
    "gaussmix.nn",
    "gaussmix.deep",
    "gaussmix.io",
)


def public_objects() -> dict[str, Any]:
    """Every public class and function, by its documented (public) name."""
    found: dict[str, Any] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found[f"{module_name}.{name}"] = obj
    return found


def has_examples(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines()]
    return any(
        line == "Examples" and following.startswith("---")
        for line, following in itertools.pairwise(lines)
    )


def _extra_for(obj: Any) -> str | None:
    for name, text in EXTRA_EXAMPLES.items():
        module_name, _, attribute = name.rpartition(".")
        if getattr(importlib.import_module(module_name), attribute, None) is obj:
            return text
    return None


def check_examples(app: Any) -> None:
    for name, obj in public_objects().items():
        doc = inspect.getdoc(obj) or ""
        if has_examples(doc):
            if name in EXTRA_EXAMPLES:
                logger.warning(
                    "%s: its docstring has an Examples section now; remove the "
                    "copy in docs/_ext/extra_examples.py",
                    name,
                )
            continue
        if _extra_for(obj) is None:
            logger.warning("%s: no Examples section in its documentation", name)


def add_examples(app, what, name, obj, options, lines) -> None:
    """Append the kept Examples section to a docstring that lacks one."""
    if what not in ("class", "function", "exception"):
        return
    if has_examples("\n".join(lines)):
        return
    text = _extra_for(obj)
    if text is None:
        return
    lines.extend(["", "Examples", "--------", *inspect.cleandoc(text).splitlines()])


_LITERAL = re.compile(r"(``.*?``|`[^`]*`)")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=[\s,;:.)\]]|$)")


def escape_trailing_underscores(app, what, name, obj, options, lines) -> None:
    """Escape ``name_`` outside literals, which reST reads as a link target.

    Fitted attributes (``n_features_in_``) appear bare in numpydoc's type
    fields, such as ``ndarray of shape (n_features_in_,)``. Doctest and
    literal blocks are left alone.
    """
    in_block = False
    block_indent = 0
    for index, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if in_block:
            if not stripped or indent > block_indent or stripped.startswith("..."):
                continue
            in_block = False
        if stripped.startswith(">>>"):
            in_block, block_indent = True, indent - 1
            continue
        parts = _LITERAL.split(line)
        parts[::2] = [_TRAILING_UNDERSCORE.sub(r"\\_", part) for part in parts[::2]]
        lines[index] = "".join(parts)
        if stripped.endswith("::"):
            in_block, block_indent = True, indent


def skip_member(app, what, name, obj, skip, options):
    """Leave out what the library does not define for users.

    The methods every torch module inherits from ``torch.nn.Module``, and
    those the estimators inherit from scikit-learn's mixins (whose
    docstrings point into scikit-learn's own documentation) except
    ``get_params`` and ``set_params``.
    """
    defined_in = str(getattr(obj, "__module__", None) or "")
    if defined_in.startswith("torch"):
        return True
    if defined_in.startswith("sklearn") and name not in ("get_params", "set_params"):
        return True
    return None


def write_cli_help(app: Any) -> None:
    from gaussmix.cli import cli

    target = Path(app.srcdir) / "user_guide" / "generated"
    target.mkdir(parents=True, exist_ok=True)
    commands = {"gaussmix": cli}
    commands.update({f"gaussmix {name}": cmd for name, cmd in cli.commands.items()})
    for full_name, command in commands.items():
        with click.Context(command, info_name=full_name, terminal_width=79) as ctx:
            text = command.get_help(ctx)
        path = target / (full_name.replace(" ", "_") + ".txt")
        if not path.exists() or path.read_text() != text + "\n":
            path.write_text(text + "\n")


def reset_torch(gallery_conf: dict, fname: Any) -> None:
    """Seed torch and keep it to one thread before each gallery script."""
    try:
        import torch
    except ImportError:  # pragma: no cover - the docs extra installs it
        return
    torch.manual_seed(0)
    torch.set_num_threads(1)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", write_cli_help)
    app.connect("builder-inited", check_examples)
    app.connect("autodoc-skip-member", skip_member)
    # after numpydoc has turned the sections into reST
    app.connect("autodoc-process-docstring", escape_trailing_underscores, priority=600)
    # before numpydoc (priority 500) parses the docstring
    app.connect("autodoc-process-docstring", add_examples, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


#: The gallery's order: from clustering to supervised learning to deep models.
GALLERY_ORDER = (
    "clusters_and_ellipses.py",
    "covariance_models.py",
    "bic_model_selection.py",
    "density_estimation.py",
    "bayesian_components.py",
    "robust_student.py",
    "classifier_boundaries.py",
    "gmr_uncertainty.py",
    "regression_inverse_problem.py",
    "mdn_inverse_problem.py",
    "deep_clustering.py",
    "dagmm_anomalies.py",
    "fisher_vectors_digits.py",
)


class GalleryOrder:
    """Sort key of the gallery's scripts (unlisted ones come last, by name)."""

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        name = Path(filename).name
        rank = (
            GALLERY_ORDER.index(name) if name in GALLERY_ORDER else len(GALLERY_ORDER)
        )
        return rank, name

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
