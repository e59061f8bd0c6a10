"""Scrucca's dimension reduction of a fitted mixture, on iris."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

import gaussmix
from gaussmix import GaussianMixture


@pytest.fixture(scope="module")
def iris_fit():
    X = load_iris().data
    model = GaussianMixture(
        3, covariance_type="VVV", tol=1e-10, max_iter=2000, random_state=0
    ).fit(X)
    return X, model


def dense_eigenvalues(model):
    """Eigenvalues of Sigma^-1 M, with M and Sigma written out term by term."""
    pi, mu_k, cov_k = model.weights_, model.means_, model.covariances_
    mu = pi @ mu_k
    between = sum(p * np.outer(m - mu, m - mu) for p, m in zip(pi, mu_k, strict=True))
    within = sum(p * c for p, c in zip(pi, cov_k, strict=True))
    inverse = np.linalg.inv(between + within)
    kernel = between @ inverse @ between + sum(
        p * (c - within) @ inverse @ (c - within)
        for p, c in zip(pi, cov_k, strict=True)
    )
    return np.sort(np.linalg.eigvals(inverse @ kernel).real)[::-1]


def test_eigenvalues_equal_a_dense_computation(iris_fit):
    _, model = iris_fit
    dr = gaussmix.dimension_reduction(model)
    np.testing.assert_allclose(dr.eigenvalues, dense_eigenvalues(model), rtol=1e-8)


def test_directions_are_invariant_to_an_affine_map_of_the_data(iris_fit):
    X, model = iris_fit
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4)) + 4 * np.eye(4)
    b = rng.normal(size=4) * 10
    Y = X @ A + b
    # EM with unconstrained covariances is affine-equivariant: started from
    # the mapped solution, the refit is the mapped mixture
    mapped = GaussianMixture(
        3,
        covariance_type="VVV",
        weights_init=model.weights_,
        means_init=model.means_ @ A + b,
        precisions_init=np.linalg.inv(A.T @ model.covariances_ @ A),
        reg_covar=0.0,
        tol=1e-10,
        max_iter=2000,
    ).fit(Y)
    dr, dr_mapped = (gaussmix.dimension_reduction(m) for m in (model, mapped))
    np.testing.assert_allclose(dr_mapped.eigenvalues, dr.eigenvalues, rtol=1e-4)
    # the same projections up to sign, scale and shift: correlation +-1
    for j in range(dr.n_directions):
        r = np.corrcoef(dr.transform(X)[:, j], dr_mapped.transform(Y)[:, j])[0, 1]
        assert abs(r) == pytest.approx(1.0, abs=1e-6)


def test_the_leading_directions_separate_the_species(iris_fit):
    X, model = iris_fit
    dr = gaussmix.dimension_reduction(model)
    Z = dr.transform(X, n_directions=2)
    assert Z.shape == (150, 2)
    np.testing.assert_allclose(np.linalg.norm(dr.basis, axis=0), 1.0)
    np.testing.assert_allclose(
        dr.directions.T @ dr.marginal_covariance @ dr.directions,
        np.eye(dr.n_directions),
        atol=1e-8,
    )
    labels = model.predict(X)
    # the first direction carries the largest between/within ratio of labels
    ratios = []
    for column in dr.transform(X).T:
        means = np.array([column[labels == k].mean() for k in range(3)])
        within = sum(column[labels == k].var() for k in range(3))
        ratios.append(means.var() / within)
    assert np.argmax(ratios) == 0
    with pytest.raises(ValueError, match="features"):
        dr.transform(X[:, :3])


def test_two_spherical_components_have_one_direction():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (100, 3)), rng.normal(0, 1, (100, 3)) + 5])
    model = GaussianMixture(2, covariance_type="EII", random_state=0).fit(X)
    dr = gaussmix.dimension_reduction(model)
    # equal spherical covariances: only the means differ, along one line
    assert dr.n_directions == 1
    direction = dr.basis[:, 0]
    line = np.diff(model.means_, axis=0)[0]
    assert abs(direction @ line) / np.linalg.norm(line) == pytest.approx(1.0, abs=1e-8)
