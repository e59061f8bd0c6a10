"""Seeding: the initial responsibilities EM starts from.

k-means, k-means++, random, random rows of the data and mclust's
hierarchical clustering; every method returns responsibilities, which the
first M-step (in ``fit.initialise``) turns into parameters, exactly as
scikit-learn does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gaussmix.backend import get_backend
from gaussmix.core.hierarchical import init_hc
from gaussmix.core.kmeans import kmeans, kmeans_plusplus
from gaussmix.core.trimmed_kmeans import trimmed_kmeans

InitMethod = Callable[
    [np.ndarray, int, np.ndarray | None, np.random.RandomState], np.ndarray
]


def _host(a: object) -> np.ndarray:
    """``a`` as a numpy array, copied from its device if it is a tensor."""
    return np.asarray(get_backend(a).to_numpy(a))


def _weights(X: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
    if sample_weight is None:
        return np.ones(X.shape[0])
    return np.asarray(sample_weight, dtype=np.float64)


def _one_hot(
    X: np.ndarray, n_components: int, rows: np.ndarray, columns: np.ndarray
) -> np.ndarray:
    """Responsibilities in ``X``'s dtype: 1 at ``(rows, columns)``, 0 elsewhere."""
    resp = np.zeros((X.shape[0], n_components), dtype=X.dtype)
    resp[rows, columns] = 1.0
    return resp


def init_kmeans(
    X: np.ndarray,
    n_components: int,
    sample_weight: np.ndarray | None,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Hard labels of weighted k-means (k-means++ seeds, Lloyd iterations)."""
    _, labels = kmeans(X, n_components, _weights(X, sample_weight), random_state)
    return _one_hot(X, n_components, np.arange(X.shape[0]), labels)


def init_kmeans_plusplus(
    X: np.ndarray,
    n_components: int,
    sample_weight: np.ndarray | None,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """One row per component, chosen by weighted greedy k-means++."""
    indices = kmeans_plusplus(
        np.asarray(X, dtype=np.float64),
        n_components,
        _weights(X, sample_weight),
        random_state,
    )
    return _one_hot(X, n_components, indices, np.arange(n_components))


def init_random(
    X: np.ndarray,
    n_components: int,
    sample_weight: np.ndarray | None,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Uniform random responsibilities, normalised per row."""
    resp = random_state.uniform(size=(X.shape[0], n_components)).astype(X.dtype)
    return resp / resp.sum(axis=1)[:, None]


def init_random_from_data(
    X: np.ndarray,
    n_components: int,
    sample_weight: np.ndarray | None,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """One distinct row per component, drawn without replacement.

    With sample weights, rows are drawn with probability proportional to
    their weight (rows of zero weight are never drawn).
    """
    n_samples = X.shape[0]
    if sample_weight is None:
        indices = random_state.choice(n_samples, size=n_components, replace=False)
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        positive = np.flatnonzero(w > 0)
        if positive.size < n_components:
            raise ValueError(
                f"init_params='random_from_data' needs at least n_components="
                f"{n_components} rows of positive sample_weight, got "
                f"{positive.size}."
            )
        indices = random_state.choice(
            n_samples, size=n_components, replace=False, p=w / w.sum()
        )
    return _one_hot(X, n_components, indices, np.arange(n_components))


#: The share of rows trimmed k-means leaves out as too far from every centre.
TRIMMED_SHARE = 0.1
#: Random starts of trimmed k-means; the one of least trimmed inertia wins.
TRIMMED_STARTS = 10


def init_trimmed_kmeans(
    X: np.ndarray,
    n_components: int,
    sample_weight: np.ndarray | None,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Hard labels of trimmed k-means; the trimmed rows get no component.

    Trimmed k-means (Cuesta-Albertos, Gordaliza & Matrán 1997) leaves out
    the :data:`TRIMMED_SHARE` of the weight farthest from every centre at
    each step, so that scattered outliers neither draw a centre nor pull
    one. Seeds are rows drawn uniformly (k-means++ would favour the
    outliers); of :data:`TRIMMED_STARTS` starts the one of least trimmed
    inertia is kept.
    """
    values = np.asarray(X, dtype=np.float64)
    weights = _weights(values, sample_weight)
    positive = np.flatnonzero(weights > 0)
    if positive.size < n_components:
        raise ValueError(
            f"init_params='trimmed_kmeans' needs at least n_components="
            f"{n_components} rows of positive sample_weight, got {positive.size}."
        )
    labels, kept = trimmed_kmeans(
        values, n_components, weights, TRIMMED_SHARE, TRIMMED_STARTS, random_state
    )
    return _one_hot(X, n_components, kept, labels[kept])


INIT_METHODS: dict[str, InitMethod] = {
    "kmeans": init_kmeans,
    "k-means++": init_kmeans_plusplus,
    "random": init_random,
    "random_from_data": init_random_from_data,
    "hc": init_hc,
    "trimmed_kmeans": init_trimmed_kmeans,
}


def initial_responsibilities(
    method: str,
    X: np.ndarray,
    n_components: int,
    sample_weight: np.ndarray | None,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Responsibilities (n_samples, n_components) from the named method.

    The methods run on the host in numpy: a tensor ``X`` (or weights) is
    copied there whole, so a torch fit starts from exactly the
    responsibilities a numpy fit of the same rows and ``random_state`` would.
    """
    X = _host(X)
    sample_weight = None if sample_weight is None else _host(sample_weight)
    try:
        init = INIT_METHODS[method]
    except KeyError:
        raise ValueError(
            f"init_params={method!r} is not supported; choose one of "
            f"{sorted(INIT_METHODS)}."
        ) from None
    return init(X, n_components, sample_weight, random_state)
