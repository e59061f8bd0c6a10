"""StudentMixture: t log-densities, EM's monotonicity, robustness, dof."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import GaussianMixture, StudentMixture
from tests.models.far_rows import FAR_DIRECTIONS, two_clusters

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _draw_t(rng, n, mean, scale, nu):
    return stats.multivariate_t(mean, scale, df=nu).rvs(n, random_state=rng)


@pytest.fixture(scope="module")
def t_mixture_rows():
    rng = np.random.RandomState(0)
    return np.vstack(
        [
            _draw_t(rng, 4000, [0, 0], [[1, 0.3], [0.3, 1]], 3),
            _draw_t(rng, 4000, [9, 9], [[2, 0], [0, 0.5]], 10),
        ]
    )


def _fit(X, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return StudentMixture(**settings).fit(X)


@parametrize_with_checks([StudentMixture(max_iter=20)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _scipys_weighted_log_densities(model: StudentMixture, rows: np.ndarray):
    """``log w_k + log t_k(x)`` by scipy's multivariate t, (n_rows, K)."""
    n_components, n_features = model.means_.shape
    family = model.mixture_params().family
    scales = family.full_covariances(model.covariances_, n_components, n_features)
    return np.column_stack(
        [
            np.log(w) + stats.multivariate_t(m, s, df=nu).logpdf(rows)
            for w, m, s, nu in zip(
                model.weights_,
                model.means_,
                scales,
                model.degrees_of_freedom_,
                strict=True,
            )
        ]
    )


@pytest.mark.parametrize("covariance_type", [*COVARIANCE_TYPES, "EEV", "VEI"])
def test_log_density_is_scipys_multivariate_t(t_mixture_rows, covariance_type):
    model = _fit(
        t_mixture_rows, n_components=2, covariance_type=covariance_type, random_state=0
    )
    rows = np.random.RandomState(1).normal(4, 6, size=(50, 2))
    expected = logsumexp(_scipys_weighted_log_densities(model, rows), axis=1)
    np.testing.assert_allclose(model.score_samples(rows), expected, rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(rows).sum(1), 1.0)


@pytest.mark.parametrize("dof", ["per_component", "shared", 4.0])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_never_lowers_the_likelihood(t_mixture_rows, covariance_type, dof):
    model = _fit(
        t_mixture_rows[::4],
        n_components=3,
        covariance_type=covariance_type,
        dof=dof,
        init_params="random",
        tol=1e-9,
        max_iter=150,
        random_state=3,
    )
    steps = np.diff(model.lower_bounds_)
    assert np.all(steps >= -1e-10 * np.abs(model.lower_bounds_).max())


def test_degrees_of_freedom_are_recovered(t_mixture_rows):
    model = _fit(t_mixture_rows, n_components=2, tol=1e-8, max_iter=500, random_state=0)
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.degrees_of_freedom_[order], [3, 10], rtol=0.25)
    np.testing.assert_allclose(model.means_[order], [[0, 0], [9, 9]], atol=0.1)
    shared = _fit(t_mixture_rows, n_components=2, dof="shared", random_state=0)
    assert shared.degrees_of_freedom_[0] == shared.degrees_of_freedom_[1]
    fixed = _fit(t_mixture_rows, n_components=2, dof=7.5, random_state=0)
    np.testing.assert_array_equal(fixed.degrees_of_freedom_, [7.5, 7.5])


