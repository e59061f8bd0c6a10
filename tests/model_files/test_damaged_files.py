"""Valid files damaged in many ways: each loads as a valid model or is refused.

A seeded stream of corruptions (truncation, flipped bits, replaced members,
metadata values of the wrong type) is applied to saved examples; every load
must either give a model whose predictions are valid or raise ValueError,
quickly. Nothing else (MemoryError, TypeError, KeyError, ...) may escape.
"""

from __future__ import annotations

import copy
import io
import json
import random
import time
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import gaussmix
from tests.model_files.editing import npy_bytes
from tests.model_files.examples import IRIS, library_example

EXAMPLES = [
    "GaussianMixture after partial_fit",
    "BayesianGaussianMixture after partial_fit",
    "GaussianMixtureClassifier with string labels",
    "GaussianMixtureRegressor",
    "ModelSelectionResult",
]
NAN = {"kind": "float", "value": "nan"}
WRONG_VALUES = ["x", None, NAN, 1e308, -1, 10**30, [], {"kind": "tuple", "items": []}]


def saved_bytes(name: str) -> bytes:
    buffer = io.BytesIO()
    gaussmix.save(library_example(name), buffer)
    return buffer.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def packed(contents: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def assert_valid_model(model) -> None:
    """A loaded model predicts valid probabilities (or values) on iris."""
    if isinstance(model, gaussmix.ModelSelectionResult):
        model = model.best_model
    if not hasattr(model, "n_features_in_"):
        # a state edited down to nothing leaves an unfitted model, a valid one
        with pytest.raises(NotFittedError):
            check_is_fitted(model)
        return
    X = IRIS[:, : model.n_features_in_]
    if isinstance(model, gaussmix.GaussianMixtureRegressor):
        assert np.all(np.isfinite(model.predict(X)))
        return
    probabilities = model.predict_proba(X)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1)


def loads_or_refuses(data: bytes) -> str:
    start = time.perf_counter()
    try:
        model = gaussmix.load(io.BytesIO(data))
    except ValueError:
        outcome = "refused"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_valid_model(model)
        outcome = "loaded"
    assert time.perf_counter() - start < 1.0
    return outcome


@pytest.mark.parametrize("name", EXAMPLES)
def test_truncated_and_bit_flipped_files(name):
    data = saved_bytes(name)
    rng = random.Random(0)
    outcomes = [loads_or_refuses(data[:cut]) for cut in range(0, len(data), 997)]
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        outcomes.append(loads_or_refuses(bytes(damaged)))
    assert "refused" in outcomes


@pytest.mark.parametrize("name", EXAMPLES)
def test_replaced_array_members(name):
    contents = members(saved_bytes(name))
    arrays = sorted(member for member in contents if member != "metadata.json")
    outcomes = []
    for member in random.Random(2).sample(arrays, min(len(arrays), 12)):
        array = np.load(io.BytesIO(contents[member]))
        for replacement in (
            np.full(array.shape, np.nan),
            array.astype(np.int64) if array.dtype.kind != "U" else array,
            array.astype(complex) if array.dtype.kind in "fiub" else array,
            array.astype("U3"),
            np.zeros((2, 3)),
            np.array(1.0),
            np.zeros(0),
            array.astype(np.float16) if array.dtype.kind in "fiub" else array,
        ):
            changed = {**contents, member: npy_bytes(replacement)}
            outcomes.append(loads_or_refuses(packed(changed)))
    assert "refused" in outcomes


def metadata_paths(node, path=()):
    """Every (path, value) below an encoded node, leaves and inner nodes alike."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, (dict, list)):
            yield from metadata_paths(value, (*path, key))


@pytest.mark.parametrize("name", EXAMPLES)
def test_metadata_values_of_the_wrong_type(name):
    contents = members(saved_bytes(name))
    metadata = json.loads(contents["metadata.json"])
    paths = list(metadata_paths(metadata["model"]))
    rng = random.Random(1)
    outcomes = []
    for path in rng.sample(paths, min(len(paths), 150)):
        edited = copy.deepcopy(metadata)
        node = edited["model"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = copy.deepcopy(rng.choice(WRONG_VALUES))
        changed = {**contents, "metadata.json": json.dumps(edited).encode()}
        outcomes.append(loads_or_refuses(packed(changed)))
    assert "refused" in outcomes
