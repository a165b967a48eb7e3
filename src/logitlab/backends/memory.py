"""In-memory backend: X in RAM, processed in cache-sized row blocks.

Each call to :meth:`InMemoryData.stats` walks the rows once, block by block;
within a block the logits, the residuals and the block's contribution to
``Xᵀ r`` (and ``Xᵀ diag(h) X``) are computed while the block is in cache.
X is never copied, centred or scaled (sparse blocks are views of X's arrays).

Blocks run on ``n_threads`` threads (the fused kernels and BLAS release the
GIL; BLAS is held to one thread meanwhile). The per-block results are added
in block order, so a fit gives the same bits whatever the number of threads.

*Accumulated* passes (very wide data: the blocks' gradients would together
exceed ``ACCUMULATE_MIN_BYTES``, e.g. 8 MB each at d = 10⁶): the blocks are
split into as many contiguous groups as the machine has threads
(:func:`~logitlab.core.threads.default_threads`, not ``n_threads``), each
group's gradients, H·v products or Hessian diagonals are added into one
accumulator by the kernels, and the groups' accumulators are added in group
order — again the same bits whatever ``n_threads``, and a pass allocates a
few d-sized arrays instead of one per block.

*Single* mode (binary models on dense float32 X with at least
``SINGLE_MIN_SIZE`` entries): the fused kernels do their X-sized arithmetic in
float32 (:mod:`logitlab.core.fused`), about twice as fast. The mean gradient then
carries rounding error; :attr:`InMemoryData.grad_noise` bounds it, so the
solvers stop there instead of chasing noise.
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import scipy.sparse as sp

from ..core.design import COMPILED_MIN_ENTRIES, GramAccumulator, symmetric_from_upper
from ..core.layout import Layout
from ..core.threads import blas_one_thread, default_threads, pool
from ..families import Curvature, Family, family_from_layout
from .base import DataBackend, LocalRows, Stats, add_up

_BLOCK_BYTES = 1 << 21  # ~2 MiB of X per block: stays in L2/L3 between reads
#: rows per block at most (bounds the n-sized temporaries of NumPy's path),
#: unless fewer would keep the block off the compiled kernels: at three float64
#: columns 65,536 rows were 196,608 entries, below COMPILED_MIN_ENTRIES, and a
#: pass over 2,000,000 × 3 took 26 ms on NumPy's path against 9 compiled
_MAX_BLOCK_ROWS = 1 << 16
#: the fused binary kernels finish each row while it is in L1, so their blocks
#: only amortize per-block overhead and balance the threads (at 100,000 × 500
#: float64 a product took 17.1 ms with blocks of 16 MiB, 16.5 with 32 MiB)
_FUSED_BLOCK_BYTES = 1 << 25
#: single mode only for dense float32 X with at least this many entries (below
#: it a fit takes milliseconds anyway, and the rounding of the sums over rows,
#: which shrinks as 1/√n, could exceed ``grad_noise``)
SINGLE_MIN_SIZE = 1 << 20
#: float32 unit roundoff (2⁻²⁴) over the 4 of p(1-p) ≤ 1/4 (see _rounding_bounds)
_ROUNDING = 2.0 ** -26
#: a pass accumulates (see the module docstring) when its per-block
#: coefficient-sized results would together take more bytes than this
ACCUMULATE_MIN_BYTES = 1 << 24


def block_slices(n_rows: int, bytes_per_row: float, block_bytes: int = _BLOCK_BYTES,
                 cuts=None, multiple: int = 1, min_rows: int = 0):
    """Contiguous row ranges of about ``block_bytes`` each (at most
    :data:`_MAX_BLOCK_ROWS` rows, or ``min_rows`` when more: the rows a block
    needs to run the compiled kernels); with ``cuts`` (the increasing row
    positions where a block may start, e.g. the first row of each stratum)
    every range starts at a cut and holds whole groups.

    Without cuts, when at least ``multiple`` (the machine's threads) full
    blocks fit, their number is rounded down to a multiple of it and the rows
    shared out evenly (lengths differ by at most one): every thread then gets
    the same rows, and no block has fewer rows than a full one would."""
    # rounded up: a block of ``block_bytes`` holds at least that many bytes, so a
    # 2 MiB float64 block reaches COMPILED_MIN_ENTRIES (its kernels run compiled)
    rows = int(min(max(-(-block_bytes // max(bytes_per_row, 1)), 256),
                   max(_MAX_BLOCK_ROWS, min_rows)))
    if cuts is None:
        full = n_rows // rows                   # blocks of at least ``rows`` rows
        if multiple > 1 and full >= multiple:
            return [slice(a, b) for a, b in _even_bounds(n_rows, full - full % multiple)]
        return [slice(i, min(i + rows, n_rows)) for i in range(0, n_rows, rows)] or [slice(0, 0)]
    cuts = np.append(np.asarray(cuts, dtype=np.intp), n_rows)
    out, start = [], 0
    while start < n_rows:
        end = int(cuts[np.searchsorted(cuts, start + rows)]) if start + rows < n_rows else n_rows
        end = max(end, int(cuts[np.searchsorted(cuts, start, side="right")]))
        out.append(slice(start, end))
        start = end
    return out or [slice(0, 0)]


def _compiled_rows(X) -> int:
    """Rows of ``X`` that hold :data:`COMPILED_MIN_ENTRIES` entries (stored
    entries of CSR, on average)."""
    per_row = X.nnz / max(X.shape[0], 1) if sp.issparse(X) else X.shape[1]
    return int(np.ceil(COMPILED_MIN_ENTRIES / max(per_row, 1e-3)))


def _csr_view(X, sl):
    """Rows ``sl`` of CSR ``X`` sharing its data and indices (no copy).

    Built by setting the arrays on an empty matrix: scipy's constructor would
    "prune" (copy) arrays that are slices of larger ones."""
    a, b = int(X.indptr[sl.start]), int(X.indptr[sl.stop])
    view = sp.csr_matrix((sl.stop - sl.start, X.shape[1]), dtype=X.dtype)
    view.data = X.data[a:b]
    view.indices = X.indices[a:b]
    view.indptr = X.indptr[sl.start:sl.stop + 1] - X.indptr[sl.start]
    view.has_sorted_indices = X.has_sorted_indices
    return view


class InMemoryData(DataBackend):
    """Rows held in memory.

    Parameters
    ----------
    X : (n, d) ndarray (float32/float64) or scipy.sparse CSR matrix
    y : (n,) 0/1 (binary: int8 class codes, or floats) or integer class codes (multinomial)
    sample_weight : (n,) non-negative float64
    offset : None, (n,) (binary) or (n, K) (multinomial)
    family : the model family (:mod:`logitlab.families`), or its
        :class:`~logitlab.core.layout.Layout` (the logit family of that layout)
    groups : None or (n,) integer cluster codes (cluster covariances)
    cuts : None or the increasing rows where a block may start (a family whose
        likelihood is a product over groups of rows, e.g. strata, needs whole
        groups in every block)
    n_threads : threads for the blocks (default :func:`default_threads`)
    single : allow float32 arithmetic (see the module docstring); the
        attribute ``single`` says whether it is in use and may be switched off
    """

    def __init__(self, X, y, sample_weight, offset, family: Family | Layout, block_bytes=None,
                 n_threads=None, single=False, groups=None, cuts=None):
        self.family = family_from_layout(family) if isinstance(family, Layout) else family
        self.layout = self.family.layout
        self.X = X
        self.y = y
        self.s = sample_weight
        self.offset = offset
        self.groups = groups
        self.has_offset = offset is not None
        self.has_groups = groups is not None
        self.is_sparse = sp.issparse(X)
        self.n_rows = X.shape[0]
        self.weight_sum = float(np.sum(sample_weight))
        self.n_passes = 0
        if sp.issparse(X):
            per_row = X.nnz / max(self.n_rows, 1) * (X.dtype.itemsize + 4) + 8
        else:
            per_row = X.shape[1] * X.dtype.itemsize
        fused = self.family.fused_kernels(X)
        block_bytes = block_bytes or (_FUSED_BLOCK_BYTES if fused else _BLOCK_BYTES)
        self._cuts = cuts
        self.blocks = block_slices(self.n_rows, per_row, block_bytes, cuts,
                                   multiple=default_threads(),
                                   min_rows=_compiled_rows(X) if fused else 0)
        self._views = ([_csr_view(X, sl) for sl in self.blocks]
                       if sp.issparse(X) and X.format == "csr" else None)
        self.n_threads = min(n_threads or default_threads(), len(self.blocks))
        self._curvature: list[Curvature] | None = None
        self._curvature_at = self._curvature_rows = None
        self._fused = fused
        self._h_buffers: dict = {}
        self.single = bool(single and fused and not sp.issparse(X) and X.dtype == np.float32
                           and X.size >= SINGLE_MIN_SIZE)
        self.grad_noise = 0.0
        self.loss_noise = 0.0
        self._col_rms = None

    def _x(self, i):
        return self.X[self.blocks[i]] if self._views is None else self._views[i]

    def _chunk(self, i):
        sl = self.blocks[i]
        off = None if self.offset is None else self.offset[sl]
        return self._x(i), self.y[sl], self.s[sl], off

    #: the arrays :meth:`stats` and the Hessian passes return are new ones,
    #: the caller's to overwrite
    fresh_results = True

    def _map(self, fn, indices=None):
        """``[fn(i) for i in indices]`` (default all blocks), on the threads.

        One task per thread, each taking the next index until none is left (a
        task per block cost ~90 µs of hand-over each on a 2-core VM, about
        1.5 ms of a 17 ms pass over 24 blocks; taking indices keeps a thread
        slowed by other work from holding up the pass)."""
        indices = list(range(len(self.blocks)) if indices is None else indices)
        n_tasks = min(self.n_threads, len(indices))
        if n_tasks <= 1:
            return [fn(i) for i in indices]
        results = [None] * len(indices)
        take = itertools.count()            # next() is atomic under the GIL

        def work(_):
            for k in iter(take.__next__, None):
                if k >= len(indices):
                    return
                results[k] = fn(indices[k])
        with blas_one_thread():
            list(pool(self.n_threads).map(work, range(n_tasks)))
        return results

    def _accumulates(self) -> bool:
        """Whether passes add into one accumulator per group of blocks (see the
        module docstring)."""
        return (self.family.accumulates and len(self.blocks) > 1
                and len(self.blocks) * self.layout.size * 8 > ACCUMULATE_MIN_BYTES)

    def _grouped(self, fn):
        """``fn(i, acc)`` for every block ``i``, the blocks in contiguous groups
        (one per thread of the machine) that each add into one accumulator
        ``acc`` (the family's). Returns the per-block results in block order and
        the sum of the groups' accumulators, added in group order (as the view
        that the last block of the first group returned)."""
        n_groups = min(default_threads(), len(self.blocks))
        groups = np.array_split(np.arange(len(self.blocks)), n_groups)

        def run(k):
            acc = self.family.new_accumulator()
            return [fn(int(i), acc) for i in groups[k]]
        results = self._map(run, range(n_groups))
        return [part for r in results for part in r], [r[-1] for r in results]

    def stats(self, W, *, grad=True, hess=False, curvature=False) -> Stats:
        """Σ over all rows of nll, gradient and Hessian at ``W`` (one pass)."""
        self.n_passes += 1
        single = self.single
        h_rows = self._curvature_buffer(single and not hess) if curvature else None
        if curvature:                           # its buffer is about to be overwritten
            self._curvature = self._curvature_at = self._curvature_rows = None

        def block(i, acc=None):
            extra = {} if acc is None else {"out": acc}
            return self.family.chunk_stats(
                *self._chunk(i), W, grad=grad, hess=hess, curvature=curvature,
                single=single, h_out=None if h_rows is None else h_rows[self.blocks[i]],
                **extra)
        if grad and not hess and self._accumulates():
            parts, lasts = self._grouped(block)
            loss = parts[0][0]
            for part in parts[1:]:
                loss = loss + part[0]
            total = Stats(loss, _sum_into_first([last[1] for last in lasts]))
        else:
            parts = self._map(block)
            total = Stats(parts[0][0], parts[0][1], parts[0][2])
            for loss, g, h, _ in parts[1:]:
                total = total + Stats(loss, g, h)
        if curvature:
            self._curvature = [p[3] for p in parts]
            self._curvature_at = _point_key(W)
            self._curvature_rows = h_rows
        self.grad_noise, self.loss_noise = self._rounding_bounds(W) if single else (0.0, 0.0)
        return total

    def _curvature_buffer(self, float32: bool):
        """The (n,) array the fused binary kernels write the curvature into, kept
        across passes (a new 8 MB array per pass at 1M rows cost ~2,000 page
        faults); float32 in single mode without a Hessian (CG needs no more, and
        H·v then reads half the bytes). None for the other kernels."""
        if not self._fused:
            return None
        dtype = np.float32 if float32 else np.float64
        if dtype not in self._h_buffers:
            self._h_buffers[dtype] = np.empty(self.n_rows, dtype)
        return self._h_buffers[dtype]

    def _rounding_bounds(self, W) -> tuple:
        """Bounds on the float32 rounding error of the mean gradient and of the
        mean loss at ``W``: ``(grad_noise, loss_noise)``.

        A row's logit carries ``|δz| ≲ u Σ_k |x_k w_k|`` (``u = 2⁻²⁴``: w rounded
        to float32, then the float32 dot, whose d roundings mostly cancel), which
        moves its residual by at most ``δz / 4``; by Cauchy–Schwarz the mean
        gradient moves by at most ``2⁻²⁶ · max(1, max_j rms_j) · A``,
        ``A = Σ_k rms_k |w_k|`` with ``rms_j`` the weighted root mean square of
        column j. This is a calibrated bound, not a worst case (d roundings of
        one sign would give d times more): measured errors, float32 partial sums
        over ``SUB`` rows included, stay 20–2000× below it
        (``tests/test_single_precision.py``).
        The loss moves by ``Σ r δz``: at an optimum the w-rounding part cancels
        (``Σ r x = 0``) and the per-row dot errors, of either sign, add up as
        ``√n`` of them: ``2⁻²² A / √n_eff`` (Kish's ``n_eff = (Σs)²/Σs²``), a
        bound the solvers use to tell a real increase from rounding.
        """
        if self._col_rms is None:
            self.n_passes += 1
            sq = self._map(lambda i: self.family.chunk_hess_diag(
                self._x(i), Curvature(h=self.s[self.blocks[i]]))[:self.layout.n_features, 0])
            self._col_rms = np.sqrt(np.sum(sq, axis=0) / self.weight_sum)
            self._n_eff = self.weight_sum ** 2 / max(float(self.s @ self.s), 1e-300)
        d = self.layout.n_features
        A = float(self._col_rms @ np.abs(np.asarray(W, dtype=np.float64)[:d, 0]))
        grad = _ROUNDING * max(1.0, float(self._col_rms.max(initial=0.0))) * A
        return grad, 16 * _ROUNDING * A / np.sqrt(self._n_eff)

    def curvature_floor(self, W):
        """``min s p (1 - p) / s`` over the rows of positive weight, from the
        curvature kept by the last ``stats(curvature=True)`` call if that was
        at ``W`` (binary models); else None. A floor above ε proves no row's
        fitted probability of its class is within ε of 1, without a pass."""
        kept = self.kept_curvature(W)
        if kept is None:
            return None
        floor = np.inf
        for s, h in kept:
            if s.strides == (0,) and s.size:          # one weight for every row
                if s[0] > 0:
                    floor = min(floor, float(h.min()) / float(s[0]))
                continue
            pos = s > 0
            if np.any(pos):
                floor = min(floor, float(np.min(h[pos] / s[pos])))
        return floor

    def _kept_curvature_buffer(self, W):
        """The (n,) curvature of every row written into the buffer of
        :meth:`_curvature_buffer` by the last ``stats(curvature=True)`` call,
        if that was at ``W`` (binary models; the sampled Hessian at the point
        just evaluated then needs no curvature of its own); else None."""
        h = self._curvature_rows
        if h is None or not _same_point(self._curvature_at, W):
            return None
        return h

    def kept_curvature(self, W):
        """``[(s, h), ...]`` per block: the weights and the curvature ``h = s p
        (1 - p)`` kept by the last ``stats(curvature=True)`` call if that was at
        ``W`` (binary models); else None. No pass."""
        at = self._curvature_at
        if at is None or self._curvature[0].h is None or not _same_point(at, W):
            return None
        return [(self.s[sl], curv.h) for sl, curv in zip(self.blocks, self._curvature)]

    def _curvature_pass(self, kernel, *args, accumulate=False, **kwargs):
        """Σ over blocks of ``kernel(X, curvature, *args, **kwargs)``; with
        ``accumulate`` (a kernel taking ``out=``) by groups when
        :meth:`_accumulates`."""
        if self._curvature is None:
            raise RuntimeError("needs a prior stats(..., curvature=True) call")
        self.n_passes += 1
        if accumulate and self._accumulates():
            _, lasts = self._grouped(lambda i, acc: kernel(
                self._x(i), self._curvature[i], *args, out=acc, **kwargs))
            return _sum_into_first(lasts)
        parts = self._map(lambda i: kernel(self._x(i), self._curvature[i], *args, **kwargs))
        out = parts[0]
        for part in parts[1:]:
            out = out + part
        return out

    def hessp(self, V) -> np.ndarray:
        """Hessian (at the last ``stats(curvature=True)`` point) times ``V``."""
        return self._curvature_pass(self.family.chunk_hessp, V, single=self.single,
                                    accumulate=True)

    def hess_rows(self, rows, single: bool = False) -> np.ndarray:
        """Hessian (at the last ``stats(curvature=True)`` point) restricted to the
        rows ``rows`` of ``W``, every class (the family's ``chunk_hess_rows``;
        float32 arithmetic allowed if ``single``). One pass over those columns."""
        return self._curvature_pass(self.family.chunk_hess_rows,
                                    np.asarray(rows, dtype=np.intp), single=single)

    def hess_diag(self) -> np.ndarray:
        """Diagonal of the Hessian (at the last ``stats(curvature=True)`` point),
        shaped like ``W``. One pass; used by diagonal preconditioners."""
        return self._curvature_pass(self.family.chunk_hess_diag, accumulate=True)

    def hess_column_blocks(self, width: int) -> np.ndarray:
        """The diagonal blocks of the Hessian (at the last ``stats(curvature=True)``
        point) over ``width`` adjacent columns at a time, (n_blocks, width,
        width), float32 sums (the family's ``chunk_hess_column_blocks``). One
        pass; used by the column-block preconditioner."""
        return self._curvature_pass(self.family.chunk_hess_column_blocks, width)

    def hessian_sample(self, W, max_rows: int, blocks: bool = False):
        """Hessian of Σ s·nll over an evenly spread subset of rows.

        Returns ``(H, weight)``: the (size, size) sum over at most about
        ``max_rows`` rows and the sum of their weights, so ``H / weight``
        estimates the Hessian of the mean. Reads only the sampled rows (a
        preconditioner for truncated Newton; never used for inference).
        ``blocks``: only the diagonal class blocks, (n_cols, n_rows, n_rows)
        (the family's ``chunk_hess_blocks``).
        """
        pieces = self.sample_slices(max_rows)
        self.n_passes += sum(sl.stop - sl.start for sl in pieces) / max(self.n_rows, 1)
        lay = self.layout
        if blocks or lay.multinomial or lay.ordinal or lay.conditional or sp.issparse(self.X):
            parts = self._map(lambda i: self._sample_hessian(pieces[i], W, blocks),
                              range(len(pieces)))
            return sum(p[0] for p in parts), sum(p[1] for p in parts)
        # binary dense: each thread adds its pieces into one float32 syrk
        # accumulator (a preconditioner needs no more; twice as fast as float64)
        groups = [pieces[t::self.n_threads] for t in range(min(self.n_threads, len(pieces)))]
        parts = self._map(lambda t: self._sample_gram(groups[t], W), range(len(groups)))
        upper = parts[0][0].astype(np.float64)
        for part in parts[1:]:
            upper += part[0]
        return symmetric_from_upper(upper), sum(p[1] for p in parts)

    def _sample_hessian(self, sl, W, blocks: bool = False):
        """(Hessian, weight) of rows ``sl`` at ``W`` (any layout), or (its
        diagonal class blocks, weight) if ``blocks``; summed in float32 where
        the family can (a preconditioner needs no more)."""
        off = None if self.offset is None else self.offset[sl]
        if blocks:
            H = self.family.chunk_hess_blocks(self.X[sl], self.y[sl], self.s[sl], off, W,
                                              single=True)
        else:
            H = self.family.chunk_stats(self.X[sl], self.y[sl], self.s[sl], off, W,
                                        grad=False, hess="float32")[2]
        return H, float(np.sum(self.s[sl]))

    def _sample_gram(self, slices, W):
        """(upper triangle of the Hessian at ``W``, weight) summed over the row
        ranges ``slices`` of a binary model on dense X, in one float32 accumulator."""
        gram, weight = GramAccumulator(self.layout.n_features, self.layout.fit_intercept,
                                       single=True), 0.0
        kept = self._kept_curvature_buffer(W)
        for sl in slices:
            X, s = self.X[sl], self.s[sl]
            if kept is not None:
                h = kept[sl]
            else:
                off = None if self.offset is None else self.offset[sl]
                h = self.family.chunk_stats(X, self.y[sl], s, off, W, grad=False,
                                            curvature=True, single=self.single)[3].h
            gram.add(X, h)
            weight += float(np.sum(s))
        return gram.upper, weight

    def sample_slices(self, max_rows: int) -> list:
        """Evenly spaced row ranges of equal length holding about ``max_rows``
        rows in all (less than one row more per range, unless the ranges' floor
        of 64 rows adds more): at least 8 of them, none longer than a block,
        and as many as a multiple of the threads (each thread sums the same
        number of rows)."""
        if max_rows >= self.n_rows:
            return list(self.blocks)
        rows = max(self.blocks[0].stop - self.blocks[0].start, 1)
        count = max(8, -(-max_rows // rows))
        count = -(-count // self.n_threads) * self.n_threads
        size = min(max(-(-max_rows // count), 64), self.n_rows // count)
        if size < 1:
            return list(self.blocks)
        starts = np.linspace(0, self.n_rows - size, count).astype(np.int64)
        return [slice(int(a), int(a) + size) for a in np.unique(starts)]

    def reduce_chunks(self, fn, *args):
        """Σ over chunks of ``fn(X, y, s, offset, *args)`` (one pass).

        A ``fn`` with a ``groups`` keyword also gets the chunk's cluster codes.
        ``fn`` returns anything that adds up (floats, arrays, tuples of arrays
        are summed element-wise), added in block order.
        """
        self.n_passes += 1
        if "groups" in inspect.signature(fn).parameters:
            if self.groups is None:
                raise ValueError(f"{getattr(fn, '__name__', fn)!r} needs the rows' cluster "
                                 "codes (groups), which this data does not carry.")
            parts = self._map(lambda i: fn(*self._chunk(i), *args,
                                           groups=self.groups[self.blocks[i]]))
        else:
            parts = self._map(lambda i: fn(*self._chunk(i), *args))
        return add_up(parts)

    def local_rows(self) -> LocalRows:
        """All rows, as held (no copies)."""
        return LocalRows(self.X, self.y, self.s, self.offset)

    def subsample(self, max_rows: int) -> "InMemoryData | None":
        """The rows of :meth:`sample_slices` (about ``max_rows`` in evenly spaced
        ranges: every part of data sorted by any column or class is there) as a
        backend of their own, copied (that fraction of X); None when that
        would be every row, the rows form groups (cuts) a range may split, or
        they are too few for the compiled kernels (NumPy's passes over them
        would cost what the start saves)."""
        if (max_rows >= self.n_rows or self._cuts is not None
                or (self._fused and max_rows < _compiled_rows(self.X))):
            return None
        pieces = self.sample_slices(max_rows)

        def take(a):
            return None if a is None else np.concatenate([a[sl] for sl in pieces])
        X = (sp.vstack([self.X[sl] for sl in pieces], format="csr") if self.is_sparse
             else np.concatenate([self.X[sl] for sl in pieces]))
        s = (np.broadcast_to(self.s[0], (X.shape[0],)) if self.s.strides == (0,)
             else take(self.s))
        return InMemoryData(X, take(self.y), s, take(self.offset), self.family,
                            n_threads=self.n_threads, single=self.single)


def _even_bounds(n: int, parts: int):
    """``(start, stop)`` of ``parts`` contiguous shares of ``range(n)`` whose
    lengths differ by at most one."""
    edges = [n * k // parts for k in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _sum_into_first(arrays):
    """``arrays[0] + arrays[1] + ...``, added in order into ``arrays[0]``."""
    total = arrays[0]
    for a in arrays[1:]:
        total += a
    return total


#: coefficient matrices up to this many entries are kept as copies to compare;
#: larger ones by a digest of their bytes (no coefficient-sized copy)
_KEY_COPY_MAX = 1 << 16


def _point_key(W):
    """What identifies the point ``W`` later: a float64 copy of a small W, else
    its shape and a BLAKE2 digest of its float64 bytes."""
    W = np.asarray(W, dtype=np.float64)
    if W.size <= _KEY_COPY_MAX:
        return W.copy()
    import hashlib
    return W.shape, hashlib.blake2b(memoryview(np.ascontiguousarray(W)).cast("B")).digest()


def _same_point(key, W) -> bool:
    """Whether ``W`` is the point of :func:`_point_key`'s ``key``."""
    if isinstance(key, np.ndarray):
        return key.shape == np.shape(W) and bool(np.array_equal(key, W))
    return key == _point_key(W)
