"""The data backend: the one interface between the rows and everything else.

A backend holds the rows — ``X`` (n, d), class codes ``y`` (n,), sample
weights ``s`` (n,), offsets and cluster codes — somewhere (in memory, in Dask
partitions on workers) and answers questions about them for given
coefficients ``W`` (the family's layout, :mod:`logitlab.core.layout`), each in
one pass that adds up per-chunk sums computed by the model family
(:mod:`logitlab.families.base`). Only coefficients go to the data; only small
sums come back.

The contract (every method is implemented by every backend, and checked by
one test suite run against each, ``tests/test_backend_contract.py``):

=================================== ==========================================
``stats(W, grad, hess, curvature)`` Σ s·nll, its gradient and Hessian (:class:`Stats`)
``hessp(V)``                        Hessian at the last ``curvature=True`` point · V
``hess_rows(rows)``                 that Hessian on some rows of W (working sets)
``hess_diag()``                     its diagonal (preconditioners)
``hess_column_blocks(width)``       its diagonal blocks over adjacent columns
                                    (binary, dense X: preconditioners)
``hessian_sample(W, max_rows,``     (H, weight) over spread-out rows (preconditioners);
``blocks)``                           ``blocks``: only the diagonal class blocks
``curvature_floor(W)``              min p(1-p) from the kept curvature, or None
``kept_curvature(W)``               the kept curvature itself, per block, or None
``reduce_chunks(fn, *args)``        Σ over chunks of any chunk statistic
``local_rows()``                    all rows as arrays when they are in this process, else None
``release()``                       drop what the backend holds on workers
=================================== ==========================================

and, written once here on top of ``reduce_chunks``: the weighted class totals,
the column moments, the count of saturated rows, the sandwich meat of per-row
scores, per-cluster score sums and Firth's hat correction.

Attributes: ``family``, ``layout``, ``n_rows``, ``weight_sum`` (Σ s, the
denominator of the mean log-likelihood), ``n_passes`` (reads of the data),
``grad_noise`` / ``loss_noise`` (rounding error of the mean gradient / loss of
the last ``stats`` call: 0 for float64 arithmetic), ``has_offset``, ``has_groups``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: a row is saturated when its fitted probability of the observed class is within this of 1
SATURATED_NLL = 1e-10


@dataclass
class Stats:
    """Sums over rows: ``loss`` = Σ s·nll, ``grad`` (n_rows, n_cols),
    ``hess`` (size, size); ``grad``/``hess`` are None when not asked for."""

    loss: float
    grad: np.ndarray | None = None
    hess: np.ndarray | None = None

    def __add__(self, other: "Stats") -> "Stats":
        def add(a, b):
            return None if a is None else a + b
        return Stats(self.loss + other.loss, add(self.grad, other.grad),
                     add(self.hess, other.hess))


@dataclass
class LocalRows:
    """All rows of a backend, as arrays in this process (for computations that
    need the rows in one place: the linear-programming separation check)."""

    X: object
    y: np.ndarray
    s: np.ndarray
    offset: np.ndarray | None = None


def add_up(parts):
    """Σ of a list: floats, arrays, :class:`Stats`, or tuples added element-wise."""
    total = None
    for part in parts:
        if total is None:
            total = part
        elif isinstance(part, tuple):
            total = tuple(a + b for a, b in zip(total, part))
        else:
            total = total + part
    return total


# ------------------------------------------------- chunk statistics (picklable)
def chunk_class_totals(X, y, s, offset, n_classes):
    """Σ s per class (K,); binary fractional labels y in [0, 1] (grouped binomial
    data) count ``(Σ s (1 − y), Σ s y)``."""
    y = np.asarray(y)
    if n_classes == 2 and y.dtype.kind == "f":
        s = np.broadcast_to(s, y.shape)
        one = float(np.dot(s, y))
        return np.array([float(np.sum(s)) - one, one])
    s = np.asarray(s)
    if s.ndim == 1 and s.strides == (0,) and s.size:       # one weight for every row
        if n_classes == 2 and y.dtype.kind in "iub":
            ones = np.count_nonzero(y)
            return np.array([y.size - ones, ones], dtype=np.float64) * float(s[0])
        return np.bincount(np.asarray(y, dtype=np.intp), minlength=n_classes) * float(s[0])
    return np.bincount(np.asarray(y, dtype=np.intp), weights=s, minlength=n_classes)


def chunk_moments(X, y, s, offset):
    """A chunk's ``(rows, Σ x, Σ x²)`` per column, float64 (dense or sparse)."""
    rows = np.array([X.shape[0]], dtype=np.float64)
    if sp.issparse(X):
        X = X.astype(np.float64)
        return (rows, np.asarray(X.sum(axis=0)).ravel(),
                np.asarray(X.multiply(X).sum(axis=0)).ravel())
    X = np.asarray(X, dtype=np.float64)
    return rows, X.sum(axis=0), np.einsum("ij,ij->j", X, X)


def chunk_saturated(X, y, s, offset, family, W):
    """Rows of positive weight whose fitted probability of the observed class
    is within :data:`SATURATED_NLL` of 1."""
    nll = family.chunk_row_nll(X, y, offset, W)
    return int(np.count_nonzero((nll < SATURATED_NLL) & (s > 0)))


def chunk_meat(X, y, s, offset, family, W):
    """``Σ_i u_i u_iᵀ / s_i`` of the per-row scores ``u_i`` (frequency weights:
    a row of weight s is s rows with score u / s)."""
    U = family.chunk_scores(X, y, s, offset, W)
    U = U / np.sqrt(np.where(s > 0, s, 1.0))[:, None]
    return U.T @ U


