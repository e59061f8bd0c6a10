"""High-dimensional discriminant models (HDDC, HDDA): M-step and dimensions.

Bouveyron, Girard & Schmid (2007) give component ``k`` the covariance

    Sigma_k = Q_k diag(a_k1 ... a_kd_k) Q_k^T + b_k (I - Q_k Q_k^T),

with ``Q_k`` the ``d_k`` leading eigenvectors of the component's covariance:
a signal subspace of intrinsic dimension ``d_k`` and isotropic noise
outside it. In the low-rank representation, ``U_k = Q_k``,
``c_kj = a_kj - b_k`` and ``psi_k = b_k``.

A model's name lists what varies: ``Akj`` (a per component and direction),
``Aj`` (per direction, common to the components), ``Ak`` (per component),
``A`` (common); ``Bk`` or ``B``; ``Qk`` (per component) or ``Q`` (common);
``Dk`` (dimensions per component) or ``D`` (common). With the dimensions
given, the M-step below is the maximum-likelihood one of the paper for the
models with ``Qk``, and for ``AjBQD`` and ``ABQD``, whose covariances are
all equal (the pooled covariance's model).

A common orientation with variances that differ between components has no
closed-form maximiser (it is Flury's common principal components problem).
As HDclassif does, ``Q`` is taken from the eigenvectors of the pooled
within-component covariance and the variances along it and off it are
then the maximisers given ``Q``: ``a_kj = q_j^T S_k q_j`` and
``b_k = (tr S_k - sum_j a_kj) / (D - d)``, constrained as the model says.
To keep EM monotone (a generalised EM step), the previous ``Q`` with its
updated variances is kept instead when it scores higher.

``reg_covar`` is added to every covariance before its eigen-decomposition,
as :class:`~gaussmix.GaussianMixture` adds it: the eigenvectors stay, every
eigenvalue grows by it, and so do ``a_kj`` and ``b_k``. A floor on ``b_k``
alone would leave the noise of data with many constant features (images'
blank borders) at the floor, and new rows' small deviations there would
cost far more than their spread in the training rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gaussmix.core.factor_mstep import check_finite_covariances
from gaussmix.core.lowrank import LowRankCovariances


@dataclass(frozen=True)
class HDDCModel:
    """What a model shares: ``a`` ('kj', 'k', 'j', ''), ``b`` ('k', ''), Q, d.

    ``a='j'`` (one variance per direction, common to the components) exists
    only with a common orientation.
    """

    a: str
    b: str
    common_q: bool
    common_d: bool

    @property
    def one_covariance(self) -> bool:
        """Every component has the same covariance (the pooled one's model)."""
        return self.common_q and self.a in ("j", "") and self.b == ""


def _model_table() -> dict[str, HDDCModel]:
    table = {}
    for a_name, a in (("Akj", "kj"), ("Ak", "k"), ("A", "")):
        for b_name, b in (("Bk", "k"), ("B", "")):
            for d_name in ("Dk", "D"):
                table[f"{a_name}{b_name}Qk{d_name}"] = HDDCModel(
                    a, b, False, d_name == "D"
                )
    # common orientation (and so dimension): the variances along it and
    # the noise may still differ between components
    for a_name, a in (("Akj", "kj"), ("Aj", "j"), ("Ak", "k"), ("A", "")):
        for b_name, b in (("Bk", "k"), ("B", "")):
            table[f"{a_name}{b_name}QD"] = HDDCModel(a, b, True, True)
    return table


#: The models of HDclassif's ``hddc`` implemented here, by name.
HDDC_MODELS: dict[str, HDDCModel] = _model_table()
DIM_SELECTIONS = ("cattell", "bic")


@dataclass(frozen=True)
class HDDCParams:
    """A fitted HDDC mixture.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    components : ndarray of shape (n_components, n_features, max_dim)
        ``Q_k``, zero columns beyond ``d_k``.
    signal : ndarray of shape (n_components, max_dim)
        ``a_kj``, zero beyond ``d_k``.
    noise : ndarray of shape (n_components,)
        ``b_k``.
    dims : ndarray of int of shape (n_components,)
        ``d_k``.
    """

    weights: np.ndarray
    means: np.ndarray
    components: np.ndarray
    signal: np.ndarray
    noise: np.ndarray
    dims: np.ndarray

    def covariances(self) -> LowRankCovariances:
        used = np.arange(self.signal.shape[1]) < self.dims[:, None]
        coefficients = np.where(used, self.signal - self.noise[:, None], 0.0)
        noise = np.broadcast_to(
            self.noise[:, None], (len(self.noise), self.means.shape[1])
        )
        return LowRankCovariances(self.components, coefficients, noise.copy())


def cattell_dimension(eigenvalues: np.ndarray, threshold: float) -> int:
    """Cattell's scree test: the last gap of at least ``threshold`` times the largest.

    ``eigenvalues`` in decreasing order; the result is in ``[1, D - 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.hddc import cattell_dimension
    >>> cattell_dimension(np.array([10.0, 6.0, 1.0, 0.9, 0.8]), 0.2)
    2
    """
    gaps = -np.diff(np.asarray(eigenvalues, np.float64))
    if len(gaps) == 0 or gaps.max() <= 0:
        return 1
    return int(np.flatnonzero(gaps >= threshold * gaps.max())[-1]) + 1


def bic_dimension(eigenvalues: np.ndarray, count: float, n_total: float) -> int:
    """The ``d`` of least BIC for one component of ``count`` rows (AkjBk model)."""
    values = np.maximum(np.asarray(eigenvalues, np.float64), 1e-300)
    n_features = len(values)
    best, best_bic = 1, np.inf
    for d in range(1, n_features):
        b = max(values[d:].mean(), 1e-300)
        log_lik = (
            -0.5 * count * (np.log(values[:d]).sum() + (n_features - d) * np.log(b))
        )
        n_params = d + 1 + d * n_features - d * (d + 1) // 2
        criterion = -2 * log_lik + n_params * np.log(max(n_total, 2.0))
        if criterion < best_bic:
            best, best_bic = d, criterion
    return best


def _dimensions(values, counts, model, threshold, dim_select, n_dims, pooled_values):
    n_components, n_features = values.shape
    if n_dims is not None:
        return np.full(n_components, min(n_dims, n_features - 1))
    if model.common_d:
        if dim_select == "bic":
            d = bic_dimension(pooled_values, counts.sum(), counts.sum())
        else:
            d = cattell_dimension(pooled_values, threshold)
        return np.full(n_components, d)
    if dim_select == "bic":
        return np.array(
            [
                bic_dimension(v, n, counts.sum())
                for v, n in zip(values, counts, strict=True)
            ]
        )
    return np.array([cattell_dimension(v, threshold) for v in values])


def hddc_m_step(
    counts: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    model: HDDCModel,
    *,
    threshold: float = 0.2,
    dim_select: str = "cattell",
    n_dims: int | None = None,
    floor: float = 1e-300,
    reg_covar: float = 0.0,
    previous: HDDCParams | None = None,
) -> HDDCParams:
    """The HDDC M-step from each component's covariance about its new mean.

    Parameters
    ----------
    counts : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Scatters divided by the counts.
    model : HDDCModel
    threshold : float
        Cattell's scree-test threshold.
    dim_select : {'cattell', 'bic'}
    n_dims : int or None
        Every ``d_k`` fixed at this (then the step maximises the likelihood).
    floor : float
        Least variance ``a_kj`` and ``b_k``: a guard that keeps them positive.
    reg_covar : float
        Added to the diagonal of every covariance first.
    previous : HDDCParams or None
        The parameters entering the step; a common orientation with varying
        variances keeps the previous one when it scores higher.

    Returns
    -------
    HDDCParams
    """
    n_components, n_features = means.shape
    share = counts / counts.sum()
    pooled = np.einsum("k,kde->de", share, covariances)
    pooled_values, pooled_vectors = _decreasing_eigh(pooled)
    pooled_values = pooled_values + reg_covar
    if not model.common_q:
        pairs = [_decreasing_eigh(c) for c in covariances]
        values = np.array([p[0] for p in pairs]) + reg_covar
        vectors = np.array([p[1] for p in pairs])
        dims = _dimensions(
            values, counts, model, threshold, dim_select, n_dims, pooled_values
        )
        max_dim = int(dims.max())
        used = np.arange(max_dim) < dims[:, None]
        components = np.where(used[:, None, :], vectors[:, :, :max_dim], 0.0)
        along = np.where(used, values[:, :max_dim], 0.0)
        # the variance off each subspace is the sum of the trailing eigenvalues
        rest = _residual_variances(
            covariances,
            values.sum(1),
            along.sum(1),
            dims,
            reg_covar,
            lambda k: vectors[k][:, dims[k] :],
        )
        return _constrained(counts, means, components, along, rest, dims, model, floor)
    dims = _dimensions(
        pooled_values[None], counts, model, threshold, dim_select, n_dims, pooled_values
    )
    dims = np.full(n_components, dims[0])
    traces = np.trace(covariances, axis1=1, axis2=2) + n_features * reg_covar
    candidates = [pooled_vectors[:, : dims[0]]]
    if not model.one_covariance and _same_dimension(previous, dims[0]):
        candidates.append(previous.components[0][:, : dims[0]])
    fits = []
    for basis in candidates:
        along = np.einsum("dj,kde,ej->kj", basis, covariances, basis) + reg_covar
        components = np.broadcast_to(basis, (n_components, *basis.shape)).copy()
        rest = _residual_variances(
            covariances,
            traces,
            along.sum(1),
            dims,
            reg_covar,
            _complement_of(basis),
        )
        params = _constrained(
            counts, means, components, along, rest, dims, model, floor
        )
        fits.append((_objective(counts, along, rest, params, n_features), params))
    # ties keep the pooled orientation
    return max(fits, key=lambda fit: fit[0])[1]


#: The variance off a subspace is taken as ``total - along`` unless it is
#: below this fraction of ``total``: the difference then keeps fewer than
#: about nine of float64's digits (the eigenvalues themselves carry errors
#: of about ``eps * total``), and it is measured directly instead.
RESIDUAL_CANCELLATION = 1e-6


def _residual_variances(
    covariances: np.ndarray,
    totals: np.ndarray,
    along: np.ndarray,
    dims: np.ndarray,
    reg_covar: float,
    complement: Callable[[int], np.ndarray],
) -> np.ndarray:
    """Each component's variance off its subspace, ``tr S_k - sum_j a_kj``.

    ``totals`` (K,) are ``tr(S_k + r I)``, ``along`` (K,) the variances in
    the subspaces (``r`` included); ``complement(k)`` gives an orthonormal
    basis (D, D - d_k) of the directions off subspace ``k``. A column whose
    variance is many orders of magnitude above the others' makes ``totals``
    and ``along`` nearly equal, and their difference is rounding: there the
    trace of ``S_k`` seen through the complement is summed instead, which is
    as accurate as that basis.
    """
    rest = totals - along
    with np.errstate(invalid="ignore"):
        imprecise = ~(rest > RESIDUAL_CANCELLATION * totals)
    n_features = covariances.shape[1]
    for k in np.flatnonzero(imprecise):
        basis = complement(int(k))
        direct = float(np.sum((covariances[k] @ basis) * basis))
        rest[k] = max(direct, 0.0) + (n_features - dims[k]) * reg_covar
    return rest


def _complement_of(basis: np.ndarray) -> Callable[[int], np.ndarray]:
    """An orthonormal basis of the directions off ``basis`` (D, d), computed
    once and only when asked for: the same for every component."""
    found: list[np.ndarray] = []

    def complement(_: int) -> np.ndarray:
        if not found:
            full = np.linalg.qr(basis, mode="complete")[0]
            found.append(full[:, basis.shape[1] :])
        return found[0]

    return complement


def _same_dimension(previous: HDDCParams | None, dim: int) -> bool:
    return previous is not None and bool(np.all(previous.dims == dim))


def _constrained(counts, means, components, along, rest, dims, model, floor):
    """Variances given the orientations, as the model constrains them.

    ``along`` (K, max_dim) are the variances ``q_kj^T S_k q_kj`` (zero beyond
    ``d_k``), ``rest`` (K,) the variance left outside each subspace
    (``tr S_k - sum_j q_kj^T S_k q_kj``): each constrained value is the
    maximiser of the likelihood given the orientations.
    """
    n_features = means.shape[1]
    share = counts / counts.sum()
    used = np.arange(along.shape[1]) < dims[:, None]
    signal_sum = along.sum(1)
    if model.a == "kj":
        signal = along
    elif model.a == "j":
        signal = np.broadcast_to(share @ along, along.shape)
    elif model.a == "k":
        signal = np.where(used, (signal_sum / dims)[:, None], 0.0)
    else:
        signal = np.where(used, (share @ signal_sum) / (share @ dims), 0.0)
    if model.b == "k":
        noise = rest / (n_features - dims)
    else:
        noise = np.full(len(counts), (share @ rest) / (n_features - share @ dims))
    noise = np.maximum(noise, floor)
    signal = np.where(used, np.maximum(signal, floor), 0.0)
    return HDDCParams(share, means, components, signal, noise, dims)


def _objective(counts, along, rest, params: HDDCParams, n_features: int) -> float:
    """``sum_k n_k (log w_k - 1/2 [log |Sigma_k| + tr(Sigma_k^-1 S_k)])`` + const.

    In the eigenbasis of ``Sigma_k``: ``sum_j (log a_kj + s_kj / a_kj)`` in
    the subspace and ``(D - d_k) log b_k + rest_k / b_k`` off it, with
    ``s_kj`` the variances of ``S_k`` along ``Q_k`` and ``rest_k`` the
    variance off it (:func:`_residual_variances`).
    """
    used = np.arange(along.shape[1]) < params.dims[:, None]
    signal = np.where(used, params.signal, 1.0)
    inside = np.where(used, np.log(signal) + along / signal, 0.0).sum(1)
    off = (n_features - params.dims) * np.log(params.noise) + rest / params.noise
    with np.errstate(divide="ignore"):
        log_weights = np.where(counts > 0, np.log(params.weights), 0.0)
    return float(counts @ (log_weights - 0.5 * (inside + off)))


def _decreasing_eigh(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # an infinite or NaN covariance (values whose squares overflow) would
    # fail inside LAPACK with no hint of the cause
    check_finite_covariances(matrix)
    values, vectors = np.linalg.eigh(matrix)
    return np.maximum(values[::-1], 0.0), vectors[:, ::-1]


def hddc_n_parameters(model: HDDCModel, dims: np.ndarray, n_features: int) -> int:
    """Free parameters (Bouveyron et al. 2007, table 1), the dimensions included."""
    n_components = len(dims)
    count = n_components * n_features + n_components - 1
    if model.common_q:
        d = int(dims[0])
        orientation = d * n_features - d * (d + 1) // 2
    else:
        orientation = int(sum(d * n_features - d * (d + 1) // 2 for d in dims))
    signal = {
        "kj": int(dims.sum()),
        "j": int(dims[0]),
        "k": n_components,
        "": 1,
    }[model.a]
    noise = n_components if model.b == "k" else 1
    dimensions = 1 if model.common_d else n_components
    return count + orientation + signal + noise + dimensions
