"""Estimators defined outside the library, registered for model files.

They exercise what the library's own estimators do not: estimators nested in
dicts, state hooks for values files cannot hold, and one object in two places.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from sklearn.base import BaseEstimator

from gaussmix import GaussianMixture
from gaussmix.io import register_estimator


class MixturePerClass(BaseEstimator):
    """One mixture per class label: nested estimators in a dict."""

    def __init__(self, n_components: int = 1) -> None:
        self.n_components = n_components

    def fit(self, X, y):
        labels = np.unique(y)
        self.classes_ = np.array([f"class {c}" for c in labels], dtype=object)
        self.mixtures_ = {
            label: GaussianMixture(self.n_components, random_state=0).fit(X[y == label])
            for label in labels
        }
        self.priors_ = tuple(float(np.mean(y == label)) for label in labels)
        self.summary_ = {"n_rows": len(X), "scale": np.float32(0.5), "dtype": X.dtype}
        return self

    def predict(self, X):
        scores = [m.score_samples(X) for m in self.mixtures_.values()]
        return np.argmax(np.log(self.priors_)[:, None] + np.array(scores), axis=0)


class FractionHolder(BaseEstimator):
    """Holds a value model files cannot store, converted by the hooks."""

    def __init__(self, numerator: int = 1) -> None:
        self.numerator = numerator

    def fit(self, X=None):
        self.ratio_ = Fraction(self.numerator, 3)
        return self

    def __gaussmix_state__(self):
        return {"ratio": [self.ratio_.numerator, self.ratio_.denominator]}

    def __gaussmix_restore__(self, state):
        self.ratio_ = Fraction(*state["ratio"])


@register_estimator(name="tests.SharedMixtures")
class SharedMixtures(BaseEstimator):
    """Registers itself; holds one mixture in two places."""

    def __init__(self, n_components: int = 2) -> None:
        self.n_components = n_components

    def fit(self, X):
        mixture = GaussianMixture(self.n_components, random_state=0).fit(X)
        self.first_ = mixture
        self.both_ = [mixture, mixture]
        return self


register_estimator(MixturePerClass, name="tests.MixturePerClass")
register_estimator(FractionHolder, name="tests.FractionHolder")
