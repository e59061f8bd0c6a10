"""Properties that must hold for every input: drawn by hypothesis.

Each test draws data (shape, clusters, scale, offset, dtype, memory layout,
degenerate structure, outliers), weights and hyperparameters, and checks what
must be true whatever was drawn: finite parameters, probabilities in [0, 1]
that sum to one (also for rows far from every component), invariance to row
order, to the scale of the weights and to a common shift, the same fit in
memory and from a file, or an error of a documented type that names the
argument at fault.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from gaussmix import (
    GaussianMixture,
    GaussianMixtureClassifier,
    GaussianMixtureRegressor,
    select_model,
)
from gaussmix.core.covariance.mclust_parts import MCLUST_MODELS

SKLEARN_TYPES = ("full", "tied", "diag", "spherical")
COVARIANCE_TYPES = SKLEARN_TYPES + tuple(MCLUST_MODELS)
DEGENERATE = ("none", "duplicates", "constant column", "outlier", "integer grid")
# An outlier twelve orders of magnitude out makes EM ill-conditioned: rounding
# alone (row order, a shift) then moves the fit, as it moves scikit-learn's.
WELL_POSED = ("none", "duplicates", "constant column", "integer grid")
PROPERTY_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def datasets(
    draw, max_features: int = 4, min_rows: int = 12, kinds: tuple = DEGENERATE
) -> np.ndarray:
    """Rows from a few Gaussian clusters, then rescaled, shifted and degraded."""
    n_features = draw(st.integers(1, max_features))
    n_rows = draw(st.integers(min_rows, 90))
    n_clusters = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spread = draw(st.sampled_from([0.3, 3.0, 30.0]))
    centres = rng.normal(0.0, spread, (n_clusters, n_features))
    X = centres[rng.integers(n_clusters, size=n_rows)] + rng.normal(
        size=(n_rows, n_features)
    )
    kind = draw(st.sampled_from(kinds))
    if kind == "duplicates":
        X[n_rows // 2 :] = X[0]
    elif kind == "constant column":
        X[:, draw(st.integers(0, n_features - 1))] = 7.0
    elif kind == "outlier":
        X[draw(st.integers(0, n_rows - 1)), draw(st.integers(0, n_features - 1))] = (
            draw(st.sampled_from([1e6, -1e12, 1e19]))
        )
    elif kind == "integer grid":
        X = np.round(X)
    scale = 10.0 ** draw(st.integers(-6, 6))
    offset = draw(st.sampled_from([0.0, 1e3, -1e5]))
    X = X * scale + offset * scale
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    if dtype == np.float32 and kind == "outlier":
        X = np.clip(X, -3e38, 3e38)
    X = X.astype(dtype)
    layout = draw(st.sampled_from(["C", "F", "strided"]))
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        wide = np.zeros((n_rows, 2 * n_features), dtype=dtype)
        wide[:, ::2] = X
        X = wide[:, ::2]
    return X


def quietly(function, *args, **kwargs):
    """Call ``function``; gaussmix's warnings about degenerate data are expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        return function(*args, **kwargs)


def fitted(function, X: np.ndarray, *args, **kwargs) -> bool:
    """Whether ``function(*args)`` fitted; False for the one documented refusal.

    A float32 X whose half range squared exceeds float32's largest number
    may need variances float32 cannot hold: fitting it must then raise a
    ValueError that names X and float32 (not return infinities).
    """
    try:
        quietly(function, *args, **kwargs)
    except ValueError as error:
        values = np.asarray(X, dtype=np.float64)
        half_range = float(np.max(values.max(axis=0) - values.min(axis=0))) / 2
        beyond = half_range**2 > float(np.finfo(np.float32).max)
        message = str(error)
        if X.dtype == np.float32 and beyond and "X" in message and "float32" in message:
            return False
        raise
    return True


def assert_probabilities(proba: np.ndarray, n_rows: int) -> None:
    proba = np.asarray(proba, dtype=np.float64)
    assert proba.shape[0] == n_rows
    assert np.all(np.isfinite(proba)), "probabilities must be finite"
    assert np.all(proba >= 0.0) and np.all(proba <= 1.0 + 1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def far_rows(n_features: int) -> np.ndarray:
    """Rows far from any component: their posterior must still be a distribution."""
    return np.array(
        [
            np.full(n_features, 1e200),
            np.full(n_features, -1e200),
            np.full(n_features, 1e30),
            np.linspace(-1e10, 1e10, n_features),
        ]
    )


def assert_valid_mixture(model: GaussianMixture, X: np.ndarray) -> None:
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), f"{name} is not finite"
    np.testing.assert_allclose(np.sum(model.weights_, dtype=np.float64), 1.0, 1e-5)
    assert_probabilities(model.predict_proba(X), len(X))
    log_density = model.score_samples(X)
    assert not np.any(np.isnan(log_density))
    assert not np.any(log_density == np.inf)
    far = far_rows(X.shape[1]).astype(X.dtype) if X.dtype == np.float64 else None
    if far is not None:
        assert_probabilities(model.predict_proba(far), len(far))
        assert not np.any(np.isnan(model.score_samples(far)))


