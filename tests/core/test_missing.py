"""EM's E-step with missing values against closed forms and the complete fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from scipy import stats as distributions
from sklearn.datasets import make_blobs

from gaussmix.core.covariance import get_family
from gaussmix.core.estep import chunk_stats, log_responsibilities
from gaussmix.core.missing import (
    conditional_means,
    missing_chunk_stats,
    observed_log_responsibilities,
)
from gaussmix.core.missing_blocks import Precisions, whitened_chunk_stats
from gaussmix.core.missing_moments import gemm_chunk_stats
from gaussmix.core.missing_pairs import pattern_order
from gaussmix.core.mstep import RepairLog, m_step
from gaussmix.core.params import MixtureParams
from gaussmix.fit.batch import maximum_likelihood_update, run_em
from tests.core.moments import observed_row_terms

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _params(covariance_type, rng, n_components=3, n_features=4):
    family = get_family(covariance_type)
    shapes = {
        "full": lambda: np.stack(
            [a @ a.T + np.eye(n_features) for a in rng.normal(size=(3, 4, 4))]
        ),
        "tied": lambda: (lambda a: a @ a.T + np.eye(n_features))(
            rng.normal(size=(4, 4))
        ),
        "diag": lambda: rng.uniform(0.5, 2.0, size=(n_components, n_features)),
        "spherical": lambda: rng.uniform(0.5, 2.0, size=n_components),
    }
    covariances = shapes[covariance_type]()
    return MixtureParams(
        weights=np.array([0.2, 0.3, 0.5]),
        means=rng.normal(scale=3, size=(n_components, n_features)),
        covariances=covariances,
        precisions_cholesky=family.precision_cholesky(covariances),
        covariance_type=covariance_type,
    )


def _with_holes(X, share, rng):
    holes = rng.uniform(size=X.shape) < share
    holes[np.arange(len(X)), rng.randint(0, X.shape[1], len(X))] = False
    out = X.copy()
    out[holes] = np.nan
    return out


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_complete_rows_give_the_ordinary_e_step(covariance_type):
    rng = np.random.RandomState(0)
    params = _params(covariance_type, rng)
    X = rng.normal(scale=3, size=(300, 4))
    w = rng.uniform(0.5, 2, size=300)
    ours = missing_chunk_stats(X, w, params)
    reference = chunk_stats(X, w, params, np.asarray(params.means, np.float64))
    assert ours.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-10)
    a = m_step(ours, covariance_type, 1e-6)
    b = m_step(reference, covariance_type, 1e-6)
    np.testing.assert_allclose(a.means, b.means, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.covariances, b.covariances, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_observed_log_density_is_the_marginal(covariance_type):
    rng = np.random.RandomState(1)
    params = _params(covariance_type, rng)
    X = _with_holes(rng.normal(scale=3, size=(40, 4)), 0.4, rng)
    covariances = params.family.full_covariances(params.covariances, 3, 4)
    log_norm, log_resp = observed_log_responsibilities(X, params)
    ours = log_norm[:, None] + log_resp
    for i, row in enumerate(X):
        seen = ~np.isnan(row)
        for k in range(3):
            expected = math.log(params.weights[k]) + distributions.multivariate_normal(
                params.means[k, seen], covariances[k][np.ix_(seen, seen)]
            ).logpdf(row[seen])
            assert ours[i, k] == pytest.approx(expected, rel=1e-10)


def test_conditional_means_of_one_gaussian_are_the_regression():
    rng = np.random.RandomState(2)
    a = rng.normal(size=(4, 4))
    covariance = a @ a.T + np.eye(4)
    mean = rng.normal(size=4)
    params = MixtureParams(
        np.array([1.0]),
        mean[None],
        covariance[None],
        get_family("full").precision_cholesky(covariance[None]),
        "full",
    )
    row = np.array([0.5, np.nan, -1.0, np.nan])
    seen, hidden = ~np.isnan(row), np.isnan(row)
    expected = mean[hidden] + covariance[np.ix_(hidden, seen)] @ np.linalg.solve(
        covariance[np.ix_(seen, seen)], row[seen] - mean[seen]
    )
    filled = conditional_means(row[None], params)[0]
    np.testing.assert_allclose(filled[hidden], expected, rtol=1e-12)
    np.testing.assert_array_equal(filled[seen], row[seen])


def test_chunks_add_up():
    rng = np.random.RandomState(3)
    params = _params("full", rng)
    X = _with_holes(rng.normal(scale=3, size=(200, 4)), 0.3, rng)
    whole = missing_chunk_stats(X, None, params)
    parts = missing_chunk_stats(X[:77], None, params) + missing_chunk_stats(
        X[77:], None, params
    )
    assert parts.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(parts.scatter, whole.scatter, rtol=1e-10)
    np.testing.assert_allclose(parts.centred_sum, whole.centred_sum, atol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_with_holes_never_lowers_the_observed_likelihood(covariance_type):
    rng = np.random.RandomState(4)
    X, _ = make_blobs(n_samples=600, centers=3, n_features=4, random_state=4)
    holed = _with_holes(X, 0.2, rng)
    complete = ~np.isnan(holed).any(axis=1)
    start = m_step(
        chunk_stats(
            X[complete][:60],
            None,
            _params(covariance_type, rng),
            np.zeros((3, 4)),
        ),
        covariance_type,
        1e-6,
    )
    result = run_em(
        lambda params: missing_chunk_stats(holed, None, params),
        maximum_likelihood_update(1e-6, RepairLog()),
        start,
        tol=1e-10,
        max_iter=200,
    )
    steps = np.diff(result.lower_bounds)
    assert np.all(steps >= -1e-10 * np.abs(result.lower_bounds).max())


def test_a_row_with_nothing_observed_is_refused():
    params = _params("diag", np.random.RandomState(5))
    X = np.ones((3, 4))
    X[1] = np.nan
    with pytest.raises(ValueError, match="row 1 of X has every value missing"):
        missing_chunk_stats(X, None, params)


def _expected_stats_by_rows(X, weights, params):
    """The E-step's sums row by row from the covariance-form conditionals."""
    n_components, n_features = params.means.shape
    covariances = params.family.full_covariances(params.covariances, 3, n_features)
    resp_sum = np.zeros(n_components)
    first = np.zeros((n_components, n_features))
    second = np.zeros((n_components, n_features, n_features))
    for row, weight in zip(X, weights, strict=True):
        log_joint, moments = observed_row_terms(
            row, params.weights, params.means, covariances
        )
        log_joint = np.array(log_joint)
        resp = weight * np.exp(log_joint - np.logaddexp.reduce(log_joint))
        for k, (completed, conditional) in enumerate(moments):
            resp_sum[k] += resp[k]
            first[k] += resp[k] * completed
            second[k] += resp[k] * (np.outer(completed, completed) + conditional)
    return resp_sum, first, second


