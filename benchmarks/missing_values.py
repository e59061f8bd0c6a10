"""Imputing missing values with a Gaussian mixture, against scikit-learn's imputers.

Prints these tables (with ``--candidates``, the third alone):

1. imputation RMSE on iris, wine and breast_cancer, each standardised, with
   20% of the cells removed completely at random, mean over 5 seeds:
   GaussianMixtureImputer (defaults) against SimpleImputer (mean),
   KNNImputer and IterativeImputer (defaults, random_state set);
2. 5-fold stratified CV accuracy (shuffle, random_state=0) with 20% of the
   cells missing: imputer, StandardScaler and LogisticRegression
   (max_iter=1000), with GaussianMixtureImputer or IterativeImputer; then
   the same with StandardScaler before the imputer, the order the
   imputer's ``reg_covar`` is sized for;
3. ``--candidates``: the imputation RMSE of candidate default settings of
   GaussianMixtureImputer on the same panel, each the same on every
   dataset, which is how the default was chosen.

Run with ``python benchmarks/missing_values.py [--candidates]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gaussmix import GaussianMixtureImputer

LOADERS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}
SEEDS = range(5)
MISSING_FRACTION = 0.2

#: Candidate defaults of GaussianMixtureImputer, compared on the whole panel.
CANDIDATES: dict[str, dict[str, Any]] = {
    "K=1 full": dict(n_components=1),
    "K=2 full": dict(n_components=2),
    "BIC K<=3 full": dict(n_components=(1, 2, 3)),
    "K=2 full reg 1e-2": dict(n_components=2, reg_covar=1e-2),
    "K=3 diag": dict(n_components=3, covariance_type="diag"),
}


def holed(X: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X with MISSING_FRACTION of its cells set to NaN, and the mask.

    A row that would lose every value keeps one, drawn at random: such a
    row carries nothing to impute from, for any method.
    """
    rng = np.random.RandomState(seed)
    mask = rng.uniform(size=X.shape) < MISSING_FRACTION
    for row in np.flatnonzero(mask.all(axis=1)):
        mask[row, rng.randint(X.shape[1])] = False
    out = X.copy()
    out[mask] = np.nan
    return out, mask


def standardised(name: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = LOADERS[name](return_X_y=True)
    return StandardScaler().fit_transform(X), y


def rmse_table(
    imputers: dict[str, Callable[[int], Any]], title: str
) -> dict[str, dict[str, float]]:
    """Mean imputation RMSE over the seeds, per dataset and imputer; printed."""
    print(title)
    print(f"{'dataset':<14}" + "".join(f"{n:>20}" for n in imputers))
    table: dict[str, dict[str, float]] = {}
    for name in LOADERS:
        X, _ = standardised(name)
        scores = {n: [] for n in imputers}
        seconds = {n: 0.0 for n in imputers}
        for seed in SEEDS:
            Xh, mask = holed(X, seed)
            for label, make in imputers.items():
                start = time.perf_counter()
                filled = make(seed).fit_transform(Xh)
                seconds[label] += time.perf_counter() - start
                error = filled[mask] - X[mask]
                scores[label].append(float(np.sqrt(np.mean(error**2))))
        table[name] = {n: float(np.mean(v)) for n, v in scores.items()}
        print(
            f"{name:<14}"
            + "".join(
                f"{table[name][n]:>12.4f} ({seconds[n] / len(SEEDS):>4.1f}s)"
                for n in imputers
            ),
            flush=True,
        )
    return table


def peers() -> dict[str, Callable[[int], Any]]:
    return {
        "gaussmix": lambda seed: GaussianMixtureImputer(random_state=seed),
        "mean": lambda seed: SimpleImputer(),
        "KNN": lambda seed: KNNImputer(),
        "Iterative": lambda seed: IterativeImputer(random_state=seed),
    }


def verdict(table: dict[str, dict[str, float]], ours: str) -> str:
    """Whether ``ours`` beats IterativeImputer on two of three sets and is
    never worse than KNNImputer."""
    beats = sum(row[ours] < row["Iterative"] for row in table.values())
    knn = all(row[ours] <= row["KNN"] for row in table.values())
    return (
        f"{ours}: beats IterativeImputer on {beats} of {len(table)} datasets; "
        f"never worse than KNNImputer: {'yes' if knn else 'NO'}"
    )


def accuracy_table(scale_first: bool = False) -> None:
    """CV accuracy of imputer, StandardScaler, LogisticRegression; with
    ``scale_first``, StandardScaler, imputer, LogisticRegression instead
    (the imputer then sees standardised columns)."""
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    imputers = {
        "gaussmix": GaussianMixtureImputer(random_state=0),
        "Iterative": IterativeImputer(random_state=0),
    }
    steps = "StandardScaler, imputer" if scale_first else "imputer, StandardScaler"
    print(f"\n5-fold stratified CV accuracy, 20% missing ({steps}, LogisticRegression)")
    print(f"{'dataset':<14}" + "".join(f"{n:>12}" for n in imputers))
    for name, loader in LOADERS.items():
        X, y = loader(return_X_y=True)
        Xh, _ = holed(X, 0)
        row = f"{name:<14}"
        for imputer in imputers.values():
            first = [StandardScaler(), imputer] if scale_first else [imputer]
            then = [] if scale_first else [StandardScaler()]
            model = make_pipeline(*first, *then, LogisticRegression(max_iter=1000))
            row += f"{cross_val_score(model, Xh, y, cv=cv).mean():>12.4f}"
        print(row, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--candidates",
        action="store_true",
        help="compare the candidate default settings on the panel instead",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.candidates:
        candidates = {
            label: (
                lambda seed, s=settings: GaussianMixtureImputer(**s, random_state=seed)
            )
            for label, settings in CANDIDATES.items()
        }
        table = rmse_table(
            {**candidates, "KNN": peers()["KNN"], "Iterative": peers()["Iterative"]},
            "Candidate defaults: imputation RMSE, 20% MCAR, mean of 5 seeds",
        )
        for label in CANDIDATES:
            print(verdict(table, label))
        return
    table = rmse_table(
        peers(), "Imputation RMSE (standardised), 20% MCAR, mean of 5 seeds"
    )
    print(verdict(table, "gaussmix"))
    accuracy_table()
    accuracy_table(scale_first=True)


if __name__ == "__main__":
    main()
