"""Plain-text summaries of fitted mixtures for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Columns of means shown before the table is cut short.
MAX_SHOWN_FEATURES = 8


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Right-aligned columns separated by two spaces."""
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(header, *rows, strict=True)
    ]
    lines = [
        "  ".join(
            str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)
        )
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def components_table(model: Any, names: Sequence[str] | None = None) -> str:
    """Weights and means of each component, one row per component."""
    means = np.asarray(model.means_, dtype=np.float64)
    n_features = means.shape[1]
    names = [str(j) for j in range(n_features)] if names is None else list(names)
    shown = min(n_features, MAX_SHOWN_FEATURES)
    header = ["component", "weight", *(f"mean[{n}]" for n in names[:shown])]
    rows = [
        [str(k), f"{w:.4f}", *(f"{v:.4g}" for v in means[k, :shown])]
        for k, w in enumerate(np.asarray(model.weights_, dtype=np.float64))
    ]
    text = format_table(header, rows)
    if shown < n_features:
        text += f"\n({n_features - shown} more mean columns not shown)"
    return text


def fit_summary(model: Any, X: np.ndarray, names: Sequence[str] | None = None) -> str:
    """What a user wants after a fit: model, convergence, criteria, components."""
    n_rows, n_features = X.shape
    status = "yes" if model.converged_ else "no (increase --max-iter or --tol)"
    lines = [
        f"GaussianMixture: {model.n_components} components, covariance_type="
        f"{model.covariance_type!r}, {n_rows} rows x {n_features} columns",
        f"converged: {status} after {model.n_iter_} iterations",
        f"log-likelihood per row: {model.score(X):.6g}",
        f"BIC: {model.bic(X):.6g}   AIC: {model.aic(X):.6g}   (lower is better)",
    ]
    hidden = np.isnan(X)
    if hidden.any():
        lines.append(
            f"missing values: {int(hidden.sum())} of {hidden.size} "
            f"({hidden.mean():.1%}) in {int(hidden.any(axis=1).sum())} rows, "
            "marginalised by EM"
        )
    if hasattr(model, "noise_proportion_"):
        n_noise = int(np.sum(np.asarray(model.predict(X)) == -1))
        lines.append(
            f"noise: proportion {model.noise_proportion_:.4f}, volume "
            f"{model.noise_volume_:.6g}, {n_noise} rows labelled noise (-1)"
        )
    lines += ["", components_table(model, names)]
    return "\n".join(lines)


def weights_summary(model: Any, threshold: float) -> str:
    """The effective number of components of a Bayesian fit, and its weights
    from largest to smallest."""
    weights = np.sort(np.asarray(model.weights_, dtype=np.float64))[::-1]
    used = model.effective_n_components(threshold)
    return "\n".join(
        [
            f"effective components: {used} of {len(weights)} (weight > {threshold:g})",
            "sorted weights: " + "  ".join(f"{w:.4f}" for w in weights),
        ]
    )


def bayesian_summary(
    model: Any, X: np.ndarray, names: Sequence[str] | None, threshold: float
) -> str:
    """What a user wants after a variational fit: the components in use."""
    n_rows, n_features = X.shape
    status = "yes" if model.converged_ else "no (increase --max-iter or --tol)"
    prior = model.weight_concentration_prior_type
    lines = [
        f"BayesianGaussianMixture: at most {model.n_components} components, "
        f"covariance_type={model.covariance_type!r}, {n_rows} rows x "
        f"{n_features} columns",
        f"prior: {prior}, weight_concentration_prior="
        f"{model.weight_concentration_prior_:.4g}",
        f"converged: {status} after {model.n_iter_} iterations",
        f"lower bound: {model.lower_bound_:.6g}",
        f"log-likelihood per row: {model.score(X):.6g} (expected), "
        f"{float(np.mean(model.predictive_score_samples(X))):.6g} (predictive)",
        weights_summary(model, threshold),
        "",
        components_table(model, names),
    ]
    return "\n".join(lines)


def bic_table(ks: Sequence[int], bic: dict[str, Sequence[float | None]]) -> str:
    """BIC per K (rows) and covariance type (columns); the lowest is starred."""
    values = np.array(
        [[np.nan if v is None else v for v in column] for column in bic.values()],
        dtype=float,
    )
    best = np.unravel_index(np.nanargmin(values), values.shape)
    rows = []
    for i, k in enumerate(ks):
        cells = []
        for j in range(len(bic)):
            value = values[j, i]
            text = "-" if np.isnan(value) else f"{value:.2f}"
            cells.append(text + ("*" if (j, i) == best else " "))
        rows.append([str(k), *cells])
    title = "BIC by number of components (lower is better, * = chosen):"
    return title + "\n" + format_table(["K", *(f"{n} " for n in bic)], rows)
