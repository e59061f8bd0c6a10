"""Every estimator of the library can be saved, and loads back exactly.

The public estimators are discovered, not listed: a new estimator exported
by ``gaussmix``, ``gaussmix.nn`` or ``gaussmix.deep`` fails these tests until
it is registered and has an example in ``LIBRARY_EXAMPLES``.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from sklearn.base import BaseEstimator

import gaussmix
from gaussmix.io import read_metadata, registered_estimators
from gaussmix.io.registry import OPTIONAL_PACKAGES
from tests.model_files.examples import (
    HAS_TORCH,
    LIBRARY_EXAMPLES,
    TORCH_EXAMPLES,
    assert_identical,
    library_example,
    round_trip,
)


def public_modules() -> list:
    """``gaussmix`` and each optional package that exists (torch permitting)."""
    modules = [gaussmix]
    for package in OPTIONAL_PACKAGES:
        if importlib.util.find_spec(package) is None:
            continue
        try:
            modules.append(importlib.import_module(package))
        except ImportError:
            if HAS_TORCH:
                raise
    return modules


def public_estimators() -> set[type]:
    return {
        value
        for module in public_modules()
        for value in (getattr(module, name) for name in module.__all__)
        if isinstance(value, type) and issubclass(value, BaseEstimator)
    }


def classes_in(node) -> set[str]:
    """The registered class names an encoded value refers to."""
    if isinstance(node, list):
        return set().union(*map(classes_in, node))
    if not isinstance(node, dict):
        return set()
    found = {node["class"]} if "class" in node else set()
    return found.union(*map(classes_in, node.values()))


def test_the_discovery_finds_the_known_estimators():
    names = {cls.__name__ for cls in public_estimators()}
    assert {"GaussianMixture", "GaussianMixtureClassifier"} <= names
    if HAS_TORCH:
        assert "MixtureDensityRegressor" in names


@pytest.mark.parametrize("cls", sorted(public_estimators(), key=lambda c: c.__name__))
def test_every_public_estimator_is_registered(cls):
    assert cls in registered_estimators().values()


@pytest.mark.parametrize("cls", sorted(public_estimators(), key=lambda c: c.__name__))
def test_every_public_estimator_has_a_round_trip_example(cls):
    example_types = {type(library_example(name)) for name in LIBRARY_EXAMPLES}
    assert cls in example_types, f"add a fitted {cls.__name__} to LIBRARY_EXAMPLES"


def test_every_registered_class_is_held_by_an_example(tmp_path):
    held = set()
    for name in LIBRARY_EXAMPLES:
        gaussmix.save(library_example(name), tmp_path / "model.gmm")
        held |= classes_in(read_metadata(tmp_path / "model.gmm")["model"])
    library = {
        name
        for name, cls in registered_estimators().items()
        if cls.__module__.startswith("gaussmix.")
    }
    assert library <= held, library - held


@pytest.mark.parametrize("name", sorted(LIBRARY_EXAMPLES))
def test_every_example_round_trips_exactly(name, tmp_path):
    model = library_example(name)
    assert_identical(model, round_trip(model, tmp_path))


def test_loading_registers_optional_estimators_without_importing_them(tmp_path):
    """A fresh interpreter loads every example, importing torch only for the
    estimators that need it, never for importing gaussmix.io."""
    paths = {}
    for name in LIBRARY_EXAMPLES:
        paths[name] = str(tmp_path / f"{len(paths)}.gmm")
        gaussmix.save(library_example(name), paths[name])
    script = """
import json, sys
import gaussmix, gaussmix.io
loaded = {"io": "torch" in sys.modules}
for name, path in json.loads(sys.argv[1]).items():
    model = gaussmix.load(path)
    loaded[name] = [type(model).__name__, "torch" in sys.modules]
print(json.dumps(loaded))
"""
    # the examples without torch first: loading them must not import it
    ordered = {n: p for n, p in paths.items() if n not in TORCH_EXAMPLES}
    without_torch = set(ordered)
    ordered.update(paths)
    output = subprocess.run(
        [sys.executable, "-c", script, json.dumps(ordered)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = json.loads(output)
    assert loaded.pop("io") is False
    assert list(loaded) == list(ordered)
    for name, (class_name, torch_imported) in loaded.items():
        assert class_name == type(library_example(name)).__name__, name
        if name in without_torch:
            assert torch_imported is False, name
