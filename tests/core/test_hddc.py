"""HDDC's M-step, dimension choice and parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from gaussmix.core.hddc import (
    HDDC_MODELS,
    bic_dimension,
    cattell_dimension,
    hddc_m_step,
    hddc_n_parameters,
)


def test_cattell_keeps_dimensions_up_to_the_last_large_gap():
    values = np.array([9.0, 5.0, 4.5, 1.0, 0.95, 0.9])
    # gaps 4, 0.5, 3.5, 0.05, 0.05: the last of at least 0.2 * 4 is the third
    assert cattell_dimension(values, 0.2) == 3
    assert cattell_dimension(values, 0.9) == 1
    assert cattell_dimension(np.ones(4), 0.2) == 1


def test_bic_finds_the_signal_dimension():
    values = np.array([50.0, 30.0, 20.0] + [1.0] * 17)
    assert bic_dimension(values, 500, 500) == 3


def _objective(counts, covariances, params):
    dense = params.covariances().dense()
    _, log_det = np.linalg.slogdet(dense)
    trace = np.einsum("kde,ked->k", np.linalg.inv(dense), covariances)
    return float(counts @ (np.log(params.weights) - 0.5 * (log_det + trace)))


def _sample_covariances(rng, n_components=2, n_features=3):
    covariances = []
    for _ in range(n_components):
        rows = rng.normal(size=(40, n_features)) * rng.uniform(0.5, 3, n_features)
        covariances.append(np.cov(rows @ rng.normal(size=(3, 3)), rowvar=False))
    return np.array(covariances)


def _dense(model, theta, n_components=2):
    # per component: a direction (normalised), b and a > b (the paper's
    # constraint: the signal varies more than the noise), shared or not
    directions = theta[:6].reshape(2, 3)
    if model.common_q:
        directions = np.repeat(directions[:1], 2, axis=0)
    q = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    theta = np.clip(theta, -20, 20)
    b = np.exp(theta[8:10] if model.b == "k" else theta[[8, 8]])
    if model.a in ("kj", "k"):
        a = b + np.exp(theta[6:8])
    else:
        a = np.full(2, b.max() + np.exp(theta[6]))
    if model.common_q:
        a, b = a[[0, 0]], b[[0, 0]]
    eye = np.eye(3)
    return np.array(
        [
            a[k] * np.outer(q[k], q[k]) + b[k] * (eye - np.outer(q[k], q[k]))
            for k in range(n_components)
        ]
    )


@pytest.mark.parametrize("name", ["AkjBkQkDk", "AkBQkDk", "ABkQkD", "ABQkDk", "ABQD"])
def test_the_m_step_is_the_maximum_likelihood(name):
    model = HDDC_MODELS[name]
    rng = np.random.default_rng(0)
    covariances = _sample_covariances(rng)
    counts = np.array([15.0, 35.0])
    params = hddc_m_step(
        counts, np.zeros((2, 3)), covariances, model, n_dims=1, floor=1e-12
    )
    ours = _objective(counts, covariances, params)
    weights = counts / counts.sum()

    def negative(theta):
        dense = _dense(model, theta)
        _, log_det = np.linalg.slogdet(dense)
        trace = np.einsum("kde,ked->k", np.linalg.inv(dense), covariances)
        return -float(counts @ (np.log(weights) - 0.5 * (log_det + trace)))

    best = min(
        (
            optimize.minimize(negative, rng.normal(size=10), method="BFGS")
            for _ in range(4)
        ),
        key=lambda result: result.fun,
    )
    assert ours >= -best.fun - 1e-6 * abs(best.fun)


def test_the_covariance_is_signal_plus_isotropic_noise():
    rng = np.random.default_rng(1)
    covariances = np.array(
        [np.cov(rng.normal(size=(30, 5)) * [5, 3, 1, 1, 1], rowvar=False)]
    )
    params = hddc_m_step(
        np.array([30.0]),
        np.zeros((1, 5)),
        covariances,
        HDDC_MODELS["AkjBkQkDk"],
        n_dims=2,
    )
    q, a, b = params.components[0], params.signal[0], params.noise[0]
    expected = q @ np.diag(a) @ q.T + b * (np.eye(5) - q @ q.T)
    np.testing.assert_allclose(params.covariances().dense()[0], expected, atol=1e-12)
    values = np.linalg.eigvalsh(covariances[0])[::-1]
    np.testing.assert_allclose(a, values[:2])
    assert b == pytest.approx(values[2:].mean())


def test_parameter_counts_follow_bouveyron_girard_and_schmid():
    # table 1: rho = K D + K - 1, tau_k = d_k (D - (d_k + 1) / 2)
    K, D = 3, 10
    dims = np.array([2, 3, 4])
    rho = K * D + K - 1
    tau = sum(d * (D - (d + 1) / 2) for d in dims)
    assert (
        hddc_n_parameters(HDDC_MODELS["AkjBkQkDk"], dims, D)
        == rho + tau + 2 * K + dims.sum()
    )
    assert hddc_n_parameters(HDDC_MODELS["ABQkDk"], dims, D) == rho + tau + K + 2
    d = 3
    common = np.full(K, d)
    tau_d = d * (D - (d + 1) / 2)
    assert (
        hddc_n_parameters(HDDC_MODELS["AkjBkQkD"], common, D)
        == rho + K * (tau_d + d + 1) + 1
    )
    assert hddc_n_parameters(HDDC_MODELS["ABQD"], common, D) == rho + tau_d + 3