def test_large_dof_recovers_the_gaussian_fit():
    X, _ = make_blobs(n_samples=1500, centers=3, n_features=3, random_state=2)
    settings = dict(n_components=3, random_state=0, tol=1e-10, max_iter=500)
    student = _fit(X, dof=1e9, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gaussian = GaussianMixture(**settings).fit(X)
    order_s, order_g = (
        np.argsort(student.means_[:, 0]),
        np.argsort(gaussian.means_[:, 0]),
    )
    np.testing.assert_allclose(
        student.means_[order_s], gaussian.means_[order_g], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        student.covariances_[order_s],
        gaussian.covariances_[order_g],
        rtol=1e-4,
        atol=1e-6,
    )
    np.testing.assert_allclose(student.score(X), gaussian.score(X), rtol=1e-6)


def test_gross_outliers_barely_move_the_means():
    rng = np.random.RandomState(4)
    X, labels = make_blobs(
        n_samples=900, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=0.7, random_state=4
    )
    noisy = X.copy()
    chosen = rng.choice(len(X), 45, replace=False)  # 5% replaced by outliers
    noisy[chosen] = rng.uniform(-30, 36, size=(45, 2))
    clean = np.setdiff1d(np.arange(len(X)), chosen)
    student = _fit(noisy, n_components=3, random_state=0)
    order = np.argsort(student.means_[:, 0] + 10 * student.means_[:, 1])
    true = np.array([[0, 0], [6, 0], [0, 6]])[np.argsort([0, 6, 60])]
    assert np.abs(student.means_[order] - true).max() < 0.15
    ari = adjusted_rand_score(labels[clean], student.predict(noisy[clean]))
    assert ari >= 0.95
    # the outliers are the rows the fit weighs least
    weights = student.outlier_weights(noisy)
    assert np.median(weights[chosen]) < 0.2 * np.median(weights[clean])


def test_sample_draws_from_the_fitted_t(t_mixture_rows):
    model = _fit(t_mixture_rows, n_components=2, random_state=0)
    model.set_params(random_state=5)
    X, y = model.sample(20000)
    assert X.shape == (20000, 2)
    np.testing.assert_allclose(np.bincount(y) / 20000, model.weights_, atol=0.02)
    k = int(np.argmax(model.degrees_of_freedom_))
    nu = model.degrees_of_freedom_[k]
    covariance = model.covariances_[k] * nu / (nu - 2)
    np.testing.assert_allclose(np.cov(X[y == k].T), covariance, rtol=0.1, atol=0.05)


def test_weights_act_as_repeated_rows(t_mixture_rows):
    X = t_mixture_rows[::8]
    weights = np.random.RandomState(0).randint(0, 3, size=len(X))
    settings = dict(n_components=2, tol=1e-10, max_iter=500, random_state=0)
    weighted = _fit(X, **settings).fit(X, sample_weight=weights)
    repeated = _fit(np.repeat(X, weights, axis=0), **settings)
    order_w = np.argsort(weighted.means_[:, 0])
    order_r = np.argsort(repeated.means_[:, 0])
    np.testing.assert_allclose(
        weighted.means_[order_w], repeated.means_[order_r], rtol=1e-6
    )
    np.testing.assert_allclose(
        weighted.degrees_of_freedom_[order_w],
        repeated.degrees_of_freedom_[order_r],
        rtol=1e-5,
    )


def test_chunks_and_files_give_the_in_memory_fit(tmp_path, t_mixture_rows):
    X = t_mixture_rows[::4]
    settings = dict(n_components=2, init_params="random", random_state=0, tol=1e-8)
    whole = _fit(X, **settings)
    chunked = _fit(X, chunk_size=97, **settings)
    np.save(tmp_path / "rows.npy", X)
    streamed = _fit(
        np.load(tmp_path / "rows.npy", mmap_mode="r"), chunk_size=97, **settings
    )
    for other in (chunked, streamed):
        assert other.n_iter_ == whole.n_iter_
        np.testing.assert_allclose(other.means_, whole.means_, rtol=1e-10)
        np.testing.assert_allclose(
            other.degrees_of_freedom_, whole.degrees_of_freedom_, rtol=1e-8
        )


def test_bic_counts_the_degrees_of_freedom(t_mixture_rows):
    X = t_mixture_rows[::4]
    per_component = _fit(X, n_components=2, random_state=0)
    shared = _fit(X, n_components=2, dof="shared", random_state=0)
    fixed = _fit(X, n_components=2, dof=5.0, random_state=0)
    gaussian_count = GaussianMixture(2).fit(X).n_parameters()
    assert per_component.n_parameters() == gaussian_count + 2
    assert shared.n_parameters() == gaussian_count + 1
    assert fixed.n_parameters() == gaussian_count
    # heavy tails: the t mixture explains these rows better than a Gaussian one
    gaussian = GaussianMixture(2, random_state=0).fit(X)
    assert per_component.bic(X) < gaussian.bic(X)


@pytest.mark.parametrize(
    ("dof", "message"), [("per component", "dof"), (0.0, "dof"), (-1.0, "dof")]
)
def test_bad_dof_names_the_parameter(dof, message):
    with pytest.raises(ValueError, match=message):
        StudentMixture(dof=dof).fit(np.random.rand(20, 2))


def _clusters_with_scattered_noise(n_features, fraction, seed):
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, n_features))
    centres[1, 0] = centres[2, 1] = 8.0
    labels = rng.integers(0, 3, size=3000)
    X = centres[labels] + rng.standard_normal((3000, n_features))
    low, high = X.min(0), X.max(0)
    middle, half = (low + high) / 2, 5.0 * (high - low)
    replaced = rng.choice(3000, round(fraction * 3000), replace=False)
    X[replaced] = rng.uniform(middle - half, middle + half, (len(replaced), n_features))
    kept = np.setdiff1d(np.arange(3000), replaced)
    return X, labels, kept, centres


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.10])
@pytest.mark.parametrize("n_features", [2, 10])
def test_clusters_survive_scattered_noise_with_the_defaults(n_features, fraction):
    # rows replaced by uniform noise over a box ten times the clusters' own
    X, labels, kept, centres = _clusters_with_scattered_noise(n_features, fraction, 0)
    model = _fit(X, n_components=3, random_state=0)
    assert adjusted_rand_score(labels[kept], model.predict(X[kept])) >= 0.95
    gaps = np.linalg.norm(centres[:, None] - model.means_[None], axis=2)
    assert gaps.min(axis=1).max() < 0.3


