"""Turning what users pass to ``fit`` and ``predict`` into data sources.

In-memory arrays are validated as scikit-learn validates them; on-disk
arrays (memmap, HDF5, Zarr) are checked chunk by chunk while streaming;
dask arrays are checked on the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

from gaussmix.fit.dask import DaskSource, is_dask_array, map_rows
from gaussmix.fit.sources import (
    DataSource,
    InMemorySource,
    StreamingSource,
    compute_dtype,
    validate_stream,
)
from gaussmix.fit.storage import RowReader, is_out_of_core
from gaussmix.models.tensors import (
    as_output,
    is_tensor,
    sample_weight_like,
    to_device,
    validate_tensor,
)
from gaussmix.models.validation import check_sample_weight


def _remember_features(estimator: Any, n_features: int) -> None:
    estimator.n_features_in_ = n_features
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


#: The estimators whose fits and predictions take NaN as a missing value.
MISSING_VALUE_ESTIMATORS = (
    "GaussianMixture, GaussianMixtureClassifier, GaussianMixtureRegressor and "
    "GaussianMixtureOutlierDetector"
)


def _check_n_features(estimator: Any, n_features: int) -> None:
    expected = estimator.n_features_in_
    if n_features != expected:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input."
        )


def validate_in_memory(
    estimator: Any, X: Any, reset: bool, allow_nan: bool = False
) -> Any:
    """X checked, on the array library and device to compute with.

    Tensors stay on their device; numpy input moves to the estimator's
    ``device`` when it has one. With ``allow_nan``, NaN marks missing values
    (infinities are still refused).
    """
    min_samples = 2 if reset else 1
    if is_tensor(X):
        return validate_tensor(
            estimator,
            X,
            reset=reset,
            ensure_min_samples=min_samples,
            allow_nan=allow_nan,
        )
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=min_samples,
            ensure_all_finite="allow-nan" if allow_nan else True,
        )
    except ValueError as error:
        if allow_nan or not str(error).startswith("Input X contains NaN"):
            raise
        # scikit-learn's advice points at other libraries' estimators; the
        # fix is here
        raise ValueError(
            f"Input X contains NaN. {type(estimator).__name__} does not accept "
            f"missing values: {MISSING_VALUE_ESTIMATORS} marginalise them, or "
            "fill them first with GaussianMixtureImputer."
        ) from None
    device = getattr(estimator, "device", None)
    return X if device is None else to_device(X, device)


def make_source(
    estimator: Any,
    X: Any,
    sample_weight: Any,
    chunk_size: int | None,
    reset: bool = True,
    normalise_weights: bool = True,
    allow_nan: bool = False,
) -> DataSource:
    """A validated data source for fitting ``estimator`` on X.

    Sample weights are divided by the largest unless ``normalise_weights``
    is False: a maximum-likelihood fit does not depend on their scale, a
    Bayesian one does. ``allow_nan`` lets NaN (missing values) through.
    """
    if is_dask_array(X):
        source = DaskSource(X, sample_weight, chunk_size)
        source.validate(allow_nan=allow_nan, normalise_weights=normalise_weights)
    elif is_out_of_core(X):
        reader = RowReader(X)
        n_samples = reader.shape[0]
        minimum = 2 if reset else 1
        if n_samples < minimum:
            raise ValueError(
                f"Found array with {n_samples} sample(s) (shape={reader.shape}) "
                f"while a minimum of {minimum} is required."
            )
        weights = check_sample_weight(
            sample_weight,
            n_samples,
            compute_dtype(reader.dtype),
            normalise=normalise_weights,
        )
        source = StreamingSource(reader, weights, chunk_size)
        validate_stream(source, allow_nan=allow_nan)
    else:
        X = validate_in_memory(estimator, X, reset, allow_nan=allow_nan)
        weights = sample_weight_like(
            sample_weight,
            X.shape[0],
            X,
            partial(check_sample_weight, normalise=normalise_weights),
        )
        return InMemorySource(X, weights, chunk_size)
    if reset:
        _remember_features(estimator, source.n_features)
    else:
        _check_n_features(estimator, source.n_features)
    return source


def apply_by_rows(
    estimator: Any,
    X: Any,
    function: Callable[[np.ndarray], np.ndarray],
    n_outputs: int | None,
    dtype: Any,
    allow_nan: bool = False,
    chunk_rows: int | None = None,
) -> Any:
    """``function`` of validated rows, returned as the caller's kind of array.

    Numpy for arrays and files, tensors for tensors, dask arrays for dask.

    ``function`` takes an in-memory 2-D array and returns one value per row
    (``n_outputs=None``) or ``n_outputs`` values per row. With ``allow_nan``,
    the rows it gets may hold NaN (missing values). ``chunk_rows`` says that
    ``function`` cuts the rows it gets into :func:`row_slices` of that size:
    rows from a file or a dask array then reach it in whole slices of the
    rows' own cut, so that every row is computed among the same rows (and
    gives the same bits) wherever the rows live.
    """
    if is_dask_array(X):
        _check_n_features(estimator, X.shape[1])

        def on_block(block: np.ndarray) -> np.ndarray:
            return function(_checked_block(np.asarray(block), allow_nan))

        return map_rows(X, on_block, n_outputs, dtype, chunk_rows)
    if is_out_of_core(X):
        reader = RowReader(X)
        _check_n_features(estimator, reader.shape[1])
        source = StreamingSource(reader, None, None)
        parts = [
            function(_checked_block(chunk, allow_nan))
            for _, chunk in source.chunks(chunk_rows)
        ]
        return np.concatenate(parts, axis=0)
    rows = validate_in_memory(estimator, X, reset=False, allow_nan=allow_nan)
    return as_output(function(rows), X)


def _checked_block(block: np.ndarray, allow_nan: bool = False) -> np.ndarray:
    usable = ~np.isinf(block) if allow_nan else np.isfinite(block)
    if not np.all(usable):
        kind = "infinity" if allow_nan else "NaN or infinity"
        raise ValueError(f"Input X contains {kind}; remove or impute those rows first.")
    return np.asarray(block, dtype=compute_dtype(block.dtype))