def chunk_cluster_sums(X, y, s, offset, family, W, n_groups, *, groups):
    """Per-cluster sums of the per-row scores: (n_groups, size)."""
    U = family.chunk_scores(X, y, s, offset, W)
    sums = np.zeros((n_groups, family.layout.size))
    np.add.at(sums, groups, U)
    return sums


def chunk_hat_correction(X, y, s, offset, family, W, chol):
    return family.chunk_hat_correction(X, y, s, offset, W, chol)


def chunk_information_and_saturation(X, y, s, offset, family, W):
    """The chunk's Hessian of Σ s·nll at ``W`` (the information) and its count
    of saturated rows, as one flat array (the count in the last entry)."""
    H = family.chunk_stats(X, y, s, offset, W, grad=False, hess=True)[2]
    return np.append(H.ravel(), chunk_saturated(X, y, s, offset, family, W))


class DataBackend:
    """The backend contract (see the module docstring); subclasses implement the
    passes, this class the statistics written on top of :meth:`reduce_chunks`."""

    family = None
    layout = None
    n_rows: int = 0
    weight_sum: float = 0.0
    n_passes: float = 0
    grad_noise: float = 0.0
    loss_noise: float = 0.0
    has_offset: bool = False
    has_groups: bool = False
    is_sparse: bool = False
    #: True when the arrays that ``stats``, ``hessp`` and ``hess_diag`` return
    #: are new ones the caller may overwrite (the objective then scales them in
    #: place: no coefficient-sized temporaries); False: treat them as shared
    fresh_results: bool = False
    #: None, or the most coefficients for which ``solver="auto"`` takes Newton
    #: steps whatever the number of rows: on backends whose passes cost more
    #: than forming a Hessian (Dask), few passes matter most
    newton_max_size: int | None = None

    # ------------------------------------------------------------- passes
    def stats(self, W, *, grad=True, hess=False, curvature=False) -> Stats:
        raise NotImplementedError

    def hessp(self, V) -> np.ndarray:
        raise NotImplementedError

    def hess_rows(self, rows, single: bool = False) -> np.ndarray:
        raise NotImplementedError

    def hess_diag(self) -> np.ndarray:
        raise NotImplementedError

    def hess_column_blocks(self, width: int) -> np.ndarray:
        raise NotImplementedError

    def hessian_sample(self, W, max_rows: int, blocks: bool = False) -> tuple:
        raise NotImplementedError

    def kept_curvature(self, W):
        """``[(s, h), ...]`` per chunk, the weights and the per-row curvature
        ``h = s p (1 - p)`` at ``W`` when kept in this process (binary models),
        or None (then a pass is needed)."""
        return None

    def curvature_floor(self, W):
        """``min p (1 - p)`` over the rows, from the kept curvature, or None
        when the backend cannot tell without a pass."""
        return None

    def reduce_chunks(self, fn, *args):
        """Σ over chunks of ``fn(X, y, s, offset, *args)``; a ``fn`` with a
        ``groups`` keyword also gets the chunk's cluster codes."""
        raise NotImplementedError

    def local_rows(self) -> LocalRows | None:
        return None

    def subsample(self, max_rows: int) -> "DataBackend | None":
        """About ``max_rows`` rows spread over the data, as a backend of their
        own (a start for the full fit), or None when the backend has none."""
        return None

    def release(self) -> None:
        """Drop what the backend holds (on workers); nothing by default."""

    # ------------------------------------------- statistics on reduce_chunks
    def class_totals(self) -> np.ndarray:
        """Σ s per class (K,)."""
        return self.reduce_chunks(chunk_class_totals, self.layout.n_classes)

    def column_sd(self) -> np.ndarray:
        """Standard deviation of each column (unweighted, over all rows), (d,)."""
        n, s1, s2 = self.reduce_chunks(chunk_moments)
        mean = s1 / n[0]
        return np.sqrt(np.maximum(s2 / n[0] - mean ** 2, 0.0))

    def count_saturated(self, W) -> int:
        """Rows whose fitted probability of the observed class is within
        :data:`SATURATED_NLL` of 1; no pass when the kept curvature rules it out."""
        floor = self.curvature_floor(W)
        if floor is not None and floor > 2 * SATURATED_NLL:
            return 0
        return int(self.reduce_chunks(chunk_saturated, self.family, W))

    def information_and_saturation(self, W) -> tuple:
        """The information (size, size) at ``W`` and the saturated row count, one pass."""
        size = self.layout.size
        flat = self.reduce_chunks(chunk_information_and_saturation, self.family, W)
        return flat[:-1].reshape(size, size), int(flat[-1])

    def score_meat(self, W) -> np.ndarray:
        """``Σ_i u_i u_iᵀ`` of the per-row scores at ``W`` (size, size)."""
        return self.reduce_chunks(chunk_meat, self.family, W)

    def cluster_score_sums(self, W, n_groups: int) -> np.ndarray:
        """Per-cluster sums of the scores at ``W`` (n_groups, size)."""
        if not self.has_groups:
            raise ValueError("cluster sums need the rows' cluster codes (groups).")
        return self.reduce_chunks(chunk_cluster_sums, self.family, W, int(n_groups))

    def hat_correction(self, W, chol) -> np.ndarray:
        """Firth's correction of the score at ``W`` (size,)."""
        return self.reduce_chunks(chunk_hat_correction, self.family, W, chol)
