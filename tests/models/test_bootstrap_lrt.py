"""The parametric bootstrap likelihood-ratio test for the number of components."""

from __future__ import annotations

import numpy as np
import pytest
from joblib import parallel_config
from scipy import stats

import gaussmix
from gaussmix import GaussianMixture


def two_groups(n: int = 80, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(-3, 1, (n, 2)), rng.normal(3, 1, (n, 2))])


def total_log_likelihood(X, k, covariance_type):
    """An independent fit with many starts: the maximised log-likelihood."""
    model = GaussianMixture(
        k,
        covariance_type=covariance_type,
        n_init=10,
        tol=1e-8,
        max_iter=2000,
        random_state=123,
    ).fit(X)
    return model.score(X) * X.shape[0]


def test_statistic_is_twice_the_log_likelihood_gain_of_independent_fits():
    X = two_groups()
    result = gaussmix.bootstrap_lrt(
        X, "VVV", max_components=2, n_bootstrap=5, sequential=False, random_state=0
    )
    assert result.n_components == (1, 2)
    logliks = {k: total_log_likelihood(X, k, "VVV") for k in (1, 2, 3)}
    expected = [2 * (logliks[k + 1] - logliks[k]) for k in (1, 2)]
    np.testing.assert_allclose(result.statistics, expected, rtol=1e-4, atol=1e-3)
    for k in (1, 2, 3):
        assert result.log_likelihoods[k] == pytest.approx(logliks[k], rel=1e-6)


def test_one_component_is_rejected_for_data_from_two():
    result = gaussmix.bootstrap_lrt(
        two_groups(), "VII", max_components=2, n_bootstrap=19, random_state=1
    )
    # the observed statistic beats every bootstrap one: p = 1 / (B + 1)
    assert result.p_values[0] == pytest.approx(1 / 20)
    assert result.statistics[0] > np.max(result.bootstrap_statistics[0])
    assert result.selected_n_components == 2


def test_p_values_follow_from_the_bootstrap_statistics():
    result = gaussmix.bootstrap_lrt(
        two_groups(60, 2),
        "EII",
        max_components=2,
        n_bootstrap=15,
        sequential=False,
        random_state=3,
    )
    for observed, boot, p in zip(
        result.statistics, result.bootstrap_statistics, result.p_values, strict=True
    ):
        assert boot.shape == (15,)
        assert np.all(boot >= 0)
        assert p == pytest.approx((1 + np.sum(boot >= observed)) / (len(boot) + 1))
    assert "1 vs 2" in str(result) and "2 vs 3" in str(result)


def test_the_same_seed_gives_the_same_result_on_any_number_of_workers():
    X = two_groups(40, 4)
    kwargs = {"max_components": 1, "n_bootstrap": 4, "random_state": 7}
    one = gaussmix.bootstrap_lrt(X, "VII", n_jobs=1, **kwargs)
    # threads: the seeds, not the backend, fix the replicates (and processes
    # would take seconds to start here)
    with parallel_config(backend="threading"):
        two = gaussmix.bootstrap_lrt(X, "VII", n_jobs=2, **kwargs)
    np.testing.assert_array_equal(
        one.bootstrap_statistics[0], two.bootstrap_statistics[0]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_components": 0}, "max_components"),
        ({"n_bootstrap": 0}, "n_bootstrap"),
        ({"covariance_type": "XYZ"}, "covariance_type"),
        ({"level": 1.5}, "level"),
        ({"min_components": 4, "max_components": 3}, "min_components"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gaussmix.bootstrap_lrt(two_groups(20), **kwargs)


def test_too_few_rows_for_the_largest_model():
    with pytest.raises(ValueError, match="lower max_components"):
        gaussmix.bootstrap_lrt(np.arange(4.0)[:, None], max_components=3)


@pytest.mark.slow
def test_p_value_of_a_true_null_is_roughly_uniform():
    """Under K = 2 the test of 2 against 3 has uniform p-values (B=19 steps)."""
    p_values = []
    for rep in range(40):
        X = two_groups(50, 100 + rep)
        result = gaussmix.bootstrap_lrt(
            X,
            "VII",
            min_components=2,
            max_components=2,
            n_bootstrap=19,
            n_init=1,
            random_state=rep,
        )
        p_values.append(result.p_values[0])
    # p-values on the grid j / 20; spread over each step they are uniform
    spread = np.random.default_rng(0).random(len(p_values)) / 20
    assert stats.kstest(np.array(p_values) - spread, "uniform").pvalue > 0.001
