"""Load-time checks of restored mixtures: a file must describe a valid model."""

from __future__ import annotations

import numbers
import re
from typing import Any

import numpy as np

from gaussmix.core.conjugate_prior import ConjugatePrior
from gaussmix.core.covariance import available_families, get_family
from gaussmix.core.stats import Stats
from gaussmix.io import rules
from gaussmix.io.tensors import is_tensor

_ARRAY_ATTRIBUTES = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
)
_SCATTER_SHAPES = {
    "full": lambda k, d: (k, d, d),
    "diag": lambda k, d: (k, d),
    "pooled": lambda k, d: (d, d),
}
_FLOAT64 = (np.dtype(np.float64),)
#: torch's device types (its own error message lists them), with an index
_DEVICE_NAME = re.compile(
    r"(cpu|cuda|mps|xpu|xla|hip|meta|hpu|mtia|ipu|maia|lazy|vulkan|ve|fpga"
    r"|opengl|opencl|ideep|mkldnn|privateuseone)(:[0-9]+)?"
)
_FIT_RECORD = {
    "n_iter_": rules.require_int,
    "converged_": rules.require_bool,
    "lower_bound_": lambda name, value: rules.require_real(name, value, finite=False),
    "lower_bounds_": rules.require_reals,
}


def check_gaussian_mixture(model: Any) -> None:
    """Raise ValueError unless a restored GaussianMixture is a valid mixture.

    An unfitted model (no fitted attributes) passes; a fitted one needs
    consistent shapes, finite float arrays (all numpy, or all tensors),
    weights in [0, 1] summing to one (with ``noise_proportion_``, when the
    model has a noise component), symmetric positive-definite covariances,
    precision factors with a positive diagonal and, after ``partial_fit``,
    running statistics of the model's shapes.
    """
    get_family(model.covariance_type)
    if not rules.fitted_or_not(model, _ARRAY_ATTRIBUTES):
        return
    # set_params may have changed covariance_type since the fit: the arrays
    # have the layout of the fitted family (files before it was recorded:
    # covariance_type's)
    covariance_type = fitted_covariance_type(model)
    noise_proportion = _check_noise(model)
    n_components, n_features = check_point_estimate(
        model, covariance_type, noise_proportion
    )
    _check_noise_extents(model, n_features)
    _check_settings(model, n_components, n_features)
    family = get_family(covariance_type)
    _check_streaming_state(model, family.scatter_kind, n_components, n_features)


def check_point_estimate(
    model: Any, covariance_type: str, noise_proportion: float = 0.0
) -> tuple[int, int]:
    """Check a fitted mixture's weights, means, covariances and precisions.

    Finite float arrays (all numpy or all tensors) of the shapes
    ``covariance_type`` gives them, weights in [0, 1] summing to one
    (together with ``noise_proportion``, a noise component's weight),
    symmetric positive-definite covariances and precision factors with a
    positive diagonal. Returns ``(n_components, n_features)``.
    """
    family = get_family(covariance_type)
    arrays = _host_arrays(model)
    for name, array in arrays.items():
        rules.require_float_array(name, array)
    weights, means = arrays["weights_"], arrays["means_"]
    if weights.ndim != 1 or means.ndim != 2 or means.shape[0] != weights.shape[0]:
        raise ValueError(
            f"weights_ {weights.shape} and means_ {means.shape} must have shapes "
            "(n_components,) and (n_components, n_features)."
        )
    n_components, n_features = means.shape
    if n_components < 1 or n_features < 1:
        raise ValueError("a fitted mixture has at least one component and feature.")
    _check_counts(model, n_components, n_features)
    expected = family.covariance_shape(n_components, n_features)
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        if arrays[name].shape != expected:
            raise ValueError(
                f"{name} has shape {arrays[name].shape}; covariance_type="
                f"{covariance_type!r} with {n_components} components and "
                f"{n_features} features needs {expected}."
            )
    if noise_proportion:
        with_noise = np.append(weights.astype(np.float64), noise_proportion)
        rules.require_probabilities("weights_ and noise_proportion_", with_noise)
    else:
        rules.require_probabilities("weights_", weights)
    _check_one_dtype(arrays)
    _check_positive_definite(family, arrays["covariances_"], n_components, n_features)
    _check_factors(family, arrays["precisions_cholesky_"])
    _check_factors_invert(family, arrays, n_components, n_features)
    return n_components, n_features


#: How far ``U^T Sigma U`` may stray from the identity in a float64 file:
#: the fit's own factors miss it by about the rounding unit times the
#: condition number of the correlation matrix, far less than this; a factor
#: or covariance edited on its own (even scaled by 1.1) misses it by more.
#: float32 files are not judged so: rounding a nearly singular covariance to
#: float32 alone moves ``U^T Sigma U`` by up to about one.
_INVERSE_TOLERANCE = 1e-2


def _check_one_dtype(arrays: dict[str, Any]) -> None:
    dtypes = {name: np.asarray(array).dtype for name, array in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items())
        raise ValueError(
            f"a mixture's fitted arrays share one dtype, got {listed}; the file "
            "was not written by a fit."
        )


