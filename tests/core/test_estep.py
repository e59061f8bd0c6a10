"""Stats of a chunk from given responsibilities, for shifts far apart."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix.core.estep import responsibility_stats

# five float32 rows near -100 with a spread of 1e-3, and one at -1e9: in
# float32 the distance between the two groups' average and the rows near
# -100 has a rounding of 32, far more than their spread
ROWS = np.array(
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


@pytest.mark.parametrize("scatter_kind", ["full", "diag"])
def test_moments_of_a_component_far_from_the_others_keep_their_digits(scatter_kind):
    resp = np.zeros((6, 2), dtype=np.float32)
    resp[:5, 0] = 1.0
    resp[5, 1] = 1.0
    exact = ROWS.astype(np.float64)
    means = np.array([exact[:5].mean(0), exact[5]])
    stats = responsibility_stats(ROWS, resp, None, means, scatter_kind)
    # the shifts are the float32 roundings of the means
    np.testing.assert_allclose(stats.means(), means, rtol=0, atol=1e-5)
    deviations = exact[:5] - exact[:5].mean(0)
    expected = deviations.T @ deviations
    if scatter_kind == "diag":
        expected = np.diag(expected)
    # about a shift within float32 rounding of the mean: equal to that rounding
    offset = stats.means()[0] - stats.shift[0]
    moved = stats.scatter[0] - 5 * (
        np.outer(offset, offset) if scatter_kind == "full" else offset**2
    )
    np.testing.assert_allclose(moved, expected, rtol=1e-5, atol=1e-12)
