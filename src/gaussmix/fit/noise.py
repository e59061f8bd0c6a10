"""EM for a Gaussian mixture with a uniform noise component, over any source.

The E-step runs through ``source.chunk_sums`` (in memory, on files, on Dask)
with :func:`gaussmix.core.noise.noise_chunk_sums`; the loop is
:func:`gaussmix.fit.batch.fit_with_restarts`, as for every other model.

The start follows mclust: a boolean mask marks the rows first taken as
noise, the Gaussian components are initialised on the other rows, and the
noise proportion starts at the masked rows' share of the weight. Without a
mask, nearest-neighbour clutter removal finds the rows (see
:func:`gaussmix.core.noise.clutter_mask`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gaussmix.core.mstep import RepairLog
from gaussmix.core.noise import (
    NoiseParams,
    NoiseSums,
    clutter_mask,
    moment_stats,
    noise_chunk_sums,
    noise_m_step,
    principal_axes,
    row_range,
)
from gaussmix.core.params import MixtureParams
from gaussmix.fit.batch import EMResult, fit_with_restarts
from gaussmix.fit.initialise import initial_params
from gaussmix.fit.progress import EMProgress
from gaussmix.fit.sources import (
    INIT_SAMPLE_SIZE,
    KMEANS_SAMPLE_SIZE,
    DataSource,
    InMemorySource,
)


def region_log_volume(source: DataSource, rule: str | float) -> float:
    """``log V`` of the data's region by ``rule``, in the source's units.

    Parameters
    ----------
    source : DataSource
    rule : {'auto', 'box', 'pca_box'} or float
        ``'box'``: the bounding box of the rows, the product of the columns'
        ranges. ``'pca_box'``: the bounding box of the rows in the
        coordinates of their principal axes (weighted covariance), which
        hugs elongated, rotated data. ``'auto'``: the smaller of the two, as
        mclust's ``hypvol``. A float is the volume itself.

    Raises
    ------
    ValueError
        When the volume is zero or not finite (a constant column, or a range
        beyond float64): pass the volume as a number.
    """
    if not isinstance(rule, str):
        log_volume = math.log(rule) if rule > 0 else -math.inf
    else:
        box = source.chunk_sums(row_range, 1)
        candidates = []
        if rule in ("auto", "box"):
            candidates.append(box.log_volume())
        if rule in ("auto", "pca_box"):
            # moments about the box's centre: no cancellation far from zero
            centre = (box.lower + box.upper) / 2.0
            stats = source.chunk_sums(moment_stats, 1, centre)
            mean, axes, full_rank = principal_axes(stats)
            if full_rank:
                rotated = source.chunk_sums(row_range, 1, mean, axes)
                candidates.append(rotated.log_volume())
            elif rule == "pca_box":
                raise ValueError(
                    "the rows do not span every direction (fewer rows than "
                    "columns, or rows on a hyperplane): their principal-axes "
                    "box has no volume; use noise_volume='box' or a number."
                )
        log_volume = min(candidates)
    volume = math.exp(log_volume) if log_volume < 709.0 else math.inf
    if not math.isfinite(log_volume) or not 0.0 < volume < math.inf:
        raise ValueError(
            f"the noise component's volume is exp({log_volume:.6g}), not a "
            "positive finite number (a constant column, or ranges beyond "
            "float64); pass noise_volume as a number."
        )
    return log_volume


def fit_noise_mixture(
    source: DataSource,
    *,
    covariance_type: str,
    n_components: int,
    init_params: str,
    reg_covar: float,
    user_init: dict[str, Any],
    random_state: np.random.RandomState,
    repairs: RepairLog,
    n_init: int,
    tol: float,
    max_iter: int,
    progress: EMProgress,
    log_volume: float,
    noise_mask: np.ndarray | None,
    init_neighbors: int,
    warm: tuple[NoiseParams, float] | None = None,
    kernel: Callable[..., NoiseSums] = noise_chunk_sums,
    log_extents: np.ndarray | None = None,
    start_source: DataSource | None = None,
) -> EMResult[NoiseParams]:
    """EM for a Gaussian mixture plus uniform noise of density ``1 / V``.

    ``warm`` is a previous fit and its lower bound, to continue from (then
    no mask is needed). Otherwise the start is mclust's, from ``noise_mask``
    or, when it is None, from :func:`~gaussmix.core.noise.clutter_mask`
    with ``init_neighbors`` neighbours on a sample of at most
    ``KMEANS_SAMPLE_SIZE`` rows.

    ``kernel`` is the E-step of a chunk (for rows with missing values,
    :func:`gaussmix.core.missing.missing_noise_chunk_sums`, which needs
    ``log_extents``); ``start_source``, where given, holds the rows the
    start reads in place of ``source``'s, in the same order (the rows with
    their missing values filled in).
    """

    def compute_sums(state: NoiseParams) -> NoiseSums:
        return source.chunk_sums(kernel, n_components + 1, state)

    def update(sums: NoiseSums, state: NoiseParams) -> tuple[NoiseParams, float]:
        new = noise_m_step(
            sums, covariance_type, reg_covar, repairs, log_volume, log_extents
        )
        return new, sums.stats.log_likelihood / sums.stats.total_weight

    if warm is not None:
        params, lower_bound = warm
        params = NoiseParams(
            params.gaussian, params.noise_proportion, log_volume, log_extents
        )
        return fit_with_restarts(
            compute_sums,
            update,
            lambda: (params, lower_bound),
            n_init=1,
            tol=tol,
            max_iter=max_iter,
            progress=progress,
        )
    rows, weights, noise_proportion = _clean_rows(
        source if start_source is None else start_source,
        noise_mask,
        init_neighbors,
        random_state,
    )
    clean_source = InMemorySource(rows, weights, source.chunk_size)

    def start() -> tuple[NoiseParams, float]:
        gaussian = initial_params(
            clean_source,
            covariance_type=covariance_type,
            init_params=init_params,
            n_components=n_components,
            reg_covar=reg_covar,
            user_init=user_init,
            random_state=random_state,
            repairs=repairs,
        )
        weights = gaussian.weights * (1.0 - noise_proportion)
        gaussian = MixtureParams(
            weights,
            gaussian.means,
            gaussian.covariances,
            gaussian.precisions_cholesky,
            gaussian.covariance_type,
        )
        initial = NoiseParams(gaussian, noise_proportion, log_volume, log_extents)
        return initial, -math.inf

    return fit_with_restarts(
        compute_sums,
        update,
        start,
        n_init=n_init,
        tol=tol,
        max_iter=max_iter,
        progress=progress,
    )


def _clean_rows(
    source: DataSource,
    noise_mask: np.ndarray | None,
    n_neighbors: int,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """The rows the Gaussians start from, their weights, and the noise's share.

    At most ``INIT_SAMPLE_SIZE`` rows of a given mask's clean ones; without
    a mask, the clean rows of a sample of at most ``KMEANS_SAMPLE_SIZE``
    rows (the nearest-neighbour search is the costly part).
    """
    if noise_mask is not None:
        clean = np.flatnonzero(~noise_mask)
        if len(clean) > INIT_SAMPLE_SIZE:
            # bounded memory for sources on disk; EM passes see every row
            chosen = random_state.choice(clean, INIT_SAMPLE_SIZE, replace=False)
            clean = np.sort(chosen)
        rows, weights = source.rows(clean)
        return rows, weights, _masked_share(source.sample_weight, noise_mask)
    n_samples = source.n_samples
    chosen = np.arange(n_samples)
    if n_samples > KMEANS_SAMPLE_SIZE:
        chosen = np.sort(random_state.choice(n_samples, KMEANS_SAMPLE_SIZE, False))
    rows, weights = source.rows(chosen)
    rows = np.asarray(rows)
    if weights is not None:
        # absent rows are neither clutter nor features
        weights = np.asarray(weights)
        present = weights > 0
        rows, weights = rows[present], weights[present]
    mask = clutter_mask(np.asarray(rows, dtype=np.float64), n_neighbors)
    # a share of zero would stay zero through EM: at least one row's
    share = max(_masked_share(weights, mask), 1.0 / len(mask))
    keep = ~mask
    return rows[keep], None if weights is None else weights[keep], share


def _masked_share(weights: Any, mask: np.ndarray) -> float:
    """The masked rows' share of the total sample weight."""
    if weights is None:
        return float(mask.mean())
    weights = np.asarray(weights, dtype=np.float64)
    return float(weights[mask].sum() / weights.sum())