@PROPERTY_SETTINGS
@given(
    X=datasets(),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    n_components=st.integers(1, 4),
    reg_covar=st.sampled_from([0.0, 1e-10, 1e-6, 1e-2]),
    init_params=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]),
    seed=st.integers(0, 1000),
)
def test_every_fit_is_a_valid_mixture(
    X, covariance_type, n_components, reg_covar, init_params, seed
):
    model = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        reg_covar=reg_covar,
        init_params=init_params,
        max_iter=30,
        random_state=seed,
    )
    if fitted(model.fit, X, X):
        assert_valid_mixture(model, X)


@PROPERTY_SETTINGS
@given(
    X=datasets(),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    n_components=st.integers(1, 3),
    factor=st.sampled_from([1e-300, 1e-30, 1e-3, 7.0, 1e30, 1e300]),
    seed=st.integers(0, 1000),
    weight_seed=st.integers(0, 1000),
)
def test_weights_act_by_their_ratios_only(
    X, covariance_type, n_components, factor, seed, weight_seed
):
    weights = np.random.default_rng(weight_seed).integers(1, 4, len(X)).astype(float)
    kwargs = dict(covariance_type=covariance_type, max_iter=20, random_state=seed)
    base = GaussianMixture(n_components, **kwargs)
    scaled = GaussianMixture(n_components, **kwargs)
    if not fitted(base.fit, X, X, None, weights):
        return
    quietly(scaled.fit, X, None, weights * factor)
    assert_valid_mixture(scaled, X)
    assert_same_parameters(base, scaled)


def assert_same_parameters(a: GaussianMixture, b: GaussianMixture) -> None:
    """Parameters equal up to the rounding of the data's dtype."""
    rtol = 1e-3 if a.means_.dtype == np.float32 else 1e-6
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=rtol, atol=rtol)
    spread = max(float(np.max(np.abs(a.covariances_))), 1e-300)
    location = max(float(np.max(np.abs(a.means_))), math.sqrt(spread))
    np.testing.assert_allclose(a.means_, b.means_, rtol=rtol, atol=rtol * location)
    np.testing.assert_allclose(
        a.covariances_, b.covariances_, rtol=rtol, atol=rtol * spread
    )


def started_at(X: np.ndarray, n_components: int, covariance_type: str) -> dict:
    """A whole fixed start, so that a fit depends on the rows and not on sampling.

    Every component starts with the data's (slightly regularised) variances:
    equal diagonal precisions meet every mclust constraint.
    """
    X = np.asarray(X, dtype=np.float64)
    means = X[np.linspace(0, len(X) - 1, n_components).astype(int)]
    variances = np.var(X, axis=0)
    variances = variances + 1e-3 * float(np.max(variances)) + 1e-300
    layout = precision_layout(covariance_type)
    if layout == "scalar per component":
        precisions = np.full(n_components, 1.0 / float(np.mean(variances)))
    elif layout == "diagonal per component":
        precisions = np.tile(1.0 / variances, (n_components, 1))
    elif layout == "one matrix":
        precisions = np.diag(1.0 / variances)
    else:
        precisions = np.tile(np.diag(1.0 / variances), (n_components, 1, 1))
    return dict(
        covariance_type=covariance_type,
        n_components=n_components,
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=means,
        precisions_init=precisions,
        tol=0.0,
        max_iter=8,
        random_state=0,
    )


def condition_number(model: GaussianMixture, extent: float) -> float:
    """How much rounding of the data is amplified in the model's variances.

    The largest of the covariances' own condition numbers and of the data's
    squared extent (``extent``, in data units) over the smallest variance.
    """
    layout = precision_layout(model.covariance_type)
    covariances = np.asarray(model.covariances_, dtype=np.float64)
    if layout == "scalar per component":
        smallest, own = float(covariances.min()), 1.0
    elif layout == "diagonal per component":
        smallest = float(covariances.min())
        own = float(np.max(covariances.max(1) / covariances.min(1)))
    else:
        eigenvalues = np.linalg.eigvalsh(covariances)
        smallest = float(eigenvalues.min())
        own = float(np.max(eigenvalues.max(-1) / eigenvalues.min(-1)))
    return max(own, extent**2 / smallest)


