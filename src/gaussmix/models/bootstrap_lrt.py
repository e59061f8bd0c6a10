"""How many components: the parametric bootstrap likelihood-ratio test.

For K components against K + 1 the statistic is ``LRTS = 2 (log L_{K+1} -
log L_K)``, twice the gain in maximised log-likelihood. Its null
distribution is not the textbook chi-squared (the K-component model sits on
the boundary of the (K + 1)-component one), so it is simulated (McLachlan,
1987; mclust's ``mclustBootstrapLRT``): samples of n rows are drawn from the
fitted K-component mixture, both models are refitted to each, and the
p-value is the share of bootstrap statistics at least as large as the
observed one, ``(1 + #{LRTS_b >= LRTS}) / (B + 1)``. The test runs for K = 1,
2, ... and stops at the first K that is not rejected.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_array, check_random_state

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.covariance import get_family
from gaussmix.models import validation as check
from gaussmix.models.gaussian_mixture import GaussianMixture

logger = logging.getLogger(__name__)

_OWNER = "bootstrap_lrt"


@dataclass(frozen=True)
class _FitSettings:
    """How each mixture is refitted (observed and bootstrap samples alike)."""

    covariance_type: str
    n_init: int
    reg_covar: float
    tol: float
    max_iter: int

    def fit(
        self, X: np.ndarray, n_components: int, seed: int, quiet: bool = True
    ) -> tuple[object, float]:
        """The best of ``n_init`` k-means starts and its total log-likelihood."""
        model = GaussianMixture(
            n_components,
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            reg_covar=self.reg_covar,
            tol=self.tol,
            max_iter=self.max_iter,
            random_state=seed,
        )
        with warnings.catch_warnings():
            if quiet:
                # a replicate that converges slowly or re-seeds a component
                # is still a draw from the null; the observed fits warn
                warnings.simplefilter("ignore")
            model.fit(X)
        return model, float(model.score(X)) * X.shape[0]


def seeds_from(random_state: RandomStateLike, count: int) -> np.ndarray:
    """``count`` independent integer seeds drawn from ``random_state``."""
    entropy = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    return np.random.SeedSequence(entropy).generate_state(count)


def _replicate(
    null: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_samples: int,
    n_components: int,
    settings: _FitSettings,
    seed: int,
) -> float:
    """One bootstrap statistic: a sample from the null, both models refitted."""
    weights, means, covariances = null
    source = GaussianMixture.from_params(
        weights, means, covariances, settings.covariance_type, random_state=seed
    )
    X, _ = source.sample(n_samples)
    try:
        _, small = settings.fit(X, n_components, seed)
        _, large = settings.fit(X, n_components + 1, seed)
    except ValueError:
        # a sample on which a model cannot be fitted carries no statistic
        return math.nan
    return 2.0 * (large - small)


@dataclass(frozen=True)
class BootstrapLRTResult:
    """The sequence of bootstrap likelihood-ratio tests, K against K + 1.

    Attributes
    ----------
    covariance_type : str
    n_components : tuple of int, length n_tests
        K of each test's null hypothesis (K against K + 1).
    statistics : ndarray of shape (n_tests,)
        Observed ``2 (log L_{K+1} - log L_K)``.
    p_values : ndarray of shape (n_tests,)
        ``(1 + #{bootstrap >= observed}) / (B + 1)`` over the finite
        bootstrap statistics.
    bootstrap_statistics : tuple of ndarray of shape (n_bootstrap,)
        Each test's bootstrap statistics, clipped at zero (NaN where a
        replicate could not be fitted).
    log_likelihoods : dict of int to float
        Total log-likelihood of the observed fit with each K.
    n_samples : int
    level : float
    n_clipped : tuple of int
        Per test, bootstrap statistics below zero before clipping: the
        (K + 1)-component refit found a worse optimum than the K one.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-3, 1, 80), rng.normal(3, 1, 80)])[:, None]
    >>> result = gaussmix.bootstrap_lrt(
    ...     X, covariance_type="VII", max_components=1, n_bootstrap=19, random_state=0
    ... )
    >>> result.n_components, bool(result.p_values[0] <= 0.05)
    ((1,), True)
    """

    covariance_type: str
    n_components: tuple[int, ...]
    statistics: np.ndarray
    p_values: np.ndarray
    bootstrap_statistics: tuple[np.ndarray, ...] = field(repr=False)
    log_likelihoods: dict[int, float] = field(repr=False)
    n_samples: int = 0
    level: float = 0.05
    n_clipped: tuple[int, ...] = ()

    @property
    def selected_n_components(self) -> int:
        """The first K whose test against K + 1 is not rejected at ``level``.

        The largest K tested plus one when every test was rejected.
        """
        for k, p in zip(self.n_components, self.p_values, strict=True):
            if p > self.level:
                return k
        return self.n_components[-1] + 1

    def __str__(self) -> str:
        n_boot = max((len(b) for b in self.bootstrap_statistics), default=0)
        lines = [
            "Bootstrap sequential LRT for the number of mixture components",
            "-" * 61,
            f"Model        = {self.covariance_type}",
            f"Replications = {n_boot}",
            f"{'':10}{'LRTS':>12}{'bootstrap p-value':>20}",
        ]
        for k, stat, p in zip(
            self.n_components, self.statistics, self.p_values, strict=True
        ):
            lines.append(f"{f'{k} vs {k + 1}':10}{stat:12.4f}{p:20.4f}")
        return "\n".join(lines)


def bootstrap_lrt(
    X: Array,
    covariance_type: str = "VVV",
    max_components: int = 3,
    n_bootstrap: int = 999,
    *,
    min_components: int = 1,
    level: float = 0.05,
    sequential: bool = True,
    n_init: int = 2,
    reg_covar: float = 1e-6,
    tol: float = 1e-5,
    max_iter: int = 1000,
    random_state: RandomStateLike = None,
    n_jobs: int | None = None,
) -> BootstrapLRTResult:
    """Parametric bootstrap likelihood-ratio tests of K against K + 1 components.

    mclust's ``mclustBootstrapLRT``. For K = 1, ..., ``max_components``: fit
    K and K + 1 components to X, take ``LRTS = 2 (log L_{K+1} - log L_K)``,
    draw ``n_bootstrap`` samples of n rows from the fitted K-component
    mixture, refit both models to each and compare. Each fit is the best of
    ``n_init`` k-means starts, which keeps a local optimum of the larger
    model from giving a negative statistic; a bootstrap statistic that is
    still negative is set to zero (counted in ``n_clipped``); the observed
    statistic is reported as computed. The replicates run in parallel with
    joblib.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    covariance_type : str, default='VVV'
        Any registered covariance family (mclust or scikit-learn names).
    max_components : int, default=3
        The largest K of a null hypothesis (tested against K + 1).
    min_components : int, default=1
        The first K tested (mclust starts at 1).
    n_bootstrap : int, default=999
        Bootstrap samples per test.
    level : float, default=0.05
        The tests stop at the first p-value above it (``sequential=True``).
    sequential : bool, default=True
        False runs every test up to ``max_components``.
    n_init : int, default=2
        k-means starts per fit.
    reg_covar, tol, max_iter
        As for :class:`GaussianMixture`.
    random_state : int, RandomState instance or None, default=None
        Seeds the fits and the bootstrap samples (the same seed gives the
        same result whatever ``n_jobs``).
    n_jobs : int or None, default=None
        joblib workers for the replicates (-1: all cores).

    Returns
    -------
    BootstrapLRTResult
        ``str(result)`` prints mclust's table; draw it with
        :func:`gaussmix.plot.plot_bootstrap_lrt`.

    Examples
    --------
    Two groups: one component is rejected, two are not.

    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(1)
    >>> X = np.vstack([rng.normal(-3, 1, (60, 2)), rng.normal(3, 1, (60, 2))])
    >>> result = gaussmix.bootstrap_lrt(
    ...     X, covariance_type="VII", max_components=2, n_bootstrap=19, random_state=0
    ... )
    >>> print(result)  # doctest: +ELLIPSIS
    Bootstrap sequential LRT for the number of mixture components
    ...
    1 vs 2 ...
    >>> result.selected_n_components
    2
    """
    get_family(covariance_type)
    max_components = check.check_int("max_components", max_components, 1, owner=_OWNER)
    min_components = check.check_int(
        "min_components", min_components, 1, owner=_OWNER, maximum=max_components
    )
    n_bootstrap = check.check_int("n_bootstrap", n_bootstrap, 1, owner=_OWNER)
    level = check.check_float("level", level, 0.0, False, owner=_OWNER, maximum=1.0)
    sequential = check.check_bool("sequential", sequential, owner=_OWNER)
    settings = _FitSettings(
        covariance_type=covariance_type,
        n_init=check.check_int("n_init", n_init, 1, owner=_OWNER),
        reg_covar=check.check_float("reg_covar", reg_covar, 0.0, True, owner=_OWNER),
        tol=check.check_float("tol", tol, 0.0, True, owner=_OWNER),
        max_iter=check.check_int("max_iter", max_iter, 1, owner=_OWNER),
    )
    check.check_seed("random_state", random_state, owner=_OWNER)
    X = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2)
    n_samples = X.shape[0]
    if n_samples <= max_components + 1:
        raise ValueError(
            f"X has {n_samples} rows: too few to fit {max_components + 1} "
            "components; lower max_components."
        )
    rng = check_random_state(random_state)
    fit_seed = int(rng.randint(np.iinfo(np.int32).max))
    fitted = {min_components: settings.fit(X, min_components, fit_seed, False)}
    tested, statistics, p_values, boots, clipped = [], [], [], [], []
    for k in range(min_components, max_components + 1):
        fitted[k + 1] = settings.fit(X, k + 1, fit_seed, False)
        observed = 2.0 * (fitted[k + 1][1] - fitted[k][1])
        null_model = fitted[k][0]
        null = (
            np.asarray(null_model.weights_, np.float64),
            np.asarray(null_model.means_, np.float64),
            np.asarray(null_model.covariances_, np.float64),
        )
        replicates = Parallel(n_jobs=n_jobs)(
            delayed(_replicate)(null, n_samples, k, settings, int(seed))
            for seed in seeds_from(rng, n_bootstrap)
        )
        boot = np.asarray(replicates, dtype=np.float64)
        finite = np.isfinite(boot)
        clipped.append(int(np.sum(boot[finite] < 0)))
        boot[finite] = np.maximum(boot[finite], 0.0)
        p_value = (1.0 + np.sum(boot[finite] >= observed)) / (finite.sum() + 1.0)
        logger.info("LRT %d vs %d: LRTS=%.4f p=%.4f", k, k + 1, observed, p_value)
        tested.append(k)
        statistics.append(observed)
        p_values.append(float(p_value))
        boots.append(boot)
        if sequential and p_value > level:
            break
    return BootstrapLRTResult(
        covariance_type=covariance_type,
        n_components=tuple(tested),
        statistics=np.asarray(statistics),
        p_values=np.asarray(p_values),
        bootstrap_statistics=tuple(boots),
        log_likelihoods={k: value for k, (_, value) in fitted.items()},
        n_samples=n_samples,
        level=level,
        n_clipped=tuple(clipped),
    )
