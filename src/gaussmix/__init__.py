"""gaussmix: fast, scalable Gaussian mixture models.

The public names are re-exported here; see the README for a tour.
"""

from gaussmix.core.mstep import DegenerateComponentWarning
from gaussmix.io import load, save
from gaussmix.models import GaussianMixture

__version__ = "0.1.0"

__all__ = [
    "DegenerateComponentWarning",
    "GaussianMixture",
    "__version__",
    "load",
    "save",
]
