"""Gross outliers by a robust per-column scale."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gaussmix.core.gross_outliers import (
    GROSS_OUTLIER_SPREADS,
    MAX_OUTLIER_SHARE,
    gross_outlier_rows,
    robust_spreads,
    rows_to_train_on,
    weighted_medians,
)

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 12), st.integers(1, 3)), elements=FINITE
    ),
    st.data(),
)
def test_weighted_medians_are_the_medians_of_repeated_rows(values, data):
    size = len(values)
    counts = np.array(
        data.draw(st.lists(st.integers(0, 3), min_size=size, max_size=size))
    )
    if counts.sum() == 0:
        counts[0] = 1
    repeated = np.repeat(values, counts, axis=0)
    np.testing.assert_array_equal(
        weighted_medians(values, counts.astype(np.float64)), np.median(repeated, axis=0)
    )


def test_gaussian_and_skewed_columns_have_no_gross_outliers():
    draw = np.random.default_rng(0)
    normal = draw.normal(size=(20_000, 4))
    skewed = draw.lognormal(0.0, 0.5, size=(20_000, 2))
    assert not gross_outlier_rows(np.hstack([normal, skewed])).any()


def test_one_wild_value_is_the_only_gross_outlier():
    X = np.random.default_rng(1).normal(size=(200, 3))
    X[17, 2] = 1e12
    assert np.flatnonzero(gross_outlier_rows(X)).tolist() == [17]


def test_integer_weights_flag_as_repeated_rows():
    draw = np.random.default_rng(2)
    X = draw.normal(size=(400, 2))
    X[5, 0], X[9, 1] = 400.0, -1e9
    counts = draw.integers(0, 4, size=400)
    counts[[5, 9]] = 2
    flagged = gross_outlier_rows(X, counts.astype(np.float64))
    repeated = gross_outlier_rows(np.repeat(X, counts, axis=0))
    np.testing.assert_array_equal(np.repeat(flagged, counts), repeated)
    assert np.flatnonzero(flagged).tolist() == [5, 9]


def test_a_mostly_constant_column_takes_the_spread_of_the_rows_that_move():
    # a pixel blank in most images: no median absolute deviation, but its
    # lit values are not outliers
    draw = np.random.default_rng(3)
    pixel = np.where(draw.random(500) < 0.9, 0.0, draw.uniform(1, 16, size=500))
    _, spreads = robust_spreads(pixel[:, None], None)
    assert 0 < spreads[0] < 16
    assert not gross_outlier_rows(pixel[:, None]).any()
    pixel[0] = 16 * GROSS_OUTLIER_SPREADS * 10
    assert gross_outlier_rows(pixel[:, None])[0]


def test_constant_columns_and_heavy_tails_flag_nothing():
    constant = np.ones((10, 2))
    assert not gross_outlier_rows(constant).any()
    # Cauchy data: the far rows are its tails, too many to be errors
    cauchy = np.random.default_rng(4).standard_cauchy((2_000, 3))
    _, spreads = robust_spreads(cauchy, None)
    far = np.abs(cauchy - np.median(cauchy, 0)) > GROSS_OUTLIER_SPREADS * spreads
    assert far.any(axis=1).mean() > MAX_OUTLIER_SHARE
    assert not gross_outlier_rows(cauchy).any()


def test_zero_weight_rows_take_no_part():
    # twelve wild rows of weight zero outnumber the forty others' share:
    # counted, they would be the data's tails; weightless, the forty decide
    bulk = np.arange(40.0)
    X = np.r_[bulk, np.full(12, 1e12)][:, None]
    weights = np.r_[np.ones(40), np.zeros(12)]
    flagged = gross_outlier_rows(X, weights)
    assert not flagged[:10].any()
    np.testing.assert_array_equal(
        robust_spreads(X, weights)[1], robust_spreads(bulk[:, None], None)[1]
    )
    assert not gross_outlier_rows(X).any()


def test_a_column_constant_but_for_one_wild_row_is_judged_by_the_others():
    draw = np.random.default_rng(5)
    X = np.c_[draw.normal(size=(300, 3)), np.zeros(300)]
    X[42, 3] = 1e12
    assert np.flatnonzero(gross_outlier_rows(X)).tolist() == [42]
    # a value at the other columns' scale is no outlier there
    X[42, 3] = 3.0
    assert not gross_outlier_rows(X).any()


def test_rows_to_train_on_leave_out_and_log_the_far_rows(caplog):
    values = np.random.default_rng(0).normal(size=(100, 3))
    values[[4, 60], 1] = 1e6
    with caplog.at_level("INFO", logger="gaussmix"):
        kept = rows_to_train_on(values, 10, "Model")
    np.testing.assert_array_equal(np.flatnonzero(~kept), [4, 60])
    assert "Model: 2 row(s)" in caplog.text and "[4, 60]" in caplog.text


def test_rows_to_train_on_keep_every_row_below_the_minimum_or_when_clean(caplog):
    values = np.random.default_rng(1).normal(size=(100, 3))
    with caplog.at_level("INFO", logger="gaussmix"):
        assert rows_to_train_on(values, 10, "Model").all()
        values[0, 0] = 1e6
        assert rows_to_train_on(values, 100, "Model").all()
    assert caplog.text == ""
