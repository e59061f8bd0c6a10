"""Same start, same fit as scikit-learn; default starts as good as its."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture
from gaussmix.core.covariance import get_family
from tests.conftest import DATASETS

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
N_COMPONENTS = {"iris": 3, "wine": 3, "digits_pca10": 10, "blobs": 4}


def _shared_start(X, n_components, covariance_type, seed=0):
    """A start both libraries accept: a short scikit-learn run's parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seed_model = SklearnGaussianMixture(
            n_components,
            covariance_type=covariance_type,
            max_iter=2,
            init_params="random_from_data",
            random_state=seed,
        ).fit(X)
    return {
        "weights_init": seed_model.weights_,
        "means_init": seed_model.means_,
        "precisions_init": seed_model.precisions_,
    }


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_same_start_same_fit(name, covariance_type):
    X = DATASETS[name]
    k = N_COMPONENTS[name]
    start = _shared_start(X, k, covariance_type)
    settings = dict(covariance_type=covariance_type, tol=1e-6, max_iter=1000, **start)
    theirs = SklearnGaussianMixture(k, **settings).fit(X)
    ours = GaussianMixture(k, **settings).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-9)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-9)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-6)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        ours.covariances_, theirs.covariances_, rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(
        ours.precisions_cholesky_, theirs.precisions_cholesky_, rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        ours.score_samples(X), theirs.score_samples(X), rtol=1e-7
    )
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-9)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_default_initialisation_is_as_good_as_sklearn(name, covariance_type):
    X = DATASETS[name]
    k = N_COMPONENTS[name]
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(10):
            ours.append(
                GaussianMixture(k, covariance_type=covariance_type, random_state=seed)
                .fit(X)
                .score(X)
            )
            theirs.append(
                SklearnGaussianMixture(
                    k, covariance_type=covariance_type, random_state=seed
                )
                .fit(X)
                .score(X)
            )
    assert np.median(ours) >= np.median(theirs) - 1e-3


@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
def test_random_initialisations_draw_like_sklearn(init_params):
    X = DATASETS["iris"]
    kwargs = dict(init_params=init_params, random_state=7, tol=1e-8, max_iter=500)
    ours = GaussianMixture(3, **kwargs).fit(X)
    theirs = SklearnGaussianMixture(3, **kwargs).fit(X)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-9)
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_draws_like_sklearn(covariance_type):
    X = DATASETS["iris"]
    start = _shared_start(X, 3, covariance_type)
    kwargs = dict(covariance_type=covariance_type, random_state=3, **start)
    ours = GaussianMixture(3, **kwargs).fit(X)
    theirs = SklearnGaussianMixture(3, **kwargs).fit(X)
    Xo, yo = ours.sample(500)
    Xt, yt = theirs.sample(500)
    np.testing.assert_array_equal(yo, yt)
    np.testing.assert_allclose(Xo, Xt, rtol=1e-6, atol=1e-8)


def test_warm_start_continues_where_it_stopped():
    X = DATASETS["wine"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(3, warm_start=True, max_iter=3, random_state=0)
        theirs = SklearnGaussianMixture(3, warm_start=True, max_iter=3, random_state=0)
        start = _shared_start(X, 3, "full")
        ours.set_params(**start)
        theirs.set_params(**start)
        for _ in range(3):
            ours.fit(X)
            theirs.fit(X)
            assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-9)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_a_component_collapsing_onto_an_outlier_fits_like_sklearn(
    covariance_type, dtype
):
    # one row 60 deviations out, with a component started on it: that
    # component collapses to reg_covar, far from the others in its own units
    X = DATASETS["blobs"]
    outlier = X.mean(0) + 60.0 * X.std(0)
    rows = np.vstack([X, outlier])
    start = _shared_start(X, 4, covariance_type)
    weights = np.append(start["weights_init"], 1.0 / len(rows))
    precisions = start["precisions_init"]
    settings = dict(
        covariance_type=covariance_type,
        tol=0.0,
        weights_init=weights / weights.sum(),
        means_init=np.vstack([start["means_init"], outlier]),
        precisions_init=np.concatenate([precisions, precisions[:1]]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnGaussianMixture(5, max_iter=15, **settings).fit(rows)
        ours = GaussianMixture(5, max_iter=15, **settings).fit(rows.astype(dtype))
        longer = GaussianMixture(5, max_iter=16, **settings).fit(rows.astype(dtype))
    assert theirs.covariances_[4].max() < 1e-5  # it did collapse
    # the E-step after ours' last M-step, against the log-likelihood of
    # ours' parameters written out from scipy's densities
    covariances = get_family(covariance_type).full_covariances(
        np.asarray(ours.covariances_, dtype=np.float64), 5, rows.shape[1]
    )
    seen = rows.astype(dtype).astype(np.float64)
    log_prob = np.column_stack(
        [
            np.log(ours.weights_[k])
            + multivariate_normal(ours.means_[k], covariances[k]).logpdf(seen)
            for k in range(5)
        ]
    )
    exact = logsumexp(log_prob, axis=1).mean()
    rtol = 1e-11 if dtype == np.float64 else 1e-6
    assert longer.lower_bounds_[-1] == pytest.approx(exact, rel=rtol)
    # scikit-learn expands the collapsed component's quadratic form about
    # the origin, which cancels to about 1e-7 here: compared at that level
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-6)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        ours.covariances_, theirs.covariances_, rtol=1e-3, atol=1e-9
    )


@pytest.mark.parametrize(
    "params",
    [
        {"weights_init": 0.5},
        {"means_init": 1.0},
        {"precisions_init": 1.0},
        {"precisions_init": "identity"},
    ],
)
def test_a_start_that_is_not_an_array_is_refused_as_scikit_learn_refuses_it(params):
    X = DATASETS["iris"]
    with pytest.raises(Exception) as theirs:
        SklearnGaussianMixture(2, **params).fit(X)
    with pytest.raises(Exception) as ours:
        GaussianMixture(2, **params).fit(X)
    # code catching scikit-learn's error (ValueError or TypeError) catches ours
    caught_as = [
        kind for kind in (ValueError, TypeError) if isinstance(theirs.value, kind)
    ]
    assert caught_as
    assert all(isinstance(ours.value, kind) for kind in caught_as)
    assert repr(next(iter(params))) in str(ours.value)


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_row_starts_seed_scikit_learns_rows_with_their_own_m_step(
    init_params, covariance_type
):
    # Both libraries seed each component at one row; the M-step of those
    # responsibilities is equal weights, the seed rows as means and no
    # scatter at all (only reg_covar), whatever scikit-learn's formulas
    # make of them (see the user guide, "Starting points").
    X = DATASETS["wine"]
    kwargs = dict(
        covariance_type=covariance_type,
        init_params=init_params,
        max_iter=0,
        random_state=4,
        reg_covar=1e-3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(3, **kwargs).fit(X)
        theirs = SklearnGaussianMixture(3, **kwargs).fit(X)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-12)
    np.testing.assert_allclose(ours.weights_, np.full(3, 1 / 3))
    family = get_family(covariance_type)
    covariances = family.full_covariances(ours.covariances_, 3, X.shape[1])
    np.testing.assert_allclose(
        covariances, np.broadcast_to(1e-3 * np.eye(13), (3, 13, 13)), atol=1e-15
    )
