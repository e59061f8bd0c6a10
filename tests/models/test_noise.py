"""GaussianMixture(noise=True): a uniform noise component of density 1/V."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import gaussmix
from gaussmix import DegenerateComponentWarning, GaussianMixture
from gaussmix.core.noise import clutter_mask
from gaussmix.fit.noise import region_log_volume
from gaussmix.fit.sources import InMemorySource

SEPARATED_CENTRES = 8.0


@parametrize_with_checks(
    [GaussianMixture(2, noise=True, max_iter=20)],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": (
            "the noise start's nearest-neighbour clutter rule sees rows, not "
            "weights: a repeated row is its own nearest neighbour"
        )
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def clusters_with_noise(n_features: int, fraction: float, seed: int, n: int = 900):
    """Three unit-variance clusters 8 apart, with ``fraction`` of the rows
    replaced by uniform noise over a box 10 times as wide as the clusters'.

    Returns the rows, the true cluster of each (-1 for noise) and the centres.
    """
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, n_features))
    centres[1, 0] = centres[2, 1] = SEPARATED_CENTRES
    labels = np.repeat(np.arange(3), n // 3)
    X = centres[labels] + rng.standard_normal((n, n_features))
    lower, upper = X.min(axis=0), X.max(axis=0)
    middle, width = (lower + upper) / 2, 10 * (upper - lower)
    replaced = rng.choice(n, round(fraction * n), replace=False)
    X[replaced] = middle + (rng.random((len(replaced), n_features)) - 0.5) * width
    labels[replaced] = -1
    return X, labels, centres


def worst_mean_error(means: np.ndarray, centres: np.ndarray) -> float:
    """Largest distance between a centre and its matched fitted mean."""
    distances = np.linalg.norm(means[:, None] - centres[None], axis=2)
    rows, columns = linear_sum_assignment(distances)
    return float(distances[rows, columns].max())


def reference_log_density(model: GaussianMixture, X: np.ndarray) -> np.ndarray:
    """log(pi_0 / V + sum_k pi_k N(x | mu_k, Sigma_k)), by scipy."""
    columns = [
        np.log(w) + multivariate_normal(m, c).logpdf(X)
        for w, m, c in zip(
            model.weights_, model.means_, model.covariances_, strict=True
        )
    ]
    columns.append(
        np.full(len(X), np.log(model.noise_proportion_) - np.log(model.noise_volume_))
    )
    return logsumexp(np.column_stack(columns), axis=1)


# ----------------------------------------------------------------------
# EM
@pytest.mark.parametrize(
    "covariance_type", ["full", "diag", "spherical", "tied", "VVE"]
)
def test_em_never_lowers_the_log_likelihood(covariance_type):
    X, _, _ = clusters_with_noise(3, 0.1, seed=1, n=600)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(X))
    model = GaussianMixture(
        3,
        covariance_type=covariance_type,
        noise=True,
        reg_covar=0.0,
        tol=0.0,
        max_iter=40,
        random_state=0,
    ).fit(X, sample_weight=weights)
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) == 40
    assert bounds[-1] > bounds[0]
    # EM: each step is a non-decrease, up to float64 rounding of the sums;
    # VVE's M-step is itself iterative, stopped at a tolerance, so its
    # maximisation (and hence the increase) is exact only to about 1e-10
    slack = 1e-9 if covariance_type == "VVE" else 1e-12
    assert np.all(np.diff(bounds) >= -slack * np.abs(bounds[1:]))


def test_score_samples_is_the_mixture_plus_noise_density():
    X, _, _ = clusters_with_noise(2, 0.05, seed=3)
    model = GaussianMixture(3, noise=True, random_state=0).fit(X)
    np.testing.assert_allclose(
        model.score_samples(X), reference_log_density(model, X), rtol=1e-10
    )
    # the weights and the noise proportion are the mixture's shares
    assert model.weights_.sum() + model.noise_proportion_ == pytest.approx(1.0)
    assert model.lower_bound_ == pytest.approx(model.score(X), abs=1e-3)


def test_predict_proba_has_the_noise_column_last_and_predict_marks_it():
    X, _, _ = clusters_with_noise(2, 0.1, seed=4)
    model = GaussianMixture(3, noise=True, random_state=0).fit(X)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # posterior of the noise: (pi_0 / V) / p(x)
    expected = np.exp(
        np.log(model.noise_proportion_)
        - np.log(model.noise_volume_)
        - reference_log_density(model, X)
    )
    np.testing.assert_allclose(proba[:, -1], expected, rtol=1e-8, atol=1e-300)
    labels = model.predict(X)
    likeliest = proba.argmax(axis=1)
    np.testing.assert_array_equal(labels, np.where(likeliest == 3, -1, likeliest))


def test_bic_and_aic_count_the_noise_proportion():
    X, _, _ = clusters_with_noise(2, 0.05, seed=5)
    model = GaussianMixture(3, noise=True, random_state=0).fit(X)
    # full covariances in 2-D: 2 free weights + 6 means + 9 covariance entries,
    # plus the noise proportion
    assert model.n_parameters() == 2 + 6 + 9 + 1
    total = reference_log_density(model, X).sum()
    assert model.bic(X) == pytest.approx(-2 * total + 18 * np.log(len(X)))
    assert model.aic(X) == pytest.approx(-2 * total + 2 * 18)


# ----------------------------------------------------------------------
# robustness
@pytest.mark.parametrize("n_features", [2, 10])
@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.05, 0.1])
def test_noise_keeps_the_clusters(n_features, fraction):
    X, labels, centres = clusters_with_noise(n_features, fraction, seed=0)
    clean = labels >= 0
    noisy = GaussianMixture(3, noise=True, random_state=0).fit(X)
    assert adjusted_rand_score(labels[clean], noisy.predict(X)[clean]) >= 0.95
    noisy_error = worst_mean_error(noisy.means_, centres)
    # a mean from 300 unit-variance rows is off by about sqrt(D / 300)
    assert noisy_error < 0.5
    if fraction == 0.1:
        plain = GaussianMixture(3, random_state=0).fit(X)
        assert noisy_error < 0.05 * worst_mean_error(plain.means_, centres)


def faithful_like(seed: int, n_noise: int = 30):
    """Two elongated, correlated clusters in Old Faithful's proportions and
    units (eruption minutes, waiting minutes), plus uniform noise over a box
    three times as wide; the last ``n_noise`` rows are the noise."""
    rng = np.random.default_rng(seed)
    short = rng.multivariate_normal([2.0, 54.5], [[0.07, 0.5], [0.5, 34.0]], 97)
    long = rng.multivariate_normal([4.3, 80.0], [[0.17, 0.9], [0.9, 34.0]], 173)
    X = np.vstack([short, long])
    lower, upper = X.min(axis=0), X.max(axis=0)
    noise = (lower + upper) / 2 + (rng.random((n_noise, 2)) - 0.5) * 3 * (upper - lower)
    return np.vstack([X, noise]), np.r_[np.zeros(len(X), bool), np.ones(n_noise, bool)]


def test_select_model_prefers_the_noise_model_by_bic():
    X, added = faithful_like(seed=1)
    grid = {"n_components": range(1, 4), "covariance_types": ["EII", "VVI", "VVV"]}
    plain = gaussmix.select_model(X, **grid, random_state=0)
    noisy = gaussmix.select_model(X, **grid, noise=True, random_state=0)
    assert np.nanmin(noisy.bic) < np.nanmin(plain.bic)
    best = noisy.best_model
    assert best.n_components == 2 and hasattr(best, "noise_proportion_")
    flagged = best.predict(X) == -1
    precision = (flagged & added).sum() / flagged.sum()
    recall = (flagged & added).sum() / added.sum()
    assert precision >= 0.8 and recall >= 0.8
    # the tables count the noise proportion: one more parameter than without
    np.testing.assert_array_equal(noisy.n_parameters, plain.n_parameters + 1)


# ----------------------------------------------------------------------
# no noise, and the noise's settings
def test_noise_false_is_the_fit_without_the_parameter():
    X, _, _ = clusters_with_noise(2, 0.05, seed=6)
    default = GaussianMixture(3, random_state=0).fit(X)
    explicit = GaussianMixture(3, noise=False, random_state=0).fit(X)
    refit = GaussianMixture(3, noise=True, random_state=0).fit(X)
    refit.set_params(noise=False).fit(X)
    for other in (explicit, refit):
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            assert getattr(other, name).tobytes() == getattr(default, name).tobytes()
        assert other.lower_bounds_ == default.lower_bounds_
        assert not hasattr(other, "noise_proportion_")
    assert default.predict_proba(X).shape == (len(X), 3)


def test_box_volume_is_the_product_of_the_ranges():
    rng = np.random.default_rng(7)
    X = rng.uniform([0, 10, -5], [2, 13, 5], (500, 3))
    expected = np.prod(X.max(axis=0) - X.min(axis=0))
    volume = np.exp(region_log_volume(InMemorySource(X, None, 64), "box"))
    assert volume == pytest.approx(expected, rel=1e-12)


def test_pca_box_hugs_a_rotated_rectangle_and_auto_takes_the_smaller():
    # a 10 x 1 rectangle turned by 45 degrees: its own box has area 10, the
    # box along the axes (11 / sqrt 2)^2 = 60.5
    rng = np.random.default_rng(8)
    flat = rng.uniform([0, 0], [10, 1], (20_000, 2))
    turn = np.array([[1, -1], [1, 1]]) / np.sqrt(2)
    X = flat @ turn.T
    source = InMemorySource(X, None, None)
    pca = np.exp(region_log_volume(source, "pca_box"))
    box = np.exp(region_log_volume(source, "box"))
    assert pca == pytest.approx(10.0, rel=0.01)
    # the corners are sparsely hit: 20,000 rows reach them within a few percent
    assert box == pytest.approx(60.5, rel=0.03)
    assert np.exp(region_log_volume(source, "auto")) == pytest.approx(pca)
    model = GaussianMixture(1, noise=True, noise_volume="pca_box", random_state=0)
    assert model.fit(X).noise_volume_ == pytest.approx(pca)


def test_given_volume_is_used_in_the_data_units():
    X, _, _ = clusters_with_noise(2, 0.05, seed=9)
    model = GaussianMixture(3, noise=True, noise_volume=1e4, random_state=0).fit(X)
    assert model.noise_volume_ == pytest.approx(1e4)
    scaled = GaussianMixture(
        3, noise=True, noise_volume=1e4, reg_covar_scale="variance", random_state=0
    ).fit(X)
    assert scaled.noise_volume_ == pytest.approx(1e4)
    np.testing.assert_allclose(scaled.means_, model.means_, atol=1e-3)


def test_pca_box_of_rows_on_a_line_is_refused_and_auto_uses_the_box():
    X = np.column_stack([np.arange(50.0), 2 * np.arange(50.0)])
    source = InMemorySource(X, None, None)
    with pytest.raises(ValueError, match="do not span"):
        region_log_volume(source, "pca_box")
    assert region_log_volume(source, "auto") == pytest.approx(np.log(49 * 98))


def test_noise_init_mask_starts_the_noise():
    X, labels, centres = clusters_with_noise(2, 0.1, seed=10)
    model = GaussianMixture(3, noise=True, random_state=0)
    model.fit(X, noise_init=labels == -1)
    assert worst_mean_error(model.means_, centres) < 0.5
    assert model.noise_proportion_ == pytest.approx(0.1, abs=0.02)
    with pytest.raises(ValueError, match="boolean array"):
        model.fit(X, noise_init=np.ones(5, dtype=bool))
    with pytest.raises(ValueError, match="some rows"):
        model.fit(X, noise_init=np.zeros(len(X), dtype=bool))
    with pytest.raises(ValueError, match="noise=True only"):
        GaussianMixture(3).fit(X, noise_init=labels == -1)


@pytest.mark.parametrize(
    "settings",
    [{"noise": "yes"}, {"noise_volume": "sphere"}, {"noise_volume": -1.0}],
)
def test_bad_noise_settings_are_refused(settings):
    X, _, _ = clusters_with_noise(2, 0.0, seed=11, n=30)
    with pytest.raises(ValueError):
        GaussianMixture(2, noise=True).set_params(**settings).fit(X)


def test_clutter_mask_finds_uniform_clutter():
    X, labels, _ = clusters_with_noise(2, 0.1, seed=12)
    mask = clutter_mask(X, 10)
    truth = labels == -1
    assert (mask & truth).sum() / mask.sum() >= 0.9
    assert (mask & truth).sum() / truth.sum() >= 0.9


# ----------------------------------------------------------------------
# data sources and streaming
def test_files_and_chunks_give_the_in_memory_fit(tmp_path):
    X, _, _ = clusters_with_noise(3, 0.05, seed=13, n=600)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    in_memory = GaussianMixture(3, noise=True, random_state=0).fit(X)
    on_disk = GaussianMixture(3, noise=True, chunk_size=97, random_state=0).fit(
        np.load(path, mmap_mode="r")
    )
    np.testing.assert_allclose(on_disk.means_, in_memory.means_, rtol=1e-9)
    assert on_disk.noise_proportion_ == pytest.approx(in_memory.noise_proportion_)
    assert on_disk.noise_volume_ == pytest.approx(in_memory.noise_volume_)


def test_partial_fit_keeps_weights_and_noise_summing_to_one():
    X, _, centres = clusters_with_noise(2, 0.1, seed=14, n=1800)
    order = np.random.default_rng(0).permutation(len(X))
    model = GaussianMixture(3, noise=True, random_state=0)
    for rows in np.array_split(order, 6):
        model.partial_fit(X[rows])
        assert model.weights_.sum() + model.noise_proportion_ == pytest.approx(1.0)
    assert model.noise_proportion_ == pytest.approx(0.1, abs=0.03)
    assert worst_mean_error(model.means_, centres) < 0.5
    with pytest.raises(ValueError, match="noise"):
        model.set_params(noise=False).partial_fit(X[:10])


def test_sample_draws_from_the_gaussians():
    X, _, _ = clusters_with_noise(2, 0.1, seed=15)
    model = GaussianMixture(3, noise=True, random_state=0).fit(X)
    _, components = model.sample(3000)
    shares = np.bincount(components, minlength=3) / 3000
    expected = model.weights_ / model.weights_.sum()
    np.testing.assert_allclose(shares, expected, atol=0.04)


def tiny_unit_rows() -> tuple[np.ndarray, np.ndarray]:
    """Two clusters 5 apart in 3 columns, and the same rows times 1e-12."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(5, 1, (30, 3))])
    return X, X * 1e-12


