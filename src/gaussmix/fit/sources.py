"""Where the rows come from: in memory, on disk, or (see fit/dask.py) a cluster.

A source offers the two things EM needs from the data: the Stats of the
whole dataset under given parameters, and the Stats of an initial
partition. The EM loop never sees the rows themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from gaussmix.backend import get_backend
from gaussmix.core.estep import responsibility_stats
from gaussmix.core.kmeans import kmeans, squared_distances
from gaussmix.core.params import MixtureParams
from gaussmix.core.seeding import initial_responsibilities
from gaussmix.core.stats import Stats
from gaussmix.fit.chunks import (
    dataset_stats,
    resolve_chunk_size,
    responsibilities_stats,
    row_slices,
)
from gaussmix.fit.host_pass import KeptBlocks, StreamedWindows, sum_by_windows
from gaussmix.fit.parallel import ordered_map
from gaussmix.fit.storage import RowReader

#: The initialisations other than k-means see every row up to this many;
#: beyond, a uniform sample of this size.
INIT_SAMPLE_SIZE = 100_000

#: k-means sees every row up to this many; beyond, it runs on a uniform
#: sample of this size and one pass assigns every row to its centre.
KMEANS_SAMPLE_SIZE = 20_000

#: k-means runs on the sample, the one of least inertia kept: a sample is
#: cheap enough to afford the restarts that make a poor local optimum (two
#: clusters merged, another split) unlikely.
KMEANS_SAMPLE_RESTARTS = 3


#: A chunk's E-step of a model family: (rows, weights, *args) -> sums.
ChunkFunction = Callable[..., Any]


class DataSource(Protocol):
    """What the EM loop and the initialisation need from the data."""

    n_samples: int
    n_features: int
    dtype: np.dtype

    def stats(self, params: MixtureParams) -> Stats:
        """Stats of all rows under ``params``, about its means."""

    def initial_stats(
        self,
        method: str,
        n_components: int,
        scatter_kind: str,
        random_state: np.random.RandomState,
    ) -> Stats:
        """Stats of the initial partition chosen by ``method``."""

    def chunk_sums(self, function: ChunkFunction, n_components: int, *args: Any):
        """``function(rows, weights, *args)`` over every chunk, added in order.

        The seam for model families whose E-step is not a fused kernel's:
        ``function`` takes a numpy chunk and its weights (or None) and
        returns sums that add (``Stats`` or a dataclass of them); chunks
        hold ``chunk_size`` rows, or by default temporaries of about 16 MB
        for ``n_components`` components.
        """


class InMemorySource:
    """A validated array in memory (numpy, or a tensor on its device)."""

    def __init__(
        self, X: Any, sample_weight: np.ndarray | None, chunk_size: int | None
    ) -> None:
        self.X = X
        self.sample_weight = sample_weight
        self.chunk_size = chunk_size
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype
        # the rows stay put for the whole fit, so per-chunk blocks that
        # depend on them alone are worth keeping between EM passes
        self.prepared = KeptBlocks()

    def rescaled(self, units: np.ndarray) -> InMemorySource:
        """The rows divided by ``units``, in float64 (numpy rows only)."""
        rows = np.asarray(self.X, dtype=np.float64) / units
        return InMemorySource(rows, self.sample_weight, self.chunk_size)

    def filled(self, values: np.ndarray) -> InMemorySource:
        """The rows with each NaN replaced by its column's entry of ``values``."""
        rows = _host(self.X)
        rows = np.where(np.isnan(rows), values.astype(rows.dtype), rows)
        return InMemorySource(rows, self.sample_weight, self.chunk_size)

    def stats(self, params: MixtureParams) -> Stats:
        return dataset_stats(
            self.X, self.sample_weight, params, self.chunk_size, self.prepared
        )

    def initial_stats(self, method, n_components, scatter_kind, random_state) -> Stats:
        return seed_stats(self, method, n_components, scatter_kind, random_state)

    def chunk_sums(self, function: ChunkFunction, n_components: int, *args: Any):
        size = resolve_chunk_size(self.chunk_size, n_components, self.n_features)

        def run(rows: slice) -> Any:
            weights = None if self.sample_weight is None else self.sample_weight[rows]
            return function(_host(self.X[rows]), _host_or_none(weights), *args)

        return sum_by_windows(ordered_map(run, row_slices(self.n_samples, size)))

    def rows(self, chosen: np.ndarray | None) -> tuple[Any, Any]:
        if chosen is None:
            return self.X, self.sample_weight
        weights = (
            None
            if self.sample_weight is None
            else self.sample_weight[_indices_like(chosen, self.sample_weight)]
        )
        return _host(self.X[_indices_like(chosen, self.X)]), _host_or_none(weights)

    def assignment_stats(self, centers: np.ndarray, scatter_kind: str) -> Stats:
        size = resolve_chunk_size(self.chunk_size, len(centers), 1)
        return sum_by_windows(
            assignment_chunk_stats(
                _host(self.X[rows]),
                _host_or_none(
                    None if self.sample_weight is None else self.sample_weight[rows]
                ),
                centers,
                scatter_kind,
            )
            for rows in row_slices(self.n_samples, size)
        )


