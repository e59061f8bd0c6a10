"""BayesianGaussianMixture: properties of the variational fit."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from scipy.integrate import quad
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from gaussmix import BayesianGaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]


@pytest.fixture(scope="module")
def three_blobs():
    X, labels = make_blobs(
        n_samples=600,
        centers=[[-5, 0], [0, 5], [5, 0]],
        cluster_std=0.8,
        random_state=5,
    )
    return X, labels


def _fit(X, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BayesianGaussianMixture(**settings).fit(X)


def _sorted_by_first_mean(model):
    order = np.argsort(model.means_[:, 0])
    return model.weights_[order], model.means_[order]


# 'tied' is left out: on these blobs it settles, as scikit-learn's does from
# the same start, in a local optimum that splits one cluster in two
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_dirichlet_process_switches_off_surplus_components(
    three_blobs, covariance_type
):
    X, labels = three_blobs
    model = _fit(
        X,
        n_components=10,
        covariance_type=covariance_type,
        weight_concentration_prior=1e-3,
        max_iter=500,
        random_state=0,
    )
    assert model.effective_n_components() == 3
    used = np.flatnonzero(model.weights_ > 0.01)
    # each true cluster is one used component, and nearly every row agrees
    predicted = model.predict(X)
    assert set(np.unique(predicted)) == set(used)
    for cluster in range(3):
        _, counts = np.unique(predicted[labels == cluster], return_counts=True)
        assert counts.max() >= 0.99 * counts.sum()


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(three_blobs, covariance_type, prior_type):
    X, _ = three_blobs
    model = _fit(
        X,
        n_components=6,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        init_params="random",
        reg_covar=0.0,
        tol=1e-10,
        max_iter=200,
        random_state=2,
    )
    steps = np.diff(model.lower_bounds_)
    scale = np.abs(model.lower_bounds_).max()
    assert np.all(steps >= -1e-9 * scale)
    assert model.lower_bound_ == model.lower_bounds_[-1]


def test_first_update_relates_covariance_types():
    # From the same responsibilities, the Wishart scale inverses relate as
    # the sample covariances do: tied is the weighted mean of full, diag the
    # diagonals of full, spherical the mean of diag.
    X, _ = make_blobs(n_samples=300, centers=3, n_features=4, random_state=1)
    settings = dict(n_components=4, max_iter=0, init_params="kmeans", random_state=0)
    full = _fit(X, covariance_type="full", **settings)
    tied = _fit(X, covariance_type="tied", **settings)
    diag = _fit(X, covariance_type="diag", **settings)
    spherical = _fit(X, covariance_type="spherical", **settings)
    full_scale = full.covariances_ * full.degrees_of_freedom_[:, None, None]
    np.testing.assert_allclose(
        tied.covariances_ * tied.degrees_of_freedom_,
        full_scale.mean(0),
        rtol=1e-10,
    )
    diag_scale = diag.covariances_ * diag.degrees_of_freedom_[:, None]
    np.testing.assert_allclose(
        diag_scale, np.array([np.diag(c) for c in full_scale]), rtol=1e-10
    )
    np.testing.assert_allclose(
        spherical.covariances_ * spherical.degrees_of_freedom_,
        diag_scale.mean(1),
        rtol=1e-10,
    )


def test_integer_weights_act_as_repeated_rows(three_blobs):
    X, _ = three_blobs
    weights = np.random.RandomState(0).randint(0, 4, size=len(X))
    settings = dict(
        n_components=3,
        weight_concentration_prior_type="dirichlet_distribution",
        tol=1e-10,
        max_iter=500,
        random_state=0,
    )
    weighted = BayesianGaussianMixture(**settings).fit(X, sample_weight=weights)
    repeated = BayesianGaussianMixture(**settings).fit(np.repeat(X, weights, axis=0))
    for a, b in zip(
        _sorted_by_first_mean(weighted), _sorted_by_first_mean(repeated), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(weighted.mean_prior_, repeated.mean_prior_, rtol=1e-12)
    np.testing.assert_allclose(
        weighted.covariance_prior_, repeated.covariance_prior_, rtol=1e-12
    )
    np.testing.assert_allclose(
        np.sort(weighted.score_samples(X)),
        np.sort(repeated.score_samples(X)),
        rtol=1e-6,
    )


def test_chunk_size_does_not_change_the_fit(three_blobs):
    X, _ = three_blobs
    settings = dict(n_components=4, init_params="random", random_state=0, tol=1e-8)
    whole = _fit(X, **settings)
    chunked = _fit(X, chunk_size=37, **settings)
    assert whole.n_iter_ == chunked.n_iter_
    assert chunked.lower_bound_ == pytest.approx(whole.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(chunked.means_, whole.means_, rtol=1e-10)
    np.testing.assert_allclose(chunked.covariances_, whole.covariances_, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_stays_float32_and_agrees(three_blobs, covariance_type):
    X, _ = three_blobs
    settings = dict(
        n_components=3,
        covariance_type=covariance_type,
        init_params="random",
        random_state=0,
        tol=1e-6,
    )
    single = _fit(X.astype(np.float32), **settings)
    double = _fit(X, **settings)
    for name in ["weights_", "means_", "covariances_", "precisions_cholesky_"]:
        assert getattr(single, name).dtype == np.float32, name
    assert single.score_samples(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(single.means_, double.means_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        single.covariances_, double.covariances_, rtol=1e-3, atol=1e-5
    )


def test_row_order_does_not_matter_for_a_converged_fit(three_blobs):
    X, _ = three_blobs
    order = np.random.RandomState(3).permutation(len(X))
    # the Dirichlet distribution treats the components alike; the process
    # orders them, so that its weights depend on which component is which
    settings = dict(
        n_components=3,
        weight_concentration_prior_type="dirichlet_distribution",
        tol=1e-10,
        max_iter=500,
        random_state=0,
    )
    a = _fit(X, **settings)
    b = _fit(X[order], **settings)
    for left, right in zip(
        _sorted_by_first_mean(a), _sorted_by_first_mean(b), strict=True
    ):
        np.testing.assert_allclose(left, right, rtol=1e-6)
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-6)


def test_warm_start_continues_from_the_fitted_posterior(three_blobs):
    X, _ = three_blobs
    model = BayesianGaussianMixture(
        n_components=3, warm_start=True, max_iter=2, random_state=0, tol=1e-8
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
        bounds = [model.lower_bound_]
        for _ in range(5):
            model.fit(X)
            bounds.append(model.lower_bound_)
    assert np.all(np.diff(bounds) >= -1e-9 * abs(bounds[-1]))
    cold = _fit(X, n_components=3, max_iter=12, random_state=0, tol=1e-8)
    np.testing.assert_allclose(model.means_, cold.means_, rtol=1e-8)


def test_predictive_density_integrates_to_one():
    X = np.concatenate([np.random.RandomState(0).normal(-2, 0.5, 40), [1.0, 1.5, 2.5]])[
        :, None
    ]
    model = _fit(X, n_components=3, random_state=0)
    total, _ = quad(
        lambda x: np.exp(model.predictive_score_samples(np.array([[x]]))[0]),
        -np.inf,
        np.inf,
    )
    assert total == pytest.approx(1.0, abs=1e-6)
    proba = model.predictive_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)


@pytest.mark.parametrize("far", [1e155, 1e300])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predictive_density_of_far_rows_follows_the_power_law(far, covariance_type):
    # component k's predictive is a t with nu_k + 1 - D degrees of freedom:
    # far out it falls like delta ** (-(nu_k + 1) / 2), so its logarithm
    # is finite even where delta overflows. From rows at 1e150, whose
    # squares are finite, each component's log-density drops by
    # (nu_k + 1) log(far / 1e150)
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(5, 1, (30, 3))])
    model = _fit(X, n_components=2, covariance_type=covariance_type, random_state=0)
    directions = np.array([[1.0, 0.0, 0.0], [-1.0, 1.0, 0.5], [0.2, -0.3, 1.0]])
    near = 1e150 * directions
    with np.errstate(divide="ignore"):
        near_joint = (
            np.log(model.predictive_proba(near))
            + (model.predictive_score_samples(near)[:, None])
        )
    joint = near_joint - (model.degrees_of_freedom_ + 1) * np.log(far / 1e150)
    expected_score = np.logaddexp(joint[:, 0], joint[:, 1])
    rows = far * directions
    np.testing.assert_allclose(
        model.predictive_score_samples(rows), expected_score, rtol=1e-10
    )
    proba = model.predictive_proba(rows)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(
        proba, np.exp(joint - expected_score[:, None]), atol=1e-10
    )


def test_predictive_density_approaches_the_plug_in_density_with_data():
    # the posterior concentrates as rows accumulate: the Student-t mixture
    # tends to the Gaussian mixture of the posterior means
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(-3, 1, 20000), rng.normal(3, 1, 20000)])[:, None]
    model = _fit(X, n_components=2, random_state=0, tol=1e-6)
    grid = np.linspace(-6, 6, 25)[:, None]
    plug_in = model.mixture_params()
    from gaussmix import GaussianMixture

    gaussian = GaussianMixture.from_params(
        plug_in.weights, plug_in.means, plug_in.covariances, "full"
    )
    np.testing.assert_allclose(
        model.predictive_score_samples(grid), gaussian.score_samples(grid), rtol=1e-3
    )


def test_partial_fit_one_pass_is_close_to_the_batch_fit():
    X, _ = make_blobs(
        n_samples=42000, centers=4, n_features=3, cluster_std=1.5, random_state=0
    )
    train, test = X[:40000], X[40000:]
    settings = dict(n_components=4, covariance_type="full", random_state=0)
    batch = _fit(train, **settings)
    online = BayesianGaussianMixture(**settings)
    for rows in np.array_split(np.arange(len(train)), 200):
        online.partial_fit(train[rows])
    assert online.n_batches_ == 200
    batch_score, online_score = batch.score(test), online.score(test)
    assert abs(online_score - batch_score) <= 0.01 * abs(batch_score)


def test_partial_fit_refuses_a_changed_model(three_blobs):
    X, _ = three_blobs
    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    model.set_params(n_components=4)
    with pytest.raises(ValueError, match="partial_fit continues"):
        model.partial_fit(X)


def test_verbose_logs_iterations(three_blobs, caplog):
    X, _ = three_blobs
    with caplog.at_level(logging.INFO, logger="gaussmix"):
        _fit(X, n_components=3, verbose=2, verbose_interval=1, random_state=0)
    assert any("iteration" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"degrees_of_freedom_prior": 1.0}, "should be greater than 1"),
        ({"covariance_prior": np.eye(3)}, "should have the shape of"),
        ({"covariance_prior": -np.eye(2)}, "positive-definite"),
        ({"mean_prior": [0.0]}, "should have the shape of"),
        ({"covariance_type": "VVV"}, "covariance_type"),
        ({"weight_concentration_prior_type": "pitman_yor"}, "weight_concentration"),
        ({"weight_concentration_prior": 0.0}, "weight_concentration_prior"),
    ],
)
def test_bad_settings_name_the_problem(three_blobs, settings, message):
    X, _ = three_blobs
    with pytest.raises(ValueError, match=message):
        BayesianGaussianMixture(n_components=2, **settings).fit(X)


def test_too_few_rows_for_the_components():
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        BayesianGaussianMixture(n_components=5).fit(np.random.rand(3, 2))


def test_switched_off_components_stay_finite_through_partial_fit(three_blobs):
    # their expected log weights fall far below float64's range: every
    # E-step after the fit must still be free of NaN and of warnings
    X, _ = three_blobs
    model = BayesianGaussianMixture(
        n_components=10, weight_concentration_prior=1e-3, random_state=0
    ).fit(X)
    for batch in np.array_split(X, 20):
        model.partial_fit(batch)
    assert model.effective_n_components() == 3
    assert np.all(np.isfinite(model.score_samples(X)))
    assert np.isfinite(model.lower_bound_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_data_near_float64s_limit_give_the_fit_of_their_units(
    three_blobs, covariance_type
):
    # rows whose squares overflow float64 are fitted in rescaled units: by a
    # power of two, the fit is the same one, in the data's units
    X, _ = three_blobs
    factor = 2.0**500
    settings = dict(
        n_components=4, covariance_type=covariance_type, random_state=0, tol=1e-8
    )
    # reg_covar is in the data's units
    plain = _fit(X, reg_covar=1e-6, **settings)
    large = _fit(X * factor, reg_covar=1e-6 * factor**2, **settings)
    assert large.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(large.means_ / factor, plain.means_, rtol=1e-10)
    np.testing.assert_allclose(
        large.covariances_ / factor**2, plain.covariances_, rtol=1e-10
    )
    np.testing.assert_allclose(
        large.covariance_prior_ / factor**2, plain.covariance_prior_, rtol=1e-12
    )
    np.testing.assert_allclose(
        large.predict_proba(X * factor), plain.predict_proba(X), atol=1e-10
    )
    # the bound's Wishart terms move by -D log(factor) sum_k nu_k
    nu = np.broadcast_to(plain.degrees_of_freedom_, (4,)).sum()
    if covariance_type == "tied":
        nu = 4 * plain.degrees_of_freedom_
    shift = -X.shape[1] * np.log(factor) * nu
    assert large.lower_bound_ == pytest.approx(plain.lower_bound_ + shift, rel=1e-10)


def test_a_prior_beyond_the_dtype_is_refused_with_the_fix():
    X = np.r_[np.random.RandomState(0).randn(100, 2), [[1e160, 0.0]]]
    with pytest.raises(ValueError, match="exceed float64's range"):
        BayesianGaussianMixture(n_components=2).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_an_outlier_at_float64s_end_is_refused_with_the_fix(covariance_type):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(5, 1, (30, 3))])
    X[0, 0] = 1e300
    model = BayesianGaussianMixture(
        n_components=2, covariance_type=covariance_type, random_state=0
    )
    with pytest.raises(ValueError, match=r"span up to 1e\+300.*common factor"):
        model.fit(X)
