"""Dask backend: rows in partitions on the workers of a ``distributed`` cluster.

Each partition is one :class:`Block` of arrays — ``X`` (n_p, d), ``y`` (n_p,),
``s`` (n_p,), ``offset`` (n_p,) / (n_p, K) / None and ``groups`` (n_p,) cluster
codes or None — produced on a worker by a Dask task (a ``Delayed``). A pass over
the data is one graph::

    block_p ──> chunk_stats(block_p, W) ──┐
                                          ├─> Σ (tree of fan-in 16) ──> client
    block_q ──> chunk_stats(block_q, W) ──┘

Only ``W`` (a few kilobytes) travels to the workers and only the small sums
(a float, the (d+1, C) gradient, the (size, size) Hessian) come back. The tree
is built in partition order, so the result of a pass does not depend on
which worker computed what: a pass recomputed after a worker died gives
bit-for-bit the same sums.

Two ways to hold the blocks (``persist``):

* persisted (``True``): the blocks are computed once and kept in the
  workers' memory (``client.persist``); passes then cost only the kernels.
  The scheduler keeps every block's recipe (its task graph from the source),
  so a block lost with a worker is recomputed from the source, not lost;
* streamed (``False``, out-of-core): nothing is kept; each pass re-reads
  every partition from its source (e.g. Parquet), prepares it and reduces it.
  Memory per worker is then a few partitions, whatever the data size.

``hessp`` and ``hess_rows`` need the per-row curvature of the last
``stats(curvature=True)`` call; it stays on the workers as one future per
partition (n_p floats, or n_p·C for multinomial models) and never comes to the
client.

What differs from :class:`logitlab.backends.InMemoryData`:
``reduce_chunks`` cannot give ``rows=`` (positions of rows in one big array do
not exist here); per-row labels such as cluster codes travel with the rows
instead, as ``Block.groups``, and functions ask for them with a ``groups``
keyword. Empty partitions are dropped when the backend is built (they add
nothing to any sum).
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

import numpy as np

from .base import DataBackend, Stats, add_up

#: partitions (or partial sums) added up by one task of the reduction tree
FAN_IN = 16
#: on Dask a pass is expensive and the Hessian cheap: Newton up to this size
NEWTON_MAX_SIZE = 1024


class Block(NamedTuple):
    """One partition's rows, as the kernels want them (see module docstring)."""

    X: np.ndarray
    y: np.ndarray
    s: np.ndarray
    offset: np.ndarray | None = None
    groups: np.ndarray | None = None


# ------------------------------------------------------------ worker tasks
#: byte alignment of the rows handed to the kernels (a cache line): BLAS takes
#: different SIMD paths for differently aligned data, and sums would then differ
#: in the last bit between a partition and its copy on another worker
ALIGNMENT = 64