class StreamingSource:
    """Rows read from disk chunk by chunk; memory does not grow with the data.

    Initialisation reads the rows an in-memory fit would see (all of them,
    or a uniform sample: :func:`initial_rows`), at most ``INIT_SAMPLE_SIZE``.
    """

    def __init__(
        self,
        reader: RowReader,
        sample_weight: np.ndarray | None,
        chunk_size: int | None,
        units: np.ndarray | None = None,
        fill: np.ndarray | None = None,
    ) -> None:
        self.reader = reader
        self.sample_weight = sample_weight
        self.chunk_size = chunk_size
        self.n_samples, self.n_features = reader.shape
        self.units = units
        self.fill = fill
        #: Whether the rows hold NaN (missing values), once validated.
        self.has_nan = False
        # rows in other units are float64, as an in-memory fit takes them
        self.dtype = compute_dtype(np.float64 if units is not None else reader.dtype)
        #: The columns' minima and maxima in float64, once validated.
        self.column_range: tuple[np.ndarray, np.ndarray] | None = None
        # no blocks kept (that would undo streaming), only the kernels'
        # centres, so that the passes compute what an in-memory fit does
        self.centres = StreamedWindows()

    def rescaled(self, units: np.ndarray) -> StreamingSource:
        """The same rows divided by ``units`` (in float64), read as they go."""
        return StreamingSource(
            self.reader, self.sample_weight, self.chunk_size, units, self.fill
        )

    def filled(self, values: np.ndarray) -> StreamingSource:
        """The same rows with each NaN replaced by its column's entry of
        ``values``, as they are read."""
        return StreamingSource(
            self.reader, self.sample_weight, self.chunk_size, self.units, values
        )

    def chunks(self, chunk_size: int | None = None):
        """(rows, chunk) pairs over the whole dataset, in the compute dtype."""
        size = chunk_size or resolve_chunk_size(self.chunk_size, 16, self.n_features)
        typed = _TypedRows(self.reader, self.dtype, self.units, self.fill)
        for rows in row_slices(self.n_samples, size):
            yield rows, typed[rows]

    def stats(self, params: MixtureParams) -> Stats:
        return dataset_stats(
            _TypedRows(self.reader, self.dtype, self.units, self.fill),
            self.sample_weight,
            params,
            self.chunk_size,
            self.centres,
        )

    def rows(self, chosen: np.ndarray | None) -> tuple[np.ndarray, Any]:
        """The rows ``chosen`` (sorted indices; None: all), read in one pass."""
        if chosen is None:
            parts = [chunk for _, chunk in self.chunks()]
            return np.concatenate(parts, axis=0), self.sample_weight
        parts = []
        for rows, chunk in self.chunks():
            lo, hi = np.searchsorted(chosen, [rows.start, rows.stop])
            parts.append(chunk[chosen[lo:hi] - rows.start])
        weights = None if self.sample_weight is None else self.sample_weight[chosen]
        return np.concatenate(parts, axis=0), weights

    def initial_stats(self, method, n_components, scatter_kind, random_state) -> Stats:
        return seed_stats(self, method, n_components, scatter_kind, random_state)

    def chunk_sums(self, function: ChunkFunction, n_components: int, *args: Any):
        # the chunks of an in-memory fit, so that both add the same partial sums
        size = resolve_chunk_size(self.chunk_size, n_components, self.n_features)
        return sum_by_windows(
            function(chunk, self._weights(rows), *args)
            for rows, chunk in self.chunks(size)
        )

    def assignment_stats(self, centers: np.ndarray, scatter_kind: str) -> Stats:
        # the chunks of an in-memory fit, so that both add the same partial sums
        size = resolve_chunk_size(self.chunk_size, len(centers), 1)
        parts = (
            assignment_chunk_stats(chunk, self._weights(rows), centers, scatter_kind)
            for rows, chunk in self.chunks(size)
        )
        return sum_by_windows(parts)

    def _weights(self, rows: slice) -> np.ndarray | None:
        return None if self.sample_weight is None else self.sample_weight[rows]


