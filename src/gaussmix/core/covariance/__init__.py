"""Covariance families, looked up by name through a registry.

Importing this package registers scikit-learn's four types (with their mclust
names as aliases) and mclust's ten other parsimonious models.
"""

from gaussmix.core.covariance import (  # noqa: F401
    diag,
    full,
    mclust_closed,
    mclust_iterative,
    spherical,
    tied,
)
from gaussmix.core.covariance.base import (
    CovarianceFamily,
    available_families,
    get_family,
    register,
)

__all__ = ["CovarianceFamily", "available_families", "get_family", "register"]
