"""HDDC's M-step, dimension choice and parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from gaussmix.core.hddc import (
    HDDC_MODELS,
    HDDCParams,
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


COMMON_ORIENTATION = ["AkjBkQD", "AkjBQD", "AjBkQD", "AkBkQD", "AkBQD", "ABkQD"]


def _shared_eigenvectors(rng, n_features=6):
    # two covariances with the same eigenvectors; every leading variance
    # above every trailing one, so the pooled covariance has the same axes
    basis = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    values = np.array([[9.0, 4.0, 0.5, 0.4, 0.3, 0.2], [6.0, 5.0, 0.9, 0.1, 0.6, 0.3]])
    return basis, values, np.array([basis @ np.diag(v) @ basis.T for v in values])


def test_a_common_orientation_recovers_shared_eigenvectors_in_closed_form():
    rng = np.random.default_rng(3)
    basis, values, covariances = _shared_eigenvectors(rng)
    counts = np.array([20.0, 60.0])
    params = hddc_m_step(
        counts, np.zeros((2, 6)), covariances, HDDC_MODELS["AkjBkQD"], n_dims=2
    )
    # the signal subspace is the span of the first two shared axes, a_kj
    # the component's own variances along them, b_k the mean of the rest
    projector = basis[:, :2] @ basis[:, :2].T
    for k in range(2):
        q = params.components[k]
        np.testing.assert_allclose(q @ q.T, projector, atol=1e-10)
        np.testing.assert_allclose(
            np.sort(params.signal[k]), np.sort(values[k, :2]), rtol=1e-10
        )
        assert params.noise[k] == pytest.approx(values[k, 2:].mean(), rel=1e-10)
    expected = basis @ np.diag([9.0, 4.0] + [values[0, 2:].mean()] * 4) @ basis.T
    np.testing.assert_allclose(params.covariances().dense()[0], expected, atol=1e-10)
    shared = hddc_m_step(
        counts, np.zeros((2, 6)), covariances, HDDC_MODELS["AkjBQD"], n_dims=2
    )
    rest = counts @ values[:, 2:].sum(1) / counts.sum() / 4
    np.testing.assert_allclose(shared.noise, rest, rtol=1e-10)


@pytest.mark.parametrize("name", COMMON_ORIENTATION)
def test_a_common_orientation_step_never_lowers_the_objective(name):
    # a generalised EM step: from any parameters with the same dimension,
    # the step's objective is at least theirs
    model = HDDC_MODELS[name]
    rng = np.random.default_rng(4)
    counts = np.array([15.0, 35.0])
    covariances = _sample_covariances(rng, n_features=3)
    for seed in range(5):
        other = _sample_covariances(np.random.default_rng(seed + 10), n_features=3)
        previous = hddc_m_step(counts, np.zeros((2, 3)), other, model, n_dims=1)
        step = hddc_m_step(
            counts, np.zeros((2, 3)), covariances, model, n_dims=1, previous=previous
        )
        assert _objective(counts, covariances, step) >= _objective(
            counts, covariances, previous
        ) - 1e-10 * abs(_objective(counts, covariances, previous))
        # given its own orientation, no other variances do better
        assert step.components[0] @ step.components[0].T == pytest.approx(
            step.components[1] @ step.components[1].T
        )


def test_common_orientation_models_count_their_variances():
    K, D, d = 3, 10, 2
    dims = np.full(K, d)
    rho = K * D + K - 1
    tau = d * (D - (d + 1) / 2)
    # orientation once; a: K d, d, K or 1; b: K or 1; one dimension
    assert (
        hddc_n_parameters(HDDC_MODELS["AkjBkQD"], dims, D) == rho + tau + K * d + K + 1
    )
    assert hddc_n_parameters(HDDC_MODELS["AjBkQD"], dims, D) == rho + tau + d + K + 1
    assert hddc_n_parameters(HDDC_MODELS["AkBQD"], dims, D) == rho + tau + K + 1 + 1
    assert hddc_n_parameters(HDDC_MODELS["AjBQD"], dims, D) == rho + tau + d + 1 + 1


def test_a_better_orientation_than_the_pooled_one_is_kept():
    # the pooled covariance's leading axis is not the likelihood's best
    # common axis when the components' variances differ; from the best of
    # many axes (variances given each axis: a_k = q^T S_k q, b_k the rest
    # per remaining dimension), the step must not fall back
    rng = np.random.default_rng(5)
    counts = np.array([10.0, 40.0])
    covariances = np.array(
        [np.diag([30.0, 0.1, 0.1]), np.diag([0.5, 8.0, 7.5])]
    ) + 0.01 * _sample_covariances(rng, n_features=3)
    model = HDDC_MODELS["AkjBkQD"]
    weights = counts / counts.sum()
    traces = np.trace(covariances, axis1=1, axis2=2)

    def given_axis(q):
        a = np.einsum("d,kde,e->k", q, covariances, q)
        return HDDCParams(
            weights,
            np.zeros((2, 3)),
            np.repeat(q[None, :, None], 2, axis=0),
            a[:, None],
            (traces - a) / 2,
            np.ones(2, dtype=int),
        )

    axes = rng.normal(size=(4000, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    best = max(
        (given_axis(q) for q in axes),
        key=lambda params: _objective(counts, covariances, params),
    )
    pooled = hddc_m_step(counts, np.zeros((2, 3)), covariances, model, n_dims=1)
    # the case is one where the pooled axis loses
    assert _objective(counts, covariances, pooled) < _objective(
        counts, covariances, best
    )
    step = hddc_m_step(
        counts, np.zeros((2, 3)), covariances, model, n_dims=1, previous=best
    )
    assert _objective(counts, covariances, step) >= _objective(
        counts, covariances, best
    )


def _graded_covariances():
    """Two covariances with one variance 1e16 times the others'.

    Returns them and the variance left off that column given it, the Schur
    complement's trace: the same in any units of the column.
    """
    rng = np.random.default_rng(0)
    covariances, rest = [], []
    for _ in range(2):
        rows = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4))
        S = np.cov(rows.T, bias=True)
        rest.append(np.trace(S[:3, :3] - np.outer(S[:3, 3], S[3, :3]) / S[3, 3]))
        units = np.array([1.0, 1.0, 1.0, 1e8])
        covariances.append(S * np.outer(units, units))
    return np.array(covariances), np.array(rest)


def _variance_off(covariance, q):
    """``tr S - q^T S q / |q|^2`` with the huge last column's term cancelled
    by hand: ``q_4^2 S_44`` appears in both and never enters the sum."""
    u, last = q[:3], q[3]
    S3, s, s44 = covariance[:3, :3], covariance[:3, 3], covariance[3, 3]
    norm = u @ u + last**2
    return (
        (u @ u) * s44 + norm * np.trace(S3) - 2 * last * (u @ s) - u @ S3 @ u
    ) / norm


def _one_dimension_m_step(covariances: np.ndarray, model: str):
    """Two components of 50 rows, one intrinsic dimension, ``reg_covar=1e-6``."""
    return hddc_m_step(
        np.array([50.0, 50.0]),
        np.zeros((2, 4)),
        covariances,
        HDDC_MODELS[model],
        n_dims=1,
        floor=1e-12,
        reg_covar=1e-6,
    )


def test_the_noise_survives_a_column_in_huge_units():
    # tr S - a, both near 1e16, used to leave rounding (or 0) for the noise;
    # off each component's own leading direction it is the other columns'
    # variance given the huge one (to about 1e-16 relative)
    covariances, rest = _graded_covariances()
    params = _one_dimension_m_step(covariances, "AkjBkQkDk")
    np.testing.assert_allclose(params.noise, rest / 3 + 1e-6, rtol=1e-8)


def test_the_noise_off_a_common_direction_survives_a_column_in_huge_units():
    # a shared direction is each component's only approximately: the noise
    # is what each covariance leaves off it, in closed form
    covariances, _ = _graded_covariances()
    params = _one_dimension_m_step(covariances, "AkjBkQD")
    q = params.components[0][:, 0]
    expected = [_variance_off(c, q) / 3 + 1e-6 for c in covariances]
    np.testing.assert_allclose(params.noise, expected, rtol=1e-8)


def test_an_infinite_covariance_is_a_clear_error():
    covariances = np.array([np.eye(3), np.full((3, 3), np.inf)])
    with pytest.raises(ValueError, match=r"too large.*Rescale the data"):
        hddc_m_step(
            np.array([5.0, 5.0]), np.zeros((2, 3)), covariances, HDDC_MODELS["ABQD"]
        )
