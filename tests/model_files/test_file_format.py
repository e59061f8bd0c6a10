"""What is not a whole, current model file is refused: cut short, corrupt,
of a newer format version, with non-standard JSON, or another kind of zip."""

from __future__ import annotations

import json
import zipfile

import pytest

import gaussmix
from tests.model_files.editing import array_file, rewrite


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9])
def test_a_truncated_file_is_refused(saved, tmp_path, fraction):
    data = saved.read_bytes()
    path = tmp_path / "truncated.gmm"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ValueError, match=r"not a gaussmix model file|truncated"):
        gaussmix.load(path)


def test_a_corrupt_member_is_refused(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo(array_file(saved, "state", "covariances_"))
    data = bytearray(saved.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    for i in range(start, start + info.compress_size):
        data[i] ^= 0x5A
    path = tmp_path / "corrupt.gmm"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        gaussmix.load(path)


def test_an_unknown_format_version_is_refused(saved, tmp_path):
    def edit(metadata):
        metadata["format_version"] = 99

    with pytest.raises(ValueError, match="format version 99, newer"):
        gaussmix.load(rewrite(saved, tmp_path / "h.gmm", edit))


def test_non_standard_json_is_refused(saved, tmp_path):
    path = tmp_path / "h.gmm"
    rewrite(saved, path)
    with zipfile.ZipFile(path) as archive:
        text = archive.read("metadata.json").decode()
    text = text.replace('"lower_bound_": ', '"lower_bound_": NaN, "x": ', 1)
    rewrite(path, path, members={"metadata.json": text.encode()})
    with pytest.raises(ValueError, match="NaN"):
        gaussmix.load(path)


def test_another_zip_is_not_a_model_file(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="wrong format name"):
        gaussmix.load(path)
