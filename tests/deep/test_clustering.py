"""DeepGaussianMixtureClustering through its public API."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import load_digits, make_blobs, make_circles
from sklearn.metrics import adjusted_rand_score

torch = pytest.importorskip("torch")

from gaussmix.deep import ConvEncoder, DeepGaussianMixtureClustering  # noqa: E402
from gaussmix.deep.clustering_start import merge_components  # noqa: E402
from gaussmix.deep.clustering_training import (  # noqa: E402
    JOINT_EPOCHS,
    MIN_JOINT_STEPS,
    MIN_PATIENCE_STEPS,
    PATIENCE_EPOCHS,
    joint_budget,
)
from tests._devices import TORCH_DEVICES, host  # noqa: E402
from tests._threads import threads  # noqa: E402
from tests.deep._restore import restored  # noqa: E402
from tests.deep.rows import assert_one_row_as_among_others  # noqa: E402

FAST = {
    "hidden_layer_sizes": (16,),
    "latent_dim": 2,
    "pretrain_epochs": 15,
    "max_epochs": 15,
    "batch_size": 32,
    "n_neighbors": 5,
    "n_autoencoders": 1,
}

# the CPU's fitted state evaluated on a GPU: float32 networks whose sums run
# in another order, so values agree to float32 rounding, a few ulps of the
# largest terms, not to the bit (the CPU keeps assert_allclose's rtol=1e-7)
CUDA_PROBA_TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}
CUDA_VALUE_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(
        n_samples=150, centers=3, n_features=5, cluster_std=0.6, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def fitted(blobs):
    return DeepGaussianMixtureClustering(3, random_state=0, **FAST).fit(blobs[0])


@pytest.fixture(scope="module")
def fitted_cuda(blobs):
    return DeepGaussianMixtureClustering(3, random_state=0, device="cuda", **FAST).fit(
        blobs[0]
    )


@pytest.fixture
def fitted_on(request, device):
    """The shared fit made on ``device`` (each made only when a test asks)."""
    return request.getfixturevalue("fitted" if device == "cpu" else "fitted_cuda")


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_recovers_separated_clusters(blobs, fitted_on):
    assert adjusted_rand_score(blobs[1], fitted_on.labels_) > 0.95


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_outputs_are_consistent(blobs, fitted_on):
    X, fitted = blobs[0], fitted_on
    proba = fitted.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(fitted.predict(X), proba.argmax(1))
    np.testing.assert_array_equal(fitted.labels_, fitted.predict(X))
    assert fitted.transform(X).shape == (150, 2)
    scores = fitted.score_samples(X)
    assert scores.shape == (150,) and np.all(np.isfinite(scores))
    np.testing.assert_allclose(fitted.weights_.sum(), 1.0, rtol=1e-6)
    assert fitted.means_.shape == (3, 2) and fitted.covariances_.shape == (3, 2, 2)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_rows_far_from_the_data_score_lower(blobs, fitted_on):
    X, fitted = blobs[0], fitted_on
    far = X + 30.0
    assert fitted.score_samples(far).max() < np.median(fitted.score_samples(X))


def _thread_counts():
    from threadpoolctl import threadpool_info

    counts = sorted(info["num_threads"] for info in threadpool_info())
    return torch.get_num_threads(), counts


@pytest.fixture(scope="module")
def shared_fit_threads(fitted):
    return _thread_counts()


def test_shared_fit_runs_with_the_tests_thread_count(shared_fit_threads):
    # the seed test compares the shared fit with one made inside the test;
    # torch and BLAS may round differently with another thread count
    assert shared_fit_threads == _thread_counts()


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_seed_repeats_the_fit(blobs, fitted_on, device):
    fitted = fitted_on
    again = DeepGaussianMixtureClustering(3, random_state=0, device=device, **FAST).fit(
        blobs[0]
    )
    np.testing.assert_array_equal(again.transform(blobs[0]), fitted.transform(blobs[0]))
    assert again.loss_curve_ == fitted.loss_curve_


def test_seed_repeats_the_fit_on_two_threads(blobs):
    X = blobs[0]
    settings = {**FAST, "pretrain_epochs": 2, "max_epochs": 2, "n_autoencoders": 2}
    with threads(2):
        fits = [
            DeepGaussianMixtureClustering(3, random_state=0, **settings).fit(X)
            for _ in range(2)
        ]
        codes = [model.transform(X) for model in fits]
    np.testing.assert_array_equal(codes[1], codes[0])
    assert fits[1].loss_curve_ == fits[0].loss_curve_
    assert fits[1].pretrain_loss_curve_ == fits[0].pretrain_loss_curve_


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_restores_from_plain_state(blobs, fitted, device):
    # the state fitted on the CPU, rebuilt on ``device``
    X = blobs[0]
    copy = restored(fitted).set_params(device=device)
    on_cpu = device == "cpu"
    proba = {} if on_cpu else CUDA_PROBA_TOLERANCE
    values = {} if on_cpu else CUDA_VALUE_TOLERANCE
    np.testing.assert_allclose(copy.predict_proba(X), fitted.predict_proba(X), **proba)
    np.testing.assert_allclose(copy.transform(X), fitted.transform(X), **values)
    np.testing.assert_allclose(copy.score_samples(X), fitted.score_samples(X), **values)


@pytest.fixture(scope="module")
def fitted_shared(blobs):
    model = DeepGaussianMixtureClustering(
        3, noise_variance="shared", random_state=0, **FAST
    )
    return model.fit(blobs[0])


@pytest.mark.parametrize("per_feature", [False, True])
def test_the_fitted_noise_decides_the_rebuilt_networks(
    blobs, fitted, fitted_shared, per_feature
):
    # the hyperparameter changed after the fit (or absent from a model
    # saved before it existed) does not change the fitted model
    model = fitted if per_feature else fitted_shared
    assert np.ndim(model.network_state_["log_noise_variance"]) == per_feature
    other = "shared" if per_feature else "per_feature"
    copy = restored(model).set_params(noise_variance=other)
    X = blobs[0]
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(copy.score_samples(X), model.score_samples(X))


def test_noise_per_feature_follows_what_the_codes_can_hold():
    # three clusters in two standardised columns and two columns of pure
    # noise: two-dimensional codes hold the clusters' columns, whose noise
    # variances fall far below their unit variance, and cannot hold all
    # four, so some noise column keeps most of its variance
    draw = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    clusters = np.repeat(np.arange(3), 60)
    X = np.hstack(
        [
            centres[clusters] + draw.normal(size=(180, 2)),
            3.0 * draw.normal(size=(180, 2)),
        ]
    )
    X = (X - X.mean(0)) / X.std(0)
    model = DeepGaussianMixtureClustering(3, latent_dim=2, random_state=1)
    with threads(1):
        model.fit(X)
    variances = np.exp(model.network_state_["log_noise_variance"]) * model.x_scale_**2
    assert variances.shape == (4,)
    assert variances[:2].max() < 0.2
    assert variances[2:].max() > 0.5
    assert adjusted_rand_score(clusters, model.labels_) > 0.9


def test_hyperparameters_are_not_modified(blobs):
    model = DeepGaussianMixtureClustering(3, random_state=0, **FAST)
    before = model.get_params()
    model.fit(blobs[0])
    assert model.get_params() == before


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_convolutional_encoder_on_images(device):
    images = load_digits().data[:60] / 16.0
    encoder = ConvEncoder((1, 8, 8), conv_channels=(4,), out_features=8)
    model = DeepGaussianMixtureClustering(
        3,
        encoder=encoder,
        reconstruction="bernoulli",
        latent_dim=2,
        pretrain_epochs=2,
        max_epochs=2,
        n_neighbors=0,
        random_state=0,
        device=device,
    ).fit(images)
    assert model.transform(images).shape == (60, 2)
    assert model.encoder is encoder  # copied, not trained in place
    assert all(p.device.type == "cpu" for p in encoder.parameters())  # nor moved
    assert np.all(np.isfinite(model.score_samples(images)))


@pytest.mark.filterwarnings("ignore::gaussmix.DegenerateComponentWarning")
@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_constant_rows_do_not_give_nan(device):
    X = np.ones((20, 3))
    model = DeepGaussianMixtureClustering(2, random_state=0, device=device, **FAST)
    model.fit(X)
    assert np.all(np.isfinite(model.predict_proba(X)))


def test_bad_input_is_named(blobs, fitted):
    X = blobs[0]
    model = DeepGaussianMixtureClustering(3, **FAST)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.where(np.eye(150, 5) > 0, np.nan, X))
    with pytest.raises(ValueError, match="2-D array"):
        model.fit(X[:, :, None])
    with pytest.raises(ValueError, match="expecting 5 features"):
        fitted.predict(X[:, :4])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DeepGaussianMixtureClustering(3, reconstruction="bernoulli").fit(X)
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        DeepGaussianMixtureClustering(encoder="mlp").fit(X)
    with pytest.raises(ValueError, match="n_neighbors"):
        DeepGaussianMixtureClustering(2, **{**FAST, "n_neighbors": 20}).fit(X[:10])
    with pytest.raises(ValueError, match="covariance_type"):
        DeepGaussianMixtureClustering(covariance_type="banded").fit(X)
    with pytest.raises(ValueError, match="noise_variance"):
        DeepGaussianMixtureClustering(noise_variance="diagonal").fit(X)
    with pytest.raises(ValueError, match="n_autoencoders"):
        DeepGaussianMixtureClustering(n_autoencoders=0).fit(X)
    with pytest.raises(ValueError, match="init_smoothing"):
        DeepGaussianMixtureClustering(init_smoothing=-1).fit(X)
    with pytest.raises(ValueError, match="init_method"):
        DeepGaussianMixtureClustering(init_method="umap").fit(X)
    with pytest.raises(ValueError, match="n_iter_no_change"):
        DeepGaussianMixtureClustering(n_iter_no_change=0).fit(X)
    for name in ("max_epochs", "n_iter_no_change"):
        for value in ("fast", -1, 2.5):
            with pytest.raises(ValueError, match=rf"{name}.*'auto'"):
                DeepGaussianMixtureClustering(**{name: value}).fit(X)
    with pytest.raises(ValueError, match="tol"):
        DeepGaussianMixtureClustering(tol=-1.0).fit(X)
    with pytest.raises(ValueError, match="init_components"):
        DeepGaussianMixtureClustering(3, init_components=2).fit(X)
    for fraction in (-0.1, 1.0):
        with pytest.raises(ValueError, match="input_dropout"):
            DeepGaussianMixtureClustering(input_dropout=fraction).fit(X)


def test_neighbour_smoothed_start_recovers_clusters(blobs):
    model = DeepGaussianMixtureClustering(
        3,
        random_state=1,
        **{**FAST, "max_epochs": 0, "init_method": "codes", "init_smoothing": 3},
    ).fit(blobs[0])
    assert adjusted_rand_score(blobs[1], model.labels_) > 0.95
    assert model.loss_curve_ == []


@pytest.mark.parametrize("init_components", [3, 12])
def test_over_clustered_start_merges_back_to_the_clusters(blobs, init_components):
    X, y = blobs
    settings = {**FAST, "max_epochs": 0, "init_components": init_components}
    model = DeepGaussianMixtureClustering(3, random_state=0, **settings).fit(X)
    # twelve components split the three blobs; merging regroups them whole
    assert adjusted_rand_score(y, model.labels_) == 1.0
    np.testing.assert_allclose(model.weights_, 1 / 3, atol=0.02)


def test_merge_criterion_is_the_same_far_from_the_origin():
    # inside fit the merge sees standardised codes, so this checks the helper
    # itself: with the rows 1e8 from the origin, variances taken as
    # E[x^2] - mean^2 cancelled and the wrong pair was merged
    rng = np.random.RandomState(0)
    centres = [[0.0, 0.0], [0.0, 3.0], [40.0, 0.0], [40.0, 8.0]]
    X = np.vstack([rng.normal(size=(50, 2)) + centre for centre in centres])
    resp = np.repeat(np.eye(4), 50, axis=0)
    expected = np.repeat(np.eye(2), 100, axis=0)
    for shift in (0.0, 1e8):
        merged = merge_components(resp, X + shift, 2, reg_covar=1e-6)
        np.testing.assert_array_equal(merged, expected)


def test_full_covariance_prior(blobs):
    X, y = blobs
    model = DeepGaussianMixtureClustering(
        3, covariance_type="full", random_state=0, **FAST
    ).fit(X)
    assert model.covariances_.shape == (3, 2, 2)
    assert np.all(np.linalg.eigvalsh(model.covariances_) > 0)
    assert np.all(np.isfinite(model.score_samples(X)))
    start = DeepGaussianMixtureClustering(
        3, covariance_type="full", random_state=0, **{**FAST, "max_epochs": 0}
    ).fit(X)
    assert adjusted_rand_score(y, start.labels_) == 1.0
    np.testing.assert_allclose(restored(model).predict_proba(X), model.predict_proba(X))


def test_start_from_several_autoencoders(blobs):
    X, y = blobs
    settings = {**FAST, "n_autoencoders": 3, "max_epochs": 0}
    model = DeepGaussianMixtureClustering(3, random_state=0, **settings).fit(X)
    assert adjusted_rand_score(y, model.labels_) == 1.0
    # the kept network's own pretraining curve
    assert len(model.pretrain_loss_curve_) == FAST["pretrain_epochs"]
    assert model.get_params()["n_autoencoders"] == 3


def test_input_dropout_corrupts_only_the_pretraining_inputs(blobs):
    X, y = blobs
    settings = {**FAST, "max_epochs": 0}
    plain = DeepGaussianMixtureClustering(3, random_state=0, **settings).fit(X)
    settings["input_dropout"] = 0.5
    denoising = DeepGaussianMixtureClustering(3, random_state=0, **settings).fit(X)
    # reconstructing from half the features is harder than from all of them
    assert denoising.pretrain_loss_curve_[-1] > plain.pretrain_loss_curve_[-1]
    assert adjusted_rand_score(y, denoising.labels_) > 0.95
    # the fitted encoder sees complete rows: predictions are deterministic
    np.testing.assert_array_equal(denoising.predict(X), denoising.labels_)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_lower_bound_is_the_training_rows_average_bound(blobs, fitted_on):
    fitted = fitted_on
    np.testing.assert_allclose(fitted.lower_bound_, fitted.score(blobs[0]))
    assert fitted.n_iter_ == len(fitted.loss_curve_) <= FAST["max_epochs"]


def test_joint_training_stops_when_the_bound_stalls(blobs):
    # no epoch can improve on the start's bound by a billion nats: the
    # first epoch is already one without improvement, and training stops
    settings = {**FAST, "max_epochs": 50, "n_iter_no_change": 1, "tol": 1e9}
    model = DeepGaussianMixtureClustering(3, random_state=0, **settings)
    assert model.fit(blobs[0]).n_iter_ == 1


def test_the_fit_keeps_the_weights_of_the_highest_bound(blobs):
    model = DeepGaussianMixtureClustering(3, random_state=0, **FAST).fit(blobs[0])
    assert len(model.bound_curve_) == model.n_iter_ + 1
    assert np.all(np.isfinite(model.bound_curve_))
    # float32 network sums, added in another order
    assert model.lower_bound_ == pytest.approx(max(model.bound_curve_), abs=1e-4)
    assert model.lower_bound_ == pytest.approx(model.score(blobs[0]))


def test_joint_training_never_ends_below_its_start():
    # concentric rings: the start separates them, and with one noise
    # variance for both features joint training on neighbour targets lowers
    # the rows' own bound from there
    X, rings = make_circles(400, noise=0.05, factor=0.4, random_state=0)
    model = DeepGaussianMixtureClustering(
        2, noise_variance="shared", random_state=0, **FAST
    ).fit(X)
    assert model.lower_bound_ >= model.bound_curve_[0] - 1e-4
    assert adjusted_rand_score(rings, model.labels_) > 0.9


@pytest.mark.parametrize(
    ("batch_size", "patience"),
    # one batch an epoch: 150 steps of patience are 150 epochs; fifteen
    # batches: the plain ten epochs already take 150 steps
    [(150, 150), (10, 10)],
)
def test_auto_patience_counts_steps_on_small_data(blobs, batch_size, patience):
    # tol=1e9: no epoch improves on the start, and training waits out its
    # patience
    settings = {**FAST, "max_epochs": "auto", "n_iter_no_change": "auto"}
    settings.update(batch_size=batch_size, tol=1e9, pretrain_epochs=1)
    model = DeepGaussianMixtureClustering(3, random_state=0, **settings)
    assert model.fit(blobs[0]).n_iter_ == patience


@given(
    n_rows=st.integers(1, 100_000),
    batch_size=st.integers(1, 1_000),
    max_epochs=st.one_of(st.just("auto"), st.integers(0, 500)),
)
def test_auto_budget_gives_enough_steps_and_no_more(n_rows, batch_size, max_epochs):
    epochs, patience = joint_budget(max_epochs, "auto", n_rows, batch_size)
    batches = -(-n_rows // batch_size)
    automatic = [(patience, PATIENCE_EPOCHS, MIN_PATIENCE_STEPS)]
    if max_epochs == "auto":
        automatic.append((epochs, JOINT_EPOCHS, MIN_JOINT_STEPS))
    else:
        assert epochs == max_epochs
    for value, plain, steps in automatic:
        # at least the plain epochs and the minimum steps; one epoch fewer
        # would fall short of one of them
        assert value >= plain and value * batches >= steps
        assert value == plain or (value - 1) * batches < steps


def test_tsne_start_embeds_a_random_subset_of_large_data(blobs, monkeypatch):
    from gaussmix.deep import clustering_start

    X, y = blobs
    monkeypatch.setattr(clustering_start, "MAX_EMBEDDED_ROWS", 60)
    settings = {**FAST, "max_epochs": 0}
    model = DeepGaussianMixtureClustering(3, random_state=0, **settings).fit(X)
    assert adjusted_rand_score(y, model.labels_) > 0.95


@pytest.mark.parametrize("n_rows", [2, 3, 12])
def test_tsne_embedding_of_tiny_data(n_rows):
    from gaussmix.deep.clustering_start import tsne_embedding

    values = np.random.RandomState(0).normal(size=(n_rows, 3))
    embedding = tsne_embedding(values, seed=0)
    assert embedding.shape == (n_rows, 2) and np.all(np.isfinite(embedding))


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_neighbours_in_blocks_equal_the_whole_distance_matrix(monkeypatch, device):
    from gaussmix.deep import clustering_training

    values = np.random.RandomState(0).normal(size=(200, 4))
    rows = torch.as_tensor(values, device=device)
    whole = torch.cdist(rows, rows).topk(6, largest=False).indices
    monkeypatch.setattr(clustering_training, "NEIGHBOUR_BLOCK_ELEMENTS", 200 * 7)
    blocks = clustering_training.neighbours(rows, 5)
    assert blocks.device == rows.device
    np.testing.assert_array_equal(host(blocks), host(whole))


def test_start_separates_concentric_rings():
    # the default networks: the tiny ones of FAST, pretrained for 15
    # epochs, move the start onto codes that hold it only on some seeds
    X, rings = make_circles(400, noise=0.05, factor=0.4, random_state=0)
    model = DeepGaussianMixtureClustering(2, max_epochs=0, random_state=0)
    with threads(1):
        model.fit(X)
    assert adjusted_rand_score(rings, model.labels_) > 0.9


def test_tsne_start_on_rows_of_many_features():
    # more features than t-SNE's principal components: the rows are reduced
    X, y = make_blobs(
        n_samples=120, centers=3, n_features=60, cluster_std=1.0, random_state=3
    )
    settings = {**FAST, "max_epochs": 0}
    model = DeepGaussianMixtureClustering(3, random_state=0, **settings).fit(X)
    assert adjusted_rand_score(y, model.labels_) > 0.95


def test_one_new_row_gets_what_it_gets_among_others(blobs, fitted):
    methods = ("predict", "predict_proba", "transform", "score_samples")
    assert_one_row_as_among_others(fitted, blobs[0], methods, 3, rtol=1e-6, atol=1e-9)


def test_a_row_beyond_float32_is_refused_by_name(blobs, fitted):
    rows = blobs[0][:3].copy()
    rows[1, 0] = 1e300
    for method in ("predict", "predict_proba", "transform", "score_samples"):
        with pytest.raises(ValueError, match=r"row\(s\) \[1\].*float32"):
            getattr(fitted, method)(rows)


def test_values_whose_squares_overflow_leave_a_finite_scale(blobs):
    # every row in units of 1e155: their squares exceed float64
    X = blobs[0] * 1e155
    model = DeepGaussianMixtureClustering(3, random_state=0, **FAST).fit(X)
    # the root mean square about the mean, in units where it is computable
    unit = X / 1e155
    expected = 1e155 * np.sqrt(np.mean((unit - unit.mean(0)) ** 2))
    assert model.x_scale_ == pytest.approx(expected, rel=1e-12)
    assert np.all(np.isfinite(model.score_samples(X)))
    assert adjusted_rand_score(blobs[1], model.labels_) > 0.9


def test_one_feature_data_cluster_on_the_line():
    draw = np.random.default_rng(0)
    values = np.r_[draw.normal(-5, 0.5, 60), draw.normal(5, 0.5, 60)][:, None]
    labels = np.repeat([0, 1], 60)
    model = DeepGaussianMixtureClustering(2, random_state=0, **FAST).fit(values)
    assert adjusted_rand_score(labels, model.labels_) == 1.0


@pytest.mark.parametrize("scale, shift", [(1e-6, 3e-4), (1e6, -2e8)])
def test_a_change_of_units_moves_only_the_bound(blobs, fitted, scale, shift):
    # the rows are centred and divided by one common scale inside the
    # networks, so new units give the same clusters, and the density of the
    # rescaled rows differs by the Jacobian, -n_features * log(scale)
    X = blobs[0] * scale + shift
    model = DeepGaussianMixtureClustering(3, random_state=0, **FAST).fit(X)
    assert adjusted_rand_score(fitted.labels_, model.labels_) == 1.0
    jacobian = -X.shape[1] * np.log(scale)
    assert model.lower_bound_ == pytest.approx(fitted.lower_bound_ + jacobian, abs=1e-3)
    np.testing.assert_allclose(
        model.score_samples(X), fitted.score_samples(blobs[0]) + jacobian, atol=1e-3
    )


def test_a_dataframe_fits_without_a_feature_name_warning(blobs):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(blobs[0], columns=[f"f{i}" for i in range(5)])
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*feature names.*")
        model = DeepGaussianMixtureClustering(3, random_state=0, **FAST).fit(frame)
    assert list(model.feature_names_in_) == list(frame.columns)


def test_a_cluster_left_empty_is_reported():
    # rows at two places: identical rows share a code, so a third cluster
    # can hold none of them
    from sklearn.exceptions import ConvergenceWarning

    X = np.repeat([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]], 30, axis=0)
    model = DeepGaussianMixtureClustering(3, random_state=0, **FAST)
    with pytest.warns(ConvergenceWarning, match=r"smaller than n_clusters \(3\)"):
        model.fit(X)
    assert len(np.unique(model.labels_)) == 2


def test_a_decoder_of_the_wrong_width_is_named(blobs):
    decoder = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Linear(16, 7))
    model = DeepGaussianMixtureClustering(3, decoder=decoder, random_state=0, **FAST)
    with pytest.raises(ValueError, match=r"returned shape \(2, 7\).*n_features"):
        model.fit(blobs[0])


def test_bernoulli_scores_refuse_values_outside_the_unit_interval():
    X = np.random.default_rng(0).random((60, 4))
    settings = {**FAST, "reconstruction": "bernoulli"}
    model = DeepGaussianMixtureClustering(2, random_state=0, **settings).fit(X)
    for method in ("predict", "score_samples", "transform"):
        with pytest.raises(ValueError, match=r"needs every value in \[0, 1\]"):
            getattr(model, method)(X * 3.0)


def test_the_start_keeps_its_internal_warnings():
    # the start's mixture of the t-SNE embedding is no model of the user's:
    # its repairs are not the user's to fix; the trained model reports
    # what matters (here a cluster that holds no row)
    from sklearn.exceptions import ConvergenceWarning

    from gaussmix import DegenerateComponentWarning, RegCovarWarning

    X = np.repeat([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]], 30, axis=0)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DeepGaussianMixtureClustering(3, random_state=0, **FAST).fit(X)
    categories = {w.category for w in caught}
    assert ConvergenceWarning in categories
    assert not categories & {DegenerateComponentWarning, RegCovarWarning}


def test_iris_keeps_its_three_species():
    # a noise variance learned by gradient steps stayed near the data's
    # variance on this small table, and the bound merged versicolor and
    # virginica into one cluster, leaving one empty, on every seed
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X, species = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = DeepGaussianMixtureClustering(3, random_state=0)
    with threads(1):
        labels = model.fit_predict(X)
    assert np.bincount(labels, minlength=3).min() >= 10
    assert adjusted_rand_score(species, labels) > 0.5


def test_one_gross_outlier_does_not_merge_the_other_rows():
    # one value of 1e6 among blobs of spread about 1: scaled with the
    # others it made them all look alike (one cluster held every row)
    # (the default networks: FAST's separate these blobs on some seeds
    # only, outlier or not)
    X, y = make_blobs(n_samples=150, centers=3, n_features=5, random_state=1)
    X[-1] = 1e6
    model = DeepGaussianMixtureClustering(3, random_state=0)
    with threads(1):
        labels = model.fit_predict(X)
    assert adjusted_rand_score(y[:-1], labels[:-1]) > 0.9
    assert 0 <= labels[-1] < 3
    # the bound is the average over the rows that trained
    assert model.lower_bound_ == pytest.approx(model.score(X[:-1]), rel=1e-6)


def test_a_row_beyond_float32_at_the_others_scale_is_refused_by_name():
    X, _ = make_blobs(n_samples=150, centers=3, n_features=5, random_state=1)
    X[7] = 1e30
    model = DeepGaussianMixtureClustering(3, random_state=0, **FAST)
    with pytest.raises(ValueError, match=r"row\(s\) \[7\].*float32"):
        model.fit(X)
