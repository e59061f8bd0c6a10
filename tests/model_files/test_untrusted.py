"""Hostile and damaged model files: a clear ValueError, quickly, never a crash.

Each bad file is written out here, member by member, as an attacker or a
damaged disk would leave it.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import gaussmix
from gaussmix.io import registered_estimators
from gaussmix.io.registry import OPTIONAL_ESTIMATORS, OPTIONAL_PACKAGES
from tests.model_files.editing import array_file, npy_bytes, rewrite
from tests.model_files.examples import HAS_TORCH, IRIS, library_example

#: every bad file is refused well within this many seconds
QUICK = 1.0


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("untrusted") / "model.gmm"
    gaussmix.save(library_example("GaussianMixture"), path)
    return path


def npy_header(shape: tuple, descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def refused_quickly(path, match: str) -> None:
    """load raises ValueError matching ``match`` within QUICK seconds and
    without allocating more than 16 MiB on the way."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=match):
            gaussmix.load(path)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < QUICK
    assert peak < 16 * 2**20


def test_a_header_claiming_a_trillion_values_is_refused_unread(saved, tmp_path):
    member = array_file(saved, "state", "means_")
    # 10**12 float64 values claimed, 32 bytes stored
    crafted = npy_header((10**6, 10**6)) + bytes(32)
    path = rewrite(saved, tmp_path / "e.gmm", members={member: crafted})
    refused_quickly(path, rf"means_: {member} declares shape \(1000000, 1000000\)")


def test_a_zip_bomb_is_refused_before_it_expands(saved, tmp_path):
    """A member that is 128 MiB of zeros, deflated to ~130 kB."""
    member = array_file(saved, "state", "means_")
    n_values = 2**27 // 8
    path = tmp_path / "bomb.gmm"
    with zipfile.ZipFile(saved) as source:
        contents = {n: source.read(n) for n in source.namelist() if n != member}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
        with archive.open(member, "w") as stream:
            stream.write(npy_header((n_values,)))
            zeros = bytes(2**22)
            for _ in range(2**27 // len(zeros)):
                stream.write(zeros)
    assert path.stat().st_size < 2**20
    refused_quickly(path, f"would expand .* {member} of model.means_.*zip bomb")


def test_a_member_with_more_data_than_its_header_declares(saved, tmp_path):
    member = array_file(saved, "state", "weights_")
    crafted = npy_bytes(np.full(3, 1 / 3)) + bytes(8 * 10**5)
    path = rewrite(saved, tmp_path / "e.gmm", members={member: crafted})
    refused_quickly(path, rf"weights_: {member} declares shape \(3,\)")


def test_a_header_cut_short(saved, tmp_path):
    member = array_file(saved, "state", "weights_")
    crafted = npy_bytes(np.full(3, 1 / 3))[:20]
    path = rewrite(saved, tmp_path / "e.gmm", members={member: crafted})
    refused_quickly(path, f"{member} is truncated")


def test_an_implausibly_long_header(saved, tmp_path):
    member = array_file(saved, "state", "weights_")
    # version 2.0 header: a 4-byte length field claiming 4 GB of header text
    crafted = b"\x93NUMPY\x02\x00" + (2**32 - 1).to_bytes(4, "little")
    path = rewrite(saved, tmp_path / "e.gmm", members={member: crafted})
    refused_quickly(path, f"{member} has an implausibly long .npy header")


@pytest.mark.parametrize(
    "header, fragment",
    [
        ("{'descr': '|O', 'fortran_order': False, 'shape': (3,)}", "pickled"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-3,)}", "invalid shape"),
        ("{'descr': '<f8', 'fortran_order': 1, 'shape': (3,)}", "invalid shape"),
        ("{'descr': 'nonsense', 'fortran_order': False, 'shape': (3,)}", "dtype"),
        ("{'descr': '<f8', 'shape': (3,)}", "without descr"),
        ("__import__('os').system('false')", "unreadable"),
    ],
)
def test_bad_headers_are_refused(saved, tmp_path, header, fragment):
    member = array_file(saved, "state", "weights_")
    text = header.encode("latin1") + b" \n"
    crafted = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text
    path = rewrite(saved, tmp_path / "e.gmm", members={member: crafted})
    refused_quickly(path, fragment)


def test_a_missing_member_names_the_field(saved, tmp_path):
    member = array_file(saved, "state", "weights_")

    def point_elsewhere(metadata):
        metadata["model"]["state"]["weights_"]["file"] = "arrays/999.npy"

    path = rewrite(saved, tmp_path / "e.gmm", point_elsewhere)
    assert member != "arrays/999.npy"
    refused_quickly(path, r"weights_: the model file has no arrays/999.npy")


