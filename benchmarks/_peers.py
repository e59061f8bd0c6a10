"""The mixture implementations bench_em.py times, behind one small interface.

Each implementation fits from a given start for a fixed number of EM
iterations with the convergence test disabled, or with its own defaults, and
hands back its final parameters in scikit-learn's shapes so that one
float64 evaluation can score them all.

Start given as scikit-learn's ``weights_init``, ``means_init`` and
``precisions_init``; each peer gets the same numbers in its own form:

- pomegranate 1.1.2: ``Normal(means, covs, covariance_type)`` components with
  ``priors``; ``tol=-inf`` disables its stopping rule (it stops when the gain
  in total log-likelihood is below ``tol``). It has no tied covariance.
- torchgmm: its estimator takes initial means only, so the start is written
  into a ``GaussianMixtureModel``'s buffers and trained by torchgmm's own EM
  module, ``GaussianMixtureLightningModule``, with ``convergence_tolerance=0``
  (no early stopping) and ``max_epochs`` = iterations; this is the loop
  ``torchgmm.GaussianMixture.fit`` runs after its initialisation.
- scikit-learn on torch: scikit-learn's own estimator with
  ``array_api_dispatch=True`` on CPU float32 torch tensors (scipy's array
  API support needs ``SCIPY_ARRAY_API=1`` in the environment before scipy
  is imported, so this peer runs in a process started with it:
  :data:`ENVIRONMENT`). Its k-means start is not available under array
  dispatch, so its default fit starts from ``random_from_data``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class FittedMixture:
    """Final parameters (scikit-learn shapes, float64) and what the fit said."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    reported_loglik: float  # the library's own average log-likelihood
    n_iter: int


def covariances_from_precisions(precisions: np.ndarray, covariance_type: str):
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(precisions)
    return 1.0 / precisions


def precision_cholesky(precisions: np.ndarray, covariance_type: str):
    """Lower Cholesky factor L of each precision (x @ L is the whitened row)."""
    if covariance_type in ("full", "tied"):
        return np.linalg.cholesky(precisions)
    return np.sqrt(precisions)


def quiet_warnings() -> None:
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.filterwarnings("ignore", module="pytorch_lightning")
    warnings.filterwarnings("ignore", module="lightning")
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)


class SklearnLike:
    """gaussmix and scikit-learn share the estimator interface."""

    def estimator_class(self):
        raise NotImplementedError

    def unsupported(self, covariance_type: str) -> str | None:
        return None

    def import_modules(self) -> None:
        self.estimator_class()

    def _result(self, model) -> FittedMixture:
        return FittedMixture(
            np.asarray(model.weights_, np.float64),
            np.asarray(model.means_, np.float64),
            np.asarray(model.covariances_, np.float64),
            float(model.lower_bound_),
            int(model.n_iter_),
        )

    def fit_fixed(self, X, start, covariance_type, max_iter) -> FittedMixture:
        weights, means, precisions = start
        model = self.estimator_class()(
            len(weights),
            covariance_type=covariance_type,
            tol=0.0,
            max_iter=max_iter,
            weights_init=weights,
            means_init=means,
            precisions_init=precisions,
        )
        return self._result(model.fit(X))

    def fit_default(self, X, n_components, covariance_type, seed) -> FittedMixture:
        model = self.estimator_class()(
            n_components, covariance_type=covariance_type, random_state=seed
        )
        return self._result(model.fit(X))


class Gaussmix(SklearnLike):
    def estimator_class(self):
        from gaussmix import GaussianMixture

        return GaussianMixture


class ScikitLearn(SklearnLike):
    def estimator_class(self):
        from sklearn.mixture import GaussianMixture

        return GaussianMixture


POMEGRANATE_COVARIANCE = {"full": "full", "diag": "diag", "spherical": "sphere"}


