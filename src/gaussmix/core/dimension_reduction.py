"""Directions that show a Gaussian mixture's clusters (Scrucca, 2010).

Scrucca (2010), "Dimension reduction for model-based clustering",
Statistics and Computing 20(4). With weights ``pi_k``, means ``mu_k`` and
covariances ``Sigma_k``, let ``mu = sum pi_k mu_k``, the between-cluster
covariance ``Sigma_B = sum pi_k (mu_k - mu)(mu_k - mu)^T``, the pooled
within-cluster covariance ``Sigma_bar = sum pi_k Sigma_k`` and the marginal
covariance ``Sigma = Sigma_B + Sigma_bar``. The kernel

    M = Sigma_B Sigma^-1 Sigma_B
        + sum_k pi_k (Sigma_k - Sigma_bar) Sigma^-1 (Sigma_k - Sigma_bar)

holds the differences in means and in covariances between clusters. The
directions solve ``M v = lambda Sigma v`` with ``v^T Sigma v = 1``, ordered
by decreasing ``lambda``: the first shows most of what separates the
clusters relative to the data's spread. Both M and Sigma transform as
``A^T (.) A`` under ``x -> A^T x + b``, so the eigenvalues are invariant and
the projections ``x^T v`` change only by a constant.

Pure functions on arrays; no estimator state.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg


def dr_kernel(
    weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel ``M``, the marginal covariance ``Sigma`` and the mean ``mu``.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
        Summing to one.
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)

    Returns
    -------
    kernel : ndarray of shape (n_features, n_features)
    marginal_covariance : ndarray of shape (n_features, n_features)
    mean : ndarray of shape (n_features,)
    """
    pi = np.asarray(weights, dtype=np.float64)
    pi = pi / pi.sum()
    mu_k = np.asarray(means, dtype=np.float64)
    sigma_k = np.asarray(covariances, dtype=np.float64)
    mu = pi @ mu_k
    centred = mu_k - mu
    between = (centred * pi[:, None]).T @ centred
    within = np.einsum("k,kij->ij", pi, sigma_k)
    marginal = between + within
    factor = linalg.cho_factor(marginal)
    # Sigma^-1 Sigma_B and Sigma^-1 (Sigma_k - Sigma_bar) by Cholesky solves
    kernel = between @ linalg.cho_solve(factor, between)
    for weight, sigma in zip(pi, sigma_k, strict=True):
        spread = sigma - within
        kernel += weight * spread @ linalg.cho_solve(factor, spread)
    kernel = 0.5 * (kernel + kernel.T)
    return kernel, 0.5 * (marginal + marginal.T), mu


def dr_directions(
    kernel: np.ndarray, marginal_covariance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues, decreasing, and directions of ``M v = l Sigma v``.

    Parameters
    ----------
    kernel : ndarray of shape (n_features, n_features)
    marginal_covariance : ndarray of shape (n_features, n_features)

    Returns
    -------
    eigenvalues : ndarray of shape (n_features,)
        Non-negative, decreasing (round-off below zero is set to zero).
    directions : ndarray of shape (n_features, n_features)
        Column ``j`` is the direction of ``eigenvalues[j]``, scaled so that
        ``v^T Sigma v = 1`` and with its largest-magnitude entry positive.
    """
    values, vectors = linalg.eigh(kernel, marginal_covariance)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    vectors = vectors[:, order]
    # a sign convention, so that the same mixture gives the same picture
    signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(len(values))])
    signs[signs == 0] = 1.0
    return values, vectors * signs
