"""The kernel and directions of Scrucca's dimension reduction."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix.core.dimension_reduction import dr_directions, dr_kernel


def random_mixture(seed: int, k: int = 3, d: int = 4):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(0, 3, (k, d))
    factors = rng.normal(size=(k, d, d))
    covariances = factors @ factors.transpose(0, 2, 1) + np.eye(d)
    return weights, means, covariances


def dense_kernel(weights, means, covariances):
    """The kernel written out term by term, with an explicit inverse."""
    mu = sum(w * m for w, m in zip(weights, means, strict=True))
    between = sum(
        w * np.outer(m - mu, m - mu) for w, m in zip(weights, means, strict=True)
    )
    within = sum(w * c for w, c in zip(weights, covariances, strict=True))
    inverse = np.linalg.inv(between + within)
    kernel = between @ inverse @ between
    for w, c in zip(weights, covariances, strict=True):
        kernel = kernel + w * (c - within) @ inverse @ (c - within)
    return kernel, between + within, mu


@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_matches_the_formula_written_out(seed):
    mixture = random_mixture(seed)
    for ours, expected in zip(dr_kernel(*mixture), dense_kernel(*mixture), strict=True):
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-10)


def test_directions_solve_the_generalised_problem():
    kernel, sigma, _ = dr_kernel(*random_mixture(2))
    values, vectors = dr_directions(kernel, sigma)
    np.testing.assert_allclose(kernel @ vectors, sigma @ vectors * values, atol=1e-9)
    np.testing.assert_allclose(vectors.T @ sigma @ vectors, np.eye(4), atol=1e-10)
    assert np.all(np.diff(values) <= 0)
    expected = np.sort(np.linalg.eigvals(np.linalg.solve(sigma, kernel)).real)[::-1]
    np.testing.assert_allclose(values, expected, rtol=1e-8)


def test_eigenvalues_are_invariant_to_an_affine_map():
    weights, means, covariances = random_mixture(3)
    rng = np.random.default_rng(9)
    A = rng.normal(size=(4, 4)) + 3 * np.eye(4)
    # x -> x A + b maps means to m A + b and covariances to A^T C A
    mapped = (weights, means @ A + 1.5, A.T @ covariances @ A)
    values, vectors = dr_directions(*dr_kernel(weights, means, covariances)[:2])
    mapped_values, mapped_vectors = dr_directions(*dr_kernel(*mapped)[:2])
    np.testing.assert_allclose(mapped_values, values, rtol=1e-8)
    # the directions map back by A^-1, up to sign
    back = np.linalg.solve(A, vectors)
    np.testing.assert_allclose(np.abs(mapped_vectors), np.abs(back), atol=1e-7)


def test_one_component_has_no_direction_of_difference():
    weights, means, covariances = random_mixture(4, k=1)
    values, _ = dr_directions(*dr_kernel(weights, means, covariances)[:2])
    np.testing.assert_allclose(values, 0.0, atol=1e-12)
