"""How well a mixture is recovered from data with missing values.

1. Missing completely at random: 10%, 30% and 50% of the cells removed;
   the marginalising fit's parameters against the complete-data fit's
   (largest matched mean error, in units of the data's spread, and held-out
   log-likelihood per row on complete rows), 5 seeds.
2. Missing at random (whether columns 1 to 3 are missing depends on the
   observed column 0): the marginalising fit against complete-case analysis
   (rows with a NaN dropped) and column-mean imputation, by held-out
   log-likelihood and by the error of the fitted means against the true
   ones.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/missing_recovery.py
"""

from __future__ import annotations

import warnings

import numpy as np
from _common import machine_description
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture

N_FEATURES, N_COMPONENTS = 5, 3


def _truth(rng: np.random.Generator):
    means = rng.normal(scale=3.0, size=(N_COMPONENTS, N_FEATURES))
    covariances = []
    for _ in range(N_COMPONENTS):
        a = rng.normal(size=(N_FEATURES, N_FEATURES))
        covariances.append(a @ a.T / N_FEATURES + 0.3 * np.eye(N_FEATURES))
    weights = np.array([0.5, 0.3, 0.2])
    return weights, means, np.stack(covariances)


def _draw(rng, truth, n):
    weights, means, covariances = truth
    labels = rng.choice(N_COMPONENTS, size=n, p=weights)
    noise = rng.standard_normal((n, N_FEATURES))
    factors = np.linalg.cholesky(covariances)
    return means[labels] + np.einsum("nij,nj->ni", factors[labels], noise)


def _fit(X, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(N_COMPONENTS, n_init=3, random_state=seed).fit(X)


def _mean_error(fitted, reference, spread):
    cost = np.linalg.norm(fitted[:, None] - reference[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return float((np.abs(fitted[rows] - reference[cols]) / spread).max())


def _remove_at_random(rng, X, share):
    holed = X.copy()
    holed[rng.uniform(size=X.shape) < share] = np.nan
    empty = np.isnan(holed).all(axis=1)
    holed[empty, 0] = X[empty, 0]
    return holed


def _remove_depending_on_column_0(rng, X):
    holed = X.copy()
    high = X[:, 0] > np.quantile(X[:, 0], 0.5)
    for column in range(1, N_FEATURES):
        holed[high & (rng.uniform(size=len(X)) < 0.6), column] = np.nan
    return holed


def main() -> None:
    print(machine_description())
    print(f"{N_COMPONENTS} full Gaussians in {N_FEATURES}-D, 3,000 rows, 5 seeds\n")
    print("Missing completely at random, vs the complete-data fit (median):\n")
    print("| missing | max mean error / sd | held-out loglik/row | complete fit |")
    print("|---|---|---|---|")
    for share in (0.1, 0.3, 0.5):
        errors, scores, references = [], [], []
        for seed in range(5):
            rng = np.random.default_rng(seed)
            truth = _truth(rng)
            X, test = _draw(rng, truth, 3000), _draw(rng, truth, 5000)
            spread = X.std(axis=0)
            complete = _fit(X, seed)
            holed = _fit(_remove_at_random(rng, X, share), seed)
            errors.append(_mean_error(holed.means_, complete.means_, spread))
            scores.append(holed.score(test))
            references.append(complete.score(test))
        print(
            f"| {share:.0%} | {np.median(errors):.3f} | {np.median(scores):.3f} | "
            f"{np.median(references):.3f} |"
        )
    print("\nMissing at random (depends on column 0), median of 5 seeds:\n")
    print("| method | held-out loglik/row | max mean error / sd vs truth |")
    print("|---|---|---|")
    results: dict[str, list[tuple[float, float]]] = {}
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        truth = _truth(rng)
        X, test = _draw(rng, truth, 3000), _draw(rng, truth, 5000)
        spread = X.std(axis=0)
        holed = _remove_depending_on_column_0(rng, X)
        complete_rows = holed[~np.isnan(holed).any(axis=1)]
        mean_filled = np.where(np.isnan(holed), np.nanmean(holed, axis=0), holed)
        for name, rows in (
            ("marginalised (gaussmix)", holed),
            ("complete cases only", complete_rows),
            ("column-mean imputation", mean_filled),
            ("no value missing (reference)", X),
        ):
            model = _fit(rows, seed)
            error = _mean_error(model.means_, truth[1], spread)
            results.setdefault(name, []).append((model.score(test), error))
    for name, values in results.items():
        scores, errors = zip(*values, strict=True)
        print(f"| {name} | {np.median(scores):.3f} | {np.median(errors):.3f} |")


if __name__ == "__main__":
    main()
