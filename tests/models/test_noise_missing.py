"""GaussianMixture(noise=True) on rows with missing values (NaN)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning

from gaussmix import (
    DegenerateComponentWarning,
    GaussianMixture,
    load,
    save,
    select_model,
)
from tests.models.em_checks import assert_monotone_and_scored
from tests.models.test_noise import (
    clusters_with_noise,
    tiny_unit_rows,
    worst_mean_error,
)


def with_holes(X: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """X with ``fraction`` of its cells missing at random (no empty row)."""
    rng = np.random.default_rng(seed)
    holed = X.copy()
    holed[rng.uniform(size=X.shape) < fraction] = np.nan
    empty = np.isnan(holed).all(axis=1)
    holed[empty] = X[empty]
    return holed


@pytest.fixture(scope="module")
def rows():
    X, labels, _ = clusters_with_noise(3, 0.1, seed=0, n=600)
    return X, with_holes(X, 0.2, seed=1), labels


def _fit(X, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(noise=True, **settings).fit(X)


def reference_columns(model: GaussianMixture, X: np.ndarray) -> np.ndarray:
    """``log pi_k N(x_o | k)`` by scipy on each row's observed columns, and
    ``log pi_0 - log V_o`` last: V for a complete row, otherwise the product
    of the observed columns' ranges (of the fitted rows' observed values)."""
    out = np.empty((len(X), len(model.weights_) + 1))
    log_extents = np.log(model.noise_extents_)
    for i, row in enumerate(X):
        seen = ~np.isnan(row)
        for k, (w, m, c) in enumerate(
            zip(model.weights_, model.means_, model.covariances_, strict=True)
        ):
            gaussian = multivariate_normal(m[seen], c[np.ix_(seen, seen)])
            out[i, k] = np.log(w) + gaussian.logpdf(row[seen])
        volume = np.log(model.noise_volume_) if seen.all() else log_extents[seen].sum()
        out[i, -1] = np.log(model.noise_proportion_) - volume
    return out


def test_the_region_is_the_box_of_the_observed_values(rows):
    _, holed, _ = rows
    model = _fit(holed, n_components=3, random_state=0)
    ranges = np.nanmax(holed, axis=0) - np.nanmin(holed, axis=0)
    np.testing.assert_allclose(model.noise_extents_, ranges, rtol=1e-15)
    assert model.noise_volume_ == pytest.approx(np.prod(ranges), rel=1e-12)


def test_scores_and_labels_are_the_observed_columns_densities(rows):
    _, holed, _ = rows
    model = _fit(holed, n_components=3, random_state=0)
    columns = reference_columns(model, holed)
    expected = logsumexp(columns, axis=1)
    np.testing.assert_allclose(model.score_samples(holed), expected, atol=1e-10)
    assert model.score(holed) == pytest.approx(expected.mean(), abs=1e-10)
    proba = np.exp(columns - expected[:, None])
    np.testing.assert_allclose(model.predict_proba(holed), proba, atol=1e-10)
    labels = np.argmax(columns, axis=1)
    labels[labels == 3] = -1
    np.testing.assert_array_equal(model.predict(holed), labels)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_em_never_lowers_the_observed_likelihood(rows, covariance_type):
    _, holed, _ = rows
    model = _fit(
        holed,
        n_components=3,
        covariance_type=covariance_type,
        tol=1e-10,
        max_iter=300,
        random_state=0,
    )
    assert_monotone_and_scored(model, holed, 1e-8)


def test_per_column_units_give_the_same_likelihood(rows):
    _, holed, _ = rows
    stretched = holed * np.array([1e-3, 1.0, 1e3])
    model = _fit(
        stretched,
        n_components=3,
        reg_covar_scale="variance",
        tol=1e-10,
        max_iter=300,
        random_state=0,
    )
    assert np.all(np.diff(model.lower_bounds_) >= -1e-9)
    assert model.score(stretched) == pytest.approx(model.lower_bounds_[-1], abs=1e-8)
    plain = _fit(
        holed,
        n_components=3,
        reg_covar_scale="variance",
        tol=1e-10,
        max_iter=300,
        random_state=0,
    )
    # the same fit in other units: a row's density gains the units of its
    # observed columns
    shift = (~np.isnan(holed)) @ np.log([1e-3, 1.0, 1e3])
    np.testing.assert_allclose(
        model.score_samples(stretched), plain.score_samples(holed) - shift, atol=1e-9
    )


def test_complete_rows_score_as_without_missing_values(rows):
    X, holed, _ = rows
    model = _fit(X, n_components=3, random_state=0)
    # a complete fit keeps the columns' ranges for rows with holes later
    np.testing.assert_allclose(model.noise_extents_, np.ptp(X, axis=0), rtol=1e-15)
    mixed = np.vstack([X, holed[np.isnan(holed).any(axis=1)][:5]])
    together = model.score_samples(mixed)[: len(X)]
    np.testing.assert_allclose(together, model.score_samples(X), atol=1e-10)
    columns = reference_columns(model, mixed)
    np.testing.assert_allclose(
        model.score_samples(mixed), logsumexp(columns, axis=1), atol=1e-10
    )


def test_planted_outliers_are_found_through_the_holes():
    X, labels, centres = clusters_with_noise(4, 0.1, seed=0)
    holed = with_holes(X, 0.2, seed=100)
    noise = labels == -1
    found = {}
    for name, data in (("complete", X), ("holed", holed)):
        model = _fit(data, n_components=3, random_state=0)
        predicted = model.predict(data)
        found[name] = (
            (predicted[noise] == -1).mean(),
            (predicted[~noise] == -1).mean(),
            model.noise_proportion_,
            worst_mean_error(model.means_, centres),
        )
    recall, false_alarms, proportion, error = found["holed"]
    assert recall >= found["complete"][0] - 0.05
    assert false_alarms <= found["complete"][1] + 0.01
    assert proportion == pytest.approx(found["complete"][2], abs=0.02)
    assert error < 0.3


def test_impute_weighs_the_gaussians_alone(rows):
    _, holed, _ = rows
    model = _fit(holed, n_components=3, random_state=0)
    filled = model.impute(holed)
    log_gaussians = reference_columns(model, holed)[:, :-1]
    for i in np.flatnonzero(np.isnan(holed).any(axis=1))[:40]:
        seen = ~np.isnan(holed[i])
        resp = np.exp(log_gaussians[i] - logsumexp(log_gaussians[i]))
        expected = np.zeros((~seen).sum())
        for k in range(3):
            mean, cov = model.means_[k], model.covariances_[k]
            gain = cov[np.ix_(~seen, seen)] @ np.linalg.inv(cov[np.ix_(seen, seen)])
            expected += resp[k] * (mean[~seen] + gain @ (holed[i, seen] - mean[seen]))
        np.testing.assert_allclose(filled[i, ~seen], expected, atol=1e-9)
        np.testing.assert_array_equal(filled[i, seen], holed[i, seen])


def test_partial_fit_takes_batches_with_holes(rows):
    X, holed, _ = rows
    model = _fit(X[:300], n_components=3, random_state=0)
    batch = holed[300:]
    before = model.score(batch)
    model.partial_fit(batch)
    # the batch's bound is its observed likelihood under the model it updated
    assert model.lower_bound_ == pytest.approx(before, abs=1e-10)
    total = model.weights_.sum() + model.noise_proportion_
    assert total == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.isfinite(model.score_samples(batch)))


def test_warm_start_continues_the_fit(rows):
    _, holed, _ = rows
    model = _fit(holed, n_components=3, max_iter=3, warm_start=True, random_state=0)
    first = model.lower_bounds_[-1]
    model = model.fit(holed)
    assert model.lower_bounds_[0] >= first - 1e-10


def test_rows_without_values_and_unusable_regions_are_refused(rows):
    _, holed, _ = rows
    empty_row = holed.copy()
    empty_row[3] = np.nan
    with pytest.raises(ValueError, match="row 3 of X has every value missing"):
        _fit(empty_row, n_components=3, random_state=0)
    model = _fit(holed, n_components=3, random_state=0)
    with pytest.raises(ValueError, match="every value missing"):
        model.score_samples(empty_row)
    with pytest.raises(ValueError, match="pca_box"):
        _fit(holed, n_components=3, noise_volume="pca_box")
    constant = holed.copy()
    constant[~np.isnan(constant[:, 1]), 1] = 2.0
    with pytest.raises(ValueError, match="column 1's observed values span no range"):
        _fit(constant, n_components=3, random_state=0)


def test_a_given_volume_is_kept_for_complete_rows(rows):
    _, holed, _ = rows
    model = _fit(holed, n_components=3, noise_volume=1e6, random_state=0)
    assert model.noise_volume_ == pytest.approx(1e6)
    columns = reference_columns(model, holed)
    np.testing.assert_allclose(
        model.score_samples(holed), logsumexp(columns, axis=1), atol=1e-10
    )


def test_saved_model_scores_rows_with_holes_alike(rows, tmp_path):
    _, holed, _ = rows
    model = _fit(holed, n_components=3, random_state=0)
    save(model, tmp_path / "noise.gmx")
    loaded = load(tmp_path / "noise.gmx")
    np.testing.assert_array_equal(loaded.noise_extents_, model.noise_extents_)
    np.testing.assert_array_equal(
        loaded.score_samples(holed), model.score_samples(holed)
    )
    model.noise_extents_ = -model.noise_extents_
    save(model, tmp_path / "bad.gmx")
    with pytest.raises(ValueError, match="noise_extents_ must be non-negative"):
        load(tmp_path / "bad.gmx")


def test_select_model_with_noise_scores_the_observed_values(rows):
    _, holed, _ = rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = select_model(holed, [2, 3], ["VVV"], noise=True, random_state=0)
    model = result.best_model
    n = len(holed)
    log_likelihood = logsumexp(reference_columns(model, holed), axis=1).sum()
    expected = -2 * log_likelihood + model.n_parameters() * np.log(n)
    assert np.nanmin(result.bic) == pytest.approx(expected, rel=1e-10)
    assert model.n_components == 3


def test_files_and_chunks_give_the_in_memory_fit(rows, tmp_path):
    _, holed, _ = rows
    in_memory = _fit(holed, n_components=3, random_state=0)
    np.save(tmp_path / "holed.npy", holed)
    on_disk = np.load(tmp_path / "holed.npy", mmap_mode="r")
    chunked = _fit(on_disk, n_components=3, chunk_size=64, random_state=0)
    np.testing.assert_allclose(chunked.noise_extents_, in_memory.noise_extents_)
    np.testing.assert_allclose(
        chunked.score_samples(on_disk), in_memory.score_samples(holed), atol=1e-8
    )


def test_integer_weights_act_as_repeated_rows(rows):
    _, holed, labels = rows
    weights = np.random.default_rng(0).integers(0, 3, len(holed))
    repeated = np.repeat(np.arange(len(holed)), weights)
    mask = labels == -1
    settings = dict(n_components=3, tol=1e-10, max_iter=500, random_state=0)
    weighted = GaussianMixture(noise=True, **settings).fit(
        holed, sample_weight=weights, noise_init=mask
    )
    copies = GaussianMixture(noise=True, **settings).fit(
        holed[repeated], noise_init=mask[repeated]
    )
    # rows of weight zero are absent: they do not stretch the region either
    np.testing.assert_allclose(
        weighted.noise_extents_, copies.noise_extents_, rtol=1e-15
    )
    assert weighted.noise_proportion_ == pytest.approx(
        copies.noise_proportion_, abs=1e-6
    )
    assert weighted.lower_bound_ == pytest.approx(copies.lower_bound_, abs=1e-8)
    np.testing.assert_allclose(
        np.sort(weighted.means_, axis=0), np.sort(copies.means_, axis=0), atol=1e-4
    )


def test_a_model_without_column_extents_scores_only_complete_rows(rows):
    X, holed, _ = rows
    model = _fit(X, n_components=3, random_state=0)
    expected = model.score_samples(X)
    # as restored from a file written before the extents were kept
    del model.noise_extents_
    np.testing.assert_array_equal(model.score_samples(X), expected)
    with pytest.raises(ValueError, match="no noise_extents_"):
        model.score_samples(holed)


@pytest.mark.filterwarnings("ignore::gaussmix.RegCovarWarning")
@pytest.mark.filterwarnings("ignore:Mixture components:UserWarning")
def test_noise_with_all_the_weight_warns_with_missing_values():
    # as without missing values: reg_covar in units of 1e-12 keeps every
    # Gaussian flatter than the noise, which takes every row
    _, tiny = tiny_unit_rows()
    holed = with_holes(tiny, 0.1, seed=2)
    assert np.isnan(holed).any()
    model = GaussianMixture(2, noise=True, random_state=0)
    with pytest.warns(DegenerateComponentWarning, match="took all the weight"):
        model.fit(holed)
    assert model.noise_proportion_ == 1.0
    assert not model.weights_.any()
    # every row, with or without holes, is noise with certainty
    np.testing.assert_array_equal(model.predict(holed), -1)
    np.testing.assert_array_equal(model.predict_proba(holed)[:, -1], 1.0)
    with pytest.raises(ValueError, match="noise component holds all"):
        model.sample(3)
