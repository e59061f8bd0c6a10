"""Fused kernel for one full covariance matrix per component."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from gaussmix.backend import NUMPY_BACKEND
from gaussmix.core.covariance.base import (
    EXPANSION_ROUNDING_LIMIT,
    LOG_2PI,
    mean_spread,
)
from gaussmix.core.covariance.full import FullRepresentation
from gaussmix.core.kernels._common import (
    KernelBase,
    assemble,
    centred_rows,
    in_all_components,
    likeliest,
    weighted_responsibilities,
)
from gaussmix.core.kernels._contract import (
    BlockPlan,
    FirstChunk,
    KernelRequest,
    PartialStats,
)
from gaussmix.core.kernels._registry import register_kernel
from gaussmix.core.kernels.full_bounds import DensityBounds, log_density_bounds
from gaussmix.core.kernels.full_moments import QuadraticForms
from gaussmix.core.kernels.grams import component_runs, segment_grams, weighted_gram
from gaussmix.core.stats import Stats

#: Kept pairs per row (PRUNED_PAIRS / K as a share of all pairs) up to which
#: the pruned path is taken. Measured against the dense path of quadratic
#: features (100,000 x 16, K = 16, blobs drawn closer and closer): the
#: pruned path, with its bounds, gathers and per-component products, only
#: matches the dense one's two GEMMs at about one kept pair per row (6% at
#: K = 16: 0.178 against 0.189 s per iteration) and costs five times more at
#: three per row (19%: 0.40 against 0.083 s).
PRUNED_PAIRS = 1.5

#: Largest share of components that matter to some row of a chunk whose
#: rows are grouped by likeliest component, for which those components
#: alone are whitened densely.
GROUPED_SHARE = 0.5

#: After a pass that found pruning would not pay, whether it pays is measured
#: again every this many passes (each measurement costs bounds on a chunk).
REPROBE_PASSES = 8

#: Numbers in a dense chunk's quadratic features and log-densities: about
#: 2 MB in float64, the size of a core's own cache.
DENSE_ELEMENTS = 1 << 18

#: A centre offered by an earlier pass is taken when no mean lies further
#: from it, in its own deviations, than this (squared) or twice as far as
#: from the means' average: whitening with the centring folded in loses
#: about that distance times the dtype's resolution.
REFERENCE_SPREAD = 100.0


@dataclass(frozen=True)
class KeptPairs:
    """The (component, row) pairs a pruned chunk whitened, in component runs.

    ``flat`` indexes the (K, n) block flattened; ``segments`` gives each
    component's run of columns in the whitened pairs.
    """

    flat: np.ndarray
    segments: list[tuple[int, slice]]


class FullKernel(KernelBase):
    """E-step and Stats for per-component precision factors ``U_k``.

    Rows are whitened by every component, ``a_ik = U_k^T (x_i - mu_k)``,
    with the centring folded into the product through a row of ones. The
    same whitened rows give the scatter: with ``T_k = sum_i r_ik a_ik a_ik^T``
    the scatter about ``mu_k`` is ``U_k^-T T_k U_k^-1``, applied once to the
    sum over all chunks (:meth:`finish`). Working in whitened coordinates
    keeps float32 accurate (``T_k`` is close to the identity).

    Clustered data leave most rows with a negligible responsibility under
    most components. Before whitening, a cheap lower bound on every
    Mahalanobis distance (from each precision's eigenvalues, exact along its
    few longest axes; two small GEMMs) is compared with the exact density
    under each row's likeliest component: pairs whose responsibility is
    provably below the dtype's resolution are skipped. When about one pair
    per row is left, only those pairs are whitened, component by component,
    which turns ``K`` whitening products per row into about one. Otherwise
    the chunk is dense: its log-densities and moments come from each row's
    quadratic features in two GEMMs (:mod:`.full_moments`) where that rounds
    no worse, else every pair is whitened in one GEMM.
    """

    def __init__(self, request: KernelRequest):
        params, shift, dtype = request.params, request.shift, request.dtype
        reference = request.reference
        factors = np.asarray(params.precisions_cholesky, dtype=np.float64)
        n_components, n_features = shift.shape
        self.dtype = dtype
        self.shift = shift
        centre = shift.mean(0).astype(dtype).astype(np.float64)
        if reference is not None:
            limit = max(
                2.0 * mean_spread(shift, factors, True, centre), REFERENCE_SPREAD
            )
            if mean_spread(shift, factors, True, reference) <= limit:
                centre = np.asarray(reference, dtype=np.float64)
        self.centre = centre.astype(dtype)
        centred_means = shift - centre
        offsets = np.einsum("kd,kdj->kj", centred_means, factors)
        coefficients = np.empty((n_components * n_features, n_features + 1), dtype)
        coefficients[:, :n_features] = factors.transpose(0, 2, 1).reshape(
            n_components * n_features, n_features
        )
        coefficients[:, n_features] = -offsets.reshape(-1)
        self.coefficients = coefficients
        log_det = np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(1)
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
        constant = log_weights + log_det - 0.5 * n_features * LOG_2PI
        self.constant = constant.astype(dtype)[:, None]
        self.factors = factors
        # U_k^-T, lower triangular: maps whitened scatter back to data units
        self.unwhiten = NUMPY_BACKEND.invert_lower(factors.transpose(0, 2, 1))
        self.quadratic = QuadraticForms(
            factors @ factors.transpose(0, 2, 1), centred_means, constant, dtype
        )
        # what a dense chunk adds to the sums other paths form: nothing; its
        # moments travel raw (never written to: Stats add into new arrays)
        self._no_sums = (
            np.zeros(n_components),
            np.zeros((n_components, n_features)),
            np.zeros((n_components, n_features, n_features)),
        )
        # chunks of a few thousand rows: the pruned path's per-component
        # calls need rows to amortise
        self.plan = BlockPlan.sized(
            row_elements=max(n_components * n_features // 2 + 2 * n_features, 256),
            chunk_elements=self.chunk_elements,
            preparation_key=("full", np.dtype(dtype).str, centre.tobytes()),
            reference=centre,
            # whitening costs D^2 per pair, preparing a block D per row
            groups_rows=True,
        )
        self.bounds: DensityBounds | None = None
        # a pass after one that found pruning would not pay measures again
        # only now and then: the parameters move slowly
        probe = request.passes_without_pruning % REPROBE_PASSES == 0
        if n_components >= 4 and probe:
            self.bounds = log_density_bounds(factors, centred_means, constant, dtype)
            if not self._pruning_pays(request.first_chunk):
                self.bounds = None
        self.plan = replace(self.plan, prunes=self.bounds is not None)
        if self.bounds is None:
            # every chunk dense: its quadratic features (and log-densities)
            # should stay in the core's own cache between the two GEMMs
            self.plan = replace(
                self.plan,
                chunk_rows=BlockPlan.sized(
                    self.quadratic.n_features_out + n_components, DENSE_ELEMENTS
                ).chunk_rows,
                groups_rows=False,
            )
        # each thread's buffer for a chunk's quadratic features
        self._local = threading.local()

    def _pruning_pays(self, first_chunk: FirstChunk | None) -> bool:
        """Whether the bounds skip enough pairs of the data's first chunk.

        Decided once, before the pass, so that every chunk takes its path
        whatever the order in which threads run them. Without rows to judge
        from, each chunk decides for itself.
        """
        rows = None if first_chunk is None else first_chunk(self.plan.chunk_rows)
        if rows is None or rows.shape[0] == 0:
            return True
        mask = self._kept_mask(self.prepare(rows))
        return self._few_kept(mask)

    def _few_kept(self, mask: np.ndarray) -> bool:
        """Whether the pruned path costs less than the dense one for ``mask``."""
        share = min(PRUNED_PAIRS / mask.shape[0], 0.5)
        return np.count_nonzero(mask) <= share * mask.size

    def prepare(self, rows: np.ndarray) -> np.ndarray:
        """What depends on the rows only: ``[x - c; 1; |x - c|^2]``, (D + 2, n).

        A dense chunk expands it into its quadratic features (P, n) when it
        is computed, into a buffer the size of a core's cache: the two GEMMs
        then read them from there. Features kept between passes instead
        (P / (D + 2) times the memory) were read from main memory, and
        were slower (digits' shape, K = 10, D = 16: 10.0 against 7.6 ms per
        pass in float32, 17.1 against 14.5 in float64).
        """
        n_features = rows.shape[1]
        block = centred_rows(rows, self.centre, extra_rows=2)
        block[n_features] = 1.0
        centred = block[:n_features]
        np.einsum("dn,dn->n", centred, centred, out=block[n_features + 1])
        return block

    def chunk(
        self,
        block: np.ndarray,
        rows: np.ndarray,
        sample_weight: np.ndarray | None,
        grouped: bool = False,
    ) -> PartialStats:
        n_features = self.shift.shape[1]
        # [x - c; 1]: the whitening GEMM's operand
        affine = block[: n_features + 1]
        if self.bounds is None:
            return self._dense(block, rows, sample_weight)
        if grouped:
            partial = self._grouped(block, rows, sample_weight)
            if partial is not None:
                return partial
        mask = self._kept_mask(block)
        if not self._few_kept(mask):
            return self._dense(block, rows, sample_weight)
        return self._pruned(rows, affine, sample_weight, np.flatnonzero(mask))

    def likeliest_components(self, block: np.ndarray) -> np.ndarray | None:
        if self.bounds is None:
            return None
        return likeliest(self.bounds.typical @ block)

    def finish(self, partial: PartialStats) -> Stats:
        """Map the summed whitened scatter back to data coordinates, and add
        the dense chunks' moments, moved from the centre to the shifts."""
        sums = partial.sums
        scatter = self.unwhiten @ sums.scatter @ self.unwhiten.transpose(0, 2, 1)
        resp_sum, centred_sum = sums.resp_sum, sums.centred_sum
        if partial.raw is not None:
            moved_sum, first, second = self.quadratic.unpack_moments(partial.raw)
            offsets = self.shift - self.centre
            moved = first - moved_sum[:, None] * offsets
            # second moments about c moved to the shift
            cross = moved[:, :, None] * offsets[:, None, :]
            second -= cross + cross.transpose(0, 2, 1)
            second -= (
                moved_sum[:, None, None] * offsets[:, :, None] * offsets[:, None, :]
            )
            scatter = scatter + second
            resp_sum = resp_sum + moved_sum
            centred_sum = centred_sum + moved
        return replace(
            sums,
            resp_sum=resp_sum,
            centred_sum=centred_sum,
            scatter=0.5 * (scatter + scatter.transpose(0, 2, 1)),
        )

    def _grouped(
        self, block: np.ndarray, X: np.ndarray, sample_weight: np.ndarray | None
    ) -> PartialStats | None:
        """Stats of rows that share their likeliest components, or None.

        Such rows leave few components that matter to any of them. The
        components that look likeliest for some row are evaluated exactly,
        densely; their best density bounds every row's best from below, so
        the upper bounds then show which other components can matter, and
        those are evaluated too. None when the first set is not small.
        """
        n_components, n_features = self.shift.shape
        rows = block[: n_features + 1]
        likely = likeliest(self.bounds.typical @ block)
        candidates = np.flatnonzero(np.bincount(likely, minlength=n_components))
        if candidates.size > GROUPED_SHARE * n_components:
            return None
        whitened, log_prob = self._log_densities(rows, candidates)
        best = log_prob.max(axis=0)
        matter = self._upper_bounds(block) >= best - self.bounds.margin
        extra = np.setdiff1d(np.flatnonzero(matter.any(axis=1)), candidates)
        if extra.size:
            more_whitened, more_log_prob = self._log_densities(rows, extra)
            candidates = np.concatenate([candidates, extra])
            whitened = np.concatenate([whitened, more_whitened])
            log_prob = np.concatenate([log_prob, more_log_prob])
        return self._stats(X, rows, sample_weight, log_prob, whitened, None, candidates)

    def _upper_bounds(self, rows: np.ndarray) -> np.ndarray:
        """(K, n) upper bounds of ``log w_k + log N(x_i | k)``."""
        n_features = rows.shape[0] - 2
        bounds = self.bounds
        upper = bounds.upper @ rows
        if bounds.directions is not None:
            # give back the slack of the most elongated directions exactly
            weights = bounds.direction_weights
            projected = bounds.directions @ rows[: n_features + 1]
            projected *= projected
            upper += np.einsum(
                "krn,kr->kn", projected.reshape(*weights.shape, -1), weights
            )
        return upper

    def _kept_mask(self, rows: np.ndarray) -> np.ndarray:
        """(K, n): the (component, row) pairs that may matter."""
        n_features = rows.shape[0] - 2
        # the exact log-density under the component that looks best (with
        # each precision's average eigenvalue) bounds the row's best from
        # below, and closely
        likely = likeliest(self.bounds.typical @ rows)
        best = self._exact_log_density(rows[: n_features + 1], likely)
        return self._upper_bounds(rows) >= best - self.bounds.margin

    def _log_densities(
        self, rows: np.ndarray, components: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Whitened rows (k, D, n) and log-densities (k, n) under ``components``."""
        n_features, n_samples = rows.shape[0] - 1, rows.shape[1]
        per_component = self.coefficients.reshape(-1, n_features, n_features + 1)
        coefficients = per_component[components].reshape(-1, n_features + 1)
        whitened = (coefficients @ rows).reshape(len(components), n_features, n_samples)
        log_prob = np.einsum("kdn,kdn->kn", whitened, whitened)
        log_prob *= -0.5
        log_prob += self.constant[components]
        return whitened, log_prob

    def _dense(
        self, block: np.ndarray, X: np.ndarray, sample_weight: np.ndarray | None
    ) -> PartialStats:
        """Stats of a chunk from every pair: by its moments where that rounds
        no worse, else by whitening every row by every component."""
        n_samples, n_features = X.shape
        if self.quadratic.means_accurate:
            block = self.quadratic.features(block, self._features_buffer(n_samples))
            partial = self._moments(block, X, sample_weight)
            if partial is not None:
                return partial
        # z begins with [x - c; 1]: the whitening GEMM's operand
        rows = block[: n_features + 1]
        n_components = self.constant.shape[0]
        whitened = (self.coefficients @ rows).reshape(
            n_components, n_features, n_samples
        )
        log_prob = np.einsum("kdn,kdn->kn", whitened, whitened)
        log_prob *= -0.5
        log_prob += self.constant
        return self._stats(X, rows, sample_weight, log_prob, whitened, None)

    def _features_buffer(self, n_samples: int) -> np.ndarray:
        """This thread's (P, n_samples) buffer for quadratic features, a
        contiguous view of a flat one (compiled loops vectorise only over
        contiguous rows)."""
        size = self.quadratic.n_features_out * n_samples
        buffer = getattr(self._local, "features", None)
        if buffer is None or buffer.size < size:
            width = max(n_samples, self.plan.chunk_rows)
            buffer = np.empty(self.quadratic.n_features_out * width, self.dtype)
            self._local.features = buffer
        return buffer[:size].reshape(self.quadratic.n_features_out, n_samples)

    def _moments(
        self, features: np.ndarray, X: np.ndarray, sample_weight: np.ndarray | None
    ) -> PartialStats | None:
        """Partial sums of a chunk from its quadratic features: two GEMMs;
        None where its rows' log-densities would round visibly worse.

        The moments stay as the GEMM left them (:meth:`finish` unpacks and
        moves their total): per chunk that small work cost a tenth of a
        chunk's time at K = 16.
        """
        resp = self.quadratic.log_densities(features)
        n_features = X.shape[1]
        # judged once the rows' log-densities are known: they bound the
        # rounding any evaluation of them has
        summary, accurate = weighted_responsibilities(
            resp,
            X,
            sample_weight,
            features[n_features + 1],
            self.quadratic.row_bound,
        )
        if not accurate:
            return None
        raw = self.quadratic.moment_sums(features, resp)
        partial = assemble(*self._no_sums, self.shift, "full", summary)
        return PartialStats(partial.sums, raw)

    def _pruned(
        self,
        X: np.ndarray,
        rows: np.ndarray,
        sample_weight: np.ndarray | None,
        kept: np.ndarray,
    ) -> PartialStats:
        n_samples = X.shape[0]
        n_components = self.constant.shape[0]
        components, columns = np.divmod(kept, n_samples)
        segments = component_runs(components, n_components)
        whitened = self._whiten_pairs(rows[:, columns], segments)
        log_prob = np.full((n_components, n_samples), -np.inf, self.dtype)
        flat = log_prob.reshape(-1)
        flat[kept] = self.constant[components, 0] - 0.5 * np.einsum(
            "dm,dm->m", whitened, whitened
        )
        pairs = KeptPairs(kept, segments)
        return self._stats(X, rows, sample_weight, log_prob, whitened, pairs)

    def _whiten_pairs(
        self, gathered: np.ndarray, segments: list[tuple[int, slice]]
    ) -> np.ndarray:
        """Whitened columns of ``gathered``, each segment by its component."""
        n_features = gathered.shape[0] - 1
        per_component = self.coefficients.reshape(-1, n_features, n_features + 1)
        whitened = np.empty((n_features, gathered.shape[1]), self.dtype)
        for k, segment in segments:
            np.matmul(per_component[k], gathered[:, segment], out=whitened[:, segment])
        return whitened

    def _exact_log_density(
        self, rows: np.ndarray, components: np.ndarray
    ) -> np.ndarray:
        """``log w_k + log N(x_i | k)`` for one given component per row."""
        # small unsigned components: a radix sort
        order = np.argsort(components, kind="stable")
        ordered = components[order]
        whitened = self._whiten_pairs(
            rows[:, order], component_runs(ordered, self.constant.shape[0])
        )
        values = np.empty(rows.shape[1], self.dtype)
        values[order] = self.constant[ordered, 0] - 0.5 * np.einsum(
            "dm,dm->m", whitened, whitened
        )
        return values

    def _stats(
        self,
        X: np.ndarray,
        rows: np.ndarray,
        sample_weight: np.ndarray | None,
        log_prob: np.ndarray,
        whitened: np.ndarray,
        pairs: KeptPairs | None,
        active: np.ndarray | None = None,
    ) -> PartialStats:
        """Partial sums of a chunk from its log-densities and whitened rows.

        ``rows`` is ``[x - c; 1]``; ``whitened`` is (K, D, n) for every pair,
        (k, D, n) for the ``active`` components only, or (D, m) for the
        kept ``pairs`` of a pruned chunk. ``log_prob`` is overwritten.
        """
        n_components, n_features = self.shift.shape
        summary, _ = weighted_responsibilities(log_prob, X, sample_weight)
        resp = log_prob
        resp_sum = resp.sum(axis=1, dtype=np.float64)
        first = (resp @ rows[:n_features].T).astype(np.float64)
        if pairs is None:
            np.sqrt(resp, out=resp)
            gram = weighted_gram(whitened, resp, active is not None)
            gram = gram.astype(np.float64)
        else:
            whitened *= np.sqrt(resp.reshape(-1)[pairs.flat])
            gram = segment_grams(whitened, pairs.segments, resp.shape[0])
            gram = gram.astype(np.float64)
        if active is not None:
            resp_sum, first, gram = (
                in_all_components(part, active, n_components)
                for part in (resp_sum, first, gram)
            )
        centred_sum = first - resp_sum[:, None] * (self.shift - self.centre)
        return assemble(
            resp_sum,
            centred_sum,
            gram,
            self.shift,
            "full",
            summary,
        )


#: Spreads of the means (squared distances from their average, each in its
#: own component's deviations) the kernel accepts beyond the registry's
#: common limit. Its whitened rows ``U_k^T (x - c) - U_k^T (mu_k - c)`` and
#: its first moments moved from ``c`` round by about the square root of the
#: spread times the dtype's resolution, its scatter is formed about each
#: mean, its bounds allow for their rounding, and its quadratic path refuses
#: such means (:attr:`QuadraticForms.means_accurate`). So in float64 it
#: stays as accurate as the generic E-step's own expansion, up to a spread
#: of ``EXPANSION_ROUNDING_LIMIT / eps`` (4.5e12): a component collapsed
#: onto an outlying row no longer sends the whole pass to the generic path
#: (50,000 x 16, K = 16: 0.15 s per iteration there, 0.05 here). float32
#: keeps the common limit.
SPREAD_LIMITS = {
    np.dtype(np.float64): EXPANSION_ROUNDING_LIMIT / float(np.finfo(np.float64).eps)
}

# the class is its own factory: its constructor takes the factory's arguments
register_kernel(FullRepresentation, spread_limits=SPREAD_LIMITS)(FullKernel)
