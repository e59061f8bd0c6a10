"""Bootstrap standard errors and intervals of a fitted mixture's parameters.

mclust's ``MclustBootstrap``: the fitted mixture is refitted to resampled
data, starting from its own parameters, and the spread of the refitted
weights, means and covariances over the replicates estimates their
sampling variability. Two resampling schemes:

- ``'bs'``, the nonparametric bootstrap: rows drawn with replacement, passed
  as integer sample weights (a row drawn m times weighs m);
- ``'wlbs'``, the weighted-likelihood bootstrap (Newton & Raftery, 1994):
  every row kept, with weights ``n * Dirichlet(1, ..., 1)``.

Refitted components may come back in another order; each replicate's
components are matched to the original ones by the assignment (Hungarian
algorithm) of least total squared distance between means, in units of the
data's standard deviations.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array, RandomStateLike
from gaussmix.models import validation as check
from gaussmix.models._arrays import full_covariances
from gaussmix.models.bootstrap_lrt import seeds_from

_OWNER = "bootstrap_parameters"
_TYPES = ("bs", "wlbs")


def _refit(model, X, resampling, scale, seed):
    """One replicate: resampling weights, a refit from the model, aligned."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    if resampling == "bs":
        weights = rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64)
    else:
        weights = n * rng.dirichlet(np.ones(n))
    start = clone(model).set_params(
        weights_init=np.asarray(model.weights_, np.float64),
        means_init=np.asarray(model.means_, np.float64),
        precisions_init=np.asarray(model.precisions_, np.float64),
        n_init=1,
        warm_start=False,
        verbose=0,
        random_state=int(seed),
    )
    with warnings.catch_warnings():
        # a replicate converging slowly is still a replicate
        warnings.simplefilter("ignore")
        try:
            start.fit(X, sample_weight=weights)
        except ValueError:
            return None
    means = np.asarray(start.means_, np.float64)
    reference = np.asarray(model.means_, np.float64)
    cost = (((means[None, :, :] - reference[:, None, :]) / scale) ** 2).sum(axis=2)
    _, order = linear_sum_assignment(cost)
    return (
        np.asarray(start.weights_, np.float64)[order],
        means[order],
        full_covariances(start)[order],
    )


