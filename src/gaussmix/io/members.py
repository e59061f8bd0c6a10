"""Reading the members of an untrusted archive without trusting their sizes.

A model file comes from outside, and three of its numbers could make a
naive reader allocate or decompress without bound: the shape a ``.npy``
header declares, the uncompressed size the zip declares for a member, and
the amount of data a compressed stream really expands to. Before any array
data is read, :func:`plan_arrays` reads each referenced member's ``.npy``
header (a few hundred bytes) and requires that

- the header's shape and dtype give exactly the member's declared size;
- the members' compressed sizes fit in the archive (no overlapping members);
- the uncompressed total is at most :data:`RATIO_LIMIT` times the
  compressed total plus :data:`FREE_BYTES` (a zip bomb expands a thousand
  times; arrays of numbers compress a few times at most).

:func:`read_array` then fills an array of the planned size from the stream
and refuses a stream that holds more or less data, so memory never exceeds
what the checks allowed, whatever the zip headers claim.
"""

from __future__ import annotations

import ast
import io
import math
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

import numpy as np

#: The uncompressed bytes of the arrays may exceed ``RATIO_LIMIT`` times
#: their compressed bytes by at most ``FREE_BYTES``.
RATIO_LIMIT = 100
FREE_BYTES = 64 * 2**20
#: numpy's own bound on a .npy header it parses without allow_pickle
MAX_HEADER_BYTES = 10_000
_MAGIC = b"\x93NUMPY"
#: bytes of the header-length field, and the header's text encoding, by version
_HEADER_FORMATS = {1: ("<H", "latin1"), 2: ("<I", "latin1"), 3: ("<I", "utf8")}
_CHUNK_BYTES = 16 * 2**20
#: members up to this size are read whole when their header is checked
_SMALL_BYTES = 2**20
_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
)


@dataclass
class ArrayPlan:
    """What a checked ``.npy`` member holds, and where its data starts.

    ``array`` holds the values of a small member, read with its header so
    that the member is opened once.
    """

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    data_offset: int
    array: np.ndarray | None = None

    @property
    def count(self) -> int:
        return math.prod(self.shape)


def plan_arrays(
    archive: zipfile.ZipFile, names: Mapping[str, str], archive_bytes: int
) -> dict[str, ArrayPlan]:
    """Check the members ``names``: their declared sizes together before any
    is opened, then each one's header before its data is read.

    Members of up to 1 MiB are read whole with their header; larger ones are
    read by :func:`read_array` when the decoder reaches them.

    Parameters
    ----------
    archive : zipfile.ZipFile
    names : mapping of str to str
        The ``.npy`` members the metadata refers to, each with the field
        that holds it (for messages).
    archive_bytes : int
        The archive's length on disk, which the compressed members must fit in.

    Returns
    -------
    dict of str to ArrayPlan

    Raises
    ------
    ValueError
        Naming the member, when one is missing, encrypted, declares a size
        its header does not imply, or when the members together would expand
        far beyond the archive (a zip bomb).
    """
    infos = {name: member_info(archive, name, where) for name, where in names.items()}
    compressed = sum(info.compress_size for info in infos.values())
    expanded = sum(info.file_size for info in infos.values())
    if compressed > archive_bytes:
        raise ValueError(
            f"the arrays claim {compressed} compressed bytes in an archive of "
            f"{archive_bytes}; the file is corrupt or crafted (overlapping members)."
        )
    if expanded > RATIO_LIMIT * compressed + FREE_BYTES:
        largest = max(infos, key=lambda name: infos[name].file_size)
        raise ValueError(
            f"the arrays would expand from {compressed} to {expanded} bytes, more "
            f"than {RATIO_LIMIT} times (the largest, {largest} of {names[largest]}, "
            f"to {infos[largest].file_size}); the file is corrupt or a zip bomb."
        )
    plans = {}
    for name, info in infos.items():
        try:
            plans[name] = _plan(archive, info)
        except ValueError as exc:
            raise ValueError(f"{names[name]}: {exc}") from None
    return plans


def member_info(
    archive: zipfile.ZipFile, name: str, where: str | None = None
) -> zipfile.ZipInfo:
    """The zip entry of ``name``; ValueError when absent or encrypted."""
    prefix = "" if where is None else f"{where}: "
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{prefix}the model file has no {name}.") from None
    if info.flag_bits & 0x1:
        raise ValueError(
            f"{prefix}{name} is encrypted; model files are never encrypted."
        )
    return info


def read_member(
    archive: zipfile.ZipFile, name: str, limit: int, archive_bytes: int
) -> bytes:
    """The bytes of a small member: at most ``limit``, and at most
    :data:`RATIO_LIMIT` times its compressed size plus 1 MiB."""
    info = member_info(archive, name)
    if info.compress_size > archive_bytes:
        raise ValueError(
            f"{name} claims {info.compress_size} compressed bytes in an archive "
            f"of {archive_bytes}; the file is corrupt or crafted."
        )
    if info.file_size > min(limit, RATIO_LIMIT * info.compress_size + 2**20):
        raise ValueError(
            f"{name} is implausibly large ({info.file_size} bytes from "
            f"{info.compress_size} compressed); the file is corrupt or a zip bomb."
        )
    with _open(archive, info) as stream:
        data = _read_exactly(stream, info.file_size, name)
        _require_end(stream, name)
    return data