class Pomegranate:
    def unsupported(self, covariance_type: str) -> str | None:
        if covariance_type not in POMEGRANATE_COVARIANCE:
            return f"n/a: no {covariance_type}"
        return None

    def import_modules(self) -> None:
        import pomegranate.gmm  # noqa: F401

    def _model(self, distributions, priors, **settings):
        from pomegranate.gmm import GeneralMixtureModel

        return GeneralMixtureModel(distributions, priors=priors, **settings)

    def _result(self, model, X, covariance_type, n_iter) -> FittedMixture:
        import torch

        covs = np.stack([d.covs.detach().double().numpy() for d in model.distributions])
        if covariance_type == "spherical":
            covs = covs.mean(axis=1)
        with torch.no_grad():
            loglik = float(model.log_probability(X).double().mean())
        return FittedMixture(
            model.priors.detach().double().numpy(),
            np.stack([d.means.detach().double().numpy() for d in model.distributions]),
            covs,
            loglik,
            n_iter,
        )

    def fit_fixed(self, X, start, covariance_type, max_iter) -> FittedMixture:
        import torch
        from pomegranate.distributions import Normal

        weights, means, precisions = start
        dtype = torch.float32 if X.dtype == np.float32 else torch.float64
        covariances = covariances_from_precisions(precisions, covariance_type)
        n_features = means.shape[1]
        if covariance_type == "spherical":  # one variance, repeated per feature
            covariances = np.repeat(covariances[:, None], n_features, axis=1)
        components = [
            Normal(
                torch.tensor(mean, dtype=dtype),
                torch.tensor(cov, dtype=dtype),
                covariance_type=POMEGRANATE_COVARIANCE[covariance_type],
            )
            for mean, cov in zip(means, covariances, strict=True)
        ]
        model = self._model(
            components,
            torch.tensor(weights, dtype=dtype),
            max_iter=max_iter,
            tol=float("-inf"),
        )
        data = torch.from_numpy(X)
        try:
            with torch.no_grad():
                model.fit(data)
        except torch.linalg.LinAlgError as error:
            raise RuntimeError(
                "covariance not positive definite (pomegranate adds no reg_covar)"
            ) from error
        return self._result(model, data, covariance_type, max_iter)

    def fit_default(self, X, n_components, covariance_type, seed) -> FittedMixture:
        import torch
        from pomegranate.distributions import Normal

        kind = POMEGRANATE_COVARIANCE[covariance_type]
        components = [Normal(covariance_type=kind) for _ in range(n_components)]
        model = self._model(components, None, random_state=seed)
        data = torch.from_numpy(X)
        try:
            with torch.no_grad():
                model.fit(data)
        except IndexError as error:  # Normal.summarize on zero rows
            raise RuntimeError("its k-means start left a component empty") from error
        except torch.linalg.LinAlgError as error:
            raise RuntimeError(
                "covariance not positive definite (pomegranate adds no reg_covar)"
            ) from error
        return self._result(model, data, covariance_type, -1)  # count not exposed


def torchgmm_trainer_settings() -> dict:
    return {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_progress_bar": False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
    }


