"""MixtureDensityRegressor against known conditional densities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

torch = pytest.importorskip("torch")

from gaussmix.nn import ConditionalMixtureDensity, MixtureDensityRegressor  # noqa: E402
from tests._devices import (  # noqa: E402
    TORCH_DEVICES,
    assert_same_streams,
    random_streams,
)
from tests._threads import threads  # noqa: E402

FAST = dict(hidden_layer_sizes=(16,), max_epochs=30, random_state=0)

# A fit on a GPU starts from the CPU's weights and takes the CPU's batches,
# so it follows the CPU's fit up to float32 rounding (its sums run in
# another order), which a few epochs of Adam amplify a little
CUDA_FIT_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def two_branch(n_samples, seed, noise=0.05):
    """``y = ±sqrt(x) + noise``: rows, targets and the true ``log p(y | x)``."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(0.0, 1.0, n_samples)
    branch = rng.choice([-1.0, 1.0], n_samples)
    y = branch * np.sqrt(x) + noise * rng.normal(size=n_samples)
    true = logsumexp(
        [norm.logpdf(y, np.sqrt(x), noise), norm.logpdf(y, -np.sqrt(x), noise)],
        axis=0,
    ) + np.log(0.5)
    return x[:, None], y, true


def test_two_branch_mixture_beats_a_gaussian_network():
    X, y, _ = two_branch(1000, seed=0)
    X_test, y_test, true = two_branch(3000, seed=1)
    mixture = MixtureDensityRegressor(3, **FAST).fit(X, y)
    gaussian = MixtureDensityRegressor(1, **FAST).fit(X, y)
    true_nll = -true.mean()
    mixture_nll = -mixture.score(X_test, y_test)
    gaussian_nll = -gaussian.score(X_test, y_test)
    assert mixture_nll < true_nll + 0.2
    assert gaussian_nll > true_nll + 1.0
    # both branches predicted: the mixture is bimodal where branches separate
    distribution = mixture.predict_distribution(np.array([[0.81]]))
    grid = torch.linspace(-1.5, 1.5, 601, dtype=torch.float64)[:, None]
    density = distribution[[0] * len(grid)].log_prob(grid).exp()
    assert density[grid[:, 0] > 0].max() > 5 * density[grid[:, 0].abs() < 0.2].max()
    assert density[grid[:, 0] < 0].max() > 5 * density[grid[:, 0].abs() < 0.2].max()


@pytest.mark.slow
def test_two_branch_acceptance_within_five_hundredths_of_a_nat():
    X, y, _ = two_branch(10_000, seed=0)
    X_test, y_test, true = two_branch(5000, seed=1)
    mixture = MixtureDensityRegressor(random_state=0).fit(X, y)
    assert -mixture.score(X_test, y_test) < -true.mean() + 0.05


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_same_seed_same_fit_and_different_seed_different_fit(device):
    X, y, _ = two_branch(300, seed=2)
    settings = dict(FAST, max_epochs=5, device=device)
    first = MixtureDensityRegressor(2, **settings).fit(X, y).predict(X)
    again = MixtureDensityRegressor(2, **settings).fit(X, y).predict(X)
    other = MixtureDensityRegressor(2, **dict(settings, random_state=1)).fit(X, y)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other.predict(X))
    if device != "cpu":
        # the same fit as the CPU's, up to rounding
        on_cpu = dict(settings, device="cpu")
        expected = MixtureDensityRegressor(2, **on_cpu).fit(X, y).predict(X)
        np.testing.assert_allclose(first, expected, **CUDA_FIT_TOLERANCE)


def test_same_seed_same_fit_on_two_threads():
    X, y, _ = two_branch(200, seed=2)
    settings = dict(FAST, max_epochs=3)
    with threads(2):
        fits = [MixtureDensityRegressor(2, **settings).fit(X, y) for _ in range(2)]
        scores = [model.score_samples(X, y) for model in fits]
    np.testing.assert_array_equal(scores[1], scores[0])


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_linear_gaussian_with_correlated_outputs(device):
    """y = A x + e with correlated e: one full component learns it exactly."""
    rng = np.random.RandomState(0)
    A = np.array([[2.0, -1.0], [0.5, 1.0]])
    noise = np.array([[0.3, 0.2], [0.2, 0.4]])
    X = rng.normal(size=(2000, 2))
    Y = X @ A.T + rng.multivariate_normal([0, 0], noise, size=2000) + [10.0, -5.0]
    model = MixtureDensityRegressor(
        1,
        hidden_layer_sizes=(),
        max_epochs=100,
        batch_size=500,
        learning_rate=0.02,
        early_stopping=False,
        random_state=0,
        device=device,
    ).fit(X, Y)
    X_test = rng.normal(size=(500, 2))
    Y_test = X_test @ A.T + rng.multivariate_normal([0, 0], noise, 500) + [10, -5]
    true = np.mean(
        [
            multivariate_normal(A @ x + [10.0, -5.0], noise).logpdf(t)
            for x, t in zip(X_test, Y_test, strict=True)
        ]
    )
    assert model.score(X_test, Y_test) == pytest.approx(true, abs=0.05)
    prediction = model.predict(X_test)
    assert prediction.shape == (500, 2)
    errors = np.abs(prediction - (X_test @ A.T + [10, -5]))
    assert errors.mean() < 0.05 and errors.max() < 0.2
    covariance = model.predict_distribution(X_test[:1]).covariance()[0].numpy()
    np.testing.assert_allclose(covariance, noise, atol=0.05)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_outputs_have_the_targets_shape_and_units(device):
    X, y, _ = two_branch(400, seed=3)
    y = 100.0 + 10.0 * y
    settings = dict(FAST, max_epochs=10, device=device)
    model = MixtureDensityRegressor(2, **settings).fit(X, y)
    assert all(p.device.type == device for p in model.network_.parameters())
    assert model.predict(X[:7]).shape == (7,)
    assert model.predict_mode(X[:7]).shape == (7,)
    assert model.sample(X[:7], random_state=0).shape == (7,)
    assert model.score_samples(X[:7], y[:7]).shape == (7,)
    distribution = model.predict_distribution(X[:7])
    assert isinstance(distribution, ConditionalMixtureDensity)
    # on the CPU in float64, wherever the network ran
    assert distribution.means.dtype == torch.float64
    assert distribution.means.device.type == "cpu"
    assert 80.0 < float(distribution.mean().mean()) < 120.0
    assert model.n_outputs_ == 1 and model.n_features_in_ == 1
    assert len(model.loss_curve_) == model.n_epochs_
    assert len(model.validation_loss_curve_) == model.n_epochs_
    assert 1 <= model.best_epoch_ <= model.n_epochs_