def read_array(archive: zipfile.ZipFile, plan: ArrayPlan) -> np.ndarray:
    """The array a checked member holds, read in bounded chunks."""
    if plan.array is not None:
        return plan.array
    with _open(archive, plan.info) as stream:
        _read_exactly(stream, plan.data_offset, plan.info.filename)
        return _read_data(stream, plan)


def _read_data(stream: IO[bytes], plan: ArrayPlan) -> np.ndarray:
    """The data after the header, into an array of the checked size."""
    name = plan.info.filename
    # allocate what the header declares (already checked), as np.load does
    flat = np.empty(plan.count, dtype=plan.dtype)
    if flat.nbytes:
        buffer = memoryview(flat.view(np.uint8))
        for start in range(0, flat.nbytes, _CHUNK_BYTES):
            piece = buffer[start : start + _CHUNK_BYTES]
            if _fill(stream, piece, name) != len(piece):
                raise ValueError(f"{name} is truncated.")
    _require_end(stream, name)
    if plan.fortran_order:
        return flat.reshape(plan.shape[::-1]).transpose()
    return flat.reshape(plan.shape)


def _plan(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> ArrayPlan:
    """Check a member's header against its declared size (and read it if small)."""
    name = info.filename
    with _open(archive, info) as member:
        small = info.file_size <= _SMALL_BYTES
        if small:
            # one read of the whole member costs less than several small ones
            stream: IO[bytes] = io.BytesIO(_read_exactly(member, info.file_size, name))
            _require_end(member, name)
        else:
            stream = member
        plan = _read_header(stream, info)
        if small:
            plan.array = _read_data(stream, plan)
    return plan


def _read_header(stream: IO[bytes], info: zipfile.ZipInfo) -> ArrayPlan:
    name = info.filename
    prefix = _read_exactly(stream, 8, name, "a .npy header")
    if prefix[:6] != _MAGIC or prefix[6] not in _HEADER_FORMATS:
        raise ValueError(f"{name} is not a valid .npy array (bad magic).")
    length_format, encoding = _HEADER_FORMATS[prefix[6]]
    field = _read_exactly(stream, struct.calcsize(length_format), name, "a header")
    (header_length,) = struct.unpack(length_format, field)
    if header_length > MAX_HEADER_BYTES:
        raise ValueError(f"{name} has an implausibly long .npy header.")
    text = _read_exactly(stream, header_length, name, "a .npy header")
    shape, fortran_order, dtype = _parse_header(text, encoding, name)
    data_offset = len(prefix) + len(field) + header_length
    expected = data_offset + math.prod(shape) * dtype.itemsize
    if expected != info.file_size:
        raise ValueError(
            f"{name} declares shape {shape} of {dtype} ({expected} bytes with "
            f"its header) but the archive stores {info.file_size} bytes."
        )
    return ArrayPlan(info, shape, dtype, fortran_order, data_offset)


def _parse_header(
    raw: bytes, encoding: str, name: str
) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        header = ast.literal_eval(raw.decode(encoding))
    except (UnicodeDecodeError, SyntaxError, ValueError, MemoryError, RecursionError):
        raise ValueError(f"{name} has an unreadable .npy header.") from None
    if not isinstance(header, dict) or set(header) != {
        "descr",
        "fortran_order",
        "shape",
    }:
        raise ValueError(f"{name} has a .npy header without descr, shape and order.")
    shape, fortran_order = header["shape"], header["fortran_order"]
    if not (
        isinstance(shape, tuple)
        and all(type(n) is int and n >= 0 for n in shape)
        and isinstance(fortran_order, bool)
    ):
        raise ValueError(f"{name} has an invalid shape or order in its header.")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except (TypeError, ValueError, KeyError, IndexError):
        raise ValueError(f"{name} has an invalid dtype in its header.") from None
    if dtype.hasobject:
        raise ValueError(
            f"{name} holds pickled Python objects, which gaussmix never loads."
        )
    return shape, fortran_order, dtype


def _open(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    try:
        return archive.open(info)
    except _READ_ERRORS as exc:
        raise _corrupt(info.filename, exc) from None


def _read_exactly(
    stream: IO[bytes], size: int, name: str, what: str = "its data"
) -> bytes:
    data = bytearray(size)
    if _fill(stream, memoryview(data), name) != size:
        raise ValueError(f"{name} is truncated: it ends inside {what}.")
    return bytes(data)


def _fill(stream: IO[bytes], buffer: memoryview, name: str) -> int:
    """Read into ``buffer`` until it is full or the stream ends; bytes read."""
    done = 0
    try:
        while done < len(buffer):
            got = stream.readinto(buffer[done:])
            if not got:
                break
            done += got
    except _READ_ERRORS as exc:
        raise _corrupt(name, exc) from None
    return done


def _require_end(stream: IO[bytes], name: str) -> None:
    # reading past the declared end also makes zipfile check the CRC
    try:
        extra = stream.read(1)
    except _READ_ERRORS as exc:
        raise _corrupt(name, exc) from None
    if extra:
        raise ValueError(f"{name} holds more data than its header declares.")


def _corrupt(name: str, exc: BaseException) -> ValueError:
    return ValueError(
        f"the model file is truncated or corrupt: cannot read {name} ({exc})."
    )
