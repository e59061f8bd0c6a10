"""Model files without pickle: ``save`` and ``load`` any gaussmix estimator.

A model file (conventionally ``.gmm``) is a zip archive holding
``metadata.json`` and one ``.npy`` file per array:

- ``metadata.json``: the format name (``"gaussmix-model"``), the format
  version, the version of gaussmix that wrote it, the estimator (its
  registered class name, its ``get_params()`` and its fitted state, each value
  tagged with its kind) and a free ``info`` dict;
- ``arrays/<n>.npy``: the arrays, read back with ``allow_pickle=False``.

Loading an untrusted file cannot run code: nothing is unpickled, and a class
named in the file is only looked up in the registry of gaussmix classes,
never imported. Before any array data is read, every array's declared
size is checked against its ``.npy`` header and against the archive, so that
a crafted or damaged file cannot make loading allocate or decompress without
bound (see :mod:`gaussmix.io.members`). Each rebuilt object is checked
(shapes, finite values, probabilities that sum to one, hyperparameters a fit
could have used, ...) and a file describing an invalid model is refused with
a ``ValueError`` that names the problem. The round trip is
exact: arrays keep their dtype, shape and bits, Python floats their value.

What a file can hold
--------------------
Every estimator of the library, fitted or not:

- :class:`~gaussmix.GaussianMixture`, including the running statistics of
  ``partial_fit``: a model saved mid-stream and loaded continues the stream
  exactly as the original would;
- :class:`~gaussmix.BayesianGaussianMixture`, with its variational
  posterior and prior (the Beta parameters of a Dirichlet process come back
  as the same tuple of two arrays) and the running statistics of
  ``partial_fit``; a loaded model continues a warm-started ``fit`` or the
  stream of ``partial_fit`` exactly as the original would;
- :class:`~gaussmix.StudentMixture`, with its degrees of freedom;
- :class:`~gaussmix.GaussianMixtureClassifier` (one mixture per class; class
  labels may be strings) and :class:`~gaussmix.GaussianMixtureRegressor`;
- :class:`~gaussmix.ModelSelectionResult`: the tables, every fitted model,
  and the best one (stored once: after loading it is still one of
  ``models``);
- :class:`gaussmix.nn.MixtureDensityRegressor`: the network is stored as its
  ``state_dict()`` arrays and rebuilt from the hyperparameters on load, so
  predictions are identical (bit for bit on the CPU). It is rebuilt on the
  estimator's ``device``; a file saved with ``device='cuda'`` needs a GPU.

Torch tensors (the fitted attributes of a mixture fitted on tensors) are
stored as their arrays and come back as tensors of the same dtype and values
**on the CPU**, whatever device they were saved from, so that a file loads on
any machine; such a mixture still computes on the device of the tensors it is
given. Without torch installed they come back as numpy arrays, with a logged
warning. See :mod:`gaussmix.io.tensors`.

Adding an estimator
-------------------
Register the class in its own module with the decorator, giving a check of
its restored state (a function that raises ``ValueError``)::

    from gaussmix.io import register_estimator

    @register_estimator(validate=check_my_mixture)
    class MyMixture(BaseEstimator): ...

The name written to files is the class's ``__name__`` unless ``name=`` says
otherwise; it must not change later. A module of ``gaussmix.nn`` or
``gaussmix.deep`` (:data:`gaussmix.io.registry.OPTIONAL_PACKAGES`, which need
torch) is imported only when a file names one of its classes, listed with
their package in :data:`gaussmix.io.registry.OPTIONAL_ESTIMATORS`, so
importing ``gaussmix.io``, loading a plain mixture or refusing an unknown
class never imports torch; such a module must be imported by its package's
``__init__`` to be found, and its classes added to that table. A
dataclass of values may be registered the same way: it is stored by its
fields and rebuilt by calling the class with them.

By default the saved state is every instance attribute that is not a
constructor parameter, which suits scikit-learn estimators. It may hold
numpy arrays and scalars, Python scalars, strings, None, lists, tuples,
dicts of those, ``RandomState`` objects, torch tensors and other registered
classes (for example a classifier's one mixture per class), nested freely.
An object held in several places is stored once.

A class whose state holds anything else defines two methods::

    def __gaussmix_state__(self) -> dict[str, Any]: ...
    def __gaussmix_restore__(self, state: dict[str, Any]) -> None: ...

The first returns the state in the kinds above; the second receives it back,
decoded, on a freshly constructed instance. :mod:`gaussmix.io.torch_modules`
implements both for an estimator holding a torch module
(``state_with_module`` and ``restore_with_module``): the module is saved as
its weights and rebuilt by a function of the hyperparameters, its weights
checked against the shapes those imply before any memory is committed.

Finally, add a fitted example to ``LIBRARY_EXAMPLES`` in
``tests/model_files/examples.py``: the guard tests discover every public
estimator and fail for one that is not registered or has no example.
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