@pytest.mark.filterwarnings("ignore::gaussmix.RegCovarWarning")
@pytest.mark.filterwarnings("ignore:Mixture components:UserWarning")
def test_noise_with_all_the_weight_warns_and_sample_says_why():
    X, tiny = tiny_unit_rows()
    # reg_covar=1e-6 is added in the data's units: no Gaussian's density
    # exceeds (2 pi 1e-6)^(-3/2), about 6e7, while the noise's uniform
    # density over the rows' box is above 1e33; the noise explains every
    # row better, so the maximum-likelihood fit is all noise
    box = float(np.prod(np.ptp(tiny, axis=0)))
    assert (2 * np.pi * 1e-6) ** -1.5 * 1e20 < 1 / box
    model = GaussianMixture(2, noise=True, random_state=0)
    with pytest.warns(
        DegenerateComponentWarning,
        match=r"noise component took all the weight.*reg_covar_scale='variance'",
    ):
        model.fit(tiny)
    assert model.noise_proportion_ == 1.0
    assert not model.weights_.any()
    np.testing.assert_array_equal(model.predict(tiny), -1)
    # sample draws from the Gaussians alone (documented): none to draw from
    with pytest.raises(ValueError, match="noise component holds all"):
        model.sample(3)
    # the remedy the messages name: reg_covar in each column's own units
    # gives the fit of the unit-scale rows
    rescaled = GaussianMixture(
        2, noise=True, reg_covar_scale="variance", random_state=0
    ).fit(tiny)
    reference = GaussianMixture(2, noise=True, random_state=0).fit(X)
    assert adjusted_rand_score(rescaled.predict(tiny), reference.predict(X)) == 1.0
    assert rescaled.sample(5)[0].shape == (5, 3)


