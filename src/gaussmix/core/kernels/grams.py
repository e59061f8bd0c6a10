"""Responsibility-weighted Gram matrices of whitened rows, dense or sparse."""

from __future__ import annotations

import numpy as np

#: Square roots of responsibilities below this (relative to a row's total
#: of 1) are left out of the scatter: they change no sum at the dtype's
#: resolution.
_NEGLIGIBLE_ROOT = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 3e-8}

#: Largest share of (component, row) pairs above the threshold for which
#: the scatter is gathered per component instead of formed densely.
SPARSE_SHARE = 0.3


def weighted_gram(
    whitened: np.ndarray, root_resp: np.ndarray, grouped: bool = False
) -> np.ndarray:
    """``sum_i r_ik a_ik a_ik^T`` for every k, from (K, D, n) and sqrt(r) (K, n).

    Clustered data give most rows a negligible responsibility under most
    components; those pairs are then skipped by gathering each component's
    rows, which turns K dense products into products over about n rows in
    all. With ``grouped`` rows (in order of their likeliest component) each
    component's rows that matter lie in one short run, and the product
    covers that run alone, without gathering. ``whitened`` is overwritten.
    """
    n_components, _, n_samples = whitened.shape
    if grouped:
        return _run_grams(whitened, root_resp)
    active = np.flatnonzero(root_resp > _NEGLIGIBLE_ROOT[root_resp.dtype])
    if active.size > SPARSE_SHARE * root_resp.size:
        whitened *= root_resp[:, None, :]
        return np.matmul(whitened, whitened.transpose(0, 2, 1))
    components, columns = np.divmod(active, n_samples)
    # every active (component, row) pair as one column, grouped by component
    gathered = whitened[components, :, columns].T
    gathered *= root_resp.reshape(-1)[active]
    return segment_grams(
        gathered, component_runs(components, n_components), n_components
    )


def _run_grams(whitened: np.ndarray, root_resp: np.ndarray) -> np.ndarray:
    """:func:`weighted_gram` over each component's run of rows that matter."""
    n_components, n_features, _ = whitened.shape
    gram = np.zeros((n_components, n_features, n_features), whitened.dtype)
    significant = root_resp > _NEGLIGIBLE_ROOT[root_resp.dtype]
    for k in range(n_components):
        rows = np.flatnonzero(significant[k])
        if rows.size:
            run = slice(rows[0], rows[-1] + 1)
            block = whitened[k][:, run]
            block *= root_resp[k, run]
            np.dot(block, block.T, out=gram[k])
    return gram


def segment_grams(
    columns: np.ndarray, segments: list[tuple[int, slice]], n_components: int
) -> np.ndarray:
    """``B_k B_k^T`` for each component's segment of the (D, m) ``columns``."""
    n_features = columns.shape[0]
    gram = np.zeros((n_components, n_features, n_features), columns.dtype)
    for k, segment in segments:
        block = columns[:, segment]
        np.dot(block, block.T, out=gram[k])
    return gram


def component_runs(
    components: np.ndarray, n_components: int
) -> list[tuple[int, slice]]:
    """(component, slice) of each non-empty run of sorted component indices."""
    counts = np.bincount(components, minlength=n_components)
    ends = np.cumsum(counts)
    return [
        (int(k), slice(int(ends[k] - counts[k]), int(ends[k])))
        for k in np.flatnonzero(counts)
    ]
