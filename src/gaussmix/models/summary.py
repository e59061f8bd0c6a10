"""A printed summary of a fitted mixture or a model selection, as mclust's.

``gaussmix.summary(model, X)`` gathers what mclust's
``summary(fit, parameters = TRUE)`` prints: the model, log-likelihood, n,
degrees of freedom, BIC and ICL (mclust's convention, higher is better),
the clustering table, mixing probabilities, means and variances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from gaussmix._typing import Array
from gaussmix.core.criteria import icl
from gaussmix.models import validation as check
from gaussmix.models._arrays import full_covariances
from gaussmix.models._fitted_mixture import (
    FittedMixtureMixin,
    InformationCriteriaMixin,
)
from gaussmix.models.selection import ModelSelectionResult

#: What each covariance model constrains, in mclust's words.
MODEL_DESCRIPTIONS = {
    "EII": "spherical, equal volume",
    "VII": "spherical, unequal volume",
    "EEI": "diagonal, equal volume and shape",
    "VEI": "diagonal, varying volume, equal shape",
    "EVI": "diagonal, equal volume, varying shape",
    "VVI": "diagonal, varying volume and shape",
    "EEE": "ellipsoidal, equal volume, shape and orientation",
    "VEE": "ellipsoidal, equal shape and orientation",
    "EVE": "ellipsoidal, equal volume and orientation",
    "VVE": "ellipsoidal, equal orientation",
    "EEV": "ellipsoidal, equal volume and equal shape",
    "VEV": "ellipsoidal, equal shape",
    "EVV": "ellipsoidal, equal volume",
    "VVV": "ellipsoidal, varying volume, shape, and orientation",
    "full": "ellipsoidal, varying volume, shape, and orientation",
    "tied": "ellipsoidal, equal volume, shape and orientation",
    "diag": "diagonal, varying volume and shape",
    "spherical": "spherical, unequal volume",
    "E": "univariate, equal variance",
    "V": "univariate, unequal variance",
}

_RULE = "-" * 52


def _row(values, width: int, fmt: str) -> str:
    return "".join(format(v, fmt).rjust(width) for v in values)


@dataclass(frozen=True)
class MixtureSummary:
    """The numbers of a fitted mixture; ``str()`` prints them as mclust does.

    Attributes
    ----------
    covariance_type : str
    n_components : int
    n_samples : int or None
        None without X (then the fit statistics are None too).
    log_likelihood : float or None
        Total log-likelihood of X, ``model.score(X) * n``.
    n_parameters : int
        Free parameters (mclust's ``df``).
    bic, icl : float or None
        scikit-learn's convention (lower is better): ``model.bic(X)``.
    mclust_bic, mclust_icl : float or None
        mclust's convention, their negatives (higher is better).
    clustering_table : dict of int to int or None
        Rows per predicted component (-1: the noise).
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
    parameters : bool
        Whether ``str()`` prints the parameters.
    selection : ModelSelectionResult or None
        Set when the summary is of a model selection.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-3, 1, (50, 2)), rng.normal(3, 1, (100, 2))])
    >>> model = gaussmix.GaussianMixture(2, covariance_type="VII", random_state=0)
    >>> info = gaussmix.summary(model.fit(X), X)
    >>> info.n_parameters, sorted(info.clustering_table.values())
    (7, [50, 100])
    >>> bool(np.isclose(info.bic, model.bic(X)))
    True
    """

    covariance_type: str
    n_components: int
    n_parameters: int
    weights: np.ndarray = field(repr=False)
    means: np.ndarray = field(repr=False)
    covariances: np.ndarray = field(repr=False)
    n_samples: int | None = None
    log_likelihood: float | None = None
    bic: float | None = None
    icl: float | None = None
    clustering_table: dict[int, int] | None = None
    noise_proportion: float | None = None
    parameters: bool = True
    selection: ModelSelectionResult | None = field(repr=False, default=None)

    @property
    def mclust_bic(self) -> float | None:
        return None if self.bic is None else -self.bic

    @property
    def mclust_icl(self) -> float | None:
        return None if self.icl is None else -self.icl

    def _fit_lines(self) -> list[str]:
        if self.n_samples is None:
            return [f" df = {self.n_parameters} (pass X for the fit statistics)"]
        header = ["log-likelihood", "n", "df", "BIC", "ICL"]
        cells = [
            f"{self.log_likelihood:.4f}",
            str(self.n_samples),
            str(self.n_parameters),
            f"{self.mclust_bic:.4f}",
            f"{self.mclust_icl:.4f}",
        ]
        widths = [max(len(h), len(c)) + 1 for h, c in zip(header, cells, strict=True)]
        return [
            "".join(h.rjust(w) for h, w in zip(header, widths, strict=True)),
            "".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)),
        ]

    def _parameter_lines(self) -> list[str]:
        k = self.n_components
        names = [str(j) for j in range(k)]
        width = 12
        lines = ["Mixing probabilities:", _row(names, width, "s")]
        lines.append(_row(self.weights, width, ".7f"))
        if self.noise_proportion is not None:
            lines.append(f"Noise proportion: {self.noise_proportion:.7f}")
        lines += ["", "Means (one column per component):", _row(names, width, "s")]
        lines += [_row(row, width, ".7f") for row in self.means.T]
        lines += ["", "Variances:"]
        for j, block in enumerate(self.covariances):
            lines.append(f"[component {j}]")
            lines += [_row(row, width, ".7f") for row in block]
        return lines

    def __str__(self) -> str:
        lines: list[str] = []
        if self.selection is not None:
            lines += [self.selection.summary(), ""]
        description = MODEL_DESCRIPTIONS.get(self.covariance_type, "")
        description = f" ({description})" if description else ""
        plural = "s" if self.n_components != 1 else ""
        noise = " and a noise component" if self.noise_proportion is not None else ""
        lines += [
            _RULE,
            "Gaussian finite mixture model fitted by EM algorithm",
            _RULE,
            "",
            f"{self.covariance_type}{description} model with "
            f"{self.n_components} component{plural}{noise}:",
            "",
            *self._fit_lines(),
        ]
        if self.clustering_table is not None:
            keys = list(self.clustering_table)
            labels = ["noise" if key < 0 else str(key) for key in keys]
            width = max(6, *(len(s) + 1 for s in labels))
            lines += [
                "",
                "Clustering table:",
                _row(labels, width, "s"),
                _row([self.clustering_table[key] for key in keys], width, "d"),
            ]
        if self.parameters:
            lines += ["", *self._parameter_lines()]
        return "\n".join(lines)


def summary(
    model_or_result: object, X: Array | None = None, parameters: bool = True
) -> MixtureSummary:
    """The summary of a fitted mixture or of a model selection, as mclust prints it.

    Parameters
    ----------
    model_or_result : fitted GaussianMixture, StudentMixture or ModelSelectionResult
        For a selection, the summary is of its best model, headed by the
        best BIC values (mclust's ``summary(mclustBIC)``).
    X : array-like of shape (n_samples, n_features), default=None
        The rows the model was fitted to: needed for the log-likelihood,
        BIC, ICL and clustering table.
    parameters : bool, default=True
        Print the mixing probabilities, means and variances.

    Returns
    -------
    MixtureSummary
        ``print(summary(...))`` shows it; its attributes hold the numbers.

    Raises
    ------
    TypeError
        For other estimators: a BayesianGaussianMixture (a variational fit
        has no BIC or ICL) or a low-rank mixture (HDDC,
        MixtureOfFactorAnalyzers).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gaussmix
    >>> X = load_iris().data
    >>> result = gaussmix.select_model(X, n_components=[2, 3], covariance_types=["VEV"])
    >>> print(gaussmix.summary(result, X, parameters=False))
    ... # doctest: +NORMALIZE_WHITESPACE, +ELLIPSIS
    Best BIC values (mclust convention, higher is better):
    ...
    Gaussian finite mixture model fitted by EM algorithm
    ----------------------------------------------------
    <BLANKLINE>
    VEV (ellipsoidal, equal shape) model with 2 components:
    <BLANKLINE>
     log-likelihood   n  df        BIC        ICL
          -215.7260 150  26  -561.7285  -561.7289
    <BLANKLINE>
    Clustering table:
         0     1
        50   100
    """
    parameters = check.check_bool("parameters", parameters, owner="summary")
    selection = None
    if isinstance(model_or_result, ModelSelectionResult):
        selection = model_or_result
        model = selection.best_model
    else:
        model = model_or_result
    _check_supported(model, selection is not None)
    check_is_fitted(model, ["weights_", "means_", "covariances_"])
    means = np.asarray(model.means_, np.float64)
    fitted = getattr(model, "_fitted_covariance_type", None)
    covariance_type = fitted() if callable(fitted) else str(model.covariance_type)
    numbers: dict[str, object] = {}
    if X is not None:
        X = check_array(X, dtype=[np.float64, np.float32], ensure_all_finite=False)
        if X.shape[1] != means.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features but the mixture has {means.shape[1]}."
            )
        n = X.shape[0]
        total = float(model.score(X)) * n
        labels = np.asarray(model.predict(X))
        keys, counts = np.unique(labels, return_counts=True)
        numbers = {
            "n_samples": n,
            "log_likelihood": total,
            "bic": float(model.bic(X)),
            "icl": icl(
                total,
                model.n_parameters(),
                n,
                np.asarray(model.predict_proba(X), np.float64),
            ),
            "clustering_table": {
                int(k): int(c) for k, c in zip(keys, counts, strict=True)
            },
        }
    noise = getattr(model, "noise_proportion_", None)
    return MixtureSummary(
        covariance_type=covariance_type,
        n_components=means.shape[0],
        n_parameters=int(model.n_parameters()),
        weights=np.asarray(model.weights_, np.float64),
        means=means,
        covariances=full_covariances(model),
        noise_proportion=None if noise is None else float(noise),
        parameters=parameters,
        selection=selection,
        **numbers,
    )


def _check_supported(model: object, in_selection: bool) -> None:
    """Raise TypeError unless ``model`` is a mixture that summary describes.

    The summary rests on a maximum-likelihood fit (its BIC, ICL and degrees
    of freedom) and on covariances of a covariance family: a variational
    fit has no BIC, and low-rank mixtures keep no ``covariances_``.
    """
    if isinstance(model, FittedMixtureMixin) and isinstance(
        model, InformationCriteriaMixin
    ):
        return
    name = type(model).__name__
    found = f"the selection's best model is a {name}" if in_selection else f"got {name}"
    reason = ""
    if name == "BayesianGaussianMixture":
        reason = " A variational fit has no BIC or ICL, on which the summary rests."
    raise TypeError(
        "summary takes a fitted GaussianMixture or StudentMixture (a mixture "
        "fitted by maximum likelihood, with covariances of a covariance "
        f"family), or a ModelSelectionResult of them; {found}.{reason}"
    )