def test_a_damaged_zip_directory_is_not_a_model_file(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    # the "version needed to extract" of the first central directory entry
    directory = data.rindex(b"PK\x01\x02", 0, data.rindex(b"PK\x05\x06"))
    first = data.index(b"PK\x01\x02")
    assert first <= directory
    data[first + 6] = 0xFF
    path = tmp_path / "e.gmm"
    path.write_bytes(bytes(data))
    refused_quickly(path, "not a gaussmix model file")


def _set(path: tuple, value):
    def edit(metadata):
        node = metadata["model"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


NAN = {"kind": "float", "value": "nan"}


@pytest.mark.parametrize(
    "path, value, fragment",
    [
        (("state", "n_iter_"), "many", "n_iter_ must be an integer"),
        (("state", "n_iter_"), NAN, "n_iter_ must be an integer"),
        (("state", "converged_"), 1.5, "converged_ must be true or false"),
        (("state", "lower_bound_"), NAN, "lower_bound_ must be a number"),
        (("params", "tol"), NAN, "invalid hyperparameter: The 'tol' parameter"),
        (
            ("params", "max_iter"),
            "x",
            "invalid hyperparameter: The 'max_iter' parameter",
        ),
        (
            ("params", "chunk_size"),
            0,
            "invalid hyperparameter: The 'chunk_size' parameter",
        ),
        (
            ("params", "init_params"),
            "magic",
            "invalid hyperparameter: The 'init_params' parameter",
        ),
        (("params", "covariance_type"), ["full"], "covariance_type"),
        (("params", "random_state"), -1, "The 'random_state' parameter"),
        (("params", "random_state"), 2.5, "The 'random_state' parameter"),
        (("params", "warm_start"), "yes", "The 'warm_start' parameter"),
        (("params", "learning_decay"), 2, "learning_decay"),
        (("params", "device"), 3, "device must be None or a device name"),
        (("params", "device"), "x", "device must be None or a device name"),
        (("params", "means_init"), [["a"]], "invalid hyperparameter"),
    ],
)
def test_fitted_fields_of_the_wrong_type_are_refused(
    saved, tmp_path, path, value, fragment
):
    bad = rewrite(saved, tmp_path / "e.gmm", _set(path, value))
    refused_quickly(bad, fragment)


def test_class_labels_must_compare_equal_to_themselves(tmp_path):
    model = gaussmix.GaussianMixtureClassifier(1, random_state=0)
    model.fit(IRIS, np.repeat([0.0, 1.0, 2.0], 50))
    saved = tmp_path / "classifier.gmm"
    gaussmix.save(model, saved)
    member = array_file(saved, "state", "classes_")
    # two NaN labels are distinct as a set, yet no prediction can equal them
    labels = np.array([0.0, np.nan, np.nan])
    path = rewrite(saved, tmp_path / "e.gmm", members={member: npy_bytes(labels)})
    refused_quickly(path, "classes_ contains NaN")


def test_selection_tables_must_hold_integer_parameter_counts(tmp_path):
    saved = tmp_path / "selection.gmm"
    gaussmix.save(library_example("ModelSelectionResult"), saved)
    member = array_file(saved, "fields", "n_parameters")
    counts = np.full((2, 2), np.nan)
    path = rewrite(saved, tmp_path / "e.gmm", members={member: npy_bytes(counts)})
    refused_quickly(path, "n_parameters must be an array of positive integers")


def test_a_legitimate_file_still_loads_bit_for_bit(tmp_path):
    """Fortran-ordered, 0-d, empty, big-endian and large (chunked) arrays."""
    rng = np.random.RandomState(0)
    values = {
        "fortran": np.asfortranarray(rng.standard_normal((3, 4))),
        "large fortran": np.asfortranarray(rng.standard_normal((700, 400))),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3)),
        "big-endian": np.arange(5, dtype=">i4"),
        "record": np.zeros(2, dtype=[("a", "<f4"), ("b", "u1")]),
    }
    model = gaussmix.GaussianMixture(means_init=values)
    path = tmp_path / "m.gmm"
    gaussmix.save(model, path)
    loaded = gaussmix.load(path).means_init
    for name, array in values.items():
        restored = loaded[name]
        assert restored.dtype == array.dtype and restored.shape == array.shape, name
        assert restored.flags.f_contiguous == array.flags.f_contiguous, name
        assert restored.tobytes("A") == array.tobytes("A"), name


def test_metadata_that_is_not_a_dict_of_estimators(saved, tmp_path):
    path = tmp_path / "e.gmm"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps([1, 2, 3]))
    refused_quickly(path, "not a gaussmix model file")


def test_an_unknown_class_is_refused_without_importing_optional_packages(
    saved, tmp_path
):
    """Refusing a file must not wait for torch to import."""
    path = rewrite(saved, tmp_path / "e.gmm", _set(("class",), "Unknown"))
    script = (
        "import sys, gaussmix\n"
        "try:\n"
        f"    gaussmix.load({str(path)!r})\n"
        "except ValueError as exc:\n"
        "    print('Unknown' in str(exc), 'torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "False"]


@pytest.mark.skipif(not HAS_TORCH, reason="the optional packages need torch")
def test_every_optional_estimator_is_listed_with_its_package():
    optional = {
        name: cls.__module__.rsplit(".", 1)[0]
        for name, cls in registered_estimators().items()
        if cls.__module__.startswith(OPTIONAL_PACKAGES)
    }
    assert optional == OPTIONAL_ESTIMATORS


def test_metadata_that_expands_a_thousandfold_is_refused_unparsed(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        text = archive.read("metadata.json")
    # valid JSON: 16 MiB of trailing blanks, deflated to about 16 kB
    padded = text + b" " * 2**24
    path = tmp_path / "bomb.gmm"
    with (
        zipfile.ZipFile(saved) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for name in source.namelist():
            data = padded if name == "metadata.json" else source.read(name)
            archive.writestr(name, data)
    refused_quickly(path, "metadata.json is implausibly large")
