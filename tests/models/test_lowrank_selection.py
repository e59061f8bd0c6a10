"""select_model over MixtureOfFactorAnalyzers and HDDC settings."""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix
from gaussmix import HDDC, MixtureOfFactorAnalyzers


@pytest.fixture(scope="module")
def rows():
    """Two groups in 10 dimensions, each near a plane."""
    rng = np.random.default_rng(0)
    blocks = [
        rng.normal(size=(150, 2)) @ rng.normal(size=(2, 10)) * 2
        + 0.3 * rng.normal(size=(150, 10))
        + 6 * k
        for k in range(2)
    ]
    return np.vstack(blocks)


@pytest.fixture(scope="module")
def factor_grid(rows):
    return gaussmix.select_model(
        rows,
        n_components=[1, 2, 3],
        estimator=MixtureOfFactorAnalyzers(max_iter=50),
        param_grid={"n_factors": [1, 2, 3]},
        random_state=0,
    )


def test_every_cell_is_the_bic_of_its_stored_fit(rows, factor_grid):
    result = factor_grid
    assert result.bic.shape == (3, 3)
    assert result.covariance_types == ("n_factors=1", "n_factors=2", "n_factors=3")
    for i, label in enumerate(result.covariance_types):
        for j, k in enumerate(result.n_components):
            model = result.models[label, k]
            assert model.n_components == k
            assert model.n_factors == i + 1
            assert result.bic[i, j] == pytest.approx(model.bic(rows), rel=1e-12)
            assert result.n_parameters[i, j] == model.n_parameters()
            assert result.log_likelihood[i, j] == pytest.approx(
                model.score(rows) * len(rows), rel=1e-12
            )


def test_the_best_cell_has_the_least_bic(rows, factor_grid):
    result = factor_grid
    assert result.best_model.bic(rows) == pytest.approx(np.nanmin(result.bic))
    i, j = np.unravel_index(np.nanargmin(result.bic), result.bic.shape)
    assert (
        result.best_model
        is result.models[result.covariance_types[i], result.n_components[j]]
    )
    # two groups, each a two-factor model
    assert (result.best_n_components, result.best_settings) == (2, {"n_factors": 2})
    assert result.best_covariance_type == "n_factors=2"
    assert result.ranking()[0][:2] == ("n_factors=2", 2)


def test_hddc_grid_over_models_and_thresholds(rows):
    result = gaussmix.select_model(
        rows,
        n_components=[1, 2],
        estimator=HDDC(max_iter=30),
        param_grid={"model": ["AkjBkQkDk", "ABQkD", "AkBkQD"], "threshold": [0.1, 0.3]},
        random_state=0,
    )
    assert result.bic.shape == (6, 2)
    assert len(result.settings) == 6
    for (label, k), model in result.models.items():
        i = result.covariance_types.index(label)
        j = result.n_components.index(k)
        assert model.get_params()["model"] == result.settings[i]["model"]
        assert model.get_params()["threshold"] == result.settings[i]["threshold"]
        assert result.bic[i, j] == pytest.approx(model.bic(rows), rel=1e-12)
    assert result.best_model.bic(rows) == pytest.approx(np.nanmin(result.bic))
    assert "model=" in str(result)


def test_unit_weights_give_the_unweighted_tables(rows, factor_grid):
    weighted = gaussmix.select_model(
        rows,
        n_components=[1, 2, 3],
        estimator=MixtureOfFactorAnalyzers(max_iter=50),
        param_grid={"n_factors": [1, 2, 3]},
        sample_weight=np.ones(len(rows)),
        random_state=0,
    )
    np.testing.assert_allclose(weighted.bic, factor_grid.bic, rtol=1e-10)


def test_the_template_is_left_untouched(rows):
    template = MixtureOfFactorAnalyzers(n_factors=1, max_iter=20)
    before = template.get_params()
    gaussmix.select_model(
        rows, [1, 2], estimator=template, param_grid={"n_factors": [2]}
    )
    assert template.get_params() == before
    assert not hasattr(template, "weights_")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"param_grid": {"n_components": [1, 2]}}, "must not set n_components"),
        ({"param_grid": {"n_factor": [1]}}, "does not take"),
        ({"noise": True}, "noise apply to GaussianMixture grids"),
        ({"prior": True}, "prior apply to GaussianMixture grids"),
        ({"covariance_types": ["VVV"]}, "covariance_types apply"),
    ],
)
def test_options_that_do_not_apply_are_named(rows, kwargs, message):
    kwargs = {"estimator": MixtureOfFactorAnalyzers(), **kwargs}
    with pytest.raises(ValueError, match=message):
        gaussmix.select_model(rows, [1], **kwargs)


def test_a_grid_needs_an_estimator(rows):
    with pytest.raises(ValueError, match="needs an estimator"):
        gaussmix.select_model(rows, [1], param_grid={"n_factors": [1]})
