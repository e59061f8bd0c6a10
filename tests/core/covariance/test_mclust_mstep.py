"""mclust's 14 models: each M-step against an independent computation.

The M-step maximises ``Q = sum_k n_k (-log|Sigma_k| - tr(S_k Sigma_k^-1)) / 2``
under the model's constraint. Closed forms are checked against formulas
written out here; every model is also checked against a direct numerical
maximisation of Q over an unconstrained parametrisation of the model, and
its estimate is checked to satisfy the model's constraint.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.optimize import minimize

from gaussmix.core.covariance import get_family
from gaussmix.core.covariance.mclust_parts import MCLUST_MODELS
from gaussmix.core.mstep import m_step
from gaussmix.core.stats import Stats
from gaussmix.fit.chunks import responsibilities_stats

N_FEATURES = 3
N_COMPONENTS = 3


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(1)
    labels = rng.randint(N_COMPONENTS, size=90)
    mixing = rng.normal(size=(N_COMPONENTS, N_FEATURES, N_FEATURES))
    X = np.einsum("ni,nij->nj", rng.normal(size=(90, N_FEATURES)), mixing[labels])
    # responsibilities that lean towards the true labels: distinct components
    resp = rng.dirichlet(np.full(N_COMPONENTS, 0.3), size=90)
    resp[np.arange(90), labels] += 2.0
    resp /= resp.sum(1, keepdims=True)
    w = rng.uniform(0.5, 2.0, size=90)
    r = resp * w[:, None]
    nk = r.sum(0)
    means = (r.T @ X) / nk[:, None]
    sample_covs = np.stack(
        [((X - m) * r[:, [k]]).T @ (X - m) / nk[k] for k, m in enumerate(means)]
    )
    return X, resp, w, nk, sample_covs


def _mstep(problem, model, reg=0.0):
    X, resp, w, _, _ = problem
    family = get_family(model)
    stats = responsibilities_stats(X, resp, w, family.scatter_kind, chunk_size=31)
    params = m_step(stats, model, reg)
    return family.full_covariances(params.covariances, N_COMPONENTS, N_FEATURES)


def _q(covs, nk, sample_covs):
    _, logdet = np.linalg.slogdet(covs)
    trace = np.einsum("kij,kji->k", sample_covs, np.linalg.inv(covs))
    return float(-0.5 * nk @ (logdet + trace))


def _skew(values):
    out = np.zeros((N_FEATURES, N_FEATURES))
    out[np.triu_indices(N_FEATURES, 1)] = values
    return out - out.T


def _model_covariances(model, theta):
    """Sigma_k = lambda_k D_k A_k D_k^T from unconstrained numbers."""
    volume, shape, orientation = model
    n_vol = 1 if volume == "E" else N_COMPONENTS
    n_shape = {"I": 0, "E": 1, "V": N_COMPONENTS}[shape]
    n_orient = {"I": 0, "E": 1, "V": N_COMPONENTS}[orientation]
    n_angles = N_FEATURES * (N_FEATURES - 1) // 2
    log_vol = theta[:n_vol]
    theta = theta[n_vol:]
    shapes = theta[: n_shape * N_FEATURES].reshape(n_shape, N_FEATURES)
    theta = theta[n_shape * N_FEATURES :]
    angles = theta[: n_orient * n_angles].reshape(n_orient, n_angles)
    covs = []
    for k in range(N_COMPONENTS):
        lam = np.exp(log_vol[min(k, n_vol - 1)])
        a = shapes[min(k, n_shape - 1)] if n_shape else np.zeros(N_FEATURES)
        a = np.exp(a - a.mean())
        d = expm(_skew(angles[min(k, n_orient - 1)])) if n_orient else np.eye(3)
        covs.append(lam * (d * a) @ d.T)
    return np.stack(covs), n_vol + (n_shape * N_FEATURES) + n_orient * n_angles


def _numerical_maximum(model, nk, sample_covs, seed=0):
    _, size = _model_covariances(model, np.zeros(100))
    rng = np.random.RandomState(seed)

    def objective(theta):
        return -_q(_model_covariances(model, theta)[0], nk, sample_covs) / nk.sum()

    best = -np.inf
    for start in [np.zeros(size), rng.normal(scale=0.5, size=size)]:
        result = minimize(objective, start, method="BFGS", options={"gtol": 1e-9})
        best = max(best, -result.fun * nk.sum())
    return best


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_mstep_is_at_least_as_good_as_direct_maximisation(problem, model):
    _, _, _, nk, sample_covs = problem
    ours = _q(_mstep(problem, model), nk, sample_covs)
    direct = _numerical_maximum(model, nk, sample_covs)
    # the direct search must not beat the M-step, and should get close to it
    assert ours >= direct - 1e-8 * abs(direct)
    assert ours - direct < 1e-6 * abs(direct)


def _volumes(covs):
    return np.exp(np.linalg.slogdet(covs)[1] / N_FEATURES)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_mstep_satisfies_the_models_constraint(problem, model):
    covs = _mstep(problem, model)
    volume, shape, orientation = model
    volumes = _volumes(covs)
    scaled = covs / volumes[:, None, None]
    if volume == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=1e-9)
    if orientation == "I":
        off = covs - np.einsum("kii->ki", covs)[:, :, None] * np.eye(N_FEATURES)
        np.testing.assert_allclose(off, 0.0, atol=1e-12)
    if orientation == "E":
        for a, b in itertools.combinations(covs, 2):
            np.testing.assert_allclose(a @ b, b @ a, atol=1e-9 * np.abs(a @ b).max())
    if shape == "E" and orientation != "V":
        np.testing.assert_allclose(scaled, np.broadcast_to(scaled[0], scaled.shape))
    if shape == "E" and orientation == "V":
        spectra = np.linalg.eigvalsh(scaled)
        np.testing.assert_allclose(spectra, np.broadcast_to(spectra[0], spectra.shape))
    if volume == "V" and shape == "V" and orientation == "V":
        assert not np.allclose(volumes, volumes[0], rtol=1e-3)


def test_closed_forms(problem):
    _, _, _, nk, s = problem
    w = nk / nk.sum()
    diagonals = np.einsum("kii->ki", s)
    pooled = np.einsum("k,kij->ij", w, s)
    np.testing.assert_allclose(_mstep(problem, "VVV"), s, rtol=1e-9)
    np.testing.assert_allclose(_mstep(problem, "EEE")[1], pooled, rtol=1e-9)
    np.testing.assert_allclose(
        np.einsum("kii->ki", _mstep(problem, "VVI")), diagonals, rtol=1e-9
    )
    np.testing.assert_allclose(
        _mstep(problem, "EEI")[2], np.diag(w @ diagonals), rtol=1e-9
    )
    np.testing.assert_allclose(
        _mstep(problem, "EII")[0], np.eye(3) * (w @ diagonals.mean(1)), rtol=1e-9
    )
    # EVI: B_k = diag(W_k) / |diag(W_k)|^(1/d), lambda = sum_k |diag(W_k)|^(1/d) / n
    geo = np.prod(diagonals, axis=1) ** (1 / 3)
    np.testing.assert_allclose(
        np.einsum("kii->ki", _mstep(problem, "EVI")),
        (w @ geo) * diagonals / geo[:, None],
        rtol=1e-9,
    )
    # EVV: C_k = W_k / |W_k|^(1/d), lambda = sum_k |W_k|^(1/d) / n
    det_root = np.linalg.det(s) ** (1 / 3)
    np.testing.assert_allclose(
        _mstep(problem, "EVV"),
        (w @ det_root) * s / det_root[:, None, None],
        rtol=1e-9,
    )
    # EEV: W_k = L_k Omega_k L_k^T; Sigma_k = L_k (sum_k Omega_k / n) L_k^T
    values, vectors = np.linalg.eigh(s)
    shared = w @ values
    expected = np.stack([(v * shared) @ v.T for v in vectors])
    np.testing.assert_allclose(_mstep(problem, "EEV"), expected, rtol=1e-9)


def _scatter_plus(stats: Stats, amount: float) -> Stats:
    """The same Stats with ``amount * n_k * I`` added to every scatter."""
    n_features = stats.centred_sum.shape[1]
    if stats.scatter_kind == "full":
        extra = stats.resp_sum[:, None, None] * np.eye(n_features)
    elif stats.scatter_kind == "diag":
        extra = stats.resp_sum[:, None] * np.ones(n_features)
    else:
        extra = stats.resp_sum.sum() * np.eye(n_features)
    return Stats(
        resp_sum=stats.resp_sum,
        centred_sum=stats.centred_sum,
        scatter=stats.scatter + amount * extra,
        shift=stats.shift,
        scatter_kind=stats.scatter_kind,
        total_weight=stats.total_weight,
    )


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_reg_covar_acts_on_the_component_scatter(problem, model):
    X, resp, w, _, _ = problem
    family = get_family(model)
    stats = responsibilities_stats(X, resp, w, family.scatter_kind)
    regularised = m_step(stats, model, 0.3).covariances
    shifted = m_step(_scatter_plus(stats, 0.3), model, 0.0).covariances
    np.testing.assert_allclose(regularised, shifted, rtol=1e-7)


# free parameters of the covariances for d=4 features and G=3 components,
# counted by hand from lambda_k D_k A_k D_k^T: a volume is 1 number, a shape
# d-1, an orientation d(d-1)/2 = 6
HAND_COUNTS_D4_G3 = {
    "EII": 1,
    "VII": 3,
    "EEI": 1 + 3,
    "VEI": 3 + 3,
    "EVI": 1 + 3 * 3,
    "VVI": 3 * 4,
    "EEE": 1 + 3 + 6,
    "VEE": 3 + 3 + 6,
    "EVE": 1 + 3 * 3 + 6,
    "VVE": 3 + 3 * 3 + 6,
    "EEV": 1 + 3 + 3 * 6,
    "VEV": 3 + 3 + 3 * 6,
    "EVV": 1 + 3 * 3 + 3 * 6,
    "VVV": 3 * 10,
}


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_parameter_counts(model):
    family = get_family(model)
    assert family.n_covariance_parameters(3, 4) == HAND_COUNTS_D4_G3[model]
    assert family.n_parameters(3, 4) == HAND_COUNTS_D4_G3[model] + 2 + 12


def test_vev_with_two_components_on_four_features_has_26_parameters():
    # mclust's df for iris VEV,2: 1 weight + 8 means + 17 covariance numbers
    assert get_family("VEV").n_parameters(2, 4) == 26


def test_counts_agree_for_one_component():
    by_layout = {}
    for model in MCLUST_MODELS:
        _, shape, orientation = model
        kind = "sphere" if shape == "I" else ("axes" if orientation == "I" else "full")
        by_layout.setdefault(kind, set()).add(get_family(model).n_parameters(1, 5))
    assert by_layout == {"sphere": {1 + 5}, "axes": {5 + 5}, "full": {15 + 5}}


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_degenerate_scatter_gives_finite_covariances(model):
    # one component on a single point and reg_covar=0: singular scatter
    X = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 0.5], [2.0, 1.0, 1.5], [5.0, 5.0, 5.0]])
    resp = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    family = get_family(model)
    stats = responsibilities_stats(X, resp, None, family.scatter_kind)
    params = m_step(stats, model, 0.0)
    assert np.all(np.isfinite(params.covariances))
    assert np.all(np.isfinite(params.precisions_cholesky))


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_one_component_on_badly_scaled_columns_is_the_sample_covariance(model):
    # columns in units a million apart and a constant one: with one component
    # every model with free orientation (or axes, or a sphere) reaches its
    # closed form however the iterations scale the pooled matrix
    rng = np.random.RandomState(3)
    X = rng.normal(size=(40, 3)) * [1e3, 0.0, 5e2]
    X[:, 1] = 7e3
    X[:, 2] += 0.1 * X[:, 0]
    resp = np.ones((40, 1))
    family = get_family(model)
    stats = responsibilities_stats(X, resp, None, family.scatter_kind)
    reg = 1e-6
    covariance = np.cov(X, rowvar=False, bias=True) + reg * np.eye(3)
    _, shape, orientation = model
    if shape == "I":
        expected = np.eye(3) * np.trace(covariance) / 3
    elif orientation == "I":
        expected = np.diag(np.diag(covariance))
    else:
        expected = covariance
    got = family.full_covariances(m_step(stats, model, reg).covariances, 1, 3)[0]
    np.testing.assert_allclose(
        np.linalg.eigvalsh(got), np.linalg.eigvalsh(expected), rtol=1e-6
    )
