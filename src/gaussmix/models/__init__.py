"""scikit-learn estimators built on the EM core."""

from gaussmix.models.bayesian_mixture import BayesianGaussianMixture
from gaussmix.models.classifier import GaussianMixtureClassifier
from gaussmix.models.factor_analyzers import MixtureOfFactorAnalyzers
from gaussmix.models.gaussian_mixture import GaussianMixture
from gaussmix.models.hdda import HDDAClassifier
from gaussmix.models.hddc import HDDC
from gaussmix.models.imputer import GaussianMixtureImputer
from gaussmix.models.outlier import GaussianMixtureOutlierDetector
from gaussmix.models.regressor import GaussianMixtureRegressor
from gaussmix.models.student_mixture import StudentMixture

__all__ = [
    "HDDC",
    "BayesianGaussianMixture",
    "GaussianMixture",
    "GaussianMixtureClassifier",
    "GaussianMixtureImputer",
    "GaussianMixtureOutlierDetector",
    "GaussianMixtureRegressor",
    "HDDAClassifier",
    "MixtureOfFactorAnalyzers",
    "StudentMixture",
]
