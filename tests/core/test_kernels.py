"""The fused numpy kernels against a direct evaluation with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gaussmix import GaussianMixture
from gaussmix.core.covariance import get_family
from gaussmix.core.kernels import PartialStats, fused_kernel, normalize_components
from gaussmix.core.kernels._common import grouping_pays
from gaussmix.core.kernels.grams import weighted_gram
from gaussmix.core.params import MixtureParams
from gaussmix.core.stats import Stats

FAMILIES = ["full", "tied", "diag", "spherical", "VEV", "EEV", "EVI", "VEI", "EII"]


def _fitted_params(
    covariance_type: str, X: np.ndarray, n_components: int = 3
) -> MixtureParams:
    model = GaussianMixture(
        n_components, covariance_type=covariance_type, tol=1e-2, random_state=0
    ).fit(X)
    return MixtureParams(
        model.weights_,
        model.means_,
        model.covariances_,
        model.precisions_cholesky_,
        covariance_type,
    )


def _partial(kernel, X, w) -> PartialStats:
    """Partial sums of ``X`` as one chunk, through the kernel's contract."""
    return kernel.chunk(kernel.prepare(X), X, w)


def _kernel_stats(kernel, X, w) -> Stats:
    """Stats of ``X`` as one chunk."""
    return kernel.finish(_partial(kernel, X, w))


def _direct_stats(X, w, params):
    """Stats written out from scipy's Gaussian log-densities."""
    family = get_family(params.covariance_type)
    n_components, n_features = params.means.shape
    covariances = family.full_covariances(params.covariances, n_components, n_features)
    log_prob = np.column_stack(
        [
            np.log(params.weights[k])
            + multivariate_normal(params.means[k], covariances[k]).logpdf(X)
            for k in range(n_components)
        ]
    )
    log_norm = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - log_norm[:, None]) * w[:, None]
    shift = params.means
    if family.scatter_kind == "pooled":
        shift = np.broadcast_to(params.means.mean(0), params.means.shape)
    diff = X[None, :, :] - shift[:, None, :]
    centred_sum = np.einsum("nk,kni->ki", resp, diff)
    if family.scatter_kind == "full":
        scatter = np.einsum("nk,kni,knj->kij", resp, diff, diff)
    elif family.scatter_kind == "diag":
        scatter = np.einsum("nk,kni->ki", resp, diff**2)
    else:
        scatter = np.einsum("n,ni,nj->ij", w, diff[0], diff[0])
    return {
        "resp_sum": resp.sum(0),
        "centred_sum": centred_sum,
        "scatter": scatter,
        "log_likelihood": float((w * log_norm).sum()),
    }


CENTRES = np.array(
    [
        [0.0, 0.0, 0.0],
        [1.0, 2.0, -1.0],
        [-2.0, 1.0, 1.0],
        [2.0, -1.0, 0.5],
        [-1.0, -2.0, -1.5],
        [0.5, 1.5, 2.5],
    ]
)


def _data(rng, separation):
    labels = rng.randint(len(CENTRES), size=600)
    X = rng.normal(size=(600, 3)) * [1.0, 0.5, 2.0] + separation * CENTRES[labels]
    return X + 100.0  # far from the origin: centring must be right


@pytest.mark.parametrize("n_components", [3, 6])
@pytest.mark.parametrize("separation", [1.0, 30.0], ids=["overlapping", "separated"])
@pytest.mark.parametrize("covariance_type", FAMILIES)
def test_kernel_stats_equal_direct_evaluation(
    covariance_type, separation, n_components, rng
):
    X = _data(rng, separation)
    params = _fitted_params(covariance_type, X, n_components)
    w = rng.uniform(0.0, 2.0, size=len(X))
    w[:20] = 0.0
    kernel = fused_kernel(params, params.means, np.dtype(np.float64))
    ours = _kernel_stats(kernel, X, w)
    expected = _direct_stats(X, w, params)
    scale = np.abs(expected["scatter"]).max()
    np.testing.assert_allclose(ours.resp_sum, expected["resp_sum"], rtol=1e-10)
    np.testing.assert_allclose(
        ours.centred_sum, expected["centred_sum"], rtol=1e-9, atol=1e-9 * scale
    )
    np.testing.assert_allclose(
        ours.scatter, expected["scatter"], rtol=1e-9, atol=1e-9 * scale
    )
    assert ours.log_likelihood == pytest.approx(expected["log_likelihood"], rel=1e-11)
    assert ours.total_weight == pytest.approx(w.sum())
    # the worst row is the least likely among rows of positive weight
    log_density = ours.worst_log_density
    assert np.isfinite(log_density)
    assert any(np.array_equal(ours.worst_point, row) for row in X[20:])


