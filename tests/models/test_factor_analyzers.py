"""MixtureOfFactorAnalyzers: densities, EM's monotonicity, drivers, scikit-learn."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import (
    DegenerateComponentWarning,
    GaussianMixture,
    MixtureOfFactorAnalyzers,
)
from tests.models.far_rows import (
    FAR_DIRECTIONS,
    assert_far_rows_go_to_the_mean_they_point_to,
    two_clusters,
)

MODELS = list(
    itertools.product(
        ["per_component", "common"], ["per_component", "common"], [False, True]
    )
)


@pytest.fixture(scope="module")
def factor_rows():
    """Three groups, each a 2-factor model in 8 dimensions."""
    rng = np.random.default_rng(0)
    blocks, labels = [], []
    for k in range(3):
        W = rng.normal(size=(8, 2))
        latent = rng.normal(size=(300, 2))
        noise = rng.normal(scale=rng.uniform(0.2, 0.6, 8), size=(300, 8))
        blocks.append(latent @ W.T + noise + 6 * rng.normal(size=8))
        labels.append(np.full(300, k))
    return np.vstack(blocks), np.concatenate(labels)


def _fit(X, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MixtureOfFactorAnalyzers(**settings).fit(X)


@parametrize_with_checks([MixtureOfFactorAnalyzers(max_iter=20)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_score_samples_is_the_dense_mixture_density(factor_rows):
    X, _ = factor_rows
    model = _fit(X, n_components=3, n_factors=2, random_state=0)
    rows = X[::37] + 0.5
    expected = np.log(
        sum(
            w * stats.multivariate_normal(m, c).pdf(rows)
            for w, m, c in zip(
                model.weights_, model.means_, model.get_covariances(), strict=True
            )
        )
    )
    np.testing.assert_allclose(model.score_samples(rows), expected, rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(rows).sum(1), 1.0)


@pytest.mark.parametrize("scatter", ["full", "projected"])
@pytest.mark.parametrize(("loadings", "noise", "isotropic"), MODELS)
def test_em_never_lowers_the_likelihood(
    factor_rows, loadings, noise, isotropic, scatter
):
    X, _ = factor_rows
    model = _fit(
        X[::3],
        n_components=3,
        n_factors=2,
        loadings=loadings,
        noise=noise,
        isotropic=isotropic,
        scatter=scatter,
        init_params="random",
        tol=1e-8,
        max_iter=60,
        random_state=0,
    )
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_recovers_the_groups(factor_rows):
    X, labels = factor_rows
    model = _fit(X, n_components=3, n_factors=2, random_state=0)
    assert adjusted_rand_score(labels, model.predict(X)) == 1.0


def test_ppca_with_d_minus_one_factors_is_the_full_mixture(factor_rows):
    # Tipping & Bishop's maximiser with q = D - 1 is the sample covariance,
    # so EM follows the full-covariance mixture's path
    X, _ = factor_rows
    settings = dict(n_components=3, random_state=0, tol=1e-10, max_iter=300)
    ours = _fit(X, n_factors=7, isotropic=True, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = GaussianMixture(covariance_type="full", reg_covar=0, **settings).fit(X)
    assert ours.score(X) == pytest.approx(full.score(X), abs=1e-6)
    np.testing.assert_allclose(ours.get_covariances(), full.covariances_, atol=1e-5)


def test_factor_analysers_with_d_minus_one_factors_reach_the_full_mixture():
    rng = np.random.default_rng(1)
    X = np.vstack(
        [rng.multivariate_normal(m * np.ones(4), np.eye(4) + 0.5, 300) for m in (0, 6)]
    )
    settings = dict(n_components=2, random_state=0, tol=1e-10, max_iter=2000)
    ours = _fit(X, n_factors=3, n_cycles=5, **settings)
    full = GaussianMixture(covariance_type="full", reg_covar=0, **settings).fit(X)
    assert ours.score(X) == pytest.approx(full.score(X), abs=1e-3)


def test_transform_is_the_posterior_mean_of_the_factors(factor_rows):
    X, _ = factor_rows
    model = _fit(X, n_components=3, n_factors=2, random_state=0)
    latent = model.transform(X[:5])
    assert latent.shape == (5, 3, 2)
    covariances = model.get_covariances()
    for k in range(3):
        # E[z | x] = W^T Sigma^-1 (x - mu), from the dense covariance
        expected = model.loadings_[k].T @ np.linalg.solve(
            covariances[k], (X[:5] - model.means_[k]).T
        )
        np.testing.assert_allclose(latent[:, k], expected.T, rtol=1e-8, atol=1e-10)


def test_sample_has_the_fitted_moments(factor_rows):
    X, _ = factor_rows
    model = _fit(X, n_components=1, n_factors=2, random_state=0)
    drawn, labels = model.sample(20000)
    assert drawn.shape == (20000, 8) and set(labels) == {0}
    np.testing.assert_allclose(
        np.cov(drawn.T), model.get_covariances()[0], atol=0.15 * np.abs(X).std()
    )


def test_bic_counts_the_pgmm_parameters(factor_rows):
    X, _ = factor_rows
    model = _fit(X, n_components=3, n_factors=2, loadings="common", random_state=0)
    p = 2 + 3 * 8 + (8 * 2 - 1) + 3 * 8
    assert model.n_parameters() == p
    expected = -2 * model.score(X) * len(X) + p * np.log(len(X))
    assert model.bic(X) == pytest.approx(expected)


@pytest.mark.parametrize("scatter", ["full", "projected"])
def test_chunks_files_and_dask_give_the_in_memory_fit(factor_rows, tmp_path, scatter):
    dask_array = pytest.importorskip("dask.array")
    X, _ = factor_rows
    settings = dict(
        n_components=3, n_factors=2, scatter=scatter, random_state=0, max_iter=10
    )
    reference = _fit(X, **settings)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    fits = [
        _fit(X, chunk_size=100, **settings),
        _fit(np.load(path, mmap_mode="r"), chunk_size=100, **settings),
        _fit(dask_array.from_array(X, chunks=(250, 8)), **settings),
    ]
    for model in fits:
        np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-8)
        np.testing.assert_allclose(model.loadings_, reference.loadings_, rtol=1e-6)


def test_too_many_factors_is_a_clear_error(factor_rows):
    X, _ = factor_rows
    with pytest.raises(ValueError, match="n_factors=9 exceeds the 8 features"):
        MixtureOfFactorAnalyzers(2, n_factors=9).fit(X)
    with pytest.raises(ValueError, match="loadings"):
        MixtureOfFactorAnalyzers(2, loadings="shared").fit(X)


@pytest.mark.parametrize("far", [1e155, 1e300])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_far_rows_have_no_density_and_a_proper_distribution(far, dtype):
    # squared distances beyond float64's range: the log-density is -inf
    # and the likeliest component is the one whose precision is least
    # along the row's direction, as it already is at 1e20
    model = _fit(two_clusters(dtype), n_components=2, n_factors=1, random_state=0)
    rows = far * FAR_DIRECTIONS
    assert np.all(model.score_samples(rows) == -np.inf)
    proba = model.predict_proba(rows)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    precisions = np.linalg.inv(model.get_covariances())
    spread = np.einsum("nd,kde,ne->nk", FAR_DIRECTIONS, precisions, FAR_DIRECTIONS)
    expected = np.argmin(spread, axis=1)
    assert model.predict(rows).tolist() == expected.tolist()
    assert np.argmax(proba, axis=1).tolist() == expected.tolist()


def test_far_rows_of_a_shared_covariance_go_to_the_mean_they_point_to():
    # one covariance for all: log p_k(t u) - log p_r(t u) is linear in t,
    # t (mu_k - mu_r)^T P u + const, so far out the component with the
    # largest mu_k^T P u takes the row outright
    model = _fit(
        two_clusters(),
        n_components=2,
        n_factors=1,
        loadings="common",
        noise="common",
        random_state=0,
    )
    assert_far_rows_go_to_the_mean_they_point_to(model)


def test_a_constant_column_without_reg_covar_is_repaired_with_a_warning():
    # with reg_covar=0 the noise of a constant column fell to 1e-300, the
    # rounding of a mean then put every row 1e270 deviations from it, a
    # component lost all its rows and a singular system stopped the fit
    rng = np.random.default_rng(3)
    X = np.c_[rng.normal(size=(60, 2)), np.full(60, 7.0)]
    for seed in range(10):
        with pytest.warns(DegenerateComponentWarning, match="reg_covar"):
            model = MixtureOfFactorAnalyzers(
                2, n_factors=1, reg_covar=0, random_state=seed
            ).fit(X)
        assert np.all(np.isfinite(model.score_samples(X)))
        # no component was emptied by the rounding of its mean
        assert model.weights_.min() > 0.1
        # the constant column's noise is at float64's resolution about 7
        np.testing.assert_allclose(
            model.noise_variance_[:, 2], (7.0 * np.finfo(float).eps) ** 2
        )


# refused before the k-means start, which would overflow on such values
@pytest.mark.parametrize("scatter", ["full", "projected"])
def test_values_whose_squares_overflow_are_a_clear_error(scatter):
    X = two_clusters()
    X[0, 0] = 1e200
    with pytest.raises(ValueError, match=r"too large.*Rescale the data"):
        MixtureOfFactorAnalyzers(2, n_factors=1, scatter=scatter).fit(X)
