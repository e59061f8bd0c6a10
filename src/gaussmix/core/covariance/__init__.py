"""Covariance families, looked up by name through a registry.

Importing this package registers scikit-learn's four types (with their mclust
names as aliases).
"""

from gaussmix.core.covariance import diag, full, spherical, tied  # noqa: F401
from gaussmix.core.covariance.base import (
    CovarianceFamily,
    available_families,
    get_family,
    register,
)

__all__ = ["CovarianceFamily", "available_families", "get_family", "register"]