def test_early_stopping_stops_and_keeps_the_best_epoch():
    X, y, _ = two_branch(300, seed=4)
    model = MixtureDensityRegressor(
        2,
        hidden_layer_sizes=(16,),
        max_epochs=500,
        n_iter_no_change=3,
        tol=0.5,
        random_state=0,
    ).fit(X, y)
    assert model.n_epochs_ < 500
    assert model.n_epochs_ - model.best_epoch_ == 3
    kept = model.validation_loss_curve_[model.best_epoch_ - 1]
    assert kept <= min(model.validation_loss_curve_) + 0.5


def test_verbose_shows_a_progress_bar(capsys):
    X, y, _ = two_branch(200, seed=5)
    MixtureDensityRegressor(2, **dict(FAST, max_epochs=2), verbose=1).fit(X, y)
    assert "MDN" in capsys.readouterr().err


def test_hyperparameters_are_stored_verbatim_and_clonable():
    model = MixtureDensityRegressor(3, hidden_layer_sizes=[8, 8], tol=0, max_epochs=5)
    assert model.get_params()["hidden_layer_sizes"] == [8, 8]
    assert clone(model).get_params() == model.get_params()
    model.fit(*two_branch(100, seed=6)[:2])
    assert model.hidden_layer_sizes == [8, 8]


@pytest.mark.parametrize(
    ("settings", "error", "match"),
    [
        ({"n_components": 0}, ValueError, "n_components"),
        ({"covariance_type": "VVV"}, ValueError, "covariance_type"),
        ({"hidden_layer_sizes": (8, "wide")}, TypeError, "hidden_layer_sizes"),
        ({"activation": "sigmoid"}, ValueError, "activation"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"validation_fraction": 1.5}, ValueError, "validation_fraction"),
        ({"device": "toaster"}, ValueError, "torch device"),
    ],
)
def test_bad_hyperparameters_are_reported(settings, error, match):
    X, y, _ = two_branch(50, seed=7)
    with pytest.raises(error, match=match):
        MixtureDensityRegressor(**settings).fit(X, y)


def test_bad_data_is_reported():
    X, y, _ = two_branch(50, seed=8)
    with pytest.raises(NotFittedError):
        MixtureDensityRegressor().predict(X)
    with pytest.raises(ValueError, match="validation"):
        MixtureDensityRegressor(validation_fraction=0.001).fit(X[:5], y[:5])
    with pytest.raises(ValueError, match="NaN"):
        MixtureDensityRegressor().fit(np.full_like(X, np.nan), y)
    model = MixtureDensityRegressor(2, **dict(FAST, max_epochs=1)).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="outputs"):
        model.score(X, np.zeros((len(X), 2)))


def test_constant_target_gives_a_finite_fit():
    X = np.linspace(0, 1, 100)[:, None]
    model = MixtureDensityRegressor(2, **FAST).fit(X, np.ones(100))
    assert np.isfinite(model.score(X, np.ones(100)))
    np.testing.assert_allclose(model.predict(X), 1.0, atol=0.05)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_fit_leaves_the_callers_random_streams_alone(device):
    X, y, _ = two_branch(100, seed=3)
    before = random_streams()
    MixtureDensityRegressor(2, **dict(FAST, max_epochs=2, device=device)).fit(X, y)
    assert_same_streams(before, random_streams())


@pytest.mark.parametrize("column", ["x", "y"])
def test_one_gross_outlier_leaves_the_other_rows_fit(column):
    # one value of 1e6 among values of order one set the standardisation:
    # with it in y the predictions of the other rows were off by about 400
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (300, 1))
    y = 2.0 * x[:, 0] + 0.1 * rng.standard_normal(300)
    clean = MixtureDensityRegressor(n_components=2, **FAST).fit(x, y)
    if column == "x":
        x = x.copy()
        x[0] = 1e6
    else:
        y = y.copy()
        y[0] = 1e6
    model = MixtureDensityRegressor(n_components=2, **FAST).fit(x, y)
    # the other rows are predicted about as well as without the far value
    error = np.sqrt(np.mean((model.predict(x[1:]) - 2.0 * x[1:, 0]) ** 2))
    clean_error = np.sqrt(np.mean((clean.predict(x[1:]) - 2.0 * x[1:, 0]) ** 2))
    assert error < 2 * clean_error + 0.05
    assert np.isfinite(model.predict(x[:1])).all()
