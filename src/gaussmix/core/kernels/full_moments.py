"""Dense full-covariance E-step as two GEMMs over quadratic features.

When no (component, row) pair can be skipped, whitening every row by every
component writes a (K, D, n) block whose inner products are only D + 1 long:
the GEMM is bound by memory, and the block is read three more times (its
squares, its weighting, its Gram matrices). Instead, each row is expanded
once into its quadratic features ``z = [x - c; 1; |x - c|^2; (x_d - c_d)
(x_e - c_e) for d <= e]`` (P = D(D+1)/2 + D + 2 numbers, whatever K is):

- every log-density is linear in ``z``: one (K, P) @ (P, n) GEMM;
- every responsibility-weighted moment (the sums, first moments and second
  moments about ``c``) is linear in ``z`` too: one (P, n) @ (n, K) GEMM.

Both products have long inner dimensions (P or the chunk's rows), so they
run near the machine's GEMM rate, and together they cost ``4 n K P`` flops,
about half of whitening and a Gram matrix per pair (``4 n K D^2``).

The expansion about ``c`` rounds like the moments of the diagonal kernel:
a log-density is a sum of terms whose absolute values add up to more than
the result where they cancel, and moving second moments from ``c`` to a
mean amplifies their rounding by the mean's squared distance from ``c``.
:meth:`QuadraticForms.means_accurate` bounds the second for the parameters,
:meth:`QuadraticForms.accurate` the first for the rows of a chunk, against
the size of each row's own log-density (which bounds the rounding of any
way of computing it), and the caller whitens instead where either would be
visible at the dtype's resolution.
"""

from __future__ import annotations

import numba
import numpy as np

from gaussmix.core.kernels.few_components import weighted_sums
from gaussmix.core.kernels.row_pass import within_bound

#: Largest amplification of the dtype's rounding for which the quadratic
#: features are used: the sum of the absolute values of a row's terms over
#: ``D + |log p(x)|``, and a mean's squared distance from the centre, in its
#: component's largest precision, over ``D``. float32 at 64: log-densities
#: within about 1e-4 of float64's in the worst row, a few 1e-6 on average,
#: as whitening gives within a factor of about three.
AMPLIFICATION_LIMIT = {np.dtype(np.float32): 64.0, np.dtype(np.float64): 1e6}


#: Below this many components, float64 moments are formed as (K, P): BLAS
#: then blocks the products along P instead of along a short K.
SMALL_K = 16


