"""scikit-learn estimators built on the EM core."""

from gaussmix.models.gaussian_mixture import GaussianMixture

__all__ = ["GaussianMixture"]
