"""Writing altered copies of model files, as an attacker or a corrupt disk would."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from gaussmix.io import read_metadata


def rewrite(
    source,
    target,
    edit_metadata: Callable[[dict], None] | None = None,
    members: dict[str, bytes] | None = None,
):
    """Copy a model file, editing its metadata and replacing members."""
    members = dict(members or {})
    with zipfile.ZipFile(source) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    metadata = json.loads(contents["metadata.json"])
    if edit_metadata is not None:
        edit_metadata(metadata)
    contents["metadata.json"] = json.dumps(metadata).encode()
    contents.update(members)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return target


def npy_bytes(array: Any, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def node_at(metadata: dict, *path: Any) -> Any:
    """The encoded value at ``path`` below the model: state attributes, then
    keys of nested nodes (``"state"``, ``"fields"``, ``"items"``, indices)."""
    node = metadata["model"]
    for key in path:
        node = node[key]
    return node


def array_file(path, *node_path: Any) -> str:
    """The archive member holding the array at ``node_path`` (see node_at)."""
    return node_at(read_metadata(path), *node_path)["file"]


def read_array(path, member: str) -> np.ndarray:
    with zipfile.ZipFile(path) as archive:
        return np.load(io.BytesIO(archive.read(member)), allow_pickle=False)


def replace_array(source, target, node_path: tuple, values: np.ndarray):
    """Copy a model file with the array at ``node_path`` replaced."""
    member = array_file(source, *node_path)
    return rewrite(source, target, members={member: npy_bytes(values)})
