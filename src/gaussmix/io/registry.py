"""The estimators that model files may hold, and how their state is captured.

Only classes registered here are ever reconstructed from a file; a class name
read from a file is looked up in this table and never imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Validator = Callable[[Any], None]


@dataclass(frozen=True)
class RegisteredEstimator:
    """A class that model files may hold, with its load-time check."""

    name: str
    cls: type
    validate: Validator | None


_REGISTRY: dict[str, RegisteredEstimator] = {}
_builtins_registered = False


def register_estimator(
    cls: type | None = None,
    *,
    name: str | None = None,
    validate: Validator | None = None,
) -> Any:
    """Allow instances of ``cls`` in model files; usable as a class decorator.

    Parameters
    ----------
    cls : type
        A scikit-learn style estimator class (``get_params`` and a constructor
        taking those parameters as keywords).
    name : str, default=None
        The name written to files; the class's ``__name__`` when None. It must
        stay stable across versions of the library, since files refer to it.
    validate : callable, default=None
        Called with each loaded instance; raises ``ValueError`` naming the
        problem when the restored state is not a valid model.

    Returns
    -------
    cls, or a decorator when ``cls`` is None.
    """

    def decorate(klass: type) -> type:
        key = klass.__name__ if name is None else name
        existing = _REGISTRY.get(key)
        if existing is not None and existing.cls is not klass:
            raise ValueError(
                f"the model-file name {key!r} already belongs to "
                f"{existing.cls.__module__}.{existing.cls.__qualname__}; "
                "register this class under another name."
            )
        _REGISTRY[key] = RegisteredEstimator(key, klass, validate)
        return klass

    return decorate if cls is None else decorate(cls)


def _register_builtins() -> None:
    # imported here so that estimator modules may import gaussmix.io freely
    global _builtins_registered
    if _builtins_registered:
        return
    _builtins_registered = True
    from gaussmix.io.checks import check_gaussian_mixture
    from gaussmix.models import GaussianMixture

    register_estimator(GaussianMixture, validate=check_gaussian_mixture)


def registered_estimators() -> dict[str, type]:
    """The classes model files may hold, by the name files use for them."""
    _register_builtins()
    return {key: entry.cls for key, entry in _REGISTRY.items()}


def entry_for_instance(estimator: Any) -> RegisteredEstimator | None:
    """The registration of ``type(estimator)`` exactly, or None.

    Subclasses are not covered by their parent's registration: they may hold
    state that the parent's check does not know about.
    """
    _register_builtins()
    for entry in _REGISTRY.values():
        if type(estimator) is entry.cls:
            return entry
    return None


def entry_for_name(name: object, where: str) -> RegisteredEstimator:
    """The registration a file refers to; ValueError when there is none."""
    _register_builtins()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(
            f"{where} names the estimator class {name!r}, which is not a "
            f"registered gaussmix estimator (known: {sorted(_REGISTRY)}); the "
            "file was written by another program or a newer gaussmix."
        )
    return _REGISTRY[name]


def estimator_state(estimator: Any, where: str) -> dict[str, Any]:
    """The state to save: the ``__gaussmix_state__`` hook's, or the default.

    By default the state is every instance attribute that is not a
    constructor parameter: the fitted attributes (``weights_``...) and any
    private ones.
    """
    hook = getattr(estimator, "__gaussmix_state__", None)
    if hook is not None:
        state = hook()
    else:
        params = estimator.get_params(deep=False)
        state = {k: v for k, v in vars(estimator).items() if k not in params}
        for attribute in state:
            _check_attribute_name(type(estimator), attribute, where)
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise TypeError(f"the state of {where} must be a dict with str keys.")
    return state


def rebuild_estimator(
    entry: RegisteredEstimator,
    params: dict[str, Any],
    state: dict[str, Any],
    where: str,
) -> Any:
    """Construct a registered estimator, restore its state, and check it."""
    try:
        estimator = entry.cls(**params)
    except TypeError as exc:
        raise ValueError(
            f"{where}: the stored parameters do not match {entry.name} ({exc})."
        ) from None
    hook = getattr(estimator, "__gaussmix_restore__", None)
    if hook is not None:
        hook(state)
    else:
        for attribute, value in state.items():
            _check_attribute_name(entry.cls, attribute, where)
            setattr(estimator, attribute, value)
    if entry.validate is not None:
        try:
            entry.validate(estimator)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return estimator


def _check_attribute_name(cls: type, attribute: str, where: str) -> None:
    # names that could shadow a method, property or special attribute would
    # let a file change behaviour, not only data
    if (
        not attribute.isidentifier()
        or attribute.startswith("__")
        or hasattr(cls, attribute)
    ):
        raise ValueError(
            f"{where}: the attribute name {attribute!r} is not allowed in a "
            f"model file (it is not an identifier, is special, or shadows a "
            f"member of {cls.__name__})."
        )
