"""What the deep estimators' scoring tests share."""

from __future__ import annotations

import numpy as np


def assert_one_row_as_among_others(model, X, methods, index, **tolerance):
    """Each method gives row ``index`` alone what it gives it among ten rows."""
    for method in methods:
        alone = getattr(model, method)(X[index : index + 1])
        among = getattr(model, method)(X[:10])[index : index + 1]
        np.testing.assert_allclose(alone, among, **tolerance)
