"""Each family's M-step against a direct computation from the definition."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix.core.covariance import available_families, get_family
from gaussmix.core.mstep import m_step
from gaussmix.fit.chunks import responsibilities_stats


def _direct(X, resp, w):
    r = resp * w[:, None]
    nk = r.sum(0)
    means = (r.T @ X) / nk[:, None]
    covs = np.stack(
        [((X - m) * r[:, [k]]).T @ (X - m) / nk[k] for k, m in enumerate(means)]
    )
    return nk, means, covs


@pytest.fixture
def problem(rng):
    X = rng.normal(size=(200, 4)) * [1.0, 2.0, 0.5, 3.0] + 100.0
    resp = rng.dirichlet(np.ones(3), size=200)
    w = rng.uniform(0.5, 1.5, size=200)
    return X, resp, w


def _fit(problem, covariance_type, reg=0.0):
    X, resp, w = problem
    stats = responsibilities_stats(
        X, resp, w, get_family(covariance_type).scatter_kind, chunk_size=37
    )
    return m_step(stats, covariance_type, reg)


def test_full_is_the_weighted_sample_covariance(problem):
    X, resp, w = problem
    nk, means, covs = _direct(X, resp, w)
    params = _fit(problem, "full")
    np.testing.assert_allclose(params.weights, nk / nk.sum(), rtol=1e-12)
    np.testing.assert_allclose(params.means, means, rtol=1e-12)
    np.testing.assert_allclose(params.covariances, covs, rtol=1e-9)


def test_tied_is_the_pooled_covariance(problem):
    X, resp, w = problem
    nk, _, covs = _direct(X, resp, w)
    pooled = (covs * nk[:, None, None]).sum(0) / nk.sum()
    np.testing.assert_allclose(_fit(problem, "tied").covariances, pooled, rtol=1e-9)


def test_diag_and_spherical_are_the_diagonal_and_its_mean(problem):
    X, resp, w = problem
    _, _, covs = _direct(X, resp, w)
    diagonal = np.diagonal(covs, axis1=1, axis2=2)
    np.testing.assert_allclose(_fit(problem, "diag").covariances, diagonal, rtol=1e-9)
    np.testing.assert_allclose(
        _fit(problem, "spherical").covariances, diagonal.mean(1), rtol=1e-9
    )


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_reg_covar_is_added_to_the_diagonal(problem, covariance_type):
    plain = _fit(problem, covariance_type).covariances
    regular = _fit(problem, covariance_type, reg=0.25).covariances
    family = get_family(covariance_type)
    difference = regular - plain
    if family.matrix_layout:
        expected = np.broadcast_to(np.eye(4), difference.shape) * 0.25
    else:
        expected = np.full(difference.shape, 0.25)
    np.testing.assert_allclose(difference, expected, atol=1e-9)


@pytest.mark.parametrize(
    ("covariance_type", "expected"),
    [
        ("full", 3 * 10 + 12 + 2),
        ("tied", 10 + 12 + 2),
        ("diag", 12 + 12 + 2),
        ("spherical", 3 + 12 + 2),
    ],
)
def test_parameter_counts(covariance_type, expected):
    assert get_family(covariance_type).n_parameters(3, 4) == expected


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_log_prob_matches_scipy(problem, covariance_type, rng):
    from scipy.stats import multivariate_normal

    X = problem[0]
    params = _fit(problem, covariance_type, reg=1e-3)
    family = get_family(covariance_type)
    full = family.full_covariances(params.covariances, 3, 4)
    ours = family.log_prob(X, params.means, params.precisions_cholesky)
    for k in range(3):
        expected = multivariate_normal(params.means[k], full[k]).logpdf(X)
        np.testing.assert_allclose(ours[:, k], expected, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_precisions_round_trip_through_their_factors(problem, covariance_type):
    family = get_family(covariance_type)
    params = _fit(problem, covariance_type, reg=1e-3)
    precisions = family.precisions(params.precisions_cholesky)
    np.testing.assert_allclose(
        family.cholesky_from_precisions(precisions),
        params.precisions_cholesky,
        rtol=1e-8,
        atol=1e-12,
    )


def test_unknown_family_names_the_choices():
    with pytest.raises(ValueError, match="choose one of"):
        get_family("banana")
    assert {"full", "tied", "diag", "spherical"} <= set(available_families())
