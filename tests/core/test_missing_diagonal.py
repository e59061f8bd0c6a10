"""The missing-value E-step for diagonal covariances against the general
pair-by-pair E-step on the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussmix.core.covariance import get_family
from gaussmix.core.missing_blocks import Precisions, whitened_chunk_stats
from gaussmix.core.missing_diagonal import (
    diagonal_chunk_stats,
    has_diagonal_precisions,
)
from gaussmix.core.missing_pairs import CentredMixture
from gaussmix.core.params import MixtureParams


def _diagonal_params(rng, n_components, n_features, spread, covariance_type):
    family = get_family(covariance_type)
    if covariance_type == "diag":
        covariances = rng.uniform(0.2, 3.0, size=(n_components, n_features))
    else:
        covariances = rng.uniform(0.2, 3.0, size=n_components)
    return MixtureParams(
        weights=rng.dirichlet(np.ones(n_components)),
        means=rng.normal(scale=spread, size=(n_components, n_features)),
        covariances=covariances,
        precisions_cholesky=family.precision_cholesky(covariances),
        covariance_type=covariance_type,
    )


@given(
    covariance_type=st.sampled_from(["diag", "spherical"]),
    n_features=st.integers(1, 6),
    n_components=st.integers(1, 5),
    share=st.floats(0.0, 0.8),
    spread=st.sampled_from([0.5, 3.0, 30.0]),
    noise=st.booleans(),
    seed=st.integers(0, 10**6),
)
@settings(max_examples=60, deadline=None)
def test_the_diagonal_e_step_equals_the_pair_by_pair_one(
    covariance_type, n_features, n_components, share, spread, noise, seed
):
    rng = np.random.RandomState(seed)
    params = _diagonal_params(rng, n_components, n_features, spread, covariance_type)
    labels = rng.choice(n_components, size=80, p=params.weights)
    X = params.means[labels] + rng.normal(size=(80, n_features))
    hidden = rng.uniform(size=X.shape) < share
    hidden[np.arange(80), rng.randint(0, n_features, 80)] = False
    X[hidden] = np.nan
    weights = rng.uniform(0.0, 2.0, size=80)
    components = Precisions.of(params)
    assert has_diagonal_precisions(components)
    log_noise = rng.uniform(-30.0, -5.0, size=80) if noise else None
    ours = diagonal_chunk_stats(
        X, hidden, weights, CentredMixture(components), log_noise
    )
    reference = whitened_chunk_stats(X, hidden, weights, components, "diag", log_noise)
    if ours is None:  # the centre would round worse: the general E-step runs
        return
    if noise:
        (ours, our_noise), (reference, reference_noise) = ours, reference
        assert our_noise == pytest.approx(reference_noise, rel=1e-9, abs=1e-12)
    assert ours.scatter_kind == reference.scatter_kind == "diag"
    np.testing.assert_array_equal(ours.shift, reference.shift)
    assert ours.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-10)
    scale = max(reference.resp_sum.max(), 1e-300)
    np.testing.assert_allclose(ours.resp_sum, reference.resp_sum, atol=1e-10 * scale)
    for name in ("centred_sum", "scatter"):
        expected = getattr(reference, name)
        np.testing.assert_allclose(
            getattr(ours, name),
            expected,
            atol=1e-9 * max(np.abs(expected).max(), 1e-300),
        )


def test_full_precisions_are_not_diagonal():
    rng = np.random.RandomState(0)
    factor = rng.normal(size=(2, 3, 3))
    covariances = factor @ factor.transpose(0, 2, 1) + np.eye(3)
    params = MixtureParams(
        weights=np.array([0.5, 0.5]),
        means=rng.normal(size=(2, 3)),
        covariances=covariances,
        precisions_cholesky=get_family("full").precision_cholesky(covariances),
        covariance_type="full",
    )
    assert not has_diagonal_precisions(Precisions.of(params))
