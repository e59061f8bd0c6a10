"""A chunk's weighted sums ``z @ r^T`` for few components: compiled loop vs BLAS.

For each number of components K and each feature count P (the quadratic
features of D = 16, the diagonal block of D = 64, and a narrow block), one
cache-sized chunk of random float32 (and float64) rows is summed by numpy's
BLAS (the faster of its two orientations) and by the compiled loop of
``gaussmix.core.kernels.few_components``; prints GFLOP/s and the speed-up.
The library takes the compiled loop for float32 below
``FEW_COMPONENTS`` components.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        .venv/bin/python benchmarks/few_components.py
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import best_time
from threadpoolctl import threadpool_limits

from gaussmix.core.kernels.few_components import tiled_sums

#: Numbers in a chunk's features and responsibilities, as the kernels size
#: their dense chunks (about a core's cache).
CHUNK_ELEMENTS = 1 << 18


def measure(
    features: np.ndarray, resp: np.ndarray, repeats: int
) -> tuple[float, float]:
    """Best seconds of BLAS (the faster orientation) and of the compiled loop."""
    out = np.zeros((features.shape[0], resp.shape[0]))
    blas = min(
        best_time(lambda: features @ resp.T, repeats),
        best_time(lambda: resp @ features.T, repeats),
    )
    return blas, best_time(lambda: tiled_sums(features, resp, out), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| dtype | P | K | rows | BLAS GFLOP/s | compiled GFLOP/s | speed-up |")
    print("|---|---|---|---|---|---|---|")
    with threadpool_limits(args.threads):
        for dtype in (np.float32, np.float64):
            for n_out in (154, 129, 12):
                for n_components in (2, 3, 5, 8, 10, 12, 15, 16):
                    n_rows = max(256, CHUNK_ELEMENTS // (n_out + n_components))
                    features = rng.random((n_out, n_rows)).astype(dtype)
                    resp = rng.random((n_components, n_rows)).astype(dtype)
                    blas, compiled = measure(features, resp, args.repeats)
                    flops = 2.0 * n_out * n_components * n_rows
                    print(
                        f"| {np.dtype(dtype).name} | {n_out} | {n_components} "
                        f"| {n_rows} | {flops / blas / 1e9:.0f} "
                        f"| {flops / compiled / 1e9:.0f} | {blas / compiled:.2f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