@pytest.mark.parametrize("spread", [3.0, 30.0])
def test_the_e_step_equals_the_row_by_row_conditionals(spread):
    # far apart components (spread 30) let the E-step skip most pairs
    rng = np.random.RandomState(3)
    params = _params("full", rng)
    params = MixtureParams(
        weights=params.weights,
        means=params.means * spread / 3.0,
        covariances=params.covariances,
        precisions_cholesky=params.precisions_cholesky,
        covariance_type="full",
    )
    labels = rng.choice(3, size=120, p=params.weights)
    X = params.means[labels] + rng.normal(size=(120, 4))
    X = _with_holes(X, 0.35, rng)
    w = rng.uniform(0.5, 2, size=120)
    stats = missing_chunk_stats(X, w, params)
    resp_sum, first, second = _expected_stats_by_rows(X, w, params)
    np.testing.assert_allclose(stats.resp_sum, resp_sum, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        stats.shift * stats.resp_sum[:, None] + stats.centred_sum,
        first,
        rtol=1e-9,
        atol=1e-9,
    )
    # second moments about the origin, from the scatter about the shift
    _assert_second_moments(stats, second)


def _pair_by_pair_and_gemm(X, w, params):
    """The E-step both ways: GEMMs about a centre, and pair by pair."""
    values = np.asarray(X, dtype=np.float64)
    hidden = np.isnan(values)
    weights = np.ones(len(X)) if w is None else w
    components = Precisions.of(params)
    kind = params.family.scatter_kind
    gemm = gemm_chunk_stats(values, hidden, weights, components, kind)
    pairs = whitened_chunk_stats(values, hidden, weights, components, kind)
    return gemm, pairs


