"""gaussmix.summary: mclust's printed summary of a fit or of a selection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

import gaussmix
from gaussmix import GaussianMixture


@pytest.fixture(scope="module")
def iris():
    return load_iris().data


def test_numbers_are_the_models_own(iris):
    X = iris
    model = GaussianMixture(3, covariance_type="VVV", random_state=0).fit(X)
    info = gaussmix.summary(model, X)
    n = X.shape[0]
    assert info.n_samples == n
    assert info.log_likelihood == pytest.approx(model.score(X) * n, rel=1e-12)
    assert info.bic == pytest.approx(model.bic(X), rel=1e-12)
    assert info.mclust_bic == pytest.approx(-model.bic(X), rel=1e-12)
    # ICL: BIC plus twice the entropy of the hard classification
    hard = model.predict_proba(X).max(axis=1)
    assert info.icl == pytest.approx(model.bic(X) - 2 * np.log(hard).sum())
    # VVV: K - 1 weights, K D means, K D (D + 1) / 2 covariance entries
    assert info.n_parameters == 2 + 3 * 4 + 3 * 10 == model.n_parameters()
    labels, counts = np.unique(model.predict(X), return_counts=True)
    assert info.clustering_table == dict(
        zip(labels.tolist(), counts.tolist(), strict=True)
    )
    text = str(info)
    for number in (
        f"{model.score(X) * n:.4f}",
        f"{-model.bic(X):.4f}",
        f"{-info.icl:.4f}",
        f"{model.weights_[0]:.7f}",
        f"{model.means_[1, 2]:.7f}",
        f"{model.covariances_[2, 0, 1]:.7f}",
    ):
        assert number in text
    assert "VVV (ellipsoidal, varying volume, shape, and orientation)" in text


def test_iris_vev_two_components_matches_mclusts_published_summary(iris):
    """mclust: Mclust(iris[, 1:4]) is VEV with 2 components, logLik -215.726,
    df 26, BIC -561.7285 and ICL -561.7289 (mclust's convention)."""
    result = gaussmix.select_model(iris, n_components=[2], covariance_types=["VEV"])
    info = gaussmix.summary(result, iris)
    assert info.log_likelihood == pytest.approx(-215.726, abs=1e-3)
    assert info.n_parameters == 26
    assert info.mclust_bic == pytest.approx(-561.7285, abs=1e-3)
    assert info.mclust_icl == pytest.approx(-561.7289, abs=1e-3)
    assert sorted(info.clustering_table.values()) == [50, 100]
    # a selection's summary starts with its best BIC values
    assert str(info).startswith(result.summary())


def test_without_rows_only_the_parameters(iris):
    model = GaussianMixture(2, covariance_type="diag", random_state=0).fit(iris)
    info = gaussmix.summary(model)
    assert info.log_likelihood is None and info.bic is None
    text = str(info)
    assert "df = " in text and "Clustering table" not in text
    np.testing.assert_allclose(
        info.covariances, np.stack([np.diag(c) for c in model.covariances_])
    )
    assert "Means" not in str(gaussmix.summary(model, parameters=False))


def test_a_noise_component_is_reported(iris):
    model = GaussianMixture(2, noise=True, random_state=0).fit(iris)
    info = gaussmix.summary(model, iris)
    assert info.noise_proportion == pytest.approx(model.noise_proportion_)
    assert "noise component" in str(info)
    assert info.bic == pytest.approx(model.bic(iris))


def test_bad_input(iris):
    model = GaussianMixture(2).fit(iris)
    with pytest.raises(ValueError, match="features"):
        gaussmix.summary(model, iris[:, :2])
    with pytest.raises(ValueError, match="parameters"):
        gaussmix.summary(model, parameters="yes")


@pytest.mark.parametrize(
    "estimator, reason",
    [
        (gaussmix.BayesianGaussianMixture(2, random_state=0), "has no BIC"),
        (gaussmix.HDDC(2, random_state=0), ""),
    ],
    ids=["bayesian", "low-rank"],
)
def test_other_estimators_are_refused_with_what_summary_takes(iris, estimator, reason):
    model = estimator.fit(iris)
    name = type(model).__name__
    with pytest.raises(
        TypeError, match=f"summary takes a fitted GaussianMixture.*got {name}.*{reason}"
    ):
        gaussmix.summary(model, iris)
