"""Rebuilding an estimator from its plain fitted state, as a file loader would."""

from __future__ import annotations

import numpy as np


def restored(estimator):
    """A new estimator holding only the hyperparameters and the attributes
    ending in ``_`` of ``estimator``, each checked to be plain data."""
    fresh = type(estimator)(**estimator.get_params())
    for name, value in vars(estimator).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, dict):
            assert all(isinstance(v, np.ndarray) for v in value.values()), name
            value = {k: v.copy() for k, v in value.items()}
        else:
            assert isinstance(value, (np.ndarray, float, int, list, tuple)), name
        setattr(fresh, name, value)
    return fresh