@pytest.mark.parametrize("separation", [1.0, 30.0], ids=["overlapping", "separated"])
@pytest.mark.parametrize("covariance_type", FAMILIES)
def test_float32_kernel_is_within_float32_resolution(covariance_type, separation, rng):
    X = _data(rng, separation)
    params = _fitted_params(covariance_type, X, 6)
    exact = _kernel_stats(fused_kernel(params, params.means, np.float64), X, None)
    single = _kernel_stats(
        fused_kernel(params, params.means, np.float32), X.astype(np.float32), None
    )
    assert single.scatter.dtype == np.float64
    np.testing.assert_allclose(single.resp_sum, exact.resp_sum, rtol=1e-4)
    # entries near zero are judged against the matrix's scale
    scale = np.abs(exact.scatter).max()
    np.testing.assert_allclose(
        single.scatter, exact.scatter, rtol=1e-4, atol=1e-6 * scale
    )
    # the diagonal and tied quadratic forms are expanded about one centre:
    # float32 rounding grows with the clusters' separation in their own units
    assert single.log_likelihood == pytest.approx(exact.log_likelihood, rel=1e-4)


def test_kernel_of_no_rows_adds_nothing(rng):
    X = _data(rng, 5.0)
    params = _fitted_params("full", X)
    kernel = fused_kernel(params, params.means, np.dtype(np.float64))
    whole = _kernel_stats(kernel, X, None)
    with_empty = kernel.finish(
        _partial(kernel, X, None) + _partial(kernel, X[:0], None)
    )
    np.testing.assert_allclose(with_empty.scatter, whole.scatter, rtol=1e-14)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_partial_sums_do_not_add_to_stats(covariance_type, rng):
    X = _data(rng, 5.0)
    params = _fitted_params(covariance_type, X)
    kernel = fused_kernel(params, params.means, np.dtype(np.float64))
    partial = _partial(kernel, X, None)
    stats = kernel.finish(partial)
    with pytest.raises(TypeError):
        partial + stats
    with pytest.raises(TypeError):
        stats + partial
    assert kernel.finish(partial + partial).total_weight == 2 * len(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalized_columns_are_responsibilities(dtype, rng):
    log_prob = rng.normal(scale=50.0, size=(4, 30)).astype(dtype)
    log_prob[:, 0] = -np.inf  # a row no component can explain
    expected_norm = logsumexp(log_prob[:, 1:].astype(np.float64), axis=0)
    expected_resp = np.exp(log_prob[:, 1:] - expected_norm)
    log_norm = normalize_components(log_prob)
    assert log_norm[0] == -np.inf
    np.testing.assert_allclose(log_norm[1:], expected_norm, rtol=1e-6)
    np.testing.assert_allclose(log_prob[:, 1:], expected_resp, rtol=1e-5, atol=1e-20)


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("active_share", [0.02, 0.9], ids=["sparse", "dense"])
def test_weighted_gram_equals_dense_sum(dtype, active_share, grouped, rng):
    n_components, n_features, n_samples = 4, 3, 500
    whitened = rng.normal(size=(n_components, n_features, n_samples)).astype(dtype)
    resp = rng.uniform(0.1, 1.0, size=(n_components, n_samples))
    resp[rng.uniform(size=resp.shape) > active_share] = 0.0
    resp[3] = 0.0  # a component that matters to no row
    expected = np.einsum("kn,kin,kjn->kij", resp, whitened, whitened)
    gram = weighted_gram(whitened.copy(), np.sqrt(resp).astype(dtype), grouped)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gram, expected, rtol=rtol, atol=rtol)