def test_dask_and_torch_give_the_numpy_fit():
    X, _, _ = clusters_with_noise(2, 0.1, seed=16, n=600)
    reference = GaussianMixture(3, noise=True, random_state=0).fit(X)
    dask = pytest.importorskip("dask")
    array = pytest.importorskip("dask.array")
    with dask.config.set(scheduler="synchronous"):
        blocks = GaussianMixture(3, noise=True, random_state=0).fit(
            array.from_array(X, chunks=128)
        )
    np.testing.assert_allclose(blocks.means_, reference.means_, rtol=1e-9)
    assert blocks.noise_proportion_ == pytest.approx(reference.noise_proportion_)
    torch = pytest.importorskip("torch")
    tensors = GaussianMixture(3, noise=True, random_state=0).fit(torch.as_tensor(X))
    np.testing.assert_allclose(tensors.means_.numpy(), reference.means_, rtol=1e-9)
    labels = tensors.predict(torch.as_tensor(X)).numpy()
    np.testing.assert_array_equal(labels, reference.predict(X))


def test_warm_start_continues_the_noise_fit():
    X, _, _ = clusters_with_noise(2, 0.1, seed=17)
    model = GaussianMixture(
        3, noise=True, warm_start=True, max_iter=3, tol=0.0, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        model.fit(X)
    first = list(model.lower_bounds_)
    with pytest.warns(ConvergenceWarning):
        model.fit(X)
    # the second fit starts where the first ended: EM keeps climbing
    assert model.lower_bounds_[0] >= first[-1] - 1e-12
    assert model.lower_bounds_[-1] >= model.lower_bounds_[0]
