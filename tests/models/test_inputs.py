"""What the estimators say of input they cannot take."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix import (
    HDDC,
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureImputer,
    MixtureOfFactorAnalyzers,
    StudentMixture,
)


def _rows_with_a_hole() -> np.ndarray:
    X = np.random.default_rng(0).normal(size=(40, 3))
    X[3, 1] = np.nan
    return X


@pytest.mark.parametrize(
    "estimator",
    [
        BayesianGaussianMixture(n_components=2),
        StudentMixture(2),
        HDDC(2),
        MixtureOfFactorAnalyzers(2, n_factors=1),
    ],
    ids=lambda estimator: type(estimator).__name__,
)
def test_nan_where_it_is_not_taken_names_the_estimators_that_take_it(estimator):
    X = _rows_with_a_hole()
    with pytest.raises(ValueError, match="Input X contains NaN") as refused:
        estimator.fit(X)
    message = str(refused.value)
    assert type(estimator).__name__ in message
    assert "GaussianMixtureImputer" in message
    # the advice holds: the named estimators take the same rows
    GaussianMixture(2, random_state=0).fit(X)
    filled = GaussianMixtureImputer(n_components=2, random_state=0).fit_transform(X)
    estimator.fit(filled)
