"""EM on a GPU: N=1,000,000, D=64, K=64, full and diag, float32.

Fits gaussmix on CUDA tensors from a shared start, checks the float32 GPU
results against float64 CPU computations on a subset of rows, and prints the
time per EM iteration next to scikit-learn's on the CPU (measured on
``--sklearn-rows`` rows and scaled to N, since an EM iteration costs time
linear in N).

    python benchmarks/gpu.py                       # on a CUDA machine
    python benchmarks/gpu.py --device cpu --rows 20000 --features 8 \
        --components 4 --sklearn-rows 20000        # a quick dry run
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture


def make_data(n_samples: int, n_features: int, n_components: int, device) -> tuple:
    """Gaussian blobs generated on ``device``, and their cluster centres."""
    generator = torch.Generator(device=device).manual_seed(0)
    centres = 3.0 * torch.randn(
        n_components, n_features, generator=generator, device=device
    )
    labels = torch.randint(
        n_components, (n_samples,), generator=generator, device=device
    )
    noise = torch.randn(n_samples, n_features, generator=generator, device=device)
    return centres[labels] + noise, centres


def shared_start(X: torch.Tensor, n_components: int, covariance_type: str) -> dict:
    """A start both libraries accept: data rows as means, unit precisions."""
    n_features = X.shape[1]
    rows = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(1))
    means = X[rows[:n_components].to(X.device)].double().cpu().numpy()
    if covariance_type == "full":
        precisions = np.broadcast_to(
            np.eye(n_features), (n_components, n_features, n_features)
        ).copy()
    else:
        precisions = np.ones((n_components, n_features))
    return {
        "weights_init": np.full(n_components, 1.0 / n_components),
        "means_init": means,
        "precisions_init": precisions,
    }


def synchronise(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_fit(fit, max_iter: int, device=None) -> float:
    synchronise(device or "cpu")
    start = time.perf_counter()
    fit(max_iter)
    synchronise(device or "cpu")
    return time.perf_counter() - start


def per_iteration(fit, iterations: int, device=None, repeats: int = 1) -> float:
    """(time of 1 + iterations EM steps - time of 1 step) / iterations,
    the smallest of ``repeats`` measurements."""
    fit(1)  # warm-up: kernels, allocator, BLAS threads
    return min(
        (time_fit(fit, 1 + iterations, device) - time_fit(fit, 1, device)) / iterations
        for _ in range(repeats)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--components", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--sklearn-rows", type=int, default=100_000)
    parser.add_argument("--check-rows", type=int, default=50_000)
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device; pass --device cpu for a dry run")
        # exact float32 products: TF32 would trade digits for speed
        torch.backends.cuda.matmul.allow_tf32 = False
        print(f"device: {torch.cuda.get_device_name(device)}")
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, _ = make_data(args.rows, args.features, args.components, device)
    X_host = X.cpu().numpy()
    subset = X_host[: args.check_rows].astype(np.float64)
    sk_rows = X_host[: args.sklearn_rows].astype(np.float64)
    print(
        f"N={args.rows} D={args.features} K={args.components} float32, "
        f"{args.iterations} timed iterations (least of 3); scikit-learn on "
        f"{len(sk_rows)} rows (float64, CPU), scaled to N"
    )
    header = (
        f"{'covariance':>10} {'gaussmix s/it':>14} {'sklearn s/it':>13} "
        f"{'speed-up':>9} {'subset fit rel.err':>19} {'score rel.err':>14}"
    )
    print(header)
    for covariance_type in ("full", "diag"):
        start = shared_start(X, args.components, covariance_type)
        settings = dict(
            n_components=args.components,
            covariance_type=covariance_type,
            tol=0.0,
            **start,
        )

        def ours(max_iter: int, data=X, settings=settings) -> GaussianMixture:
            return GaussianMixture(max_iter=max_iter, **settings).fit(data)

        def theirs(max_iter: int, settings=settings) -> None:
            SklearnGaussianMixture(max_iter=max_iter, **settings).fit(sk_rows)

        gpu_time = per_iteration(ours, args.iterations, device, repeats=3)
        sklearn_time = per_iteration(theirs, 1) * args.rows / len(sk_rows)

        # float32 on the device against float64 on the host, same start
        check_iterations = 10
        on_device = ours(
            check_iterations, torch.as_tensor(subset, device=device).float()
        )
        on_host = ours(check_iterations, subset)
        fit_error = abs(on_device.lower_bound_ - on_host.lower_bound_) / abs(
            on_host.lower_bound_
        )
        model = ours(args.iterations)
        weights = model.weights_.double().cpu().numpy()
        as_float64 = GaussianMixture.from_params(
            weights / weights.sum(),
            model.means_.double().cpu().numpy(),
            model.covariances_.double().cpu().numpy(),
            covariance_type,
        )
        device_score = model.score(torch.as_tensor(subset, device=device).float())
        score_error = abs(device_score - as_float64.score(subset)) / abs(
            as_float64.score(subset)
        )
        print(
            f"{covariance_type:>10} {gpu_time:>14.4f} {sklearn_time:>13.3f} "
            f"{sklearn_time / gpu_time:>8.0f}x {fit_error:>19.2e} {score_error:>14.2e}"
        )


if __name__ == "__main__":
    main()
