"""A noise component on data with missing values: are the outliers still found?

Three unit-variance clusters 8 apart in 4 dimensions, 10% of the 900 rows
replaced by uniform noise over a box 10 times as wide; then 10%, 20% and
30% of the cells removed completely at random (no row left empty). Each
way of handling the holes is fitted with ``noise=True`` and 3 components:

- ``marginalise``: the holed rows as they are (NaN marginalised, the noise
  density over each row's observed columns);
- ``mean-impute``: NaN replaced by the column's observed mean first;
- ``complete rows``: rows with a NaN dropped (scored on those rows only);

and the complete-data fit is the reference. Columns: the share of the
planted noise rows labelled -1 (recall), the share of cluster rows labelled
-1 (false alarms), the fitted noise proportion (truth 0.10), and the
largest distance between a true centre and its matched fitted mean; means
over 3 seeds, with the seconds per fit.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/noise_missing.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _common import machine_description
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture

N_ROWS, N_FEATURES, SEEDS = 900, 4, (0, 1, 2)


def _data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, N_FEATURES))
    centres[1, 0] = centres[2, 1] = 8.0
    labels = np.repeat(np.arange(3), N_ROWS // 3)
    X = centres[labels] + rng.standard_normal((N_ROWS, N_FEATURES))
    lower, upper = X.min(axis=0), X.max(axis=0)
    middle, width = (lower + upper) / 2, 10 * (upper - lower)
    replaced = rng.choice(N_ROWS, N_ROWS // 10, replace=False)
    X[replaced] = middle + (rng.random((len(replaced), N_FEATURES)) - 0.5) * width
    labels[replaced] = -1
    return X, labels, centres


def _holed(X: np.ndarray, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 100)
    out = X.copy()
    out[rng.uniform(size=X.shape) < share] = np.nan
    empty = np.isnan(out).all(axis=1)
    out[empty] = X[empty]
    return out


def _mean_error(means: np.ndarray, centres: np.ndarray) -> float:
    distances = np.linalg.norm(means[:, None] - centres[None], axis=2)
    rows, columns = linear_sum_assignment(distances)
    return float(distances[rows, columns].max())


def _measure(X: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model = GaussianMixture(3, noise=True, random_state=0).fit(X)
        seconds = time.perf_counter() - start
    predicted = model.predict(X)
    noise = labels == -1
    return [
        float((predicted[noise] == -1).mean()),
        float((predicted[~noise] == -1).mean()),
        model.noise_proportion_,
        _mean_error(model.means_, centres),
        seconds,
    ]


def main() -> None:
    print(machine_description())
    header = (
        f"{'missing':>7}  {'method':<14}{'recall':>8}{'false -1':>10}"
        f"{'pi_0':>8}{'mean err':>10}{'s/fit':>8}"
    )
    print(header)
    print("-" * len(header))
    for share in (0.0, 0.1, 0.2, 0.3):
        results: dict[str, list[list[float]]] = {}
        for seed in SEEDS:
            X, labels, centres = _data(seed)
            if share == 0.0:
                results.setdefault("complete data", []).append(
                    _measure(X, labels, centres)
                )
                continue
            holed = _holed(X, share, seed)
            hidden = np.isnan(holed)
            filled = np.where(hidden, np.nanmean(holed, axis=0), holed)
            kept = ~hidden.any(axis=1)
            for name, rows, truth in (
                ("marginalise", holed, labels),
                ("mean-impute", filled, labels),
                ("complete rows", holed[kept], labels[kept]),
            ):
                results.setdefault(name, []).append(_measure(rows, truth, centres))
        for name, values in results.items():
            recall, false, proportion, error, seconds = np.mean(values, axis=0)
            print(
                f"{share:>7.0%}  {name:<14}{recall:>8.3f}{false:>10.3f}"
                f"{proportion:>8.3f}{error:>10.3f}{seconds:>8.2f}"
            )


if __name__ == "__main__":
    main()