@dataclass(frozen=True)
class BootstrapParametersResult:
    """Replicates of a mixture's parameters and their spread.

    Attributes
    ----------
    resampling : {'bs', 'wlbs'}
    weights : ndarray of shape (n_replicates, n_components)
    means : ndarray of shape (n_replicates, n_components, n_features)
    covariances : ndarray of shape (n_replicates, n_components, n_features, n_features)
        Full matrices whatever the covariance family.
    n_failed : int
        Replicates that could not be fitted (left out).

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(5.0, 2.0, size=(200, 1))
    >>> model = gaussmix.GaussianMixture(1).fit(X)
    >>> boot = gaussmix.bootstrap_parameters(model, X, n_bootstrap=50, random_state=0)
    >>> boot.standard_errors()["means"].shape
    (1, 1)
    >>> low, high = boot.confidence_intervals(0.9)["means"]
    >>> bool(low[0, 0] < 5.0 < high[0, 0])
    True
    """

    resampling: str
    weights: np.ndarray = field(repr=False)
    means: np.ndarray = field(repr=False)
    covariances: np.ndarray = field(repr=False)
    n_failed: int = 0

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "weights": self.weights,
            "means": self.means,
            "covariances": self.covariances,
        }

    def standard_errors(self) -> dict[str, np.ndarray]:
        """Standard deviation over the replicates of each parameter.

        Returns
        -------
        dict with keys 'weights' (K,), 'means' (K, D), 'covariances' (K, D, D)
        """
        return {
            name: values.std(axis=0, ddof=1) for name, values in self._arrays().items()
        }

    def confidence_intervals(
        self, level: float = 0.95
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Percentile intervals: the replicates' ``(1 -/+ level) / 2`` quantiles.

        Returns
        -------
        dict of name to (lower, upper), each shaped as the parameter
        """
        level = check.check_float("level", level, 0.0, False, maximum=1.0)
        tail = 0.5 * (1.0 - level)
        return {
            name: (np.quantile(v, tail, axis=0), np.quantile(v, 1.0 - tail, axis=0))
            for name, v in self._arrays().items()
        }

    def __str__(self) -> str:
        name = {"bs": "Nonparametric", "wlbs": "Weighted likelihood"}
        errors = self.standard_errors()
        lines = [
            f"{name[self.resampling]} bootstrap of the mixture's parameters",
            f"Replications = {len(self.weights)} (failed: {self.n_failed})",
            "",
            "Standard errors of the mixing probabilities:",
            "  " + "  ".join(f"{v:.6f}" for v in errors["weights"]),
            "",
            "Standard errors of the means (one row per component):",
        ]
        lines += ["  " + "  ".join(f"{v:.6f}" for v in row) for row in errors["means"]]
        lines += ["", "Standard errors of the variances (diagonals):"]
        lines += [
            "  " + "  ".join(f"{v:.6f}" for v in np.diag(block))
            for block in errors["covariances"]
        ]
        return "\n".join(lines)


def bootstrap_parameters(
    model: object,
    X: Array,
    n_bootstrap: int = 999,
    type: str = "bs",
    *,
    random_state: RandomStateLike = None,
    n_jobs: int | None = None,
) -> BootstrapParametersResult:
    """Bootstrap replicates of a fitted mixture's weights, means and variances.

    mclust's ``MclustBootstrap``. Each replicate refits a clone of ``model``
    (its hyperparameters kept, one start from its fitted parameters) with
    resampling weights, and matches the refitted components to the
    original ones (Hungarian algorithm on the means).

    Parameters
    ----------
    model : fitted GaussianMixture
        Without a noise component.
    X : array-like of shape (n_samples, n_features)
        The rows the model was fitted to.
    n_bootstrap : int, default=999
    type : {'bs', 'wlbs'}, default='bs'
        Nonparametric bootstrap or weighted-likelihood bootstrap.
    random_state : int, RandomState instance or None, default=None
    n_jobs : int or None, default=None
        joblib workers (-1: all cores).

    Returns
    -------
    BootstrapParametersResult
        ``standard_errors()`` and ``confidence_intervals(level)``.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))])
    >>> model = gaussmix.GaussianMixture(2, covariance_type="VVV", random_state=0)
    >>> boot = gaussmix.bootstrap_parameters(
    ...     model.fit(X), X, n_bootstrap=30, type="wlbs", random_state=0
    ... )
    >>> boot.means.shape
    (30, 2, 2)
    >>> bool(np.all(boot.standard_errors()["weights"] < 0.1))
    True
    """
    check_is_fitted(model, ["weights_", "means_", "covariances_", "precisions_"])
    if getattr(model, "noise_volume_", None) is not None:
        raise ValueError(
            "bootstrap_parameters resamples mixtures without a noise component; "
            "refit with noise=False."
        )
    n_bootstrap = check.check_int("n_bootstrap", n_bootstrap, 2, owner=_OWNER)
    resampling = check.check_choice("type", type, _TYPES, owner=_OWNER)
    check.check_seed("random_state", random_state, owner=_OWNER)
    X = check_array(X, dtype=[np.float64, np.float32])
    n_features = np.shape(model.means_)[1]
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features but the mixture has {n_features}."
        )
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    replicates = Parallel(n_jobs=n_jobs)(
        delayed(_refit)(model, X, resampling, scale, int(seed))
        for seed in seeds_from(random_state, n_bootstrap)
    )
    kept = [r for r in replicates if r is not None]
    if len(kept) < 2:
        raise ValueError(
            "fewer than two bootstrap replicates could be fitted; check the "
            "model's reg_covar or the number of rows."
        )
    weights, means, covariances = (np.stack(part) for part in zip(*kept, strict=True))
    return BootstrapParametersResult(
        resampling=resampling,
        weights=weights,
        means=means,
        covariances=covariances,
        n_failed=len(replicates) - len(kept),
    )