class QuadraticForms:
    """Log-densities and moments of full-covariance components from ``z``.

    Parameters
    ----------
    precisions : ndarray of shape (n_components, n_features, n_features)
        float64 precision matrices.
    centred_means : ndarray of shape (n_components, n_features)
        The means minus the centre ``c`` the rows are taken about.
    constant : ndarray of shape (n_components,)
        ``log w_k + log det U_k - D/2 log(2 pi)``.
    dtype : numpy dtype
        The dtype of the rows.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.core.kernels.full_moments import QuadraticForms
    >>> forms = QuadraticForms(np.eye(2)[None], np.zeros((1, 2)), np.zeros(1),
    ...                        np.dtype(np.float64))
    >>> rows = np.array([[1.0, 0.0, 1.0, 1.0], [2.0, 1.0, 1.0, 5.0]])
    >>> forms.log_densities(forms.features(rows))
    array([[-0.5, -2.5]])
    """

    def __init__(
        self,
        precisions: np.ndarray,
        centred_means: np.ndarray,
        constant: np.ndarray,
        dtype: np.dtype,
    ):
        n_components, n_features = centred_means.shape
        self.dtype = np.dtype(dtype)
        first, second = np.triu_indices(n_features)
        self.pairs = (first, second)
        n_pairs = first.size
        self.n_features = n_features
        linear = np.einsum("kde,ke->kd", precisions, centred_means)
        coefficients = np.zeros((n_components, n_features + 2 + n_pairs))
        coefficients[:, :n_features] = linear
        coefficients[:, n_features] = constant - 0.5 * np.einsum(
            "kd,kd->k", linear, centred_means
        )
        # off-diagonal pairs appear once in z but twice in the quadratic form
        weights = np.where(first == second, -0.5, -1.0)
        coefficients[:, n_features + 2 :] = weights * precisions[:, first, second]
        self.coefficients = coefficients.astype(dtype)
        # rounding grows with the absolute values of the terms it adds: for a
        # row at y = x - c at most |b_k| + |l_k| |y| + |y|^T |P_k| |y| / 2
        # (b_k the constant, l_k the linear coefficients), and
        # |y|^T |P| |y| <= rho(|P|) |y|^2 with rho the Perron root of the
        # elementwise absolute value
        absolute = np.abs(precisions)
        with np.errstate(over="ignore", invalid="ignore"):
            # means beyond the square root of float64's range overflow to
            # inf here, which rightly sends every chunk to whitening
            largest = np.linalg.eigvalsh(precisions)[:, -1]
            perron = np.linalg.eigvalsh(absolute)[:, -1]
            mean_norms = (centred_means * centred_means).sum(1)
            self._constant_size = float(
                np.abs(coefficients[:, n_features]).max(initial=0.0)
            )
            self._linear_size = float(np.linalg.norm(linear, axis=1).max(initial=0.0))
            self._quadratic_size = 0.5 * float(perron.max(initial=0.0))
            self._largest = float(largest.max(initial=0.0))
            self._mean_spread = float((largest * mean_norms).max(initial=0.0))
        self._log_components = float(np.log(max(n_components, 1)))

    @property
    def n_features_out(self) -> int:
        """P, the length of ``z``."""
        return self.coefficients.shape[1]

    @property
    def means_accurate(self) -> bool:
        """Whether moving moments from the centre to every mean rounds well
        enough: the means' squared distances from ``c``, each in its
        component's largest precision, within the limit times ``D``."""
        limit = AMPLIFICATION_LIMIT[self.dtype] * max(self.n_features, 1)
        return self._mean_spread <= limit

    def accurate(
        self, squared_norms: np.ndarray, log_norm: np.ndarray | None = None
    ) -> bool:
        """Whether rows' log-densities from ``z`` round no worse than whitened.

        Parameters
        ----------
        squared_norms : ndarray of shape (n_samples,)
            ``|x - c|^2`` of each row (``z``'s row after the ones).
        log_norm : ndarray of shape (n_samples,) or None
            Each row's ``log p(x)`` as computed from ``z``; None to judge
            before computing them.

        Returns
        -------
        bool
            With ``log_norm``: True when the means are accurate
            (:attr:`means_accurate`) and, in every row, the bound on the
            absolute values of the terms of every component's log-density
            stays within the limit times ``D + |log w_k N(x | k)|`` for the
            row's likeliest ``k``: the rounding of that log-density's own
            value, which any way of computing it shares. A row that is not
            finite is not accurate. Without: the rows' and the means'
            squared distances from ``c``, in the largest precision, add up
            to at most the limit times ``D``, a stricter test.
        """
        if log_norm is None:
            if squared_norms.size == 0:
                return True
            spread = self._largest * float(squared_norms.max()) + self._mean_spread
            return spread <= AMPLIFICATION_LIMIT[self.dtype] * max(self.n_features, 1)
        if not self.means_accurate:
            return False
        log_norm = np.asarray(log_norm, dtype=np.float64)
        # |log w_k N| of the likeliest component is bounded from below by
        # |log p(x)| - log K (log p(x) is at most log K above it); the same
        # compiled test as the E-step's row pass
        return bool(
            np.isfinite(log_norm).all()
            and within_bound(log_norm, squared_norms, self.row_bound)
        )

    @property
    def row_bound(self) -> np.ndarray:
        """:meth:`accurate`'s per-row test as numbers for a compiled loop:
        the limit, log K, D and the linear, constant and quadratic sizes."""
        return np.array(
            [
                AMPLIFICATION_LIMIT[self.dtype],
                self._log_components,
                float(self.n_features),
                self._linear_size,
                self._constant_size,
                self._quadratic_size,
            ]
        )

    def features(self, block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``z`` (P, n) from the block ``[x - c; 1; |x - c|^2]`` (D + 2, n).

        Written into ``out`` where given (at least (P, n), the first n
        columns used): a buffer the size of a core's cache, filled per chunk,
        is read by the two GEMMs from there, where features kept between
        passes would be read from memory.
        """
        if out is None:
            out = np.empty((self.n_features_out, block.shape[1]), block.dtype)
        else:
            out = out[:, : block.shape[1]]
        _fill_features(block, out)
        return out

    def log_densities(self, features: np.ndarray) -> np.ndarray:
        """(K, n) ``log w_k + log N(x_i | k)``."""
        return self.coefficients @ features

    def moments(
        self, features: np.ndarray, resp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float64 ``sum r``, ``sum r (x - c)`` and ``sum r (x - c)(x - c)^T``.

        Shapes (K,), (K, D) and (K, D, D).
        """
        return self.unpack_moments(self.moment_sums(features, resp))

    def moment_sums(self, features: np.ndarray, resp: np.ndarray) -> np.ndarray:
        """``z @ r^T``, (P, K) in float64: every moment of every component.

        The sums of several chunks add; :meth:`unpack_moments` reads their
        total, so that unpacking costs once per pass, not once per chunk.
        """
        # z's row of ones gives the responsibility sums without another pass.
        # Both orientations keep the long inner dimension contiguous; which
        # BLAS runs faster depends on the dtype and K (OpenBLAS, 1,600 rows,
        # P = 154, per chunk: float64 at K = 10, 0.35 against 0.46 ms as
        # (K, P), at K = 16 3% slower that way in a whole pass; float32 at
        # K = 10, 0.22 against 0.28 ms as (P, K))
        # float32 with few components: a compiled loop (.few_components)
        if features.dtype == np.float64 and resp.shape[0] < SMALL_K:
            return (resp @ features.T).T
        return weighted_sums(features, resp)

    def unpack_moments(
        self, sums: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`moments` from (a total of) :meth:`moment_sums`."""
        n_features = self.n_features
        resp_sum = sums[n_features].copy()
        first = sums[:n_features].T
        second = np.empty((sums.shape[1], n_features, n_features))
        upper = sums[n_features + 2 :].T
        i, j = self.pairs
        second[:, i, j] = upper
        second[:, j, i] = upper
        return resp_sum, np.ascontiguousarray(first), second


@numba.njit(cache=True, nogil=True)
def _fill_features(block: np.ndarray, out: np.ndarray) -> None:
    """``out[: D + 2] = block`` and the products ``y_d y_e`` (d <= e) after."""
    n_features = block.shape[0] - 2
    n_rows = block.shape[1]
    for r in range(n_features + 2):
        for i in range(n_rows):
            out[r, i] = block[r, i]
    row = n_features + 2
    for d in range(n_features):
        first = block[d]
        for e in range(d, n_features):
            second = block[e]
            target = out[row]
            for i in range(n_rows):
                target[i] = first[i] * second[i]
            row += 1
