"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

#: An array of any supported backend (a numpy array or a torch tensor).
Array = Any

#: A random state as accepted by scikit-learn.
RandomStateLike = int | np.random.RandomState | None

#: The four covariance types of scikit-learn.
SklearnCovarianceType = Literal["full", "tied", "diag", "spherical"]