@pytest.mark.parametrize("far", [1e155, 1e300])
@pytest.mark.parametrize("covariance_type", [*COVARIANCE_TYPES, "EEV", "VEI"])
def test_far_rows_follow_the_t_densitys_power_law(far, covariance_type):
    # squared distances beyond float64's range (1e155 ** 2): a t density
    # falls like delta ** (-(nu + D) / 2), so its logarithm is finite. From
    # rows at 1e150 (scipy's own t, no overflow) each component's
    # log-density drops by (nu_k + D) log(far / 1e150)
    model = _fit(
        two_clusters(), n_components=2, covariance_type=covariance_type, random_state=0
    )
    near = _scipys_weighted_log_densities(model, 1e150 * FAR_DIRECTIONS)
    joint = near - (model.degrees_of_freedom_ + 3) * np.log(far / 1e150)
    expected_score = np.logaddexp(joint[:, 0], joint[:, 1])
    rows = far * FAR_DIRECTIONS
    np.testing.assert_allclose(model.score_samples(rows), expected_score, rtol=1e-10)
    proba = model.predict_proba(rows)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(
        proba, np.exp(joint - expected_score[:, None]), atol=1e-10
    )
    assert model.predict(rows).tolist() == np.argmax(joint, axis=1).tolist()


def test_far_float32_rows_have_finite_densities_and_probabilities():
    model = _fit(two_clusters(np.float32), n_components=2, random_state=0)
    rows = (1e38 * FAR_DIRECTIONS / 2).astype(np.float32)
    assert np.all(np.isfinite(model.score_samples(rows)))
    proba = model.predict_proba(rows)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    # a single component: its probability is one, not NaN
    single = _fit(two_clusters(), n_components=1, random_state=0)
    assert single.predict_proba(1e200 * FAR_DIRECTIONS).tolist() == [[1.0]] * 3


# refused before the k-means start, which would overflow on such values
@pytest.mark.parametrize("far", [1e155, 1e160, 1e300])
def test_values_whose_squares_overflow_are_a_clear_error(far):
    # their t densities are finite, so no infinite log-likelihood stops a
    # fit whose start could not tell the components apart
    X = two_clusters()
    X[0, 0] = far
    with pytest.raises(ValueError, match=r"too large.*Rescale the data"):
        StudentMixture(2, random_state=0).fit(X)
