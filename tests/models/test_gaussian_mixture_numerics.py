"""GaussianMixture on extreme but legal input: weights, outliers, far rows."""

import warnings
from fractions import Fraction

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gaussmix import DegenerateComponentWarning, GaussianMixture, RegCovarWarning
from tests.conftest import DATASETS

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical", "EII", "VVI", "EEE", "VVV"]


def two_clusters(dtype=np.float64):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(40, 2), rng.randn(40, 2) + 4.0])
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scaling_all_weights_does_not_change_the_fit(covariance_type, dtype):
    X = two_clusters(dtype)
    weights = np.random.RandomState(1).uniform(0.5, 2.0, len(X))
    reference = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
        X, sample_weight=weights
    )
    tolerance = 1e-4 if dtype == np.float32 else 1e-9
    for factor in (1e-300, 1e-20, 1e20, 1e300):
        model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
            X, sample_weight=factor * weights
        )
        for name in ("weights_", "means_", "covariances_"):
            np.testing.assert_allclose(
                getattr(model, name),
                getattr(reference, name),
                rtol=tolerance,
                atol=tolerance,
                err_msg=f"{name} with weights x {factor}",
            )


@pytest.mark.parametrize("factor", [7.0, 12.0, 1e3, 3 * 2.0**-40])
@pytest.mark.parametrize("covariance_type", ["full", "EEV", "spherical"])
def test_integer_weights_times_any_exact_factor_give_the_same_bits(
    covariance_type, factor
):
    # c * w is exact for these weights: only its ratios reach the fit
    X = two_clusters(np.float32)
    weights = np.tile([1.0, 2.0, 3.0], len(X) // 3 + 1)[: len(X)]
    fits = [
        GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
            X, sample_weight=c * weights
        )
        for c in (1.0, factor)
    ]
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(
            getattr(fits[1], name), getattr(fits[0], name), err_msg=name
        )


@pytest.mark.parametrize("init_params", ["random_from_data", "k-means++", "random"])
def test_huge_weights_work_with_every_initialisation(init_params):
    X = two_clusters()
    weights = np.ones(len(X))
    reference = GaussianMixture(2, init_params=init_params, random_state=0).fit(
        X, sample_weight=weights
    )
    model = GaussianMixture(2, init_params=init_params, random_state=0).fit(
        X, sample_weight=1e307 * weights
    )
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-9)
    assert model.score(X, sample_weight=1e307 * weights) == pytest.approx(
        reference.score(X)
    )


# ----------------------------------------------------------------------
# rows far from every component


def exact_log_joint(model, x):
    """``log w_k p_k(x)`` less its largest, per component, in exact rationals.

    The quadratic forms are evaluated exactly from the fitted float64
    means and precisions; only the small constants are floats.
    """
    n_components, n_features = model.means_.shape
    precisions = np.asarray(model.precisions_, dtype=np.float64)
    if precisions.ndim == 2 and model.covariance_type in ("tied", "EEE"):
        precisions = np.broadcast_to(precisions, (n_components, n_features, n_features))
    elif precisions.ndim == 2:
        precisions = np.stack([np.diag(p) for p in precisions])
    elif precisions.ndim == 1:
        precisions = precisions[:, None, None] * np.eye(n_features)
    values = []
    for k in range(n_components):
        diff = [
            Fraction(float(a)) - Fraction(float(m))
            for a, m in zip(x, model.means_[k], strict=True)
        ]
        quadratic = sum(
            diff[i] * Fraction(float(precisions[k, i, j])) * diff[j]
            for i in range(n_features)
            for j in range(n_features)
        )
        constant = np.log(model.weights_[k]) + 0.5 * np.linalg.slogdet(precisions[k])[1]
        values.append(Fraction(float(constant)) - quadratic / 2)
    best = max(values)
    return [value - best for value in values], best


def exact_posterior(model, x):
    differences, _ = exact_log_joint(model, x)
    weights = np.array([np.exp(float(d)) if d > -800 else 0.0 for d in differences])
    return weights / weights.sum()


