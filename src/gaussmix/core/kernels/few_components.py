"""Responsibility-weighted sums of a chunk's rows for few components.

Every dense kernel ends a chunk with one product ``z @ r^T``: its (P, n)
block of per-row features against the (K, n) responsibilities, giving all
the moments of every component at once. OpenBLAS runs that product well
when K is 16 or more, but with fewer components its output is too narrow
for its blocking: on a Skylake-X core, in float32, 1,536 rows and P = 154
(the quadratic features at D = 16), K = 10 ran at 35-38 GFLOP/s against
73 at K = 16, and K = 5 at 21.

Here the product is a compiled loop that keeps a 4 x 2 tile of the output
in registers and reads each feature and responsibility row once per tile,
both contiguous, so that the compiler vectorises the sum over rows: 54-80
GFLOP/s for every K from 5 to 15 on the same core (1.4-3.5 times
OpenBLAS), and level with it at K = 2, 3 and 16 (``benchmarks/
few_components.py`` measures both on the machine at hand). In float64
the gain was uneven (0.85-2.3 times), so float64 keeps BLAS.

The sum over rows is reassociated (vector lanes, then the lanes added),
which rounds like BLAS's blocked sums; the order is fixed by the shapes
alone, so the same chunk gives the same bits on the same machine.
"""

from __future__ import annotations

import numba
import numpy as np

#: Components below which float32 sums take the compiled loop.
FEW_COMPONENTS = 16


def weighted_sums(features: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """``features @ resp.T`` in float64, (P, K).

    Parameters
    ----------
    features : ndarray of shape (n_features_out, n_samples)
        One row per feature, one column per sample.
    resp : ndarray of shape (n_components, n_samples)
        The same dtype as ``features``.

    Returns
    -------
    ndarray of shape (n_features_out, n_components), float64
        Accumulated in the operands' dtype within the chunk, as a BLAS
        product in that dtype would be.
    """
    if (
        features.dtype == np.float32
        and resp.dtype == np.float32
        and resp.shape[0] < FEW_COMPONENTS
        and features.flags.c_contiguous
        and resp.flags.c_contiguous
    ):
        out = np.zeros((features.shape[0], resp.shape[0]))
        tiled_sums(features, resp, out)
        return out
    return (features @ resp.T).astype(np.float64)


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc", "contract"})
def tiled_sums(features: np.ndarray, resp: np.ndarray, out: np.ndarray) -> None:
    """``out += features @ resp.T`` over 4 x 2 tiles of ``out``.

    ``reassoc`` lets the compiler split each sum over rows into vector
    lanes; infinities and NaN keep their meaning (no ``nnan``/``ninf``).
    """
    n_out, n_rows = features.shape
    n_components = resp.shape[0]
    zero = features.dtype.type(0)
    out_tiled = n_out - n_out % 4
    components_tiled = n_components - n_components % 2
    for p in range(0, out_tiled, 4):
        f0 = features[p]
        f1 = features[p + 1]
        f2 = features[p + 2]
        f3 = features[p + 3]
        for k in range(0, components_tiled, 2):
            r0 = resp[k]
            r1 = resp[k + 1]
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = zero
            for i in range(n_rows):
                x0 = f0[i]
                x1 = f1[i]
                x2 = f2[i]
                x3 = f3[i]
                y0 = r0[i]
                y1 = r1[i]
                s00 += x0 * y0
                s01 += x0 * y1
                s10 += x1 * y0
                s11 += x1 * y1
                s20 += x2 * y0
                s21 += x2 * y1
                s30 += x3 * y0
                s31 += x3 * y1
            out[p, k] += s00
            out[p, k + 1] += s01
            out[p + 1, k] += s10
            out[p + 1, k + 1] += s11
            out[p + 2, k] += s20
            out[p + 2, k + 1] += s21
            out[p + 3, k] += s30
            out[p + 3, k + 1] += s31
        for k in range(components_tiled, n_components):
            r0 = resp[k]
            s0 = s1 = s2 = s3 = zero
            for i in range(n_rows):
                y0 = r0[i]
                s0 += f0[i] * y0
                s1 += f1[i] * y0
                s2 += f2[i] * y0
                s3 += f3[i] * y0
            out[p, k] += s0
            out[p + 1, k] += s1
            out[p + 2, k] += s2
            out[p + 3, k] += s3
    for p in range(out_tiled, n_out):
        fp = features[p]
        for k in range(n_components):
            rk = resp[k]
            s = zero
            for i in range(n_rows):
                s += fp[i] * rk[i]
            out[p, k] += s
