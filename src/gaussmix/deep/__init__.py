"""Deep estimators with Gaussian mixtures inside: deep clustering with a
mixture latent prior, DAGMM anomaly detection, and Fisher-vector encoding.

Requires the ``torch`` extra (``pip install gaussmix[torch]``).
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        "gaussmix.deep needs PyTorch; install it with `pip install gaussmix[torch]`."
    ) from exc

from gaussmix.deep.clustering import DeepGaussianMixtureClustering
from gaussmix.deep.dagmm import DAGMM
from gaussmix.deep.energy import mixture_statistics, sample_energy
from gaussmix.deep.fisher import FisherVectorEncoder
from gaussmix.deep.networks import ConvEncoder, mlp

__all__ = [
    "DAGMM",
    "ConvEncoder",
    "DeepGaussianMixtureClustering",
    "FisherVectorEncoder",
    "mixture_statistics",
    "mlp",
    "sample_energy",
]