def _check_factors_invert(
    family: Any, arrays: dict[str, Any], n_components: int, n_features: int
) -> None:
    """``precisions_cholesky_`` must factor the inverse of ``covariances_``.

    Both are stored, and each method reads one of them (``score_samples``
    the factors, ``sample`` the covariances), so a file whose two disagree
    would describe two models. ``U^T Sigma U = I`` is checked rather than
    ``U U^T = Sigma^-1``: it does not depend on the columns' units. Only
    float64 files are judged (see :data:`_INVERSE_TOLERANCE`).
    """
    if np.asarray(arrays["means_"]).dtype != np.float64:
        return
    covariances = family.full_covariances(
        np.asarray(arrays["covariances_"], np.float64), n_components, n_features
    )
    factors = family.full_covariances(
        np.asarray(arrays["precisions_cholesky_"], np.float64), n_components, n_features
    )
    product = np.swapaxes(factors, 1, 2) @ covariances @ factors
    error = np.abs(product - np.eye(n_features)).max(axis=(1, 2))
    worst = int(np.argmax(error))
    if error[worst] > _INVERSE_TOLERANCE:
        raise ValueError(
            f"precisions_cholesky_ of component {worst} does not factor the inverse "
            f"of its covariances_ (U^T Sigma U is off the identity by "
            f"{error[worst]:.3g}); the file's covariances and precisions describe "
            "different models."
        )


def _check_noise(model: Any) -> float:
    """A noise component's weight (0 without one), after checking its attributes.

    ``noise_proportion_`` and ``noise_volume_`` come together: a weight in
    [0, 1] and a positive finite volume (and, after ``partial_fit``, a
    running share in [0, 1]).
    """
    present = [hasattr(model, name) for name in ("noise_proportion_", "noise_volume_")]
    if not any(present):
        return 0.0
    if not all(present):
        raise ValueError(
            "noise_proportion_ and noise_volume_ must be both present or both absent."
        )
    proportion = rules.require_real("noise_proportion_", model.noise_proportion_)
    if not 0.0 <= proportion <= 1.0:
        raise ValueError(f"noise_proportion_ must be in [0, 1], got {proportion}.")
    if hasattr(model, "_running_noise_share"):
        # partial_fit's running share of the noise
        share = rules.require_real("_running_noise_share", model._running_noise_share)
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"_running_noise_share must be in [0, 1], got {share}.")
    volume = rules.require_real("noise_volume_", model.noise_volume_)
    if volume <= 0:
        raise ValueError(f"noise_volume_ must be positive, got {volume}.")
    return proportion


def _check_noise_extents(model: Any, n_features: int) -> None:
    """``noise_extents_``, the columns' ranges of a noise mixture (absent
    from files written before it was kept): finite, non-negative float64,
    one per feature, and only with a noise component."""
    if not hasattr(model, "noise_extents_"):
        return
    if not hasattr(model, "noise_volume_"):
        raise ValueError("noise_extents_ belongs to a mixture with noise_volume_.")
    extents = rules.require_float_array(
        "noise_extents_", model.noise_extents_, (n_features,), _FLOAT64
    )
    if np.any(extents < 0):
        raise ValueError("noise_extents_ must be non-negative.")


def fitted_covariance_type(model: Any) -> str:
    """The family of a fitted mixture's arrays, as ``_covariance_type_fitted``
    records it; ValueError unless it is a registered family."""
    fitted = getattr(model, "_covariance_type_fitted", model.covariance_type)
    if not isinstance(fitted, str) or fitted not in available_families():
        raise ValueError(
            f"_covariance_type_fitted must name a covariance family, got {fitted!r}."
        )
    return fitted


def check_conjugate_prior(prior: ConjugatePrior) -> None:
    """Raise ValueError unless restored prior hyperparameters are valid."""
    prior.check()


def check_stats(stats: Stats) -> None:
    """Raise ValueError unless restored Stats are consistent sums.

    float64 arrays (the sums are kept in float64 whatever the data's dtype)
    of matching shapes, finite, with non-negative weights.
    """
    if stats.scatter_kind not in _SCATTER_SHAPES:
        raise ValueError(
            f"scatter_kind must be one of {sorted(_SCATTER_SHAPES)}, got "
            f"{stats.scatter_kind!r}."
        )
    resp_sum = rules.require_float_array("resp_sum", stats.resp_sum, dtypes=_FLOAT64)
    shift = rules.require_float_array("shift", stats.shift, dtypes=_FLOAT64)
    if resp_sum.ndim != 1 or shift.ndim != 2 or shift.shape[0] != len(resp_sum):
        raise ValueError(
            f"resp_sum {resp_sum.shape} and shift {shift.shape} must have shapes "
            "(n_components,) and (n_components, n_features)."
        )
    n_components, n_features = shift.shape
    rules.require_float_array(
        "centred_sum", stats.centred_sum, shift.shape, dtypes=_FLOAT64
    )
    scatter_shape = _SCATTER_SHAPES[stats.scatter_kind](n_components, n_features)
    rules.require_float_array("scatter", stats.scatter, scatter_shape, _FLOAT64)
    if np.any(resp_sum < 0):
        raise ValueError("resp_sum must be non-negative.")
    rules.require_real("log_likelihood", stats.log_likelihood)
    if rules.require_real("total_weight", stats.total_weight) < 0:
        raise ValueError("total_weight must be non-negative.")
    rules.require_real("worst_log_density", stats.worst_log_density, finite=False)
    if stats.worst_point is not None:
        rules.require_float_array(
            "worst_point", stats.worst_point, (n_features,), _FLOAT64
        )


