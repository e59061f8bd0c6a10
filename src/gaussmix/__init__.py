"""gaussmix: fast, scalable Gaussian mixture models.

The public names are re-exported here; see the README for a tour.
"""

from gaussmix.core.conditioning import ConditionalMixture
from gaussmix.core.mstep import DegenerateComponentWarning, RegCovarWarning
from gaussmix.io import load, save
from gaussmix.models import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureClassifier,
    GaussianMixtureOutlierDetector,
    GaussianMixtureRegressor,
)
from gaussmix.models.selection import ModelSelectionResult, select_model

__version__ = "0.1.0"

__all__ = [
    "BayesianGaussianMixture",
    "ConditionalMixture",
    "DegenerateComponentWarning",
    "GaussianMixture",
    "GaussianMixtureClassifier",
    "GaussianMixtureOutlierDetector",
    "GaussianMixtureRegressor",
    "ModelSelectionResult",
    "RegCovarWarning",
    "__version__",
    "load",
    "save",
    "select_model",
]
