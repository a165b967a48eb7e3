"""In-memory backend: X in RAM, processed in cache-sized row blocks.

Each call to :meth:`InMemoryData.stats` walks the rows once, block by block;
within a block the logits, the residuals and the block's contribution to
``Xᵀ r`` (and ``Xᵀ diag(h) X``) are computed while the block is in cache.
X is never copied, centred or scaled.
"""

from __future__ import annotations

import inspect

import numpy as np
import scipy.sparse as sp

from ..kernels import Curvature, Layout, chunk_hess_diag, chunk_hessp, chunk_stats, logits
from .base import Stats

_BLOCK_BYTES = 1 << 21  # ~2 MiB of X per block: stays in L2/L3 between reads


def block_slices(n_rows: int, bytes_per_row: float, block_bytes: int = _BLOCK_BYTES):
    """Contiguous row ranges of about ``block_bytes`` each."""
    rows = int(min(max(block_bytes // max(bytes_per_row, 1), 256), 1 << 16))
    return [slice(i, min(i + rows, n_rows)) for i in range(0, n_rows, rows)] or [slice(0, 0)]


class InMemoryData:
    """Rows held in memory.

    Parameters
    ----------
    X : (n, d) ndarray (float32/float64) or scipy.sparse CSR matrix
    y : (n,) float 0/1 (binary) or integer class codes (multinomial)
    sample_weight : (n,) non-negative float64
    offset : None, (n,) (binary) or (n, K) (multinomial)
    layout : :class:`logitlab.kernels.Layout`
    """

    def __init__(self, X, y, sample_weight, offset, layout: Layout, block_bytes=_BLOCK_BYTES):
        self.X = X
        self.y = y
        self.s = sample_weight
        self.offset = offset
        self.layout = layout
        self.n_rows = X.shape[0]
        self.weight_sum = float(np.sum(sample_weight))
        self.n_passes = 0
        if sp.issparse(X):
            per_row = X.nnz / max(self.n_rows, 1) * (X.dtype.itemsize + 4) + 8
        else:
            per_row = X.shape[1] * X.dtype.itemsize
        self.blocks = block_slices(self.n_rows, per_row, block_bytes)
        self._curvature: list[Curvature] | None = None

    def _chunk(self, sl):
        off = None if self.offset is None else self.offset[sl]
        return self.X[sl], self.y[sl], self.s[sl], off

    def stats(self, W, *, grad=True, hess=False, curvature=False) -> Stats:
        """Σ over all rows of nll, gradient and Hessian at ``W`` (one pass)."""
        self.n_passes += 1
        total = None
        curv = [] if curvature else None
        for sl in self.blocks:
            X, y, s, off = self._chunk(sl)
            loss, g, h, c = chunk_stats(X, y, s, off, W, self.layout, grad=grad,
                                        hess=hess, curvature=curvature)
            part = Stats(loss, g, h)
            total = part if total is None else total + part
            if curvature:
                curv.append(c)
        if curvature:
            self._curvature = curv
        return total

    def hessp(self, V) -> np.ndarray:
        """Hessian (at the last ``stats(curvature=True)`` point) times ``V``."""
        if self._curvature is None:
            raise RuntimeError("hessp needs a prior stats(..., curvature=True) call")
        self.n_passes += 1
        out = None
        for sl, curv in zip(self.blocks, self._curvature):
            part = chunk_hessp(self.X[sl], curv, V, self.layout)
            out = part if out is None else out + part
        return out

    def hess_diag(self) -> np.ndarray:
        """Diagonal of the Hessian (at the last ``stats(curvature=True)`` point),
        shaped like ``W``. One pass; used by diagonal preconditioners."""
        if self._curvature is None:
            raise RuntimeError("hess_diag needs a prior stats(..., curvature=True) call")
        self.n_passes += 1
        return sum(chunk_hess_diag(self.X[sl], curv, self.layout)
                   for sl, curv in zip(self.blocks, self._curvature))

    def hessian_sample(self, W, max_rows: int):
        """Hessian of Σ s·nll over an evenly spread subset of row blocks.

        Returns ``(H, weight)``: the (size, size) sum over at most about
        ``max_rows`` rows and the sum of their weights, so ``H / weight``
        estimates the Hessian of the mean. Reads only the sampled blocks (a
        preconditioner for truncated Newton; never used for inference).
        """
        blocks = self.sample_blocks(max_rows)
        H, weight = None, 0.0
        for sl in blocks:
            X, y, s, off = self._chunk(sl)
            part = chunk_stats(X, y, s, off, W, self.layout, grad=False, hess=True)[2]
            H = part if H is None else H + part
            weight += float(np.sum(s))
        self.n_passes += sum(sl.stop - sl.start for sl in blocks) / max(self.n_rows, 1)
        return H, weight

    def sample_blocks(self, max_rows: int) -> list:
        """Evenly spaced row blocks holding about ``max_rows`` rows in all."""
        if max_rows >= self.n_rows:
            return self.blocks
        rows = max(self.blocks[0].stop - self.blocks[0].start, 1)
        size = max(min(rows, max_rows // 8), 64)          # at least 8 pieces
        count = -(-max_rows // size)
        starts = np.linspace(0, self.n_rows - size, count).astype(np.int64)
        return [slice(int(a), int(a) + size) for a in np.unique(starts)]

    def reduce_chunks(self, fn, *args):
        """Σ over chunks of ``fn(X, y, s, offset, *args)`` (one pass).

        ``fn`` may instead take a keyword ``rows`` (the chunk's slice of row
        positions) when it needs to line rows up with other per-row data.

        ``fn`` returns anything that adds up (floats, arrays, tuples of arrays
        are summed element-wise). The generic chunk statistic: Firth's hat
        correction, the robust covariance's "meat" and similar use it.
        """
        self.n_passes += 1
        total = None
        wants_rows = "rows" in inspect.signature(fn).parameters
        for sl in self.blocks:
            part = fn(*self._chunk(sl), *args, **({"rows": sl} if wants_rows else {}))
            if total is None:
                total = part
            elif isinstance(part, tuple):
                total = tuple(a + b for a, b in zip(total, part))
            else:
                total = total + part
        return total

    def logits(self, W) -> np.ndarray:
        """Logits of every row: (n,) binary or (n, K) multinomial."""
        return logits(self.X, W, self.layout, self.offset)
