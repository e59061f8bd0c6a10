"""Torch building blocks: a differentiable Gaussian mixture and mixture heads.

Requires the ``torch`` extra (``pip install gaussmix[torch]``).
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        "gaussmix.nn needs PyTorch; install it with `pip install gaussmix[torch]`."
    ) from exc

from gaussmix.nn.conditional import ConditionalMixtureDensity
from gaussmix.nn.density import GaussianMixtureDensity
from gaussmix.nn.functional import (
    diagonal_gaussian_log_prob,
    diagonal_mixture_log_prob,
    gaussian_log_prob,
    log_responsibilities,
    mixture_log_prob,
    sample_diagonal_mixture,
    sample_mixture,
)
from gaussmix.nn.mdn import MixtureDensityHead
from gaussmix.nn.regressor import MixtureDensityNetwork, MixtureDensityRegressor

__all__ = [
    "ConditionalMixtureDensity",
    "GaussianMixtureDensity",
    "MixtureDensityHead",
    "MixtureDensityNetwork",
    "MixtureDensityRegressor",
    "diagonal_gaussian_log_prob",
    "diagonal_mixture_log_prob",
    "gaussian_log_prob",
    "log_responsibilities",
    "mixture_log_prob",
    "sample_diagonal_mixture",
    "sample_mixture",
]
