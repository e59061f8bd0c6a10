"""Values as JSON plus numpy arrays, and back, without pickle.

Every JSON object in an encoded tree is a tagged node ``{"kind": ..., ...}``;
JSON null, booleans, integers, finite floats, strings and arrays stand for
themselves. Arrays are kept aside (the archive stores each as one ``.npy``)
and referenced by name.

=============  ==============================================================
kind           value
=============  ==============================================================
float          a non-finite float, as ``repr`` ("inf", "-inf", "nan")
tuple          ``items``: encoded elements
dict           ``items``: encoded ``[key, value]`` pairs (keys of any hashable
               kind)
array          ``file``: an ``.npy`` entry of the archive (any non-object dtype)
scalar         ``file``: a 0-d ``.npy`` entry; decoded as the numpy scalar
string_array   ``values`` and ``shape``: an object array of ``str``
dtype          ``value``: a numpy dtype's string
random_state   ``state``: the encoded ``RandomState.get_state()``
tensor         ``file``, ``requires_grad``, ``device``: a torch tensor (see
               :mod:`gaussmix.io.tensors`)
estimator      ``class``, ``params``, ``state``: a registered gaussmix estimator
record         ``class``, ``fields``: a registered dataclass
same           ``index``: the ``index``-th estimator or record of the file
               (counted in the order they finish decoding), for one object
               held in several places
=============  ==============================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from gaussmix.io.registry import (
    RegisteredEstimator,
    constructor_arguments,
    entry_for_instance,
    entry_for_name,
    estimator_state,
    rebuild_estimator,
)
from gaussmix.io.tensors import decode_tensor, encode_tensor, is_tensor

ARRAY_NAME = re.compile(r"arrays/[0-9]{1,9}\.npy")


class Encoder:
    """Encodes values to JSON-ready trees, collecting their arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        # objects already written, by id, and kept alive so ids stay unique
        self._indices: dict[int, int] = {}
        self._written: list[Any] = []

    def encode(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else _node("float", repr(value))
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {"kind": "tuple", "items": items}
        if isinstance(value, dict):
            items = [
                [self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ]
            return {"kind": "dict", "items": items}
        if isinstance(value, np.ndarray):
            return self._encode_array(value, where)
        if isinstance(value, np.generic):
            return {"kind": "scalar", "file": self._store(np.asarray(value), where)}
        if isinstance(value, np.dtype):
            return _node("dtype", value.str)
        if isinstance(value, np.random.RandomState):
            return {
                "kind": "random_state",
                "state": self.encode(value.get_state(), where),
            }
        if entry_for_instance(value) is not None:
            return self.encode_registered(value, where)
        if is_tensor(value):
            return encode_tensor(value, lambda array: self._store(array, where), where)
        raise TypeError(
            f"{where} is a {type(value).__module__}.{type(value).__qualname__}, "
            "which model files cannot hold; estimators keep other values out of "
            "their state or convert them in __gaussmix_state__."
        )

    def encode_registered(self, obj: Any, where: str) -> dict[str, Any]:
        """An estimator or a dataclass of the registry, or a reference to it."""
        if id(obj) in self._indices:
            return {"kind": "same", "index": self._indices[id(obj)]}
        entry = entry_for_instance(obj)
        if entry is None:
            raise TypeError(
                f"{where} is a {type(obj).__qualname__}, which is not a "
                "registered gaussmix estimator; register it with "
                "gaussmix.io.register_estimator."
            )
        arguments = {
            k: self.encode(v, f"{where}.{k}")
            for k, v in constructor_arguments(obj, entry).items()
        }
        if entry.is_record:
            node = {"kind": "record", "class": entry.name, "fields": arguments}
        else:
            state = estimator_state(obj, where)
            node = {
                "kind": "estimator",
                "class": entry.name,
                "params": arguments,
                "state": {k: self.encode(v, f"{where}.{k}") for k, v in state.items()},
            }
        # numbered once written, as the decoder numbers them once rebuilt
        self._indices[id(obj)] = len(self._written)
        self._written.append(obj)
        return node

    def _encode_array(self, array: np.ndarray, where: str) -> Any:
        if array.dtype.hasobject:
            if array.dtype == object and all(isinstance(v, str) for v in array.flat):
                return {
                    "kind": "string_array",
                    "values": list(array.flat),
                    "shape": list(array.shape),
                }
            raise TypeError(
                f"{where} is an array of Python objects, which model files "
                "cannot hold without pickle; convert it to a numeric or string "
                "array."
            )
        return {"kind": "array", "file": self._store(array, where)}

    def _store(self, array: np.ndarray, where: str) -> str:
        name = f"arrays/{len(self.arrays)}.npy"
        self.arrays[name] = array
        return name


class Decoder:
    """Decodes trees written by :class:`Encoder`, reading arrays on demand."""

    def __init__(self, read_array: Callable[[str, str], np.ndarray]) -> None:
        self._read_array = read_array
        self._used: set[str] = set()
        self._rebuilt: list[Any] = []

    def decode(self, node: Any, where: str) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            raise ValueError(f"{where}: unexpected JSON value {node!r}.")
        kind = node.get("kind")
        if kind == "float":
            return self._decode_float(node, where)
        if kind == "tuple":
            if not isinstance(node.get("items"), list):
                raise ValueError(f"{where}: a tuple must hold a list of items.")
            return tuple(self.decode(node["items"], where))
        if kind == "dict":
            return self._decode_dict(node, where)
        if kind in ("array", "scalar"):
            array = self._array(node, where)
            return array[()] if kind == "scalar" else array
        if kind == "string_array":
            return self._decode_string_array(node, where)
        if kind == "dtype":
            return self._decode_dtype(node, where)
        if kind == "random_state":
            return self._decode_random_state(node, where)
        if kind == "tensor":
            return decode_tensor(node, self._array(node, where), where)
        if kind in ("estimator", "record"):
            return self.decode_registered(node, where)
        if kind == "same":
            return self._decode_same(node, where)
        raise ValueError(f"{where}: unknown value kind {kind!r}.")

    def decode_registered(self, node: Any, where: str) -> Any:
        """Rebuild an estimator or a dataclass; ValueError when it is invalid."""
        kind = node.get("kind") if isinstance(node, dict) else None
        if kind not in ("estimator", "record"):
            raise ValueError(f"{where}: expected an estimator, not {kind!r}.")
        entry = entry_for_name(node.get("class"), where)
        where = f"{where} ({entry.name})"
        if entry.is_record != (kind == "record"):
            raise ValueError(f"{where}: {entry.name} cannot be stored as {kind!r}.")
        arguments, state = self._arguments_and_state(node, entry, where)
        obj = rebuild_estimator(entry, arguments, state, where)
        self._rebuilt.append(obj)
        return obj

    def _arguments_and_state(
        self, node: dict, entry: RegisteredEstimator, where: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        names = ("fields", None) if entry.is_record else ("params", "state")
        parts = []
        for name in names:
            part = {} if name is None else node.get(name)
            if not isinstance(part, dict):
                raise ValueError(f"{where}: expected a dict of {name}.")
            parts.append({k: self.decode(v, f"{where}.{k}") for k, v in part.items()})
        return parts[0], parts[1]

    def _decode_same(self, node: dict, where: str) -> Any:
        index = node.get("index")
        if (
            isinstance(index, bool)
            or not isinstance(index, int)
            or not 0 <= index < len(self._rebuilt)
        ):
            raise ValueError(
                f"{where}: invalid reference {index!r} to an earlier object of "
                f"the file ({len(self._rebuilt)} so far)."
            )
        return self._rebuilt[index]

    def _array(self, node: dict, where: str) -> np.ndarray:
        name = node.get("file")
        if not isinstance(name, str) or not ARRAY_NAME.fullmatch(name):
            raise ValueError(f"{where}: invalid array reference {name!r}.")
        if name in self._used:
            raise ValueError(f"{where}: the array {name} is referenced twice.")
        self._used.add(name)
        return self._read_array(name, where)

    def _decode_float(self, node: dict, where: str) -> float:
        text = node.get("value")
        if text not in ("inf", "-inf", "nan"):
            raise ValueError(f"{where}: invalid non-finite float {text!r}.")
        return float(text)

    def _decode_dict(self, node: dict, where: str) -> dict:
        items = node.get("items")
        if not isinstance(items, list) or not all(
            isinstance(pair, list) and len(pair) == 2 for pair in items
        ):
            raise ValueError(f"{where}: a dict must hold [key, value] pairs.")
        out = {}
        for key_node, value_node in items:
            key = self.decode(key_node, f"{where} key")
            try:
                hash(key)
            except TypeError:
                raise ValueError(f"{where}: dict key {key!r} is unhashable.") from None
            out[key] = self.decode(value_node, f"{where}[{key!r}]")
        return out

    def _decode_string_array(self, node: dict, where: str) -> np.ndarray:
        values, shape = node.get("values"), node.get("shape")
        if not (
            isinstance(values, list)
            and all(isinstance(v, str) for v in values)
            and isinstance(shape, list)
            and all(isinstance(n, int) and n >= 0 for n in shape)
            and math.prod(shape) == len(values)
        ):
            raise ValueError(f"{where}: invalid string array.")
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out.reshape(shape)

    def _decode_dtype(self, node: dict, where: str) -> np.dtype:
        try:
            dtype = np.dtype(str(node.get("value")))
        except TypeError:
            raise ValueError(f"{where}: invalid dtype {node.get('value')!r}.") from None
        if dtype.hasobject:
            raise ValueError(f"{where}: object dtypes are not allowed.")
        return dtype

    def _decode_random_state(self, node: dict, where: str) -> np.random.RandomState:
        state = self.decode(node.get("state"), where)
        random_state = np.random.RandomState()
        try:
            random_state.set_state(state)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: invalid random state ({exc}).") from None
        return random_state


def _node(kind: str, value: Any) -> dict[str, Any]:
    return {"kind": kind, "value": value}