class Torchgmm:
    def unsupported(self, covariance_type: str) -> str | None:
        return None

    def import_modules(self) -> None:
        import torchgmm.bayes  # noqa: F401

        quiet_warnings()  # Lightning sets its loggers' levels on import

    def _result(self, model, reported_loglik, n_iter) -> FittedMixture:
        from torchgmm.bayes.core import covariance

        # inverted in float64: a float32 inverse of a tight component's
        # factor can come out indefinite
        cholesky = model.precisions_cholesky.double()
        return FittedMixture(
            model.component_probs.double().numpy(),
            model.means.double().numpy(),
            covariance(cholesky, model.covariance_type).numpy(),
            reported_loglik,
            n_iter,
        )

    def fit_fixed(self, X, start, covariance_type, max_iter) -> FittedMixture:
        import pytorch_lightning as pl
        import torch
        from torchgmm.base.data import DataLoader, collate_tensor, dataset_from_tensors
        from torchgmm.bayes.gmm.lightning_module import GaussianMixtureLightningModule
        from torchgmm.bayes.gmm.model import (
            GaussianMixtureModel,
            GaussianMixtureModelConfig,
        )

        weights, means, precisions = start
        config = GaussianMixtureModelConfig(len(weights), X.shape[1], covariance_type)
        model = GaussianMixtureModel(config)
        cholesky = precision_cholesky(precisions, covariance_type)
        with torch.no_grad():
            model.component_probs.copy_(torch.from_numpy(weights))
            model.means.copy_(torch.from_numpy(means))
            model.precisions_cholesky.copy_(torch.from_numpy(cholesky))
        data = torch.from_numpy(X)
        loader = DataLoader(
            dataset_from_tensors(data), batch_size=len(data), collate_fn=collate_tensor
        )
        module = GaussianMixtureLightningModule(model, convergence_tolerance=0.0)
        trainer = pl.Trainer(max_epochs=max_iter, **torchgmm_trainer_settings())
        trainer.fit(module, loader)
        reported = -float(trainer.callback_metrics["nll"])
        return self._result(model, reported, module.current_epoch)

    def fit_default(self, X, n_components, covariance_type, seed) -> FittedMixture:
        import torch
        from torchgmm.bayes import GaussianMixture

        torch.manual_seed(seed)
        model = GaussianMixture(
            n_components,
            covariance_type=covariance_type,
            trainer_params=torchgmm_trainer_settings(),
        ).fit(torch.from_numpy(X))
        return self._result(model.model_, -float(model.nll_), int(model.num_iter_))


class ScikitLearnTorch(SklearnLike):
    """scikit-learn's GaussianMixture through the array API, on torch tensors."""

    def estimator_class(self):
        from sklearn.mixture import GaussianMixture

        return GaussianMixture

    def unsupported(self, covariance_type: str) -> str | None:
        try:
            import torch  # noqa: F401
        except ImportError:
            return "n/a: torch not installed"
        return None

    def import_modules(self) -> None:
        import sklearn
        import torch  # noqa: F401

        sklearn.set_config(array_api_dispatch=True)

    @staticmethod
    def _tensor(values):
        import torch

        return torch.as_tensor(np.asarray(values, np.float32))

    def _result(self, model) -> FittedMixture:
        def host(values):
            return np.asarray(values.detach().double().cpu().numpy())

        return FittedMixture(
            host(model.weights_),
            host(model.means_),
            host(model.covariances_),
            float(model.lower_bound_),
            int(model.n_iter_),
        )

    def fit_fixed(self, X, start, covariance_type, max_iter) -> FittedMixture:
        weights, means, precisions = start
        model = self.estimator_class()(
            len(weights),
            covariance_type=covariance_type,
            tol=0.0,
            max_iter=max_iter,
            init_params="random_from_data",
            weights_init=self._tensor(weights),
            means_init=self._tensor(means),
            precisions_init=self._tensor(precisions),
        )
        return self._result(model.fit(self._tensor(X)))

    def fit_default(self, X, n_components, covariance_type, seed) -> FittedMixture:
        model = self.estimator_class()(
            n_components,
            covariance_type=covariance_type,
            init_params="random_from_data",
            random_state=seed,
        )
        return self._result(model.fit(self._tensor(X)))


IMPLEMENTATIONS = {
    "gaussmix float64": (Gaussmix, np.float64),
    "gaussmix float32": (Gaussmix, np.float32),
    "scikit-learn float64": (ScikitLearn, np.float64),
    "scikit-learn float32": (ScikitLearn, np.float32),
    "pomegranate 1.1.2 float32": (Pomegranate, np.float32),
    "torchgmm float32": (Torchgmm, np.float32),
    "scikit-learn torch float32": (ScikitLearnTorch, np.float32),
}

#: Environment variables an implementation's process must start with.
ENVIRONMENT = {"scikit-learn torch float32": {"SCIPY_ARRAY_API": "1"}}
