"""Model files without pickle: ``save`` and ``load`` any gaussmix estimator.

A model file (conventionally ``.gmm``) is a zip archive holding
``metadata.json`` and one ``.npy`` file per array:

- ``metadata.json``: the format name (``"gaussmix-model"``), the format
  version, the version of gaussmix that wrote it, the estimator (its
  registered class name, its ``get_params()`` and its fitted state, each value
  tagged with its kind) and a free ``info`` dict;
- ``arrays/<n>.npy``: the arrays, read back with ``allow_pickle=False``.

Loading an untrusted file cannot run code: nothing is unpickled, and a class
named in the file is only looked up in the registry of gaussmix estimators,
never imported. The round trip is exact: arrays keep their dtype, shape and
bits, Python floats their value.

Adding an estimator
-------------------
Register the class, with a check of its restored state::

    from gaussmix.io import register_estimator

    register_estimator(MyMixture, validate=check_my_mixture)

By default the saved state is every instance attribute that is not a
constructor parameter, which suits scikit-learn estimators. It may hold
numpy arrays and scalars, Python scalars, strings, None, lists, tuples,
dicts of those, ``RandomState`` objects and other registered estimators (for
example a classifier's one mixture per class), nested freely.

A class whose state holds anything else defines two methods::

    def __gaussmix_state__(self) -> dict[str, Any]: ...
    def __gaussmix_restore__(self, state: dict[str, Any]) -> None: ...

The first returns the state in the kinds above; the second receives it back,
decoded, on a freshly constructed instance. A torch module, for one, is saved
as its ``state_dict()`` with each tensor converted by
``tensor.detach().cpu().numpy()`` and restored with ``torch.from_numpy`` and
``load_state_dict``.
"""

from gaussmix.io.archive import FORMAT_VERSION, load, read_metadata, save
from gaussmix.io.registry import register_estimator, registered_estimators

__all__ = [
    "FORMAT_VERSION",
    "load",
    "read_metadata",
    "register_estimator",
    "registered_estimators",
    "save",
]