class SeededSource(Protocol):
    """What the initialisation reads from a source."""

    n_samples: int
    chunk_size: int | None

    def rows(self, chosen: np.ndarray | None) -> tuple[Any, Any]:
        """The rows ``chosen`` (sorted indices, None for all) and their weights."""

    def assignment_stats(self, centers: np.ndarray, scatter_kind: str) -> Stats:
        """Stats of every row assigned to its nearest centre."""


def initial_rows(
    method: str, n_samples: int, random_state: np.random.RandomState
) -> np.ndarray | None:
    """Sorted indices of the rows an initialisation sees; None for all rows.

    The choice depends on the method, the number of rows and the random
    state alone, never on where the rows are stored, so that the same rows
    and the same ``random_state`` start EM from the same parameters in
    memory, from files and on a cluster. The random state is drawn from
    only when a sample is taken.
    """
    limit = KMEANS_SAMPLE_SIZE if method == "kmeans" else INIT_SAMPLE_SIZE
    if n_samples <= limit:
        return None
    return np.sort(random_state.choice(n_samples, limit, replace=False))


def seed_stats(
    source: SeededSource,
    method: str,
    n_components: int,
    scatter_kind: str,
    random_state: np.random.RandomState,
) -> Stats:
    """Stats of the initial partition, read from any storage.

    Up to a method's limit (see :func:`initial_rows`) the method sees every
    row. Beyond, ``kmeans`` runs weighted k-means on a uniform sample, keeps
    the best of ``KMEANS_SAMPLE_RESTARTS`` runs and assigns every row to its
    nearest centre in one pass; the other methods seed from the sample
    alone.
    """
    chosen = initial_rows(method, source.n_samples, random_state)
    rows, weights = source.rows(chosen)
    if rows.shape[0] < n_components:
        raise ValueError(
            f"Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {rows.shape[0]}."
        )
    if chosen is not None and method == "kmeans":
        w = np.ones(len(rows)) if weights is None else weights
        centers = _best_kmeans(rows, n_components, w, random_state)
        return source.assignment_stats(centers, scatter_kind)
    resp = initial_responsibilities(method, rows, n_components, weights, random_state)
    return responsibilities_stats(rows, resp, weights, scatter_kind, source.chunk_size)