FAR_ROWS = np.array(
    [[1e200, 1e200], [-1e200, 1e200], [1e30, -1e30], [1e100, 3.0], [-3e307, 1e307]]
)


@pytest.mark.parametrize(
    "covariance_type", ["full", "tied", "diag", "spherical", "EEE", "VVI", "EEV"]
)
def test_far_rows_get_exact_posteriors(covariance_type):
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    model.fit(two_clusters())
    proba = model.predict_proba(FAR_ROWS)
    expected = np.array([exact_posterior(model, x) for x in FAR_ROWS])
    np.testing.assert_allclose(proba, expected, atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(model.predict(FAR_ROWS), expected.argmax(axis=1))


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_far_rows_log_density_is_finite_where_float64_holds_it(covariance_type):
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    model.fit(two_clusters())
    rows = np.array([[1e100, 0.0], [1e150, -1e150], [1e160, 0.0]])
    log_density = model.score_samples(rows)
    for x, value in zip(rows, log_density, strict=True):
        differences, best = exact_log_joint(model, x)
        weights = sum(np.exp(float(d)) for d in differences if d > -800)
        exact = best + Fraction(float(np.log(weights)))
        if exact < -np.finfo(np.float64).max:
            assert value == -np.inf
        else:
            assert value == pytest.approx(float(exact), rel=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_float32_rows_whose_squares_overflow_get_exact_posteriors(covariance_type):
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    model.fit(two_clusters(np.float32))
    rows = np.array([[1e19, 1e19], [3e38, -3e38], [9.96921e36, 1.0]], np.float32)
    proba = model.predict_proba(rows)
    assert proba.dtype == np.float32
    expected = np.array([exact_posterior(model, x) for x in rows.astype(np.float64)])
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    np.testing.assert_array_equal(model.predict(rows), expected.argmax(axis=1))


def test_far_rows_go_to_the_widest_of_several_components():
    # about one mean, every component but the widest is worse by an amount
    # that overflows in nats: they must not tie at +inf
    model = GaussianMixture.from_params(
        [0.25, 0.25, 0.25, 0.25],
        np.zeros((4, 2)),
        [1.0, 4.0, 16.0, 64.0],
        covariance_type="spherical",
    )
    rows = np.array([[1e200, 1e200], [-1e200, 3.0], [1e150, 0.0]])
    expected = np.zeros((3, 4))
    expected[:, 3] = 1.0
    np.testing.assert_array_equal(model.predict_proba(rows), expected)
    log_density = model.score_samples(rows)
    assert log_density[0] == log_density[1] == -np.inf
    assert log_density[2] == pytest.approx(-0.5 * 1e300 / 64.0, rel=1e-15)


@pytest.mark.parametrize("covariance_type", ["full", "VEV", "diag", "EEV"])
def test_float32_fit_with_a_far_component_is_the_float64_fit(covariance_type):
    # the initial partition puts the row at -1e9 on its own: moments moved
    # from the two means' average would round away the others' spread
    X = np.array(
        [
            [-99.99945, -100.00022],
            [-100.00011, -100.00085],
            [-100.00078, -100.00043],
            [-99.99915, -99.99939],
            [-100.00017, -99.99859],
            [-100.00021, -1.0000001e9],
        ],
        dtype=np.float32,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegCovarWarning)
        single = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
        double = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
        single.fit(X)
        double.fit(X.astype(np.float64))
    # float32's resolution at 100 is 8e-6
    np.testing.assert_allclose(single.means_, double.means_, rtol=1e-7, atol=1e-5)
    largest = float(np.max(double.covariances_))
    np.testing.assert_allclose(
        single.covariances_, double.covariances_, rtol=1e-3, atol=1e-3 * largest
    )


def test_float32_fit_on_principal_components_is_the_float64_fit():
    # digits on their 10 leading components: variances three orders of
    # magnitude apart and sharp components, where the dense float32 path's
    # rounding has to be judged row by row
    pcs = DATASETS["digits_pca10"]
    rng = np.random.default_rng(0)
    X = np.repeat(pcs, 4, axis=0)
    X += 0.1 * pcs.std(0) * rng.standard_normal(X.shape)
    with warnings.catch_warnings():
        # a few iterations from the same start, converged or not
        warnings.simplefilter("ignore", ConvergenceWarning)
        seed = GaussianMixture(10, max_iter=2, random_state=0).fit(X)
        start = dict(
            weights_init=seed.weights_,
            means_init=seed.means_,
            precisions_init=seed.precisions_,
            max_iter=15,
            tol=0.0,
        )
        double = GaussianMixture(10, **start).fit(X)
        single = GaussianMixture(10, **start).fit(X.astype(np.float32))
    # float32's resolution is 6e-8: every result within a few hundred of it
    assert abs(single.lower_bound_ - double.lower_bound_) <= 1e-5
    scale = np.abs(double.means_).max()
    np.testing.assert_allclose(single.means_, double.means_, atol=1e-5 * scale)
    np.testing.assert_allclose(single.weights_, double.weights_, atol=1e-6)
    largest = float(np.max(double.covariances_))
    np.testing.assert_allclose(
        single.covariances_, double.covariances_, atol=1e-5 * largest
    )


# twelve values near 1000; with reg_covar=0, k-means++ leaves a component on
# one of them, whose variance is then rounding noise
NEAR_1000 = np.array(
    [
        999.9056142,
        1000.67814172,
        1000.14261918,
        999.50204969,
        1000.39931412,
        1001.34171911,
        1000.98480003,
        999.33398383,
        998.7722976,
        999.4144446,
        1000.07904505,
        997.71268829,
    ]
)[:, None]


@pytest.mark.parametrize(
    ("X", "seed"),
    [(NEAR_1000, 1), ((NEAR_1000 - 1000.0).astype(np.float32), 0)],
    ids=["float64", "float32"],
)
@pytest.mark.parametrize("covariance_type", ["VEE", "full", "VVV"])
def test_a_component_on_one_value_keeps_precisions_finite(X, seed, covariance_type):
    model = GaussianMixture(
        2,
        covariance_type=covariance_type,
        reg_covar=0.0,
        init_params="k-means++",
        random_state=seed,
        max_iter=30,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        model.fit(X)
    assert model.precisions_.dtype == X.dtype
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    # no variance below what the dtype resolves at the data's values
    resolution = np.finfo(X.dtype).eps * float(np.abs(X).max())
    assert np.min(model.covariances_) >= resolution**2
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("X", "seed"),
    [(NEAR_1000, 1), ((NEAR_1000 - 1000.0).astype(np.float32), 0)],
    ids=["float64", "float32"],
)
def test_a_collapse_below_the_resolution_is_reported(X, seed):
    model = GaussianMixture(
        2,
        covariance_type="VEE",
        reg_covar=0.0,
        init_params="k-means++",
        random_state=seed,
        max_iter=30,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(DegenerateComponentWarning, match=X.dtype.name):
            model.fit(X)


def test_one_row_per_component_keeps_equal_volume_shapes_finite():
    # one row per component and reg_covar=0: every scatter is zero
    X = np.array([[100.7, 99.9, 99.6], [100.7, 100.5, 100.0], [100.7, 100.1, 99.8]])
    model = GaussianMixture(
        1,
        covariance_type="EVE",
        reg_covar=0.0,
        init_params="random_from_data",
        random_state=972,
        max_iter=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        model.fit(X)
    assert np.all(np.isfinite(model.precisions_))
    # one component is fitted to all rows: its variances are theirs
    # (the constant first column only a floor far below them)
    variances = np.diag(model.covariances_[0])
    np.testing.assert_allclose(variances[1:], X[:, 1:].var(axis=0), rtol=1e-6)
    assert 0 < variances[0] <= 1e-10 * variances.max()


# ----------------------------------------------------------------------
# one extreme cell


def fit_from(X, covariance_type, means_init, precisions):
    """EM from given weights, means and (per component, isotropic) precisions."""
    n_components = len(means_init)
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type == "full":
        precisions_init = precisions[:, None, None] * np.eye(2)
    elif covariance_type in ("diag", "VVI"):
        precisions_init = np.repeat(precisions[:, None], 2, axis=1)
    else:
        precisions_init = precisions
    model = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        weights_init=np.full(n_components, 1 / n_components),
        means_init=means_init,
        precisions_init=precisions_init,
        tol=0.0,
        max_iter=30,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


@pytest.mark.parametrize(
    ("dtype", "outlier"),
    [
        (np.float64, 1e12),
        (np.float64, 1e19),
        (np.float64, 1e160),
        (np.float32, 1e19),
        (np.float32, 9.96921e36),
        (np.float32, 3e38),
    ],
)
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "VVI", "VII"])
def test_an_outlier_gets_its_own_component(covariance_type, dtype, outlier):
    X = two_clusters(dtype)
    X[0, 0] = outlier
    starts = [[0.0, 0.0], [4.0, 4.0]]
    model = fit_from(
        X, covariance_type, [*starts, X[0].astype(np.float64)], [1.0, 1.0, 1e6]
    )
    # the outlier explains no other row and no other component explains
    # it: the two clusters are fitted as if it were not there
    expected = fit_from(X[1:].astype(np.float64), covariance_type, starts, [1.0, 1.0])
    tolerance = 1e-5 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(model.means_[:2], expected.means_, rtol=tolerance)
    np.testing.assert_allclose(
        model.covariances_[:2], expected.covariances_, rtol=tolerance
    )
    np.testing.assert_allclose(
        model.weights_, [*(expected.weights_ * 79 / 80), 1 / 80], rtol=tolerance
    )
    np.testing.assert_array_equal(model.means_[2], X[0])
    reg_covar = np.full_like(model.covariances_[2], 0.0)
    if covariance_type == "full":
        reg_covar += np.eye(2) * 1e-6
    else:
        reg_covar += 1e-6
    np.testing.assert_allclose(model.covariances_[2], reg_covar, rtol=1e-5)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(np.isfinite(model.score_samples(X)))
    assert model.predict(X)[0] == 2


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_data_at_1e150_fit_as_in_their_own_units(covariance_type):
    # squares of X * 2**500 overflow float64, those of X * 2**100 do not:
    # the two fits are the same fit in units 2**400 apart (exact factors)
    X = two_clusters()
    small, large = 2.0**100, 2.0**500
    reference = GaussianMixture(
        2, covariance_type=covariance_type, reg_covar=1e-6 / large**2, random_state=0
    ).fit(X * small)
    model = GaussianMixture(
        2, covariance_type=covariance_type, reg_covar=1e-6 / small**2, random_state=0
    ).fit(X * large)
    ratio = large / small
    np.testing.assert_allclose(model.means_, reference.means_ * ratio, rtol=1e-12)
    np.testing.assert_allclose(
        model.covariances_,
        reference.covariances_ * ratio**2,
        rtol=1e-12,
        atol=1e-12 * large**2,
    )
    np.testing.assert_allclose(model.weights_, reference.weights_, rtol=1e-12)
    assert model.lower_bound_ == pytest.approx(
        reference.lower_bound_ - 2 * np.log(ratio), rel=1e-12
    )


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_covariances_beyond_float64_are_a_clear_error(covariance_type):
    X = two_clusters() * 1e160
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    with pytest.raises(ValueError, match=r"span up to \d\.\d+e\+160.*float64"):
        model.fit(X)


def test_float32_covariances_beyond_float32_name_the_fix():
    X = two_clusters(np.float32)
    X[0, 0] = 3e38
    # one component must hold the outlier and a cluster: its variance,
    # about 1e75, exists in float64 only
    model = GaussianMixture(1, covariance_type="diag")
    with pytest.raises(ValueError, match=r"float32.*pass X as float64"):
        model.fit(X)
    model.fit(X.astype(np.float64))
    assert np.all(np.isfinite(model.covariances_))


# ----------------------------------------------------------------------
# reg_covar against the data's units


def test_reg_covar_dominating_small_units_is_reported():
    X = two_clusters() * 1e-4
    model = GaussianMixture(2, random_state=0)
    with pytest.warns(RegCovarWarning, match=r"reg_covar=1e-06 .*column\(s\) 0, 1"):
        model.fit(X)
    # the warning is right: the clusters, 4e-4 apart, have merged
    assert np.abs(model.means_[0] - model.means_[1]).max() < 1e-5


def test_reg_covar_is_not_reported_for_ordinary_or_constant_columns():
    X = two_clusters()
    X[:, 1] = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        warnings.simplefilter("error", RegCovarWarning)
        GaussianMixture(2, random_state=0).fit(X)
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(X * 1e-4)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "VVV", "EEI"])
def test_variance_scaled_reg_covar_ignores_the_units_of_each_column(covariance_type):
    X = two_clusters()
    units = np.array([1e-8, 1e6])
    settings = {"covariance_type": covariance_type, "reg_covar_scale": "variance"}
    reference = GaussianMixture(2, random_state=0, **settings).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegCovarWarning)
        model = GaussianMixture(2, random_state=0, **settings).fit(X * units)
    np.testing.assert_array_equal(model.predict(X * units), reference.predict(X))
    np.testing.assert_allclose(model.means_, reference.means_ * units, rtol=1e-9)
    np.testing.assert_allclose(model.weights_, reference.weights_, rtol=1e-9)
    if covariance_type in ("full", "tied", "VVV"):
        in_reference_units = model.covariances_ / np.multiply.outer(units, units)
    else:
        in_reference_units = model.covariances_ / units**2
    np.testing.assert_allclose(
        in_reference_units, reference.covariances_, rtol=1e-9, atol=1e-12
    )
    assert model.lower_bound_ == pytest.approx(
        reference.lower_bound_ - np.log(units).sum(), rel=1e-9
    )


