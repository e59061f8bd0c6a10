"""gaussmix: fast, scalable Gaussian mixture models.

The public names are re-exported here; see the README for a tour.
``gaussmix.plot`` is imported on first use, so that ``import gaussmix``
does not import matplotlib.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

from gaussmix.core.conditioning import ConditionalMixture
from gaussmix.core.conjugate_prior import ConjugatePrior
from gaussmix.core.mstep import DegenerateComponentWarning, RegCovarWarning
from gaussmix.io import load, save
from gaussmix.models import (
    HDDC,
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureClassifier,
    GaussianMixtureImputer,
    GaussianMixtureOutlierDetector,
    GaussianMixtureRegressor,
    HDDAClassifier,
    MixtureOfFactorAnalyzers,
    StudentMixture,
)
from gaussmix.models.bootstrap_lrt import BootstrapLRTResult, bootstrap_lrt
from gaussmix.models.bootstrap_parameters import (
    BootstrapParametersResult,
    bootstrap_parameters,
)
from gaussmix.models.dimension_reduction import DimensionReduction, dimension_reduction
from gaussmix.models.merging import MergeResult, merge_components
from gaussmix.models.selection import ModelSelectionResult, select_model
from gaussmix.models.summary import MixtureSummary, summary

try:
    # one place for the version: pyproject.toml, read from the installed
    # package's metadata
    __version__ = version("gaussmix")
except PackageNotFoundError:  # pragma: no cover - a source tree never installed
    __version__ = "0+unknown"

#: Submodules imported on first attribute access.
_LAZY_SUBMODULES = frozenset({"plot"})


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"gaussmix.{name}")
    raise AttributeError(f"module 'gaussmix' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_SUBMODULES})


__all__ = [
    "HDDC",
    "BayesianGaussianMixture",
    "BootstrapLRTResult",
    "BootstrapParametersResult",
    "ConditionalMixture",
    "ConjugatePrior",
    "DegenerateComponentWarning",
    "DimensionReduction",
    "GaussianMixture",
    "GaussianMixtureClassifier",
    "GaussianMixtureImputer",
    "GaussianMixtureOutlierDetector",
    "GaussianMixtureRegressor",
    "HDDAClassifier",
    "MergeResult",
    "MixtureOfFactorAnalyzers",
    "MixtureSummary",
    "ModelSelectionResult",
    "RegCovarWarning",
    "StudentMixture",
    "__version__",
    "bootstrap_lrt",
    "bootstrap_parameters",
    "dimension_reduction",
    "load",
    "merge_components",
    "save",
    "select_model",
    "summary",
]
