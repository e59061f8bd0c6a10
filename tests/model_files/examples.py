"""Fitted examples of the library's estimators, and an exact comparison.

``LIBRARY_EXAMPLES`` is what the guard tests round-trip: every public
estimator of the library needs one, and every class the library registers
must be held by one. A new estimator adds its example here.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

import gaussmix
from tests.conftest import DATASETS

IRIS = DATASETS["iris"]
IRIS_LABELS = np.repeat(["setosa", "versicolor", "virginica"], 50).astype(object)
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _mixture() -> Any:
    return gaussmix.GaussianMixture(3, random_state=0).fit(IRIS)


def _prior_mixture() -> Any:
    prior = gaussmix.ConjugatePrior(shrinkage=0.05)
    return gaussmix.GaussianMixture(3, prior=prior, random_state=0).fit(IRIS)


def _streaming_mixture() -> Any:
    model = gaussmix.GaussianMixture(3, covariance_type="diag", random_state=0)
    for rows in np.array_split(np.random.RandomState(0).permutation(150), 3):
        model.partial_fit(IRIS[rows])
    return model


def _noise_mixture() -> Any:
    return gaussmix.GaussianMixture(2, noise=True, random_state=0).fit(IRIS)


def _streaming_noise_mixture() -> Any:
    model = gaussmix.GaussianMixture(2, noise=True, random_state=0)
    for rows in np.array_split(np.random.RandomState(0).permutation(150), 3):
        model.partial_fit(IRIS[rows])
    return model


def _outlier_detector() -> Any:
    return gaussmix.GaussianMixtureOutlierDetector(
        2, contamination=0.05, noise=True, random_state=0
    ).fit(IRIS)


def _imputer() -> Any:
    holed = IRIS.copy()
    holed[np.random.RandomState(0).uniform(size=IRIS.shape) < 0.2] = np.nan
    holed[:, 3] = np.nan  # a column dropped at fit, with a warning
    model = gaussmix.GaussianMixtureImputer(
        n_components=(1, 2), add_indicator=True, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return model.fit(holed)


def _bayesian_mixture() -> Any:
    model = gaussmix.BayesianGaussianMixture(
        4, covariance_type="tied", max_iter=200, random_state=0
    )
    for rows in np.array_split(np.random.RandomState(0).permutation(150), 2):
        model.partial_fit(IRIS[rows])
    return model


def _student_mixture() -> Any:
    return gaussmix.StudentMixture(
        3, covariance_type="diag", dof="shared", random_state=0
    ).fit(IRIS)


def _classifier() -> Any:
    return gaussmix.GaussianMixtureClassifier([1, 2], random_state=0).fit(
        IRIS, IRIS_LABELS
    )


def _regressor() -> Any:
    return gaussmix.GaussianMixtureRegressor(2, random_state=0).fit(
        IRIS[:, :3], IRIS[:, 3]
    )


def _selection() -> Any:
    return gaussmix.select_model(IRIS, [1, 2], ["EII", "VVV"], random_state=0)


def _factor_analyzers() -> Any:
    return gaussmix.MixtureOfFactorAnalyzers(
        2, n_factors=2, loadings="common", random_state=0
    ).fit(IRIS)


def _hddc() -> Any:
    return gaussmix.HDDC(2, model="AkBQkDk", random_state=0).fit(IRIS)


def _hdda() -> Any:
    return gaussmix.HDDAClassifier().fit(IRIS, IRIS_LABELS)


def _tensor_mixture() -> Any:
    import torch

    return gaussmix.GaussianMixture(2, random_state=0).fit(torch.as_tensor(IRIS))


def _mixture_density_regressor() -> Any:
    from gaussmix.nn import MixtureDensityRegressor

    return MixtureDensityRegressor(
        2, hidden_layer_sizes=(8,), max_epochs=5, random_state=0
    ).fit(IRIS[:, :3], IRIS[:, 3])


def _deep_clustering() -> Any:
    from gaussmix.deep import DeepGaussianMixtureClustering

    return DeepGaussianMixtureClustering(
        3, latent_dim=2, pretrain_epochs=2, max_epochs=2, n_init=1, random_state=0
    ).fit(IRIS)


def _dagmm() -> Any:
    from gaussmix.deep import DAGMM

    return DAGMM(2, max_epochs=2, random_state=0).fit(IRIS)


def _fisher_vector_encoder() -> Any:
    from gaussmix.deep import FisherVectorEncoder

    sets = [IRIS[i : i + 30] for i in range(0, 150, 30)]
    return FisherVectorEncoder(2, random_state=0).fit(sets)


#: a fitted example of each estimator (and state) the library can store
LIBRARY_EXAMPLES: dict[str, Callable[[], Any]] = {
    "GaussianMixture": _mixture,
    "GaussianMixture after partial_fit": _streaming_mixture,
    "GaussianMixture with a conjugate prior": _prior_mixture,
    "GaussianMixture with noise": _noise_mixture,
    "GaussianMixture with noise after partial_fit": _streaming_noise_mixture,
    "GaussianMixtureOutlierDetector with noise": _outlier_detector,
    "BayesianGaussianMixture after partial_fit": _bayesian_mixture,
    "GaussianMixtureImputer with indicators": _imputer,
    "StudentMixture": _student_mixture,
    "GaussianMixtureClassifier with string labels": _classifier,
    "GaussianMixtureRegressor": _regressor,
    "ModelSelectionResult": _selection,
    "MixtureOfFactorAnalyzers": _factor_analyzers,
    "HDDC": _hddc,
    "HDDAClassifier with string labels": _hdda,
}
#: the examples that need torch, to fit and to load
TORCH_EXAMPLES: dict[str, Callable[[], Any]] = {
    "GaussianMixture on tensors": _tensor_mixture,
    "MixtureDensityRegressor": _mixture_density_regressor,
    "DeepGaussianMixtureClustering": _deep_clustering,
    "DAGMM": _dagmm,
    "FisherVectorEncoder": _fisher_vector_encoder,
}
if HAS_TORCH:
    LIBRARY_EXAMPLES.update(TORCH_EXAMPLES)


@functools.cache
def library_example(name: str) -> Any:
    """The example ``name``, fitted once per test run (do not modify it)."""
    return LIBRARY_EXAMPLES[name]()


def round_trip(model: Any, tmp_path) -> Any:
    path = tmp_path / "model.gmm"
    gaussmix.save(model, path)
    return gaussmix.load(path)


def assert_identical(a: Any, b: Any, where: str = "model") -> None:
    """Same types and values: arrays and tensors bit for bit, objects field by field."""
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        if a.dtype == object:
            assert a.tolist() == b.tolist(), where
        else:
            assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, (float, np.generic)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), where
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_identical(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, np.random.RandomState):
        assert_identical(a.get_state(), b.get_state(), where)
    elif isinstance(a, BaseEstimator) or dataclasses.is_dataclass(a):
        # the order attributes were set in is not part of an object's state
        assert_identical(
            dict(sorted(vars(a).items())), dict(sorted(vars(b).items())), where
        )
    elif _is_torch(a):
        _assert_identical_torch(a, b, where)
    else:
        assert a == b, where


def _is_torch(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, (torch.Tensor, torch.nn.Module))


def _assert_identical_torch(a: Any, b: Any, where: str) -> None:
    import torch

    if isinstance(a, torch.Tensor):
        assert (a.dtype, a.shape, a.device) == (b.dtype, b.shape, b.device), where
        assert a.requires_grad == b.requires_grad, where
        assert_identical(a.detach().cpu().numpy(), b.detach().cpu().numpy(), where)
    elif isinstance(a, torch.nn.Module):
        assert repr(a) == repr(b), where
        modes = [m.training for m in a.modules()], [m.training for m in b.modules()]
        assert modes[0] == modes[1], where
        assert_identical(dict(a.state_dict()), dict(b.state_dict()), where)
    else:
        assert a == b, where