def precision_layout(covariance_type: str) -> str:
    """How ``precisions_`` is laid out for this covariance type."""
    rows = np.random.default_rng(0).normal(size=(20, 3))
    probe = GaussianMixture(2, covariance_type=covariance_type, max_iter=1)
    shape = np.shape(quietly(probe.fit, rows).precisions_)
    return {
        (2,): "scalar per component",
        (2, 3): "diagonal per component",
        (3, 3): "one matrix",
        (2, 3, 3): "matrix per component",
    }[shape]


@PROPERTY_SETTINGS
@given(
    X=datasets(kinds=WELL_POSED),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    n_components=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_row_order_does_not_matter(X, covariance_type, n_components, seed):
    X = X.astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(X))
    start = started_at(X, n_components, covariance_type)
    ordered = quietly(GaussianMixture(**start).fit, X)
    shuffled = quietly(GaussianMixture(**start).fit, X[order])
    assert_same_fit(ordered, shuffled, X)


def assert_same_fit(
    a: GaussianMixture, b: GaussianMixture, X: np.ndarray, offset: Any = 0.0
) -> None:
    """Same likelihood, posteriors and parameters, to rounding.

    ``b`` was fitted to ``X + offset``, ``a`` to ``X``.

    Rounding in a scatter moves its smallest eigenvalue by about eps times
    its condition number (or the data's squared extent over it), relatively.
    A component collapsed onto fewer rows than dimensions (an eigenvalue of
    ``reg_covar``) passes that on to the likelihood, and EM's few iterations
    amplify it in the parameters (about as its square root, near a flat
    optimum): the tolerances follow. Such a
    component's covariance may also be oriented freely by the constrained
    models (EEV, ...), so it is not compared.
    """
    extent = float(np.max(np.abs(X - X.mean(0)))) + float(np.max(np.abs(offset)))
    slack = 100 * np.finfo(np.float64).eps * condition_number(a, extent)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-9, abs=1e-9 + slack)
    tolerance = 1e-6 + np.sqrt(slack)
    np.testing.assert_allclose(
        a.predict_proba(X), b.predict_proba(X + offset), atol=tolerance
    )
    np.testing.assert_allclose(a.weights_, b.weights_, atol=tolerance)
    location = np.abs(X).max(axis=0) + np.abs(offset) + np.std(X, axis=0)
    assert np.all(np.abs(a.means_ + offset - b.means_) <= tolerance * location)
    if np.min(a.weights_) * len(X) > X.shape[1] + 1:
        scale = float(np.max(np.abs(a.covariances_)))
        np.testing.assert_allclose(
            a.covariances_, b.covariances_, rtol=1e-5, atol=tolerance * scale
        )


@PROPERTY_SETTINGS
@given(
    X=datasets(kinds=WELL_POSED),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    n_components=st.integers(1, 3),
    shift=st.sampled_from([-50.0, 3.0, 1e3]),
)
def test_a_common_shift_moves_only_the_means(X, covariance_type, n_components, shift):
    X = X.astype(np.float64)
    spread = np.std(X, axis=0)
    # each column moves by a multiple of its own spread, so that the shift
    # costs every column the same number of digits
    offset = shift * spread
    start = started_at(X, n_components, covariance_type)
    moved_start = dict(start, means_init=start["means_init"] + offset)
    plain = quietly(GaussianMixture(**start).fit, X)
    moved = quietly(GaussianMixture(**moved_start).fit, X + offset)
    assert_same_fit(plain, moved, X, offset)


@settings(PROPERTY_SETTINGS, max_examples=15)
@given(
    X=datasets(min_rows=20),
    covariance_type=st.sampled_from(SKLEARN_TYPES),
    n_components=st.integers(1, 3),
    init_params=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]),
    seed=st.integers(0, 1000),
)
def test_a_file_gives_the_fit_of_memory(
    X, covariance_type, n_components, init_params, seed
):
    kwargs = dict(
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=seed,
        max_iter=10,
    )
    # float32 rows whose covariances exceed float32 cannot be fitted in
    # their dtype: memory and file must then give the same documented error
    outcomes = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "rows.npy")
        np.save(path, np.ascontiguousarray(X))
        on_disk = np.load(path, mmap_mode="r")
        for rows in (X, on_disk):
            try:
                outcomes.append(
                    quietly(GaussianMixture(n_components, **kwargs).fit, rows)
                )
            except ValueError as error:
                outcomes.append(str(error))
        del on_disk, rows
    in_memory, from_file = outcomes
    if isinstance(in_memory, str) or isinstance(from_file, str):
        assert in_memory == from_file
        assert "X" in in_memory
        return
    assert from_file.n_iter_ == in_memory.n_iter_
    assert_same_parameters(in_memory, from_file)


