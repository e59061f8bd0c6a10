"""Model files: a zip archive of ``metadata.json`` and one ``.npy`` per array."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from typing import Any, BinaryIO

import numpy as np

from gaussmix.io.codec import ARRAY_NAME, Decoder, Encoder
from gaussmix.io.members import plan_arrays, read_array, read_member

FORMAT_NAME = "gaussmix-model"
#: The version written; files of this version or older are read.
FORMAT_VERSION = 1
METADATA_NAME = "metadata.json"
_MAX_METADATA_BYTES = 64 * 2**20

PathLike = str | os.PathLike | BinaryIO


def save(model: Any, path: PathLike, *, info: dict[str, Any] | None = None) -> None:
    """Write an estimator to a model file, without pickle.

    Parameters
    ----------
    model : estimator
        An instance of a registered gaussmix estimator, fitted or not, or of
        another registered class (a :class:`~gaussmix.ModelSelectionResult`).
    path : str, path-like or binary file object
        Conventionally with the suffix ``.gmm``.
    info : dict, default=None
        Extra JSON-serialisable facts to keep with the model (for example the
        names of the data's columns); read back with :func:`read_metadata`.

    Raises
    ------
    TypeError
        When the model, or a value in its state, cannot be stored. Nothing is
        written in that case.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture, load, save
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> gmm = GaussianMixture(2, random_state=0).fit(X)
    >>> path = Path(tempfile.mkdtemp()) / "model.gmm"
    >>> save(gmm, path, info={"columns": ["height", "width"]})
    >>> np.array_equal(load(path).means_, gmm.means_)  # exact, bit for bit
    True
    """
    encoder = Encoder()
    root = encoder.encode_registered(model, type(model).__name__)
    from gaussmix import __version__

    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "model": root,
        "info": {} if info is None else info,
    }
    try:
        text = json.dumps(metadata, indent=1, allow_nan=False)
    except ValueError:
        raise TypeError("info must hold finite JSON values only.") from None
    except TypeError as exc:
        raise TypeError(f"info must be JSON-serialisable: {exc}") from None
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(METADATA_NAME, text)
        for name, array in encoder.arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            archive.writestr(name, buffer.getvalue())


def load(path: PathLike) -> Any:
    """Read an estimator from a model file written by :func:`save`.

    Loading never unpickles and never imports a class named in the file: only
    registered gaussmix estimators are rebuilt, and each is checked (for a
    :class:`~gaussmix.GaussianMixture`: shapes, finite values, weights that
    sum to one, positive-definite covariances).

    Raises
    ------
    ValueError
        Naming the problem, when the file is not a gaussmix model file, is
        truncated or corrupt, has an unknown format version, or holds an
        invalid model.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture, load, save
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> path = Path(tempfile.mkdtemp()) / "model.gmm"
    >>> save(GaussianMixture(2, random_state=0).fit(X), path)
    >>> model = load(path)
    >>> type(model).__name__, model.predict(X[:5]).shape
    ('GaussianMixture', (5,))

    A file that is not a model file is refused with a ``ValueError``:

    >>> _ = path.write_bytes(b"not a model")
    >>> try:
    ...     load(path)
    ... except ValueError:
    ...     print("refused")
    refused
    """
    with _open(path) as archive:
        metadata = _read_metadata(archive)
        # every size is checked before any array data is read
        plans = plan_arrays(
            archive, _array_names(metadata.get("model")), _archive_bytes(archive)
        )

        def read(name: str, where: str) -> np.ndarray:
            try:
                return read_array(archive, plans[name])
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None

        try:
            return Decoder(read).decode_registered(metadata.get("model"), "model")
        except RecursionError:
            raise ValueError("the model file is nested too deeply.") from None


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The metadata of a model file as JSON values, without rebuilding the model.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``library_version``, ``model`` (the
        encoded estimator: ``class``, ``params``, ``state``; or, for a
        dataclass, ``class`` and ``fields``) and ``info``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture, save
    >>> from gaussmix.io import read_metadata
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> path = Path(tempfile.mkdtemp()) / "model.gmm"
    >>> save(GaussianMixture(2).fit(X), path, info={"columns": ["a", "b"]})
    >>> metadata = read_metadata(path)
    >>> metadata["format"], metadata["model"]["class"], metadata["info"]
    ('gaussmix-model', 'GaussianMixture', {'columns': ['a', 'b']})
    >>> metadata["model"]["params"]["n_components"]
    2
    """
    with _open(path) as archive:
        return _read_metadata(archive)


def _open(path: PathLike) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, NotImplementedError, EOFError, struct.error):
        # a damaged directory also shows as an unsupported zip version
        raise ValueError(
            f"{_describe(path)} is not a gaussmix model file (not a zip archive; "
            "it may be truncated or written by another program)."
        ) from None


def _describe(path: PathLike) -> str:
    return repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "file"


def _archive_bytes(archive: zipfile.ZipFile) -> int:
    """The archive's length, which its members' compressed data must fit in."""
    stream = archive.fp
    try:
        return stream.seek(0, io.SEEK_END)
    except (AttributeError, OSError, ValueError):
        raise ValueError(
            "cannot measure the model file; give a seekable file."
        ) from None


def _array_names(node: Any) -> dict[str, str]:
    """The archive members a metadata tree refers to, with the field holding each.

    Walked without recursion, so that a deeply nested file cannot exhaust
    the stack here.
    """
    names: dict[str, str] = {}
    pending = [(node, "model")]
    while pending:
        node, where = pending.pop()
        if isinstance(node, list):
            pending.extend((value, where) for value in node)
        elif isinstance(node, dict):
            name = node.get("file")
            if isinstance(name, str) and ARRAY_NAME.fullmatch(name):
                names.setdefault(name, where)
            for key, value in node.items():
                if key in ("params", "state", "fields") and isinstance(value, dict):
                    pending.extend((v, f"{where}.{k}") for k, v in value.items())
                else:
                    pending.append((value, where))
    return names


def _read_metadata(archive: zipfile.ZipFile) -> dict[str, Any]:
    raw = read_member(
        archive, METADATA_NAME, _MAX_METADATA_BYTES, _archive_bytes(archive)
    )
    try:
        metadata = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{METADATA_NAME} is not valid JSON ({exc}).") from None
    except RecursionError:
        raise ValueError(f"{METADATA_NAME} is nested too deeply.") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise ValueError("the file is not a gaussmix model file (wrong format name).")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"invalid model-file format version {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"the model file has format version {version}, newer than this "
            f"gaussmix reads ({FORMAT_VERSION}); upgrade gaussmix to load it."
        )
    return metadata


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{METADATA_NAME} holds the non-standard JSON constant {name}.")
