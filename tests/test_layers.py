"""Each layer of the package imports only the layers below it.

The order is ``backend < core < fit < models < io, plot < nn < deep, cli``;
``_typing`` sits below everything and the package ``__init__`` above. A
lower layer that imports a higher one (even inside a function) fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gaussmix

PACKAGE = Path(gaussmix.__file__).parent
LAYERS = {
    "_typing": 0,
    "backend": 1,
    "core": 2,
    "fit": 3,
    "models": 4,
    "io": 5,
    "plot": 5,
    "nn": 6,
    "deep": 7,
    "cli": 7,
}


def imported_layers(source: str, module: tuple[str, ...]) -> set[str]:
    """The gaussmix subpackages that ``source``, the module ``module``, imports."""
    tree = ast.parse(source)
    package = module
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level]
                module = ".".join([*base, *([node.module] if node.module else [])])
                modules = [module]
                if not node.module:
                    modules = [f"{module}.{alias.name}" for alias in node.names]
            else:
                modules = [node.module or ""]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "gaussmix" and len(parts) > 1:
                names.add(parts[1])
    return names


def modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] in LAYERS
    )


@pytest.mark.parametrize(
    "path", modules(), ids=lambda path: str(path.relative_to(PACKAGE))
)
def test_a_module_imports_only_lower_layers(path: Path) -> None:
    layer = path.relative_to(PACKAGE).parts[0]
    own = LAYERS[layer]
    module = path.relative_to(PACKAGE.parent).with_suffix("").parts
    higher = sorted(
        name
        for name in imported_layers(path.read_text(), module)
        if name != layer and LAYERS.get(name, own + 1) >= own
    )
    assert not higher, f"{layer} must not import {higher}"


def test_every_subpackage_has_a_layer() -> None:
    found = {
        path.relative_to(PACKAGE).parts[0]
        for path in PACKAGE.rglob("*.py")
        if len(path.relative_to(PACKAGE).parts) > 1
    }
    assert found <= set(LAYERS)


def test_the_check_sees_every_kind_of_import() -> None:
    """Absolute, relative and function-level imports are all found."""
    source = (
        "import numpy\n"
        "from . import _common\n"
        "from ...fit import batch\n"
        "def late():\n"
        "    from gaussmix.models import GaussianMixture\n"
        "    import gaussmix.plot.clusters\n"
    )
    module = ("gaussmix", "core", "kernels", "probe")
    assert imported_layers(source, module) == {"core", "fit", "models", "plot"}
