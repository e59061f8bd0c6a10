"""The classes that model files may hold, and how their state is captured.

Only classes registered here are ever reconstructed from a file; a class name
read from a file is looked up in this table and never imported. Two sorts of
class may be registered:

- estimators (scikit-learn style: ``get_params`` and a constructor taking
  those parameters), stored as their parameters and their state;
- dataclasses of values (for example :class:`~gaussmix.core.stats.Stats`),
  stored as their fields and rebuilt by calling the class with them.

Estimators that need an optional dependency (torch) register themselves with
the :func:`register_estimator` decorator in their own module. Those modules
live in the packages of :data:`OPTIONAL_PACKAGES`, which the library imports
only when a file names a class not registered yet, so that ``import
gaussmix.io`` and loading a plain mixture never import torch.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

Validator = Callable[[Any], None]

#: Packages of the library whose modules register estimators with the
#: decorator; imported on demand, in this order. A package that does not
#: exist is skipped, so that a package still to come is picked up once it
#: lands.
OPTIONAL_PACKAGES = ("gaussmix.nn", "gaussmix.deep")
#: The file names of the estimators those packages register, and where each
#: lives: a file naming another class is refused without importing torch.
OPTIONAL_ESTIMATORS = {
    "MixtureDensityRegressor": "gaussmix.nn",
    "DeepGaussianMixtureClustering": "gaussmix.deep",
    "DAGMM": "gaussmix.deep",
    "FisherVectorEncoder": "gaussmix.deep",
}


@dataclass(frozen=True)
class RegisteredEstimator:
    """A class that model files may hold, with its load-time check."""

    name: str
    cls: type
    validate: Validator | None

    @property
    def is_record(self) -> bool:
        """True for a dataclass, stored by its fields rather than as an estimator."""
        return dataclasses.is_dataclass(self.cls)


_REGISTRY: dict[str, RegisteredEstimator] = {}
_builtins_registered = False
#: why an optional package could not be imported, by package name
_unavailable: dict[str, str] = {}
_imported_packages: set[str] = set()


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
        taking those parameters as keywords), or a dataclass whose fields are
        all constructor arguments.
    name : str, default=None
        The name written to files; the class's ``__name__`` when None. It must
        stay stable across versions of the library, since files refer to it.
    validate : callable, default=None
        Called with each loaded instance; raises ``ValueError`` naming the
        problem when the restored state is not a valid model.

    Returns
    -------
    cls, or a decorator when ``cls`` is None.

    Examples
    --------
    In the estimator's own module::

        @register_estimator(validate=check_my_mixture)
        class MyMixture(BaseEstimator): ...
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
    from gaussmix.core.conjugate_prior import ConjugatePrior
    from gaussmix.core.stats import Stats
    from gaussmix.io.checks import (
        check_conjugate_prior,
        check_gaussian_mixture,
        check_stats,
    )
    from gaussmix.io.checks_bayesian import check_bayesian_mixture
    from gaussmix.io.checks_imputer import check_imputer
    from gaussmix.io.checks_lowrank import (
        check_factor_analyzers,
        check_hdda,
        check_hddc,
    )
    from gaussmix.io.checks_models import (
        check_classifier,
        check_model_selection,
        check_outlier_detector,
        check_regressor,
    )
    from gaussmix.io.checks_student import check_student_mixture
    from gaussmix.models import (
        HDDC,
        BayesianGaussianMixture,
        GaussianMixture,
        GaussianMixtureClassifier,
        GaussianMixtureImputer,
        GaussianMixtureOutlierDetector,
        GaussianMixtureRegressor,
        HDDAClassifier,
        MixtureOfFactorAnalyzers,
        StudentMixture,
    )
    from gaussmix.models.selection import ModelSelectionResult

    register_estimator(GaussianMixture, validate=check_gaussian_mixture)
    register_estimator(BayesianGaussianMixture, validate=check_bayesian_mixture)
    register_estimator(StudentMixture, validate=check_student_mixture)
    register_estimator(GaussianMixtureClassifier, validate=check_classifier)
    register_estimator(GaussianMixtureRegressor, validate=check_regressor)
    register_estimator(GaussianMixtureOutlierDetector, validate=check_outlier_detector)
    register_estimator(GaussianMixtureImputer, validate=check_imputer)
    register_estimator(ModelSelectionResult, validate=check_model_selection)
    register_estimator(Stats, validate=check_stats)
    register_estimator(ConjugatePrior, validate=check_conjugate_prior)
    register_estimator(MixtureOfFactorAnalyzers, validate=check_factor_analyzers)
    register_estimator(HDDC, validate=check_hddc)
    register_estimator(HDDAClassifier, validate=check_hdda)


def _import_optional_packages(packages: tuple[str, ...] = OPTIONAL_PACKAGES) -> None:
    """Import the optional packages not tried yet, noting why any failed."""
    for package in packages:
        if package in _imported_packages:
            continue
        _imported_packages.add(package)
        if importlib.util.find_spec(package) is None:
            continue
        try:
            importlib.import_module(package)
        except ImportError as exc:
            # torch missing: the package's estimators cannot be loaded here
            _unavailable[package] = str(exc)
            logger.debug("model files: %s unavailable (%s)", package, exc)


def registered_estimators() -> dict[str, type]:
    """The classes model files may hold, by the name files use for them.

    Imports the optional packages (:data:`OPTIONAL_PACKAGES`, which need
    torch) so that their estimators are listed when they can be loaded.

    Examples
    --------
    >>> from gaussmix.io import registered_estimators
    >>> classes = registered_estimators()
    >>> "GaussianMixture" in classes, "StudentMixture" in classes
    (True, True)
    """
    _register_builtins()
    _import_optional_packages()
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
    if isinstance(name, str) and name not in _REGISTRY and name in OPTIONAL_ESTIMATORS:
        _import_optional_packages((OPTIONAL_ESTIMATORS[name],))
    if not isinstance(name, str) or name not in _REGISTRY:
        missing = "".join(
            f"; {package} could not be imported ({reason})"
            for package, reason in _unavailable.items()
        )
        raise ValueError(
            f"{where} names the estimator class {name!r}, which is not a "
            f"registered gaussmix estimator (known: {sorted(_REGISTRY)}){missing}; "
            "the file was written by another program or a newer gaussmix."
        )
    return _REGISTRY[name]


def constructor_arguments(obj: Any, entry: RegisteredEstimator) -> dict[str, Any]:
    """What rebuilds ``obj``: an estimator's parameters or a dataclass's fields."""
    if entry.is_record:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return obj.get_params(deep=False)


def estimator_state(estimator: Any, where: str) -> dict[str, Any]:
    """The state to save: the ``__gaussmix_state__`` hook's, or the default.

    By default the state is every instance attribute that is not a
    constructor parameter: the fitted attributes (``weights_``...) and any
    private ones. A dataclass has no state beyond its fields.
    """
    if dataclasses.is_dataclass(estimator):
        return {}
    hook = getattr(estimator, "__gaussmix_state__", None)
    state = hook() if hook is not None else fitted_state(estimator, where)
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise TypeError(f"the state of {where} must be a dict with str keys.")
    return state


def fitted_state(estimator: Any, where: str | None = None) -> dict[str, Any]:
    """Every instance attribute of ``estimator`` that is not a parameter.

    The default state of an estimator; a ``__gaussmix_state__`` hook may
    start from it and convert the values that files cannot hold.
    """
    params = estimator.get_params(deep=False)
    state = {k: v for k, v in vars(estimator).items() if k not in params}
    for attribute in state:
        _check_attribute_name(type(estimator), attribute, where)
    return state


def restore_fitted_state(estimator: Any, state: dict[str, Any]) -> None:
    """Set each attribute of ``state`` on ``estimator``, refusing unsafe names.

    The default restore of an estimator; a ``__gaussmix_restore__`` hook may
    call it for the values it does not convert itself.
    """
    for attribute in state:
        _check_attribute_name(type(estimator), attribute)
    for attribute, value in state.items():
        setattr(estimator, attribute, value)


def rebuild_estimator(
    entry: RegisteredEstimator,
    params: dict[str, Any],
    state: dict[str, Any],
    where: str,
) -> Any:
    """Construct a registered class, restore its state, and check it."""
    try:
        estimator = entry.cls(**params)
    except TypeError as exc:
        raise ValueError(
            f"{where}: the stored parameters do not match {entry.name} ({exc})."
        ) from None
    hook = getattr(estimator, "__gaussmix_restore__", None)
    try:
        if hook is not None:
            hook(state)
        else:
            restore_fitted_state(estimator, state)
        if entry.validate is not None:
            entry.validate(estimator)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # whatever the file holds, a bad value is a bad file; a missing
        # attribute is a missing value
        message = f"lacks {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{where}: {message}") from None
    return estimator


def _check_attribute_name(cls: type, attribute: str, where: str | None = None) -> None:
    # names that could shadow a method, property or special attribute would
    # let a file change behaviour, not only data
    if (
        not attribute.isidentifier()
        or attribute.startswith("__")
        or hasattr(cls, attribute)
    ):
        prefix = "" if where is None else f"{where}: "
        raise ValueError(
            f"{prefix}the attribute name {attribute!r} is not allowed in a "
            f"model file (it is not an identifier, is special, or shadows a "
            f"member of {cls.__name__})."
        )
