"""DAGMM through its public API."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.datasets import load_digits, load_wine
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

torch = pytest.importorskip("torch")

from gaussmix.deep import DAGMM  # noqa: E402
from gaussmix.deep.dagmm_defaults import default_max_epochs  # noqa: E402
from gaussmix.deep.energy import shrink_correlations  # noqa: E402
from tests._devices import (  # noqa: E402
    TORCH_DEVICES,
    assert_same_streams,
    host,
    random_streams,
)
from tests._threads import threads  # noqa: E402
from tests.deep._restore import restored  # noqa: E402
from tests.deep.rows import assert_one_row_as_among_others  # noqa: E402

FAST = {
    "hidden_layer_sizes": (16,),
    "latent_dim": 2,
    "max_epochs": 20,
    "batch_size": 32,
}

# the CPU's fitted state scored on a GPU: the float32 networks' sums run in
# another order there, and the energy's Mahalanobis terms (tight covariances)
# amplify that rounding, so scores agree to float32 precision, not to the bit
# (the CPU keeps assert_allclose's rtol=1e-7)
CUDA_SCORE_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data, data.target


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return DAGMM(2, contamination=0.1, random_state=0, **FAST).fit(X[y == 0][:120])


@pytest.fixture(scope="module")
def fitted_cuda(digits):
    X, y = digits
    model = DAGMM(2, contamination=0.1, random_state=0, device="cuda", **FAST)
    return model.fit(X[y == 0][:120])


@pytest.fixture
def fitted_on(request, device):
    """The shared fit made on ``device`` (each made only when a test asks)."""
    return request.getfixturevalue("fitted" if device == "cpu" else "fitted_cuda")


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_score_is_log_density_of_features_under_scipy_mixture(digits, fitted_on):
    X, fitted = digits[0][:50], fitted_on
    features = fitted.transform(X)
    assert features.shape == (50, 4)
    log_densities = np.stack(
        [
            np.log(w) + multivariate_normal(m, c).logpdf(features)
            for w, m, c in zip(
                fitted.weights_, fitted.means_, fitted.covariances_, strict=True
            )
        ],
        axis=1,
    )
    np.testing.assert_allclose(
        fitted.score_samples(X), logsumexp(log_densities, axis=1), rtol=1e-7, atol=1e-7
    )


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_outlier_detector_conventions(digits, fitted_on):
    X, y = digits
    fitted = fitted_on
    train = X[y == 0][:120]
    np.testing.assert_allclose(
        fitted.decision_function(X), fitted.score_samples(X) - fitted.offset_
    )
    labels = fitted.predict(train)
    assert set(np.unique(labels)) <= {-1, 1}
    assert abs(np.mean(labels == -1) - 0.1) < 0.02


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_other_digits_score_as_anomalies(digits, fitted_on):
    X, y = digits
    fitted = fitted_on
    test = slice(1000, None)
    assert roc_auc_score(y[test] == 0, fitted.score_samples(X[test])) > 0.8


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_seed_repeats_and_state_restores(digits, fitted, fitted_on, device):
    X, y = digits
    again = DAGMM(2, contamination=0.1, random_state=0, device=device, **FAST)
    again.fit(X[y == 0][:120])
    np.testing.assert_array_equal(
        again.score_samples(X[:30]), fitted_on.score_samples(X[:30])
    )
    # the state fitted on the CPU, rebuilt on ``device``
    copy = restored(fitted).set_params(device=device)
    tolerance = {} if device == "cpu" else CUDA_SCORE_TOLERANCE
    np.testing.assert_allclose(
        copy.score_samples(X[:30]), fitted.score_samples(X[:30]), **tolerance
    )
    np.testing.assert_allclose(
        copy.transform(X[:30]), fitted.transform(X[:30]), **tolerance
    )


def test_seed_repeats_the_fit_on_two_threads(digits):
    X, y = digits
    settings = {**FAST, "max_epochs": 2}
    with threads(2):
        scores = [
            DAGMM(2, contamination=0.1, random_state=0, **settings)
            .fit(X[y == 0][:64])
            .score_samples(X[:30])
            for _ in range(2)
        ]
    np.testing.assert_array_equal(scores[1], scores[0])


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_constant_rows_do_not_give_nan(device):
    X = np.full((30, 4), 2.0)
    settings = {**FAST, "max_epochs": 3}
    model = DAGMM(2, random_state=0, device=device, **settings).fit(X)
    assert np.all(np.isfinite(model.score_samples(X)))


def test_bad_input_is_named(digits, fitted):
    X = digits[0]
    with pytest.raises(ValueError, match="NaN"):
        DAGMM(**FAST).fit(np.where(np.eye(*X.shape) > 0, np.nan, X))
    with pytest.raises(ValueError, match="2-D array"):
        DAGMM(**FAST).fit(X[:, :, None])
    with pytest.raises(ValueError, match="expecting 64 features"):
        fitted.score_samples(X[:, :10])
    with pytest.raises(ValueError, match="contamination"):
        DAGMM(contamination=0.7).fit(X)
    with pytest.raises(TypeError, match="hidden_layer_sizes"):
        DAGMM(hidden_layer_sizes=("wide",)).fit(X)
    with pytest.raises(ValueError, match="weight_decay"):
        DAGMM(weight_decay=-1.0).fit(X)


def test_default_sizes_follow_the_data(digits):
    X, y = digits
    model = DAGMM(random_state=0, max_epochs=2, hidden_layer_sizes=(16,))
    model.fit(X[y == 0][:90])
    assert model.n_components is None and model.latent_dim is None
    assert model.latent_dim_ == 10 and model.n_components_ == 1
    assert model.transform(X[:5]).shape == (5, 12)
    assert model.means_.shape == (1, 12)
    wide = DAGMM(random_state=0, max_epochs=1, hidden_layer_sizes=(4,))
    wide.fit(np.random.default_rng(0).normal(size=(2000, 6)))
    assert wide.latent_dim_ == 1 and wide.n_components_ == 4


def test_training_length_defaults_to_a_step_budget():
    # a single batch: the pass limit, 500, not 2,000 passes
    X = np.random.default_rng(1).normal(size=(20, 3))
    model = DAGMM(1, latent_dim=1, hidden_layer_sizes=(4,), random_state=0).fit(X)
    assert model.max_epochs is None
    assert len(model.loss_curve_) == 500
    assert default_max_epochs(2000, 2) == 2
    # otherwise about 2,000 steps (within one pass), or 500 passes if fewer
    for n_samples in (200, 1000, 5000, 100_000):
        steps_per_pass = -(-n_samples // 128)
        steps = default_max_epochs(n_samples, 128) * steps_per_pass
        budget = min(2000, 500 * steps_per_pass)
        assert abs(steps - budget) <= steps_per_pass


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_shrinkage_keeps_variances_and_scales_correlations(device):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 4, 4))
    covariances = torch.as_tensor(A @ A.transpose(0, 2, 1) + np.eye(4), device=device)
    shrunk = shrink_correlations(covariances, 0.25)
    assert shrunk.device == covariances.device
    shrunk = host(shrunk)
    sd = np.sqrt(np.diagonal(A @ A.transpose(0, 2, 1) + np.eye(4), axis1=1, axis2=2))
    correlation = host(covariances) / (sd[:, :, None] * sd[:, None, :])
    shrunk_correlation = shrunk / (sd[:, :, None] * sd[:, None, :])
    np.testing.assert_allclose(np.diagonal(shrunk_correlation, axis1=1, axis2=2), 1.0)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(
        shrunk_correlation[:, off], 0.75 * correlation[:, off], rtol=1e-12
    )


def test_default_shrinkage_follows_the_batch(digits):
    X, y = digits
    settings = {**FAST, "max_epochs": 1}
    small = DAGMM(1, random_state=0, **settings).fit(X[y == 0][:20])
    assert small.covariance_shrinkage_ == pytest.approx(4 / (4 + 20))
    large = DAGMM(1, random_state=0, **settings).fit(X[:300])  # batches of 32
    assert large.covariance_shrinkage_ == pytest.approx(4 / (4 + 32))
    fixed = DAGMM(1, covariance_shrinkage=0.0, random_state=0, **settings)
    assert fixed.fit(X[:300]).covariance_shrinkage_ == 0.0
    assert fixed.covariance_shrinkage == 0.0


def test_scores_do_not_depend_on_the_units(digits):
    X, y = digits
    rows = X[y == 3][:80]
    settings = {**FAST, "max_epochs": 5}
    scores = [
        DAGMM(1, random_state=0, **settings)
        .fit(scale * rows + shift)
        .score_samples(scale * X[:40] + shift)
        for scale, shift in ((1.0, 0.0), (250.0, -7.0))
    ]
    np.testing.assert_allclose(scores[1], scores[0], rtol=1e-3, atol=1e-3)


def test_model_fitted_before_the_error_choice_keeps_the_relative_error(digits):
    X, y = digits
    settings = {**FAST, "max_epochs": 3}
    old = DAGMM(1, reconstruction_error="relative", random_state=0, **settings)
    old.fit(X[y == 0][:60])
    copy = restored(old)
    del copy.relative_error_, copy.covariance_shrinkage_
    copy.set_params(reconstruction_error="absolute")  # an older file's default
    np.testing.assert_allclose(copy.transform(X[:20]), old.transform(X[:20]))


def test_far_rows_do_not_look_well_reconstructed():
    # standardised wine, one cultivar normal: the other cultivars lie far from
    # its mean, which the relative error divides away
    X, y = load_wine(return_X_y=True)
    normal = X[y == 0][::2]
    scaler = StandardScaler().fit(normal)
    test = scaler.transform(np.delete(X, np.flatnonzero(y == 0)[::2], axis=0))
    is_normal = np.delete(y, np.flatnonzero(y == 0)[::2]) == 0
    auroc = {
        error: roc_auc_score(
            is_normal,
            DAGMM(reconstruction_error=error, max_epochs=100, random_state=0)
            .fit(scaler.transform(normal))
            .score_samples(test),
        )
        for error in ("absolute", "relative")
    }
    assert auroc["absolute"] > 0.9
    assert auroc["absolute"] > auroc["relative"]


def test_new_settings_are_checked(digits):
    X = digits[0][:50]
    with pytest.raises(ValueError, match="covariance_shrinkage"):
        DAGMM(covariance_shrinkage=1.0, **FAST).fit(X)
    with pytest.raises(ValueError, match="reconstruction_error"):
        DAGMM(reconstruction_error="squared", **FAST).fit(X)
    with pytest.raises(ValueError, match="max_epochs"):
        DAGMM(max_epochs=0).fit(X)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_fit_leaves_the_callers_random_streams_alone(digits, device):
    X, y = digits
    before = random_streams()
    settings = dict(FAST, max_epochs=2, device=device)
    DAGMM(2, random_state=0, **settings).fit(X[y == 1][:60])
    assert_same_streams(before, random_streams())


def test_one_new_row_scores_as_among_others(digits, fitted):
    methods = ("predict", "score_samples", "decision_function", "transform")
    assert_one_row_as_among_others(fitted, digits[0], methods, 5, rtol=1e-5, atol=1e-6)


def test_a_row_beyond_float32_is_the_farthest_outlier(digits, fitted):
    rows = digits[0][:3].copy()
    rows[0, 0] = 1e300
    scores = fitted.score_samples(rows)
    assert scores[0] == -np.inf
    assert np.all(np.isfinite(scores[1:]))
    assert fitted.predict(rows)[0] == -1


def test_a_dataframe_fits_without_a_feature_name_warning(digits):
    pandas = pytest.importorskip("pandas")
    X, y = digits
    frame = pandas.DataFrame(X[y == 0][:120], columns=[f"p{i}" for i in range(64)])
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*feature names.*")
        model = DAGMM(2, contamination=0.1, random_state=0, **FAST).fit(frame)
    assert list(model.feature_names_in_) == list(frame.columns)


def test_no_training_row_sits_on_the_offset(digits):
    # 121 rows: the 10th percentile of their scores is one row's score
    # exactly, which the rounding of another batch of rows could flip
    X, y = digits
    rows = X[y == 0][:121]
    model = DAGMM(2, contamination=0.1, random_state=0, **FAST).fit(rows)
    decision = model.decision_function(rows)
    assert np.abs(decision).min() > 0.0
    assert np.sum(decision < 0) == 12  # floor(0.1 * 121)
    alone = np.concatenate([model.predict(row[None]) for row in rows])
    np.testing.assert_array_equal(alone, model.predict(rows))


def test_fit_transform_is_fit_then_transform(digits):
    X, y = digits
    rows = X[y == 0][:60]
    together = DAGMM(2, random_state=0, **FAST).fit_transform(rows)
    apart = DAGMM(2, random_state=0, **FAST).fit(rows).transform(rows)
    np.testing.assert_array_equal(together, apart)
    assert together.shape[0] == len(rows)


def test_one_gross_outlier_in_training_neither_blinds_nor_hides(digits):
    # one value of 1e6 among pixels of 0-16: scaled with the others it made
    # them all alike and the detector ranked anomalies at chance (AUROC
    # 0.48); left out of the training, it is flagged itself
    from sklearn.metrics import roc_auc_score

    X, y = digits
    normal = X[y == 0]
    train = normal[:120].copy()
    train[0] = 1e6
    model = DAGMM(2, contamination=0.1, random_state=0, **FAST).fit(train)
    test = np.vstack([normal[120:], X[y == 1][:60]])
    is_anomaly = np.r_[np.zeros(len(normal) - 120), np.ones(60)]
    assert roc_auc_score(is_anomaly, -model.score_samples(test)) > 0.9
    assert model.predict(train[:1])[0] == -1
    # contamination still counts every training row, the far one included
    assert np.sum(model.predict(train) == -1) == 12
