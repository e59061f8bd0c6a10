"""DAGMM through its public API."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

torch = pytest.importorskip("torch")

from gaussmix.deep import DAGMM  # noqa: E402
from tests._threads import threads  # noqa: E402
from tests.deep._restore import restored  # noqa: E402

FAST = {
    "hidden_layer_sizes": (16,),
    "latent_dim": 2,
    "max_epochs": 20,
    "batch_size": 32,
}


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data, data.target


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return DAGMM(2, contamination=0.1, random_state=0, **FAST).fit(X[y == 0][:120])


def test_score_is_log_density_of_features_under_scipy_mixture(digits, fitted):
    X = digits[0][:50]
    features = fitted.transform(X)
    assert features.shape == (50, 4)
    log_densities = np.stack(
        [
            np.log(w) + multivariate_normal(m, c).logpdf(features)
            for w, m, c in zip(
                fitted.weights_, fitted.means_, fitted.covariances_, strict=True
            )
        ],
        axis=1,
    )
    np.testing.assert_allclose(
        fitted.score_samples(X), logsumexp(log_densities, axis=1), rtol=1e-7, atol=1e-7
    )


def test_outlier_detector_conventions(digits, fitted):
    X, y = digits
    train = X[y == 0][:120]
    np.testing.assert_allclose(
        fitted.decision_function(X), fitted.score_samples(X) - fitted.offset_
    )
    labels = fitted.predict(train)
    assert set(np.unique(labels)) <= {-1, 1}
    assert abs(np.mean(labels == -1) - 0.1) < 0.02


def test_other_digits_score_as_anomalies(digits, fitted):
    X, y = digits
    test = slice(1000, None)
    assert roc_auc_score(y[test] == 0, fitted.score_samples(X[test])) > 0.8


def test_seed_repeats_and_state_restores(digits, fitted):
    X, y = digits
    again = DAGMM(2, contamination=0.1, random_state=0, **FAST).fit(X[y == 0][:120])
    np.testing.assert_array_equal(
        again.score_samples(X[:30]), fitted.score_samples(X[:30])
    )
    np.testing.assert_allclose(
        restored(fitted).score_samples(X[:30]), fitted.score_samples(X[:30])
    )


def test_seed_repeats_the_fit_on_two_threads(digits):
    X, y = digits
    settings = {**FAST, "max_epochs": 2}
    with threads(2):
        scores = [
            DAGMM(2, contamination=0.1, random_state=0, **settings)
            .fit(X[y == 0][:64])
            .score_samples(X[:30])
            for _ in range(2)
        ]
    np.testing.assert_array_equal(scores[1], scores[0])


def test_constant_rows_do_not_give_nan():
    X = np.full((30, 4), 2.0)
    model = DAGMM(2, random_state=0, **{**FAST, "max_epochs": 3}).fit(X)
    assert np.all(np.isfinite(model.score_samples(X)))


def test_bad_input_is_named(digits, fitted):
    X = digits[0]
    with pytest.raises(ValueError, match="NaN"):
        DAGMM(**FAST).fit(np.where(np.eye(*X.shape) > 0, np.nan, X))
    with pytest.raises(ValueError, match="2-D array"):
        DAGMM(**FAST).fit(X[:, :, None])
    with pytest.raises(ValueError, match="expecting 64 features"):
        fitted.score_samples(X[:, :10])
    with pytest.raises(ValueError, match="contamination"):
        DAGMM(contamination=0.7).fit(X)
    with pytest.raises(TypeError, match="hidden_layer_sizes"):
        DAGMM(hidden_layer_sizes=("wide",)).fit(X)
    with pytest.raises(ValueError, match="weight_decay"):
        DAGMM(weight_decay=-1.0).fit(X)


def test_default_sizes_follow_the_data(digits):
    X, y = digits
    model = DAGMM(random_state=0, max_epochs=2, hidden_layer_sizes=(16,))
    model.fit(X[y == 0][:90])
    assert model.n_components is None and model.latent_dim is None
    assert model.latent_dim_ == 10 and model.n_components_ == 1
    assert model.transform(X[:5]).shape == (5, 12)
    assert model.means_.shape == (1, 12)
    wide = DAGMM(random_state=0, max_epochs=1, hidden_layer_sizes=(4,))
    wide.fit(np.random.default_rng(0).normal(size=(2000, 6)))
    assert wide.latent_dim_ == 1 and wide.n_components_ == 4