@PROPERTY_SETTINGS
@given(
    X=datasets(min_rows=20),
    covariance_type=st.sampled_from(SKLEARN_TYPES),
    n_classes=st.integers(2, 3),
    seed=st.integers(0, 1000),
)
def test_classifier_probabilities_are_distributions(
    X, covariance_type, n_classes, seed
):
    y = np.arange(len(X)) % n_classes
    np.random.default_rng(seed).shuffle(y)
    classifier = GaussianMixtureClassifier(
        n_components=1, covariance_type=covariance_type, random_state=seed
    )
    if not fitted(classifier.fit, X, X, y):
        return
    assert_probabilities(classifier.predict_proba(X), len(X))
    assert set(classifier.predict(X)) <= set(range(n_classes))
    if X.dtype == np.float64:
        far = far_rows(X.shape[1])
        assert_probabilities(classifier.predict_proba(far), len(far))


@PROPERTY_SETTINGS
@given(
    X=datasets(max_features=2, min_rows=20),
    n_components=st.integers(1, 3),
    y_scale=st.sampled_from([1e-6, 1.0, 1e6]),
    seed=st.integers(0, 1000),
)
def test_regressor_predictions_are_finite(X, n_components, y_scale, seed):
    noise = np.random.default_rng(seed).normal(size=len(X))
    y = (np.sin(np.asarray(X[:, 0], np.float64)) + 0.1 * noise) * y_scale
    regressor = GaussianMixtureRegressor(n_components=n_components, random_state=seed)
    if not fitted(regressor.fit, X, X, y):
        return
    queries = X if X.dtype == np.float32 else np.vstack([X, far_rows(X.shape[1])])
    mean, std = regressor.predict(queries, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std))
    assert np.all(std >= 0)


@settings(PROPERTY_SETTINGS, max_examples=10)
@given(
    X=datasets(min_rows=20),
    covariance_types=st.lists(
        st.sampled_from(COVARIANCE_TYPES), min_size=1, max_size=3, unique=True
    ),
)
def test_select_model_keeps_a_valid_best_model(X, covariance_types):
    result = quietly(
        select_model, X, n_components=range(1, 4), covariance_types=covariance_types
    )
    finite = np.isfinite(result.bic)
    assert finite.any()
    best = np.nanmin(result.bic)
    assert result.best_model.bic(X) == pytest.approx(best, rel=1e-6, abs=1e-6)
    assert_valid_mixture(result.best_model, X)


@PROPERTY_SETTINGS
@given(
    X=datasets(min_rows=30),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    n_components=st.integers(1, 3),
    n_batches=st.integers(2, 4),
)
def test_partial_fit_stays_a_valid_mixture(X, covariance_type, n_components, n_batches):
    model = GaussianMixture(n_components, covariance_type=covariance_type)
    for batch in np.array_split(X, n_batches):
        if len(batch) < n_components:
            continue
        if not fitted(model.partial_fit, X, batch):
            return
        assert_valid_mixture(model, X)


BAD_VALUES = {
    "n_components": [0, -1, 2.5, "3", None],
    "tol": [-1.0, math.nan, math.inf, "small"],
    "reg_covar": [-1e-6, math.nan, math.inf],
    "max_iter": [-1, 1.5, math.nan],
    "n_init": [0, -2, math.nan],
    "covariance_type": ["fulll", 3],
    "init_params": ["kmean", None],
    "verbose": [-1, "loud"],
    "chunk_size": [0, -5, 2.5],
}


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(
    name=st.sampled_from(sorted(BAD_VALUES)),
    data=st.data(),
    estimator=st.sampled_from(["mixture", "select_model"]),
)
def test_a_bad_hyperparameter_is_named(name, data, estimator):
    if estimator == "select_model" and name in ("n_init", "verbose", "chunk_size"):
        estimator = "mixture"
    value = data.draw(st.sampled_from(BAD_VALUES[name]))
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises((ValueError, TypeError)) as raised:
        if estimator == "mixture":
            GaussianMixture(**{name: value}).fit(X)
        else:
            if name == "n_components":
                select_model(X, n_components=[value])
            elif name == "covariance_type":
                select_model(X, covariance_types=[value])
            else:
                select_model(X, n_components=[1, 2], **{name: value})
    assert name in str(raised.value)
