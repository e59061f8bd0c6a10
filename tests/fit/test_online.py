"""partial_fit: stepwise EM approaches the full-batch fit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from gaussmix import GaussianMixture
from gaussmix.core.stats import Stats
from gaussmix.fit.online import step_size, stepwise_update


def _stats(n, value):
    return Stats(
        resp_sum=np.array([n]),
        centred_sum=np.array([[0.0]]),
        scatter=np.array([[[value * n]]]),
        shift=np.array([[0.0]]),
        scatter_kind="full",
        total_weight=n,
    )


def test_step_sizes_follow_the_power_law():
    assert step_size(1, 0.6, 10.0) == pytest.approx(11.0**-0.6)
    steps = np.array([step_size(t, 0.6, 10.0) for t in range(1, 10001)])
    assert np.all(np.diff(steps) < 0)
    # the partial sums grow like t^(1 - decay): they diverge, as EM's
    # convergence theory requires, while the squares converge
    expected = ((10010**0.4 - 11**0.4) / 0.4, (1010**0.4 - 11**0.4) / 0.4)
    assert steps.sum() == pytest.approx(expected[0], rel=0.02)
    assert steps[:1000].sum() == pytest.approx(expected[1], rel=0.05)


def test_stepwise_update_is_a_convex_blend_per_unit_weight():
    running = stepwise_update(None, _stats(10.0, 2.0), 1.0)
    blended = stepwise_update(running, _stats(5.0, 4.0), 0.25)
    # per-unit-weight variance: 0.75 * 2 + 0.25 * 4
    assert blended.scatter[0, 0, 0] / blended.resp_sum[0] == pytest.approx(2.5)
    assert blended.total_weight == pytest.approx(1.0)


@pytest.fixture(scope="module")
def stream():
    centers = np.random.RandomState(3).uniform(-10, 10, size=(16, 2))
    X, _ = make_blobs(n_samples=101_000, centers=centers, random_state=4)
    return X[:100_000], X[100_000:]


def test_partial_fit_matches_full_batch_em_on_held_out_data(stream):
    train, held_out = stream
    online = GaussianMixture(16, random_state=0)
    for batch in np.array_split(train, 40):
        online.partial_fit(batch)
    full = GaussianMixture(16, random_state=0).fit(train)
    assert online.n_batches_ == 40
    gap = abs(online.score(held_out) - full.score(held_out))
    assert gap <= 0.01 * abs(full.score(held_out))


def test_partial_fit_on_a_single_batch_equals_fit(stream):
    train, _ = stream
    a = GaussianMixture(16, random_state=0).partial_fit(train[:5000])
    b = GaussianMixture(16, random_state=0).fit(train[:5000])
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-10)


def test_partial_fit_checks_the_number_of_features(stream):
    train, _ = stream
    model = GaussianMixture(4, random_state=0).partial_fit(train[:1000])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(np.zeros((10, 3)))


@pytest.mark.parametrize("decay", [0.5, 1.5, -1.0])
def test_invalid_learning_decay(stream, decay):
    train, _ = stream
    with pytest.raises(ValueError, match="learning_decay"):
        GaussianMixture(2, learning_decay=decay).partial_fit(train[:100])


@pytest.mark.slow
def test_two_hundred_batches_of_five_thousand_rows_match_full_batch_em():
    centers = np.random.RandomState(7).uniform(-20, 20, size=(16, 4))
    X, _ = make_blobs(n_samples=1_050_000, centers=centers, random_state=8)
    train, held_out = X[:1_000_000], X[1_000_000:]
    online = GaussianMixture(16, random_state=0)
    for batch in np.split(train, 200):
        online.partial_fit(batch)
    full = GaussianMixture(16, random_state=0).fit(train)
    gap = abs(online.score(held_out) - full.score(held_out))
    assert gap <= 0.01 * abs(full.score(held_out))