def test_families_without_a_kernel_get_none(rng):
    X = _data(rng, 5.0)
    params = _fitted_params("full", X)
    assert fused_kernel(params, params.means, np.dtype(np.float16)) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_diagonal_kernel_takes_a_reference_centre_only_when_harmless(
    covariance_type, dtype, rng
):
    X = _data(rng, 5.0)
    params = _fitted_params(covariance_type, X)
    average = params.means.mean(0)
    near = average + 0.3
    kernel = fused_kernel(params, params.means, np.dtype(dtype), reference=near)
    np.testing.assert_array_equal(kernel.plan.reference, near)
    ours = _kernel_stats(kernel, X.astype(dtype), None)
    expected = _direct_stats(X, np.ones(len(X)), params)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(ours.scatter, expected["scatter"], rtol=rtol)
    assert ours.log_likelihood == pytest.approx(expected["log_likelihood"], rel=rtol)
    # moments about a centre a million deviations away would be noise
    far = fused_kernel(params, params.means, np.dtype(dtype), reference=average + 1e6)
    np.testing.assert_allclose(far.plan.reference, average, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_grouped_rows_skip_only_negligible_components(covariance_type, dtype, rng):
    X = _data(rng, 30.0)
    params = _fitted_params(covariance_type, X, 6)
    kernel = fused_kernel(params, params.means, np.dtype(dtype))
    block = kernel.prepare(X.astype(dtype))
    labels = kernel.likeliest_components(block)
    order = np.argsort(labels, kind="stable")
    one_cluster = order[labels[order] == labels[0]]
    w = rng.uniform(0.0, 2.0, size=len(one_cluster))
    rows = X[one_cluster]
    partial = kernel.chunk(
        kernel.prepare(rows.astype(dtype)), rows, w.astype(dtype), grouped=True
    )
    ours = kernel.finish(partial)
    expected = _direct_stats(rows, w, params)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    scale = np.abs(expected["scatter"]).max()
    np.testing.assert_allclose(
        ours.resp_sum, expected["resp_sum"], rtol=rtol, atol=rtol * w.sum()
    )
    np.testing.assert_allclose(
        ours.scatter, expected["scatter"], rtol=rtol, atol=rtol * scale
    )
    assert ours.log_likelihood == pytest.approx(expected["log_likelihood"], rel=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_blocks_kept_from_an_earlier_pass_give_the_direct_stats(
    covariance_type, dtype, rng
):
    X = _data(rng, 1.0)
    params = _fitted_params(covariance_type, X)
    earlier = fused_kernel(params, params.means, np.dtype(dtype))
    chunks = np.array_split(np.arange(len(X)), 4)
    blocks = [earlier.prepare(X[rows].astype(dtype)) for rows in chunks]
    # the next pass: means moved a little, the earlier centre offered
    moved = MixtureParams(
        params.weights,
        params.means + 0.05,
        params.covariances,
        params.precisions_cholesky,
        covariance_type,
    )
    kernel = fused_kernel(
        moved, moved.means, np.dtype(dtype), reference=earlier.plan.reference
    )
    assert kernel.plan.preparation_key == earlier.plan.preparation_key
    w = rng.uniform(0.0, 2.0, size=len(X))
    partials = [
        kernel.chunk(block, X[rows].astype(dtype), w[rows].astype(dtype))
        for block, rows in zip(blocks, chunks, strict=True)
    ]
    ours = kernel.finish(sum(partials[1:], partials[0]))
    expected = _direct_stats(X, w, moved)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    scale = np.abs(expected["scatter"]).max()
    np.testing.assert_allclose(ours.resp_sum, expected["resp_sum"], rtol=rtol)
    np.testing.assert_allclose(
        ours.centred_sum, expected["centred_sum"], rtol=rtol, atol=rtol * scale
    )
    np.testing.assert_allclose(
        ours.scatter, expected["scatter"], rtol=rtol, atol=rtol * scale
    )
    assert ours.log_likelihood == pytest.approx(expected["log_likelihood"], rel=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grouping_pays_only_where_some_component_is_negligible(dtype, rng):
    # log-densities of 3 components for 6 rows; rows 0-2 prefer component 0
    labels = np.array([0, 0, 0, 1, 1, 2])
    overlapping = np.array(
        [
            [-1.0, -1.0, -2.0, -5.0, -4.0, -6.0],
            [-3.0, -2.0, -4.0, -1.0, -2.0, -3.0],
            [-9.0, -8.0, -7.0, -6.0, -5.0, -1.0],
        ],
        dtype=dtype,
    )
    assert not grouping_pays(overlapping, labels)
    # component 2 is negligible (e^-200 behind) for every row preferring 0:
    # a chunk of those rows can leave it out
    separated = overlapping.copy()
    separated[2, :3] = -200.0
    assert grouping_pays(separated, labels)
    # one row preferring 0 that still needs component 2 keeps it
    separated[2, 1] = -8.0
    assert not grouping_pays(separated, labels)
    assert not grouping_pays(overlapping[:, :0], labels[:0])


def test_diagonal_kernel_offers_no_groups_for_overlapping_rows(rng):
    X = _data(rng, 0.2)
    params = _fitted_params("diag", X, 6)
    kernel = fused_kernel(params, params.means, np.dtype(np.float64))
    assert kernel.likeliest_components(kernel.prepare(X)) is None
    separated = _data(rng, 30.0)
    params = _fitted_params("diag", separated, 6)
    kernel = fused_kernel(params, params.means, np.dtype(np.float64))
    labels = kernel.likeliest_components(kernel.prepare(separated))
    assert labels is not None and labels.shape == (len(separated),)


def _with_collapsed_components(rng, covariance_type, n_far):
    """Rows and parameters with ``n_far`` components collapsed onto outlying
    rows: each mean sits on its row, 40 standard deviations out, with
    variance 1e-6, so its spread from the others' average is about 1e9."""
    X = _data(rng, 1.0)
    params = _fitted_params(covariance_type, X)
    outliers = X.mean(0) + 40.0 * X.std(0) * (1.0 + np.arange(n_far))[:, None]
    rows = np.vstack([X, outliers, outliers + 1e-3])
    means = np.vstack([params.means, outliers])
    weights = np.append(params.weights, np.full(n_far, 2.0 / len(rows)))
    if covariance_type == "diag":
        covariances = np.vstack([params.covariances, np.full((n_far, 3), 1e-6)])
    elif covariance_type == "full":
        collapsed = np.broadcast_to(1e-6 * np.eye(3), (n_far, 3, 3))
        covariances = np.concatenate([params.covariances, collapsed])
    else:
        covariances = np.append(params.covariances, np.full(n_far, 1e-6))
    model = GaussianMixture.from_params(
        weights / weights.sum(), means, covariances, covariance_type=covariance_type
    )
    collapsed = MixtureParams(
        model.weights_,
        model.means_,
        model.covariances_,
        model.precisions_cholesky_,
        covariance_type,
    )
    return rows, collapsed


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_diagonal_kernel_takes_a_collapsed_far_component_on_its_own(
    covariance_type, dtype, grouped, rng
):
    rows, params = _with_collapsed_components(rng, covariance_type, 1)
    w = rng.uniform(0.5, 2.0, size=len(rows))
    kernel = fused_kernel(params, params.means, np.dtype(dtype))
    assert kernel is not None
    # regrouping by likeliest component is declined while a component is far
    assert kernel.likeliest_components(kernel.prepare(rows.astype(dtype))) is None
    partial = kernel.chunk(
        kernel.prepare(rows.astype(dtype)),
        rows.astype(dtype),
        w.astype(dtype),
        grouped=grouped,
    )
    ours = kernel.finish(partial)
    # the rows as the kernel saw them: float32 rounds the collapsed rows'
    # 1e-3 apart by about 1e-5
    seen = rows.astype(dtype).astype(np.float64)
    expected = _direct_stats(seen, w.astype(dtype).astype(np.float64), params)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    scale = np.abs(expected["scatter"]).max()
    np.testing.assert_allclose(ours.resp_sum, expected["resp_sum"], rtol=rtol)
    np.testing.assert_allclose(
        ours.centred_sum, expected["centred_sum"], rtol=rtol, atol=rtol * scale
    )
    # the collapsed components' own scatter (about 1e-6) is exact, not lost
    # to moments moved over their distance from the others
    np.testing.assert_allclose(ours.scatter[-1], expected["scatter"][-1], rtol=rtol)
    np.testing.assert_allclose(
        ours.scatter, expected["scatter"], rtol=rtol, atol=rtol * scale
    )
    assert ours.log_likelihood == pytest.approx(expected["log_likelihood"], rel=rtol)


@pytest.mark.parametrize("grouped", [False, True])
def test_full_kernel_keeps_a_collapsed_far_component_in_float64(grouped, rng):
    # its rows are whitened about each mean, so float64 keeps them exact;
    # float32 would round the folded centring visibly and goes generic
    rows, params = _with_collapsed_components(rng, "full", 1)
    assert fused_kernel(params, params.means, np.dtype(np.float32)) is None
    kernel = fused_kernel(params, params.means, np.dtype(np.float64))
    w = rng.uniform(0.5, 2.0, size=len(rows))
    ours = kernel.finish(kernel.chunk(kernel.prepare(rows), rows, w, grouped=grouped))
    expected = _direct_stats(rows, w, params)
    scale = np.abs(expected["scatter"]).max()
    np.testing.assert_allclose(ours.resp_sum, expected["resp_sum"], rtol=1e-9)
    np.testing.assert_allclose(
        ours.centred_sum, expected["centred_sum"], rtol=1e-9, atol=1e-9 * scale
    )
    np.testing.assert_allclose(ours.scatter[-1], expected["scatter"][-1], rtol=1e-7)
    np.testing.assert_allclose(
        ours.scatter, expected["scatter"], rtol=1e-9, atol=1e-9 * scale
    )
    assert ours.log_likelihood == pytest.approx(expected["log_likelihood"], rel=1e-11)


def test_diagonal_kernel_leaves_many_far_components_to_the_generic_path(rng):
    # four components: at most one is taken on its own
    _, one = _with_collapsed_components(rng, "diag", 1)
    assert fused_kernel(one, one.means, np.dtype(np.float64)) is not None
    _, two = _with_collapsed_components(rng, "diag", 2)
    assert fused_kernel(two, two.means, np.dtype(np.float64)) is None
