"""EM on Dask arrays: Stats per block on the workers, summed in a tree.

Only parameters (to the workers) and Stats (back) move each iteration:
O(K * D^2) numbers, whatever the number of rows. Computations run on the
scheduler Dask would use anyway: the current ``dask.distributed.Client`` if
there is one, else Dask's default.

Initialisation sees the rows an in-memory fit of the same rows and
``random_state`` would see (see :func:`gaussmix.fit.sources.initial_rows`):
beyond a few tens of thousands of rows a uniform sample is gathered to the
client, never the whole data, and for k-means one distributed pass then
assigns every row to its nearest centre.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats, sum_in_order
from gaussmix.fit.chunks import dataset_stats, resolve_chunk_size, row_slices
from gaussmix.fit.sources import (
    assignment_chunk_stats,
    check_weight_layout,
    compute_dtype,
    seed_stats,
)

#: Every graph this module submits is left as the user's collection built
#: it: an optimised graph fuses a slice of the data (``X[a:b]``) into new
#: tasks under the slice's own keys, so one fit submitting that slice both
#: as an output (the initialisation's rows) and as an input (the checks,
#: the EM passes) gave its keys two definitions, which the distributed
#: scheduler reports as a risk of failures and deadlocks.
UNOPTIMISED = {"optimize_graph": False}


def import_dask() -> Any:
    try:
        import dask
        import dask.array
    except ImportError as exc:  # pragma: no cover - exercised without dask
        raise ImportError(
            "Fitting dask arrays needs dask: pip install 'gaussmix[dask]'."
        ) from exc
    return dask


def is_dask_array(X: Any) -> bool:
    return type(X).__module__.startswith("dask.array")


def _tree_sum(parts: list) -> Any:
    """Pairwise sum of delayed values: depth log2(n) instead of n."""
    dask = import_dask()
    while len(parts) > 1:
        paired = [
            dask.delayed(_add)(parts[i], parts[i + 1])
            for i in range(0, len(parts) - 1, 2)
        ]
        if len(parts) % 2:
            paired.append(parts[-1])
        parts = paired
    return parts[0]


def _add(a: Stats, b: Stats) -> Stats:
    return a + b


def _block_stats(block, weights, params, chunk_size) -> Stats:
    block = np.asarray(block)
    return dataset_stats(block, weights, params, chunk_size)


def _block_chunk_sums(block, weights, function, n_components, chunk_size, args):
    block = np.asarray(block)
    weights = None if weights is None else np.asarray(weights)
    size = resolve_chunk_size(chunk_size, n_components, block.shape[1])
    return sum_in_order(
        function(block[rows], None if weights is None else weights[rows], *args)
        for rows in row_slices(block.shape[0], size)
    )


def _row_weights(sample_weight: Any, n_samples: int) -> Any:
    """``sample_weight`` as a 1-D array (numpy or dask) of one weight per row.

    A single number weighs every row alike, as for rows in memory. Shapes
    are checked here, before the weights are cut like the rows: dask would
    otherwise report chunks that do not add up, not the weights' shape.
    """
    da = import_dask().array
    if not hasattr(sample_weight, "dask"):
        sample_weight = np.asarray(sample_weight)
        if sample_weight.ndim == 0:
            sample_weight = np.full(n_samples, sample_weight)
    if any(np.isnan(size) for size in sample_weight.shape):
        sample_weight = sample_weight.compute_chunk_sizes()
    if sample_weight.ndim == 0:
        sample_weight = da.broadcast_to(sample_weight, (n_samples,))
    check_weight_layout(sample_weight.shape, sample_weight.dtype, n_samples)
    return sample_weight


class DaskSource:
    """A 2-D dask array (and optional weights) as a source of Stats."""

    def __init__(self, X: Any, sample_weight: Any, chunk_size: int | None) -> None:
        da = import_dask().array
        if X.ndim != 2:
            raise ValueError(
                f"Expected 2D array, got a {X.ndim}-D dask array. Reshape your data "
                "to (n_samples, n_features)."
            )
        if any(np.isnan(size) for size in X.shape):
            X = X.compute_chunk_sizes()
        if X.shape[0] == 0:
            # the reductions of the validation pass have no identity
            raise ValueError(
                f"Found array with 0 sample(s) (shape={tuple(X.shape)}) while a "
                "minimum of 1 is required."
            )
        self.dtype = compute_dtype(X.dtype)
        self.X = X.astype(self.dtype).rechunk({1: -1})
        self.n_samples, self.n_features = (int(n) for n in self.X.shape)
        if sample_weight is not None:
            # the weights are cut like the rows, block for block
            sample_weight = _row_weights(sample_weight, self.n_samples)
            if hasattr(sample_weight, "dask"):
                sample_weight = sample_weight.rechunk((self.X.chunks[0],))
            else:
                sample_weight = da.from_array(sample_weight, chunks=(self.X.chunks[0],))
        self.sample_weight = sample_weight
        self.chunk_size = chunk_size
        #: Whether the rows hold NaN (missing values), once validated.
        self.has_nan = False
        #: The columns' minima and maxima in float64, once validated.
        self.column_range: tuple[np.ndarray, np.ndarray] | None = None

    def rescaled(self, units: np.ndarray) -> DaskSource:
        """The same rows divided by ``units``, in float64, on the cluster."""
        X = self.X.astype(np.float64) / units
        return DaskSource(X, self.sample_weight, self.chunk_size)

    def _blocks(self) -> list[tuple[Any, Any]]:
        blocks = list(self.X.to_delayed(**UNOPTIMISED).ravel())
        if self.sample_weight is None:
            return [(b, None) for b in blocks]
        return list(
            zip(
                blocks,
                self.sample_weight.to_delayed(**UNOPTIMISED).ravel(),
                strict=True,
            )
        )

    def validate(self, allow_nan: bool = False) -> None:
        """Check on the cluster that every value (and weight) is usable.

        The same pass records the columns' ranges (``column_range``), which
        tell the fit whether the rows' squares fit their dtype. With
        ``allow_nan``, NaN marks a missing value (``has_nan`` says whether
        there is one); rows with every value missing are refused.
        """
        dask = import_dask()
        da = dask.array
        hidden = da.isnan(self.X)
        usable = ~da.isinf(self.X) if allow_nan else da.isfinite(self.X)
        checks = [
            usable.all(),
            da.nanmin(self.X, axis=0) if allow_nan else self.X.min(axis=0),
            da.nanmax(self.X, axis=0) if allow_nan else self.X.max(axis=0),
            hidden.any(),
            hidden.all(axis=1).any(),
        ]
        if self.sample_weight is not None:
            w = self.sample_weight
            checks += [da.isfinite(w).all(), (w >= 0).all(), w.sum()]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            # a column without any observed value is named by the fit
            warnings.simplefilter("ignore", RuntimeWarning)
            usable, low, high, has_nan, empty_row, *results = dask.compute(
                *checks, **UNOPTIMISED
            )
        if not usable:
            kind = "infinity" if allow_nan else "NaN or infinity"
            raise ValueError(
                f"Input X contains {kind}; remove or impute those rows before fitting."
            )
        if empty_row:
            raise ValueError(
                "X has a row with every value missing (NaN); remove rows "
                "without any observed value."
            )
        self.has_nan = bool(has_nan)
        self.column_range = (np.asarray(low, np.float64), np.asarray(high, np.float64))
        if self.sample_weight is not None:
            if not results[0]:
                raise ValueError("sample_weight contains NaN or infinity.")
            if not results[1]:
                raise ValueError("sample_weight contains negative values.")
            if not results[2] > 0:
                raise ValueError("sample_weight sums to zero.")

    def filled(self, values: np.ndarray) -> DaskSource:
        """The rows with each NaN replaced by its column's entry of ``values``."""
        da = import_dask().array
        X = da.where(da.isnan(self.X), values.astype(self.dtype), self.X)
        return DaskSource(X, self.sample_weight, self.chunk_size)

    def _map(self, function, *args) -> Stats:
        dask = import_dask()
        parts = [dask.delayed(function)(b, w, *args) for b, w in self._blocks()]
        return _tree_sum(parts).compute(**UNOPTIMISED)

    def chunk_sums(self, function: Any, n_components: int, *args: Any) -> Any:
        """``function(rows, weights, *args)`` over every chunk of every block."""
        return self._map(
            _block_chunk_sums, function, n_components, self.chunk_size, args
        )

    def stats(self, params: MixtureParams) -> Stats:
        return self._map(_block_stats, params.to_numpy(), self.chunk_size)

    def initial_stats(self, method, n_components, scatter_kind, random_state) -> Stats:
        return seed_stats(self, method, n_components, scatter_kind, random_state)

    def rows(self, chosen: np.ndarray | None) -> tuple[np.ndarray, Any]:
        """The rows ``chosen`` (sorted indices; None: all), gathered here."""
        dask = import_dask()
        X = self.X if chosen is None else self.X[chosen]
        if self.sample_weight is None:
            return np.asarray(X.compute(**UNOPTIMISED)), None
        w = self.sample_weight if chosen is None else self.sample_weight[chosen]
        rows, weights = dask.compute(X, w, **UNOPTIMISED)
        return np.asarray(rows), np.asarray(weights)

    def assignment_stats(self, centers: np.ndarray, scatter_kind: str) -> Stats:
        return self._map(_assignment, centers, scatter_kind)


def _assignment(block, weights, centers, scatter_kind) -> Stats:
    return assignment_chunk_stats(np.asarray(block), weights, centers, scatter_kind)


def map_rows(X: Any, function, n_outputs: int | None, dtype) -> Any:
    """Apply a numpy row function block by block, returning a dask array.

    ``n_outputs`` is the width of a 2-D result, None for one value per row.
    """
    X = X.rechunk({1: -1})
    if n_outputs is None:
        return X.map_blocks(function, drop_axis=1, dtype=dtype)
    return X.map_blocks(function, chunks=(X.chunks[0], (n_outputs,)), dtype=dtype)