def aligned(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous array starting on an :data:`ALIGNMENT`-byte boundary
    (copied only when it is not)."""
    if a.flags.c_contiguous and a.ctypes.data % ALIGNMENT == 0:
        return a
    buf = np.empty(a.nbytes + ALIGNMENT, dtype=np.uint8)
    start = -buf.ctypes.data % ALIGNMENT
    out = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _block_stats(block: Block, W, family, grad, hess, curvature):
    """Per-partition sums; keeps the curvature in the result when asked for."""
    block = block._replace(X=aligned(block.X))
    loss, g, h, curv = family.chunk_stats(block.X, block.y, block.s, block.offset, W,
                                          grad=grad, hess=hess, curvature=curvature)
    return (Stats(loss, g, h), curv) if curvature else Stats(loss, g, h)


def _add_stats_parts(results) -> Stats:
    """Σ of the Stats halves of (Stats, Curvature) pairs, in order."""
    return add_up([r[0] for r in results])


def _block_hessp(block: Block, with_curvature, V, family):
    return family.chunk_hessp(aligned(block.X), with_curvature[1], V)


def _block_hess_rows(block: Block, with_curvature, rows, family):
    return family.chunk_hess_rows(aligned(block.X), with_curvature[1], rows)


def _block_hess_diag(block: Block, with_curvature, family):
    return family.chunk_hess_diag(aligned(block.X), with_curvature[1])


def _block_hess_column_blocks(block: Block, with_curvature, width, family):
    return family.chunk_hess_column_blocks(aligned(block.X), with_curvature[1], width)


def _block_sample_hessian(block: Block, W, family, share: float, blocks: bool = False):
    """(Hessian, weight) of about ``share`` of the partition's rows, evenly
    spaced; only the diagonal class blocks if ``blocks``."""
    n = block.y.shape[0]
    k = min(n, max(1, int(round(share * n))))
    rows = np.unique(np.linspace(0, n - 1, k).astype(np.intp))
    off = None if block.offset is None else block.offset[rows]
    s = block.s[rows]
    X = aligned(block.X[rows])
    if blocks:
        H = family.chunk_hess_blocks(X, block.y[rows], s, off, W)
    else:
        H = family.chunk_stats(X, block.y[rows], s, off, W, grad=False, hess=True)[2]
    return H, float(np.sum(s))


def _block_apply(block: Block, fn, args, want_groups: bool):
    kwargs = {"groups": block.groups} if want_groups else {}
    return fn(aligned(block.X), block.y, block.s, block.offset, *args, **kwargs)


def tree_sum(parts, fan_in: int = FAN_IN):
    """A Delayed Σ of Delayed ``parts`` by a tree of fan-in ``fan_in``, in order."""
    from dask import delayed
    add = delayed(add_up, pure=True)
    while len(parts) > 1:
        parts = [add(parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


# ---------------------------------------------------------------- backend
class DaskData(DataBackend):
    """Rows in Dask partitions (see the module docstring).

    ``solver="auto"`` takes Newton steps up to :data:`NEWTON_MAX_SIZE`
    coefficients (``newton_max_size``): a pass costs more than a Hessian here.

    Parameters
    ----------
    blocks : list of dask ``Delayed`` producing a :class:`Block` each (non-empty)
    family : the model family (:mod:`logitlab.families`)
    n_rows : number of rows; weight_sum : Σ s over all rows
    client : ``distributed.Client`` running the passes
    has_offset, has_groups : whether the blocks carry offsets / cluster codes
    persist : keep the blocks in the workers' memory (True) or re-read them
        from their source on every pass (False)
    """

    def __init__(self, blocks, family, n_rows: int, weight_sum: float, client,
                 has_offset: bool = False, persist: bool = True, has_groups: bool = False,
                 is_sparse: bool = False):
        if not blocks:
            raise ValueError("the data have no rows (every partition is empty).")
        self.family = family
        self.layout = family.layout
        self.newton_max_size = NEWTON_MAX_SIZE
        self.has_groups = bool(has_groups)
        self.is_sparse = bool(is_sparse)
        self.n_rows = int(n_rows)
        self.weight_sum = float(weight_sum)
        self.client = client
        self.persist = bool(persist)
        self.has_offset = bool(has_offset)
        self.n_passes = 0
        self.grad_noise = self.loss_noise = 0.0  # float64 arithmetic on the workers
        self.blocks = client.persist(list(blocks)) if persist else list(blocks)
        self._curvature = None      # futures per partition, from stats(curvature=True)

    @property
    def n_partitions(self) -> int:
        return len(self.blocks)

    def _W(self, W):
        from dask import delayed
        return delayed(np.asarray(W, dtype=np.float64), pure=True)

    def _run(self, parts):
        """Compute the Σ of the Delayed ``parts`` on the cluster (one pass)."""
        self.n_passes += 1
        return self.client.compute(tree_sum(parts)).result()

    def stats(self, W, *, grad=True, hess=False, curvature=False) -> Stats:
        """Σ over all rows of nll, gradient and Hessian at ``W`` (one pass)."""
        from dask import delayed
        task = delayed(_block_stats, pure=True)
        Wd = self._W(W)
        parts = [task(b, Wd, self.family, grad, hess, curvature) for b in self.blocks]
        if not curvature:
            return self._run(parts)
        futures = self.client.compute(parts)       # (Stats, Curvature) per partition
        self._curvature = None                      # release the previous point's
        self.n_passes += 1
        total = self.client.submit(_add_stats_parts, futures, pure=False).result()
        self._curvature = futures
        return total

    def hessp(self, V) -> np.ndarray:
        """Hessian (at the last ``stats(curvature=True)`` point) times ``V`` (one pass)."""
        from dask import delayed
        if self._curvature is None:
            raise RuntimeError("hessp needs a prior stats(..., curvature=True) call")
        task = delayed(_block_hessp, pure=True)
        Vd = self._W(V)
        parts = [task(b, c, Vd, self.family)
                 for b, c in zip(self.blocks, self._curvature)]
        return self._run(parts)

    def hess_rows(self, rows, single: bool = False) -> np.ndarray:
        """Hessian (at the last ``stats(curvature=True)`` point) restricted to the
        rows ``rows`` of ``W``, every class (one pass over those columns; float64
        whatever ``single`` says)."""
        from dask import delayed
        if self._curvature is None:
            raise RuntimeError("hess_rows needs a prior stats(..., curvature=True) call")
        task = delayed(_block_hess_rows, pure=True)
        rows = np.asarray(rows, dtype=np.intp)
        parts = [task(b, c, rows, self.family) for b, c in zip(self.blocks, self._curvature)]
        return self._run(parts)

    def hess_diag(self) -> np.ndarray:
        """Diagonal of the Hessian (at the last ``stats(curvature=True)`` point),
        shaped like ``W`` (one pass)."""
        from dask import delayed
        if self._curvature is None:
            raise RuntimeError("hess_diag needs a prior stats(..., curvature=True) call")
        task = delayed(_block_hess_diag, pure=True)
        return self._run([task(b, c, self.family) for b, c in zip(self.blocks, self._curvature)])

    def hess_column_blocks(self, width: int) -> np.ndarray:
        """The Hessian's diagonal blocks over ``width`` adjacent columns
        (binary models, dense partitions; one pass)."""
        from dask import delayed
        if self._curvature is None:
            raise RuntimeError("hess_column_blocks needs a prior stats(..., curvature=True) call")
        task = delayed(_block_hess_column_blocks, pure=True)
        return self._run([task(b, c, width, self.family)
                          for b, c in zip(self.blocks, self._curvature)])

    def hessian_sample(self, W, max_rows: int, blocks: bool = False):
        """``(H, weight)``: the Hessian of Σ s·nll at ``W`` over about ``max_rows``
        rows spread evenly over every partition (one pass over the partitions,
        a preconditioner for truncated Newton; never used for inference);
        ``blocks``: only its diagonal class blocks (n_cols, n_rows, n_rows)."""
        from dask import delayed
        share = min(1.0, max_rows / max(self.n_rows, 1))
        task = delayed(_block_sample_hessian, pure=True)
        Wd = self._W(W)
        H, weight = self._run([task(b, Wd, self.family, share, blocks) for b in self.blocks])
        self.n_passes += share - 1.0          # reads only the sampled rows
        return H, weight

    def reduce_chunks(self, fn, *args):
        """Σ over partitions of ``fn(X, y, s, offset, *args)`` (one pass).

        ``fn`` runs on the workers (it is pickled with cloudpickle, closures
        included) and returns something that adds up (floats, arrays, tuples
        of arrays added element-wise). A ``fn`` with a ``groups`` keyword gets
        the partition's cluster codes. A ``fn`` that asks for ``rows`` (row
        positions in one in-memory array) cannot run here: a ``TypeError``.
        """
        from dask import delayed
        params = inspect.signature(fn).parameters
        if "rows" in params:
            raise TypeError(f"{getattr(fn, '__name__', fn)!r} needs row positions (rows=), "
                            "which Dask partitions do not have; carry per-row labels in the "
                            "partitions (Block.groups) and take a 'groups' keyword instead.")
        task = delayed(_block_apply, pure=True)
        parts = [task(b, fn, args, "groups" in params) for b in self.blocks]
        return self._run(parts)

    def release(self) -> None:
        """Drop the blocks and curvature held on the workers."""
        self._curvature = None
        self.blocks = []
