"""BIC curves."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix.plot import plot_bic_curve
from tests.plot.conftest import renders_png


def test_one_line_per_model_and_a_star_at_the_lowest():
    ks = [1, 2, 3, 4]
    bic = {"full": [10.0, 7.0, 8.0, 9.5], "diag": [12.0, 6.5, None, float("nan")]}
    ax = plot_bic_curve(ks, bic)
    full, diag, star = ax.lines
    np.testing.assert_array_equal(full.get_xdata(), ks)
    np.testing.assert_array_equal(full.get_ydata(), bic["full"])
    np.testing.assert_array_equal(diag.get_xdata(), [1, 2])
    np.testing.assert_array_equal(diag.get_ydata(), [12.0, 6.5])
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (2, 6.5)
    assert "diag" in star.get_label()
    assert renders_png(ax.figure)


def test_lengths_must_match():
    with pytest.raises(ValueError, match="3 values for 2 numbers of components"):
        plot_bic_curve([1, 2], {"full": [1.0, 2.0, 3.0]})
