"""Sphinx configuration of the gaussmix documentation.

Build with ``make docs`` (warnings are errors). The gallery scripts under
``examples/`` run during the build and their figures are embedded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))

import gaussmix  # noqa: E402

project = "gaussmix"
author = "the gaussmix developers"
copyright = "the gaussmix developers"
release = gaussmix.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "gaussmix_docs",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "sg_execution_times.rst"]
default_role = "code"

# --- API reference ----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


# --- Gallery ----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    # every script runs, except the command-line wrapper
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"(__init__|demo)\.py$",
    "within_subsection_order": "gaussmix_docs.GalleryOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib", "seaborn", "gaussmix_docs.reset_torch"),
    "doc_module": ("gaussmix",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"gaussmix": None},
    "show_memory": False,
    "min_reported_time": 1,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "plot_gallery": "True",
}

# --- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"gaussmix {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_context = {"default_mode": "light"}
html_show_sourcelink = False

os.environ.setdefault("MPLBACKEND", "Agg")