def _assert_same_stats(ours, reference):
    assert ours.scatter_kind == reference.scatter_kind
    np.testing.assert_array_equal(ours.shift, reference.shift)
    assert ours.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-10)
    scale = reference.resp_sum.max()
    np.testing.assert_allclose(ours.resp_sum, reference.resp_sum, atol=1e-10 * scale)
    np.testing.assert_allclose(
        ours.centred_sum,
        reference.centred_sum,
        atol=1e-9 * np.abs(reference.centred_sum).max(),
    )
    np.testing.assert_allclose(
        ours.scatter, reference.scatter, atol=1e-9 * np.abs(reference.scatter).max()
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("spread", [1.0, 30.0])
@pytest.mark.parametrize("share", [0.15, 0.6])
def test_the_gemm_e_step_equals_the_pair_by_pair_one(covariance_type, spread, share):
    # overlapping components (spread 1) weigh most pairs, apart ones (30)
    # few: the completions' moments are then formed two different ways;
    # tied and spherical-free families give components one shared precision
    rng = np.random.RandomState(7)
    params = _params(covariance_type, rng)
    params = MixtureParams(
        weights=params.weights,
        means=params.means * spread / 3.0,
        covariances=params.covariances,
        precisions_cholesky=params.precisions_cholesky,
        covariance_type=covariance_type,
    )
    labels = rng.choice(3, size=400, p=params.weights)
    X = _with_holes(params.means[labels] + rng.normal(size=(400, 4)), share, rng)
    w = rng.uniform(0.5, 2, size=400)
    gemm, pairs = _pair_by_pair_and_gemm(X, w, params)
    assert gemm is not None
    _assert_same_stats(gemm, pairs)
    # and the public E-step gives the same
    _assert_same_stats(missing_chunk_stats(X, w, params), pairs)


def test_rows_missing_all_but_one_value():
    rng = np.random.RandomState(8)
    params = _params("full", rng)
    X = rng.normal(scale=3, size=(60, 4))
    X[np.arange(60)[:, None], np.array([[1, 2, 3]] * 60)] = np.nan
    X[::2] = np.roll(X[::2], 1, axis=1)  # every column observed somewhere
    X[::3] = np.roll(X[::3], 2, axis=1)
    stats = missing_chunk_stats(X, None, params)
    covariances = params.family.full_covariances(params.covariances, 3, 4)
    expected = 0.0
    for row in X:
        seen = int(np.flatnonzero(~np.isnan(row))[0])
        log_joint = [
            math.log(params.weights[k])
            + distributions.norm(
                params.means[k, seen], math.sqrt(covariances[k, seen, seen])
            ).logpdf(row[seen])
            for k in range(3)
        ]
        expected += np.logaddexp.reduce(log_joint)
    assert stats.log_likelihood == pytest.approx(expected, rel=1e-10)
    resp_sum, first, _ = _expected_stats_by_rows(X, np.ones(60), params)
    np.testing.assert_allclose(stats.resp_sum, resp_sum, rtol=1e-10)
    np.testing.assert_allclose(
        stats.shift * stats.resp_sum[:, None] + stats.centred_sum, first, atol=1e-9
    )


@pytest.mark.parametrize("n_missing", [1, 2, 3])
def test_each_missing_count_against_the_row_by_row_conditionals(n_missing):
    # one and two missing values take closed forms, three the Cholesky path
    rng = np.random.RandomState(9)
    params = _params("full", rng)
    X = rng.normal(scale=3, size=(50, 4))
    for row in X:
        row[rng.choice(4, size=n_missing, replace=False)] = np.nan
    w = rng.uniform(0.5, 2, size=50)
    stats = missing_chunk_stats(X, w, params)
    resp_sum, first, second = _expected_stats_by_rows(X, w, params)
    np.testing.assert_allclose(stats.resp_sum, resp_sum, rtol=1e-10)
    np.testing.assert_allclose(
        stats.shift * stats.resp_sum[:, None] + stats.centred_sum, first, atol=1e-9
    )
    _assert_second_moments(stats, second)


def test_components_too_far_apart_for_the_centre_go_pair_by_pair():
    # means 1e5 apart in unit precisions: expanding about their average
    # would lose digits, so the E-step works from each component's mean
    rng = np.random.RandomState(10)
    params = _params("full", rng)
    params = MixtureParams(
        weights=params.weights,
        means=params.means * 1e5,
        covariances=params.covariances,
        precisions_cholesky=params.precisions_cholesky,
        covariance_type="full",
    )
    labels = rng.choice(3, size=90, p=params.weights)
    X = _with_holes(params.means[labels] + rng.normal(size=(90, 4)), 0.3, rng)
    gemm, _ = _pair_by_pair_and_gemm(X, None, params)
    assert gemm is None
    stats = missing_chunk_stats(X, None, params)
    resp_sum, first, _ = _expected_stats_by_rows(X, np.ones(90), params)
    np.testing.assert_allclose(stats.resp_sum, resp_sum, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        stats.shift * stats.resp_sum[:, None] + stats.centred_sum, first, rtol=1e-10
    )


def test_many_features_and_rows_beyond_one_slice():
    # more than 62 columns: patterns ordered without bit codes; and enough
    # rows that the E-step works through them slice by slice
    rng = np.random.RandomState(11)
    n_features = 70
    a = rng.normal(size=(2, n_features, n_features)) / np.sqrt(n_features)
    covariances = a @ a.transpose(0, 2, 1) + np.eye(n_features)
    params = MixtureParams(
        weights=np.array([0.4, 0.6]),
        means=rng.normal(size=(2, n_features)),
        covariances=covariances,
        precisions_cholesky=get_family("full").precision_cholesky(covariances),
        covariance_type="full",
    )
    X = _with_holes(rng.normal(size=(120, n_features)), 0.05, rng)
    gemm, pairs = _pair_by_pair_and_gemm(X, None, params)
    _assert_same_stats(gemm, pairs)
    many = np.tile(X, (10, 1))
    whole = missing_chunk_stats(many, None, params)
    assert whole.log_likelihood == pytest.approx(10 * pairs.log_likelihood, rel=1e-9)


def test_components_sharing_some_precisions():
    # two of three components share a covariance: their blocks are factored
    # once and picked for each; the third has its own
    rng = np.random.RandomState(12)
    params = _params("full", rng)
    covariances = params.covariances.copy()
    covariances[2] = covariances[0]
    params = MixtureParams(
        weights=params.weights,
        means=params.means,
        covariances=covariances,
        precisions_cholesky=get_family("full").precision_cholesky(covariances),
        covariance_type="full",
    )
    X = _with_holes(rng.normal(scale=3, size=(150, 4)), 0.4, rng)
    w = rng.uniform(0.5, 2, size=150)
    stats = missing_chunk_stats(X, w, params)
    resp_sum, first, _ = _expected_stats_by_rows(X, w, params)
    np.testing.assert_allclose(stats.resp_sum, resp_sum, rtol=1e-10)
    np.testing.assert_allclose(
        stats.shift * stats.resp_sum[:, None] + stats.centred_sum, first, atol=1e-9
    )
    gemm, pairs = _pair_by_pair_and_gemm(X, w, params)
    _assert_same_stats(gemm, pairs)


def _assert_second_moments(stats, second):
    """The Stats' scatter about its shift, moved to the origin, is ``second``."""
    about_origin = (
        stats.scatter
        + np.einsum("ki,kj->kij", stats.shift, stats.centred_sum)
        + np.einsum("ki,kj->kij", stats.centred_sum, stats.shift)
        + stats.resp_sum[:, None, None]
        * np.einsum("ki,kj->kij", stats.shift, stats.shift)
    )
    np.testing.assert_allclose(about_origin, second, rtol=1e-9, atol=1e-8)


@pytest.mark.parametrize("n_features, rate", [(6, 0.3), (20, 0.05), (70, 0.01)])
def test_pattern_order_puts_equal_patterns_together(n_features, rate):
    # keys of 8 and 32 bits, and past 64 columns sorted column by column
    rng = np.random.default_rng(4)
    hidden = rng.uniform(size=(500, n_features)) < rate
    order = pattern_order(hidden)
    assert np.array_equal(np.sort(order), np.arange(len(hidden)))
    ordered = hidden[order]
    assert np.all(np.diff(ordered.sum(axis=1)) >= 0)
    # every pattern occupies one contiguous run of rows
    changes = np.flatnonzero((ordered[1:] != ordered[:-1]).any(axis=1))
    assert len(changes) + 1 == len(np.unique(hidden, axis=0))
    # and keeps its rows in their own order
    for run in np.split(order, changes + 1):
        assert np.all(np.diff(run) > 0)


def test_the_e_step_does_not_depend_on_the_order_of_the_rows():
    rng = np.random.RandomState(5)
    params = _params("full", rng)
    X = _with_holes(rng.normal(scale=3, size=(400, 4)), 0.4, rng)
    # rows of one pattern brought together, as a sort by pattern would
    order = np.lexsort(np.isnan(X).T)
    first = missing_chunk_stats(X, None, params)
    second = missing_chunk_stats(X[order], None, params)
    np.testing.assert_allclose(second.resp_sum, first.resp_sum, rtol=1e-10)
    np.testing.assert_allclose(second.centred_sum, first.centred_sum, atol=1e-8)
    np.testing.assert_allclose(second.scatter, first.scatter, rtol=1e-9, atol=1e-8)
    assert second.log_likelihood == pytest.approx(first.log_likelihood, rel=1e-12)


@given(
    n_features=st.integers(1, 7),
    n_components=st.integers(1, 8),
    n_rows=st.sampled_from([60, 300]),
    share=st.floats(0.0, 0.9),
    spread=st.sampled_from([0.5, 3.0, 40.0]),
    zero_weights=st.booleans(),
    noise=st.booleans(),
    seed=st.integers(0, 10**6),
)
@settings(max_examples=60, deadline=None)
def test_the_gemm_e_step_equals_the_pair_by_pair_one_on_any_shape(
    n_features, n_components, n_rows, share, spread, zero_weights, noise, seed
):
    # every pattern size from one missing value to all but one, components
    # from overlapping to far apart (rows that weigh few components and rows
    # that weigh many sum their moments two ways), rows of zero weight, a
    # noise column, and rows past one block of the compiled E-step's GEMMs
    rng = np.random.RandomState(seed)
    factors = rng.normal(size=(n_components, n_features, n_features))
    covariances = factors @ factors.transpose(0, 2, 1) + 0.3 * np.eye(n_features)
    weights = rng.dirichlet(np.ones(n_components))
    params = MixtureParams(
        weights=weights,
        means=rng.normal(scale=spread, size=(n_components, n_features)),
        covariances=covariances,
        precisions_cholesky=get_family("full").precision_cholesky(covariances),
        covariance_type="full",
    )
    labels = rng.choice(n_components, size=n_rows, p=weights)
    X = params.means[labels] + rng.normal(size=(n_rows, n_features))
    X = _with_holes(X, share, rng)
    w = rng.uniform(0.5, 2.0, size=n_rows)
    if zero_weights:
        w[::4] = 0.0
    values = np.asarray(X, dtype=np.float64)
    hidden = np.isnan(values)
    components = Precisions.of(params)
    log_noise = rng.uniform(-30.0, -5.0, size=n_rows) if noise else None
    gemm = gemm_chunk_stats(values, hidden, w, components, "full", log_noise)
    pairs = whitened_chunk_stats(values, hidden, w, components, "full", log_noise)
    if gemm is None:  # the centre would round worse: nothing to compare
        event("pair by pair only")
        return
    if noise:
        (gemm, gemm_noise), (pairs, pairs_noise) = gemm, pairs
        assert gemm_noise == pytest.approx(pairs_noise, rel=1e-9, abs=1e-12)
    _assert_same_stats(gemm, pairs)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("distance", [1e150, 1e155, 1e300])
def test_a_row_far_from_every_component_gets_its_marginal_responsibilities(
    covariance_type, distance
):
    # squares of values beyond 1e154 overflow float64; the responsibilities
    # must still be those of the observed columns' marginal mixture, which
    # the complete-data E-step works out for the observed values alone
    rng = np.random.RandomState(3)
    params = _params(covariance_type, rng)
    row = np.array([distance, np.nan, -0.5 * distance, 1.0])
    seen = ~np.isnan(row)
    log_norm, log_resp = observed_log_responsibilities(row[None], params)
    covariances = params.family.full_covariances(params.covariances, 3, 4)
    marginal = covariances[:, seen][:, :, seen]
    full = get_family("full")
    expected_norm, expected_resp = log_responsibilities(
        row[None, seen],
        MixtureParams(
            weights=params.weights,
            means=params.means[:, seen],
            covariances=marginal,
            precisions_cholesky=full.precision_cholesky(marginal),
            covariance_type="full",
        ),
    )
    np.testing.assert_allclose(np.exp(log_resp), np.exp(expected_resp), atol=1e-9)
    assert np.exp(log_resp).sum() == pytest.approx(1.0)
    assert log_norm[0] == pytest.approx(expected_norm[0], rel=1e-9)