def test_variance_scaled_reg_covar_is_reg_covar_times_each_variance():
    # one component: the covariance is the weighted scatter plus
    # reg_covar times each column's variance
    X = two_clusters() * [1e-4, 10.0]
    model = GaussianMixture(1, covariance_type="diag", reg_covar=0.5)
    model.set_params(reg_covar_scale="variance").fit(X)
    np.testing.assert_allclose(model.covariances_[0], 1.5 * X.var(axis=0), rtol=1e-9)


def test_reg_covar_scale_is_checked_and_saved(tmp_path):
    import gaussmix

    expected = "'reg_covar_scale' parameter of GaussianMixture must be a str among"
    with pytest.raises(ValueError, match=expected):
        GaussianMixture(reg_covar_scale="relative").fit(two_clusters())
    model = GaussianMixture(2, reg_covar_scale="variance", random_state=0)
    model.fit(two_clusters())
    gaussmix.save(model, tmp_path / "model.gmm")
    loaded = gaussmix.load(tmp_path / "model.gmm")
    assert loaded.get_params()["reg_covar_scale"] == "variance"
    np.testing.assert_array_equal(
        loaded.predict_proba(two_clusters()), model.predict_proba(two_clusters())
    )


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "VEV"])
def test_partial_fit_of_float32_rows_whose_squares_overflow(covariance_type):
    # the second batch holds 1e20, whose square float32 cannot hold: the
    # batch is summarised in float64, as fit does, and the model matches the
    # same stream in float64 to float32's resolution
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(60, 2)) + np.repeat([[0.0, 0.0], [6.0, 2.0]], 30, axis=0)
    rows = rows[rng.permutation(60)]
    rows[45, 1] = 1e20
    batches = np.array_split(rows, 3)
    models = {}
    for dtype in (np.float32, np.float64):
        model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for batch in batches:
                model.partial_fit(batch.astype(dtype))
        models[dtype] = model
    single, double = models[np.float32], models[np.float64]
    assert single.means_.dtype == np.float32
    for name in ("weights_", "means_", "covariances_"):
        assert np.all(np.isfinite(getattr(single, name)))
        np.testing.assert_allclose(
            getattr(single, name), getattr(double, name), rtol=1e-4, atol=1e-6
        )
    proba = single.predict_proba(rows.astype(np.float32))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
