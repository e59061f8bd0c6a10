"""How fast a diagonal EM iteration can be here: its two products alone.

A diagonal-covariance iteration over N rows and K components cannot do
less than two dense products of K x (2D + 1) by (2D + 1) x N: the
log-densities ``[m p, -p/2, c] @ [x; x^2; 1]`` and the moments
``[x; x^2; 1] @ r^T``, 4 N K (2D + 1) flops, unless responsibilities
vanish (they do not on overlapping data). This script times, in one
process on bench_em.py's ``descriptors`` data:

- scikit-learn's ``GaussianMixture`` (float64) per iteration, from a shared
  start, as bench_em.py does: (t[max_iter=6] - t[max_iter=1]) / 5;
- gaussmix the same way, float64 and float32;
- the two products alone over all rows, in cache-sized chunks as the
  library cuts them and over the whole block at once, with numpy's BLAS
  (the faster of both orientations) and, where torch is installed, with
  torch's (MKL on x86 wheels); and ``exp`` of the (K, N) block;

and prints the largest ratio to scikit-learn that the products and the
``exp`` alone would allow, beside the ratio gaussmix reaches.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        .venv/bin/python benchmarks/diagonal_bound.py --scale 0.5
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from _common import best_time, shared_start
from bench_em import CONFIGS, make_data
from threadpoolctl import threadpool_limits

#: Numbers in a chunk's block and log-densities, as the library sizes them.
CHUNK_ELEMENTS = 1 << 18


def per_iteration(make_model: Callable[[int], object], X: np.ndarray) -> float:
    """(t[max_iter=6] - t[max_iter=1]) / 5, best of three."""
    few = best_time(lambda: make_model(1).fit(X), 3)
    more = best_time(lambda: make_model(6).fit(X), 3)
    return (more - few) / 5


def product_seconds(X: np.ndarray, n_components: int, repeats: int) -> dict[str, float]:
    """Seconds of the two products (and of exp) over all of X's rows."""
    rng = np.random.default_rng(0)
    n_rows = X.shape[0]
    block = np.vstack([X.T, X.T**2, np.ones((1, n_rows), X.dtype)])
    coefficients = rng.standard_normal((n_components, block.shape[0])).astype(X.dtype)
    resp = rng.random((n_components, n_rows)).astype(X.dtype)
    chunk = max(256, CHUNK_ELEMENTS // (block.shape[0] + n_components))
    starts = range(0, n_rows, chunk)
    blocks = [np.ascontiguousarray(block[:, s : s + chunk]) for s in starts]
    resps = [np.ascontiguousarray(resp[:, s : s + chunk]) for s in starts]

    def numpy_products(pieces: list, weights: list) -> float:
        log_density = min(
            best_time(lambda: [coefficients @ b for b in pieces], repeats),
            best_time(lambda: [(b.T @ coefficients.T) for b in pieces], repeats),
        )
        moments = min(
            best_time(
                lambda: [b @ r.T for b, r in zip(pieces, weights, strict=True)], repeats
            ),
            best_time(
                lambda: [r @ b.T for b, r in zip(pieces, weights, strict=True)], repeats
            ),
        )
        return log_density + moments

    found = {
        "numpy BLAS, chunks": numpy_products(blocks, resps),
        "numpy BLAS, whole block": numpy_products([block], [resp]),
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch_blocks = [torch.from_numpy(b) for b in blocks]
        torch_resps = [torch.from_numpy(r) for r in resps]
        torch_coefficients = torch.from_numpy(coefficients)
        torch_pairs = list(zip(torch_blocks, torch_resps, strict=True))
        found["torch BLAS, chunks"] = best_time(
            lambda: [torch_coefficients @ b for b in torch_blocks], repeats
        ) + best_time(lambda: [b @ r.T for b, r in torch_pairs], repeats)
    found["exp of (K, N)"] = best_time(lambda: np.exp(resp), repeats)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.5, help="multiplies rows")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    config = CONFIGS["descriptors"]
    config = replace(config, n_samples=int(config.n_samples * args.scale))
    X = make_data(config)
    K = config.n_components
    weights, means, precisions = shared_start(X, K, "diag")
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    from sklearn.mixture import GaussianMixture as SklearnMixture

    from gaussmix import GaussianMixture

    def model(cls: type, dtype: type) -> Callable[[int], object]:
        def make(iterations: int) -> object:
            return cls(
                K,
                covariance_type="diag",
                max_iter=iterations,
                tol=0.0,
                weights_init=weights,
                means_init=means.astype(dtype),
                precisions_init=precisions.astype(dtype),
            )

        return make

    flops = 4.0 * X.shape[0] * K * (2 * X.shape[1] + 1)
    print(
        f"# descriptors, {X.shape[0]:,} x {X.shape[1]}, K={K} diag; "
        f"{flops / 1e9:.2f} GFLOP in the two products per iteration"
    )
    print("| | float64 s | float32 s |")
    print("|---|---|---|")
    with threadpool_limits(args.threads):
        sklearn = per_iteration(model(SklearnMixture, np.float64), X)
        ours = {
            dtype: per_iteration(model(GaussianMixture, dtype), X.astype(dtype))
            for dtype in (np.float64, np.float32)
        }
        products = {
            dtype: product_seconds(X.astype(dtype), K, args.repeats)
            for dtype in (np.float64, np.float32)
        }
    print(f"| scikit-learn float64, per iteration | {sklearn:.4f} | |")
    print(
        f"| gaussmix, per iteration | {ours[np.float64]:.4f} | {ours[np.float32]:.4f} |"
    )
    print(f"| what 8× / 16× allow | {sklearn / 8:.4f} | {sklearn / 16:.4f} |")
    for name in products[np.float64]:
        print(
            f"| {name} | {products[np.float64][name]:.4f} "
            f"| {products[np.float32][name]:.4f} |"
        )
    bounds = {}
    for dtype, found in products.items():
        fastest = min(v for k, v in found.items() if k != "exp of (K, N)")
        bounds[dtype] = sklearn / (fastest + found["exp of (K, N)"])
    print(
        f"\nlargest ratio to scikit-learn float64 the products and exp allow: "
        f"{bounds[np.float64]:.1f}× float64, {bounds[np.float32]:.1f}× float32; "
        f"gaussmix reaches {sklearn / ours[np.float64]:.1f}× and "
        f"{sklearn / ours[np.float32]:.1f}×"
    )


if __name__ == "__main__":
    main()