def _best_kmeans(
    sample: np.ndarray,
    n_components: int,
    weights: np.ndarray,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Centres of the k-means run of least weighted inertia on the sample.

    The runs draw their own seeds first, so they can run on the host's cores
    and still give the same centres.
    """
    seeds = random_state.randint(np.iinfo(np.int32).max, size=KMEANS_SAMPLE_RESTARTS)

    def run(seed: int) -> tuple[float, np.ndarray]:
        centers, _ = kmeans(sample, n_components, weights, np.random.RandomState(seed))
        inertia = float(weights @ squared_distances(sample, centers).min(axis=1))
        return inertia, centers

    runs = list(ordered_map(run, seeds))
    return min(runs, key=lambda result: result[0])[1]


def _weighted_stats(chunk, resp, weights, shift, scatter_kind) -> Stats:
    weighted = resp if weights is None else resp * weights[:, None].astype(resp.dtype)
    return responsibility_stats(chunk, weighted, weights, shift, scatter_kind)


def assignment_chunk_stats(
    chunk: np.ndarray,
    weights: np.ndarray | None,
    centers: np.ndarray,
    scatter_kind: str,
) -> Stats:
    """Stats of a chunk whose rows each belong to their nearest centre."""
    labels = np.argmin(squared_distances(chunk, centers), axis=1)
    resp = np.zeros((chunk.shape[0], len(centers)), dtype=chunk.dtype)
    resp[np.arange(chunk.shape[0]), labels] = 1.0
    return _weighted_stats(chunk, resp, weights, centers, scatter_kind)


class _TypedRows:
    """Row slicing of a reader, converted to the compute dtype (and units),
    NaN replaced by ``fill`` where one is given."""

    def __init__(
        self,
        reader: RowReader,
        dtype: np.dtype,
        units: np.ndarray | None = None,
        fill: np.ndarray | None = None,
    ) -> None:
        self.reader = reader
        self.dtype = dtype
        self.units = units
        self.fill = fill
        self.shape = reader.shape

    def __getitem__(self, rows: slice) -> np.ndarray:
        chunk = np.asarray(self.reader.read(rows), dtype=self.dtype)
        if self.fill is not None:
            chunk = np.where(np.isnan(chunk), self.fill.astype(self.dtype), chunk)
        return chunk if self.units is None else chunk / self.units


def _host(a: Any) -> np.ndarray:
    """``a`` as a numpy array: the initialisation methods run on the host."""
    return np.asarray(get_backend(a).to_numpy(a))


def _host_or_none(a: Any) -> np.ndarray | None:
    return None if a is None else _host(a)


def _indices_like(indices: np.ndarray, X: Any) -> Any:
    """Row indices in the array library of ``X`` (tensors index by tensors)."""
    return get_backend(X).asarray(indices, like=X)


def check_weight_layout(shape: tuple, dtype: Any, n_samples: int) -> None:
    """Raise unless weights of ``shape`` and ``dtype`` give one real per row.

    Shared by weights in memory and on a Dask cluster, which are checked
    before their values are read, so that both name the same problem.
    """
    if len(shape) != 1 or shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must be 1-D with one weight per row of X "
            f"({n_samples}), got shape {tuple(shape)}."
        )
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
        raise TypeError("sample_weight must hold real numbers.")


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """float32 stays float32; every other numeric type computes in float64."""
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return dtype
    if dtype.kind in "fiub":
        return np.dtype(np.float64)
    raise TypeError(
        f"X has dtype {dtype}, which is not numeric; convert it to float32 or "
        "float64 first."
    )


def validate_stream(source: StreamingSource, allow_nan: bool = False) -> None:
    """One pass over on-disk data checking every value is usable.

    The same pass records the columns' ranges (``source.column_range``):
    the fit needs them to tell whether the rows' squares fit their dtype,
    as it does for rows in memory. With ``allow_nan``, NaN marks a missing
    value (``source.has_nan`` says whether there is one); a row with every
    value missing and infinities are refused.
    """
    low = np.full(source.n_features, np.inf)
    high = np.full(source.n_features, -np.inf)
    for rows, chunk in source.chunks():
        usable = ~np.isinf(chunk) if allow_nan else np.isfinite(chunk)
        if not np.all(usable):
            bad = rows.start + int(np.flatnonzero(~usable.all(1))[0])
            kind = "infinity" if allow_nan else "NaN or infinity"
            raise ValueError(
                f"Input X contains {kind} (first at row {bad}); remove or "
                "impute those rows before fitting."
            )
        if allow_nan:
            hidden = np.isnan(chunk)
            empty = np.flatnonzero(hidden.all(axis=1))
            if empty.size:
                raise ValueError(
                    f"row {rows.start + int(empty[0])} of X has every value "
                    "missing (NaN); remove rows without any observed value."
                )
            source.has_nan = source.has_nan or bool(hidden.any())
        if len(chunk):
            # fmin and fmax pass over NaN
            low = np.fmin(low, np.fmin.reduce(chunk, axis=0))
            high = np.fmax(high, np.fmax.reduce(chunk, axis=0))
    source.column_range = (low, high)
