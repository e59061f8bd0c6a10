"""plot_bic draws one line per model, with the chosen sign convention."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from gaussmix import select_model
from gaussmix.plot import plot_bic
from tests.conftest import DATASETS


@pytest.fixture(scope="module")
def result():
    return select_model(
        DATASETS["blobs"][:200, :2], [1, 2, 3, 4], ["EII", "VVV", "EEE"]
    )


def test_one_line_per_model_in_mclust_convention(result):
    fig, ax = plt.subplots()
    try:
        assert plot_bic(result, ax, convention="mclust") is ax
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == ["EII", "VVV", "EEE"]
        for line, row in zip(lines, result.mclust_bic, strict=True):
            np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
            np.testing.assert_array_equal(line.get_ydata(), row)
        assert "higher is better" in ax.get_ylabel()
        assert ax.get_legend() is not None
    finally:
        plt.close(fig)


def test_sklearn_convention_and_icl(result):
    fig, ax = plt.subplots()
    try:
        plot_bic(result, ax, criterion="icl", convention="sklearn", legend=False)
        np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), result.icl[1])
        assert ax.get_ylabel() == "ICL (lower is better)"
        assert ax.get_legend() is None
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"criterion": "aic"}, ValueError), ({"convention": "R"}, ValueError)],
)
def test_bad_arguments(result, kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        plot_bic(result, **kwargs)


def test_rejects_something_that_is_not_a_selection():
    with pytest.raises(TypeError, match="select_model"):
        plot_bic({"bic": [1.0]})
