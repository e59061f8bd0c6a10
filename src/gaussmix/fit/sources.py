"""Where the rows come from: in memory, on disk, or (see fit/dask.py) a cluster.

A source offers the two things EM needs from the data: the Stats of the
whole dataset under given parameters, and the Stats of an initial
partition. The EM loop never sees the rows themselves.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from gaussmix.core.estep import responsibility_stats
from gaussmix.core.init import initial_responsibilities
from gaussmix.core.kmeans import kmeans, squared_distances
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats
from gaussmix.fit.chunks import (
    dataset_stats,
    resolve_chunk_size,
    responsibilities_stats,
    row_slices,
)
from gaussmix.fit.parallel import ordered_map
from gaussmix.fit.prepared import PreparedBlocks
from gaussmix.fit.storage import RowReader

#: Rows drawn from on-disk or distributed data to seed EM.
INIT_SAMPLE_SIZE = 100_000

#: In memory, k-means sees every row up to this many; beyond, it runs on a
#: uniform sample of this size and one pass assigns every row to its centre.
KMEANS_SAMPLE_SIZE = 20_000

#: k-means runs on the sample, the one of least inertia kept: a sample is
#: cheap enough to afford the restarts that make a poor local optimum (two
#: clusters merged, another split) unlikely.
KMEANS_SAMPLE_RESTARTS = 3


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


class InMemorySource:
    """A validated array in memory.

    Initialisation sees every row, except that k-means on more than
    ``KMEANS_SAMPLE_SIZE`` numpy rows runs on a uniform sample of that size
    (Lloyd's iterations on all rows would cost more than EM itself).
    """

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
        self.prepared = PreparedBlocks()

    def stats(self, params: MixtureParams) -> Stats:
        return dataset_stats(
            self.X, self.sample_weight, params, self.chunk_size, self.prepared
        )

    def initial_stats(self, method, n_components, scatter_kind, random_state) -> Stats:
        sampled = (
            method == "kmeans"
            and self.n_samples > KMEANS_SAMPLE_SIZE
            and isinstance(self.X, np.ndarray)
        )
        if sampled:
            return sampled_initial_stats(
                self, method, n_components, scatter_kind, random_state
            )
        resp = initial_responsibilities(
            method, self.X, n_components, self.sample_weight, random_state
        )
        return responsibilities_stats(
            self.X, resp, self.sample_weight, scatter_kind, self.chunk_size
        )

    def sample(self, random_state: np.random.RandomState):
        chosen = np.sort(
            random_state.choice(self.n_samples, KMEANS_SAMPLE_SIZE, replace=False)
        )
        weights = None if self.sample_weight is None else self.sample_weight[chosen]
        return self.X[chosen], weights

    def assignment_stats(self, centers: np.ndarray, scatter_kind: str) -> Stats:
        size = resolve_chunk_size(self.chunk_size, len(centers), 1)
        return sum(
            assignment_chunk_stats(
                self.X[rows],
                None if self.sample_weight is None else self.sample_weight[rows],
                centers,
                scatter_kind,
            )
            for rows in row_slices(self.n_samples, size)
        )


class StreamingSource:
    """Rows read from disk chunk by chunk; memory does not grow with the data.

    Initialisation runs on a uniform sample of at most ``INIT_SAMPLE_SIZE``
    rows (k-means, k-means++ or random rows of the sample); with
    ``init_params='random'`` each chunk draws its own random
    responsibilities.
    """

    def __init__(
        self,
        reader: RowReader,
        sample_weight: np.ndarray | None,
        chunk_size: int | None,
    ) -> None:
        self.reader = reader
        self.sample_weight = sample_weight
        self.chunk_size = chunk_size
        self.n_samples, self.n_features = reader.shape
        self.dtype = compute_dtype(reader.dtype)
        # no blocks kept (that would undo streaming), only the kernels'
        # centres, so that the passes compute what an in-memory fit does
        self.centres = PreparedBlocks(limit_bytes=0)

    def chunks(self, chunk_size: int | None = None):
        """(rows, chunk) pairs over the whole dataset, in the compute dtype."""
        size = chunk_size or resolve_chunk_size(self.chunk_size, 16, self.n_features)
        for rows in row_slices(self.n_samples, size):
            yield rows, np.asarray(self.reader.read(rows), dtype=self.dtype)

    def stats(self, params: MixtureParams) -> Stats:
        return dataset_stats(
            _TypedRows(self.reader, self.dtype),
            self.sample_weight,
            params,
            self.chunk_size,
            self.centres,
        )

    def sample(self, random_state: np.random.RandomState):
        """A uniform sample of rows (and their weights) in one pass."""
        size = min(self.n_samples, INIT_SAMPLE_SIZE)
        chosen = np.sort(random_state.choice(self.n_samples, size, replace=False))
        parts = []
        for rows, chunk in self.chunks():
            lo, hi = np.searchsorted(chosen, [rows.start, rows.stop])
            parts.append(chunk[chosen[lo:hi] - rows.start])
        weights = None if self.sample_weight is None else self.sample_weight[chosen]
        return np.concatenate(parts, axis=0), weights

    def initial_stats(self, method, n_components, scatter_kind, random_state) -> Stats:
        return sampled_initial_stats(
            self, method, n_components, scatter_kind, random_state
        )

    def assignment_stats(self, centers: np.ndarray, scatter_kind: str) -> Stats:
        parts = (
            assignment_chunk_stats(chunk, self._weights(rows), centers, scatter_kind)
            for rows, chunk in self.chunks()
        )
        return sum(parts)

    def random_stats(
        self, n_components: int, scatter_kind: str, random_state: np.random.RandomState
    ) -> Stats:
        first = self.reader.read(slice(0, min(self.n_samples, 1024)))
        centre = np.asarray(first, dtype=np.float64).mean(0)
        parts = (
            random_chunk_stats(
                chunk,
                self._weights(rows),
                n_components,
                scatter_kind,
                centre,
                random_state.randint(0, 2**31 - 1),
            )
            for rows, chunk in self.chunks()
        )
        return sum(parts)

    def _weights(self, rows: slice) -> np.ndarray | None:
        return None if self.sample_weight is None else self.sample_weight[rows]


class SampledSource(Protocol):
    """A source that seeds EM from a sample of its rows."""

    def sample(self, random_state: np.random.RandomState) -> tuple[Any, Any]: ...

    def assignment_stats(self, centers: np.ndarray, scatter_kind: str) -> Stats: ...

    def random_stats(
        self, n_components: int, scatter_kind: str, random_state: np.random.RandomState
    ) -> Stats: ...


def sampled_initial_stats(
    source: SampledSource,
    method: str,
    n_components: int,
    scatter_kind: str,
    random_state: np.random.RandomState,
) -> Stats:
    """Initial Stats for data too large to seed from every row.

    ``kmeans`` runs weighted k-means on a uniform sample, then assigns every
    row to its nearest centre in one pass; ``k-means++`` and
    ``random_from_data`` pick their single-row seeds from the sample;
    ``random`` draws random responsibilities chunk by chunk.
    """
    if method == "random":
        return source.random_stats(n_components, scatter_kind, random_state)
    sample, weights = source.sample(random_state)
    if sample.shape[0] < n_components:
        raise ValueError(
            f"Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {sample.shape[0]}."
        )
    if method == "kmeans":
        w = np.ones(len(sample)) if weights is None else weights
        return source.assignment_stats(
            _best_kmeans(sample, n_components, w, random_state), scatter_kind
        )
    resp = initial_responsibilities(method, sample, n_components, weights, random_state)
    return responsibilities_stats(sample, resp, weights, scatter_kind)


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


def random_chunk_stats(
    chunk: np.ndarray,
    weights: np.ndarray | None,
    n_components: int,
    scatter_kind: str,
    centre: np.ndarray,
    seed: int,
) -> Stats:
    """Stats of a chunk under uniform random responsibilities.

    Every chunk accumulates about the same ``centre`` so that their Stats add.
    """
    resp = np.random.RandomState(seed).uniform(size=(chunk.shape[0], n_components))
    resp = (resp / resp.sum(1, keepdims=True)).astype(chunk.dtype)
    shift = np.broadcast_to(centre, (n_components, chunk.shape[1]))
    return _weighted_stats(chunk, resp, weights, shift, scatter_kind)


class _TypedRows:
    """Row slicing of a reader, converted to the compute dtype."""

    def __init__(self, reader: RowReader, dtype: np.dtype) -> None:
        self.reader = reader
        self.dtype = dtype
        self.shape = reader.shape

    def __getitem__(self, rows: slice) -> np.ndarray:
        return np.asarray(self.reader.read(rows), dtype=self.dtype)


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


def validate_stream(source: StreamingSource) -> None:
    """One pass over on-disk data checking every value is finite."""
    for rows, chunk in source.chunks():
        if not np.all(np.isfinite(chunk)):
            bad = rows.start + int(np.flatnonzero(~np.isfinite(chunk).all(1))[0])
            raise ValueError(
                f"Input X contains NaN or infinity (first at row {bad}); remove or "
                "impute those rows before fitting."
            )