def _host_arrays(model: Any) -> dict[str, Any]:
    """The fitted arrays as numpy, for checking; all tensors or none."""
    values = {name: getattr(model, name) for name in _ARRAY_ATTRIBUTES}
    tensors = [name for name, value in values.items() if is_tensor(value)]
    if not tensors:
        return values
    if len(tensors) < len(values):
        raise ValueError(
            f"{tensors} are tensors but the other fitted arrays are not; a "
            "mixture's arrays are all tensors or all numpy arrays."
        )
    return {name: value.detach().cpu().numpy() for name, value in values.items()}


def _check_counts(model: Any, n_components: int, n_features: int) -> None:
    declared = model.n_components
    if not isinstance(declared, numbers.Integral) or declared != n_components:
        raise ValueError(
            f"n_components={declared!r} but the arrays hold {n_components} components."
        )
    if getattr(model, "n_features_in_", n_features) != n_features:
        raise ValueError(
            f"n_features_in_={model.n_features_in_!r} but means_ has "
            f"{n_features} features."
        )


def _check_settings(model: Any, n_components: int, n_features: int) -> None:
    """The hyperparameters of a fitted mixture are ones it could be fitted with."""
    from gaussmix.models import validation as check

    rules.require_settings(model._check_hyperparameters)
    rules.require_settings(lambda: model._check_user_init(n_components, n_features))
    decay = model.learning_decay
    rules.require_settings(
        lambda: check.check_float("learning_decay", decay, 0.5, False)
    )
    if decay > 1:
        raise ValueError(f"learning_decay must be in (0.5, 1], got {decay}.")
    rules.require_settings(
        lambda: check.check_float("learning_offset", model.learning_offset, 0, True)
    )
    rules.require_bool("warm_start", model.warm_start)
    rules.require_random_state("random_state", model.random_state)
    if model.device is not None:
        _check_device(model.device)
    # files written before some of these existed lack them
    for name, check_value in _FIT_RECORD.items():
        if hasattr(model, name):
            check_value(name, getattr(model, name))


def _check_device(device: Any) -> None:
    # the form of a torch device name, checked without importing torch: a
    # model on a device needs torch only once it computes
    if not (isinstance(device, str) and _DEVICE_NAME.fullmatch(device)):
        raise ValueError(
            f"device must be None or a device name such as 'cuda:0', got {device!r}."
        )


def _check_streaming_state(
    model: Any, scatter_kind: str, n_components: int, n_features: int
) -> None:
    """Running Stats of ``partial_fit`` must be able to resume this model."""
    if hasattr(model, "n_batches_"):
        rules.require_int("n_batches_", model.n_batches_)
    if hasattr(model, "_seen_weight"):
        # the rows' weight that partial_fit's batches are weighed against
        if rules.require_real("_seen_weight", model._seen_weight) < 0:
            raise ValueError("_seen_weight must be non-negative.")
    running = getattr(model, "_running_stats", None)
    if running is None:
        return
    if not isinstance(running, Stats):
        raise ValueError("_running_stats must be Stats or None.")
    if running.scatter_kind != scatter_kind or running.shift.shape != (
        n_components,
        n_features,
    ):
        raise ValueError(
            f"_running_stats ({running.scatter_kind!r}, shift "
            f"{running.shift.shape}) do not fit a {model.covariance_type!r} "
            f"mixture of {n_components} components and {n_features} features."
        )


def _check_positive_definite(
    family: Any, covariances: np.ndarray, n_components: int, n_features: int
) -> None:
    matrices = family.full_covariances(
        covariances.astype(np.float64), n_components, n_features
    )
    scale = np.abs(matrices).max(axis=(1, 2), keepdims=True)
    asymmetric = np.abs(matrices - np.swapaxes(matrices, 1, 2)) > 1e-6 * scale
    positive = rules.factorises(matrices)
    for k in range(n_components):
        if asymmetric[k].any() or not positive[k]:
            raise ValueError(
                f"the covariance of component {k} is not symmetric positive definite."
            )


def _check_factors(family: Any, factors: np.ndarray) -> None:
    if family.matrix_layout:
        diagonal = np.diagonal(factors, axis1=-2, axis2=-1)
        triangular = np.all(np.tril(factors, -1) == 0)
    else:
        diagonal, triangular = factors, True
    if not (triangular and np.all(diagonal > 0)):
        raise ValueError(
            "precisions_cholesky_ must be upper triangular with a positive diagonal."
        )
