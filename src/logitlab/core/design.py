"""Products with the design matrix of one chunk of rows.

``X`` is a chunk: (n, d) dense ndarray or scipy.sparse CSR, float32 or float64.
``[X, 1]`` is X with a column of ones appended when the model has an
intercept (never materialized for whole data). Every result is float64:
float32 X is converted a few thousand rows at a time (float32 storage,
float64 arithmetic), except where ``single`` asks for float32 arithmetic
(preconditioners only, never inference).

* :func:`xdot` ``X M`` and :func:`xtdot` ``Xᵀ R``;
* :func:`design_t_residuals` ``[X, 1]ᵀ R`` (a gradient from per-row residuals);
* :func:`weighted_gram` ``[X, 1]ᵀ diag(c) [X, 1]`` (a Hessian from per-row
  curvatures), by symmetric rank-k updates (:class:`GramAccumulator`);
* :func:`augmented_dense` the chunk as a dense ``[X, 1]`` (per-row statistics).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


_UPCAST_ROWS = 1 << 14  # float32 rows converted to float64 at a time


def as_float64(X):
    """A float64 copy of a (small) chunk; float64 X is returned as is."""
    return X if X.dtype == np.float64 else X.astype(np.float64)


def xdot(X, M):
    """``X @ M`` in float64 for dense or sparse ``X`` of any float type.

    float32 X is converted a few thousand rows at a time (storage in
    float32, arithmetic in float64: the result is that of the float64 data).
    A single column goes through matrix-vector code (gemv)."""
    M = np.asarray(M, dtype=np.float64)
    vec = M.ndim == 2 and M.shape[1] == 1
    Mv = M[:, 0] if vec else M
    if X.dtype == np.float64 or X.shape[0] <= _UPCAST_ROWS:
        out = as_float64(X) @ Mv
    else:
        out = np.concatenate([as_float64(X[i:i + _UPCAST_ROWS]) @ Mv
                              for i in range(0, X.shape[0], _UPCAST_ROWS)])
    out = np.asarray(out)
    return out[:, None] if vec else out


def xtdot(X, R):
    """``Xᵀ @ R`` in float64 (float32 X converted chunk by chunk)."""
    R = np.asarray(R, dtype=np.float64)
    vec = R.ndim == 2 and R.shape[1] == 1
    Rv = R[:, 0] if vec else R
    if X.dtype == np.float64 or X.shape[0] <= _UPCAST_ROWS:
        out = np.asarray(as_float64(X).T @ Rv)
    else:
        out = sum(np.asarray(as_float64(X[i:i + _UPCAST_ROWS]).T @ Rv[i:i + _UPCAST_ROWS])
                  for i in range(0, X.shape[0], _UPCAST_ROWS))
    return out[:, None] if vec else out


def weighted_gram(X, c, fit_intercept: bool, nonneg: bool, single: bool = False) -> np.ndarray:
    """``[X, 1]ᵀ diag(c) [X, 1]`` as a dense (d+1, d+1) or (d, d) float64 array.

    For ``c >= 0`` on dense float data: symmetric rank-k updates (BLAS syrk)
    (:class:`GramAccumulator`); otherwise ``Xᵀ (c X)`` with the column of ones never materialized.
    ``single``: float32 arithmetic (twice as fast; for preconditioners only,
    never for inference).
    """
    d = X.shape[1]
    m = d + int(fit_intercept)
    if nonneg and not sp.issparse(X) and X.dtype in (np.float32, np.float64) \
            and X.shape[0] > 0 and d > 0:
        return gram_syrk(X, c, fit_intercept, single)
    G = np.empty((m, m))
    if sp.issparse(X):
        X = as_float64(X)
        G[:d, :d] = (X.T @ X.multiply(c[:, None]).tocsr()).toarray()
    else:
        G[:d, :d] = xtdot(X, X * c[:, None]) if d else 0.0
    if fit_intercept:
        col = xtdot(X, c)
        G[:d, d] = col
        G[d, :d] = col
        G[d, d] = c.sum()
    return G


#: bytes of the row buffer of :class:`GramAccumulator` (it stays in L2; at
#: 100,000 × 500 a float32 sampled Hessian took 51 ms with 1 MiB, 47.5 with 2)
_GRAM_BYTES = 1 << 21


class GramAccumulator:
    """``Σ [X, 1]ᵀ diag(c) [X, 1]`` over the row ranges passed to :meth:`add`
    (dense X, ``c >= 0``), in ``upper`` (m, m), float32 if ``single`` else
    float64 (symmetric; callers read its upper triangle).

    Symmetric rank-k updates ``AᵀA`` of ``A = √c [X, 1]`` built a few rows at a
    time in one ~1 MiB buffer, kept across :meth:`add` calls: the intercept
    comes out of the same update, and nothing X-sized (nor a new buffer per
    range: each was ~256 page faults) is allocated. The products go through
    NumPy's matmul, which calls BLAS syrk for ``AᵀA`` *and releases the GIL*
    (SciPy's ``blas.dsyrk`` holds it, so the backends' threads formed their
    Hessians one at a time).
    """

    def __init__(self, n_features: int, fit_intercept: bool, single: bool = False):
        self.d = n_features
        self.fit_intercept = fit_intercept
        m = n_features + int(fit_intercept)
        self.dtype = np.float32 if single else np.float64
        self.upper = np.zeros((m, m), self.dtype)
        self._product = np.empty((m, m), self.dtype)
        self._rows = max(64, _GRAM_BYTES // (m * np.dtype(self.dtype).itemsize))
        self._buf = None

    def add(self, X, c) -> "GramAccumulator":
        """Adds rows ``X`` (k, d) with weights ``c`` (k,)."""
        n, d = X.shape[0], self.d
        if n == 0:
            return self
        rows = int(min(n, self._rows))
        if self._buf is None or self._buf.shape[0] < rows:
            self._buf = np.empty((rows, self.upper.shape[0]), self.dtype)
        root = np.sqrt(c, dtype=np.float64).astype(self.dtype, copy=False)
        scaled_rows = None
        if compiled_path(X):            # numba's loop: half the time of the broadcast
            from .fused import scaled_rows
        for a in range(0, n, rows):
            b = min(a + rows, n)
            A = self._buf[:b - a]
            if scaled_rows is not None:
                scaled_rows(X, root, A, a, self.fit_intercept)
            else:
                np.multiply(X[a:b], root[a:b, None], out=A[:, :d])
                if self.fit_intercept:
                    A[:, d] = root[a:b]
            np.matmul(A.T, A, out=self._product)    # syrk (same buffer, transposed)
            self.upper += self._product
        return self


def symmetric_from_upper(upper) -> np.ndarray:
    """The symmetric float64 matrix whose upper triangle is that of ``upper``:
    ``upper`` itself with its lower triangle filled in when it is float64 (a
    float64 copy when float32). Mirrored a block of columns at a time, so no
    temporaries of the matrix's size (each new MB is ~250 page faults)."""
    G = np.asarray(upper, dtype=np.float64)
    m = G.shape[0]
    for a in range(0, m, _MIRROR_BLOCK):
        b = min(a + _MIRROR_BLOCK, m)
        block = G[a:b, a:b]
        block[...] = np.triu(block) + np.triu(block, 1).T
        G[b:, a:b] = G[a:b, b:].T
    return G


#: columns mirrored at a time by :func:`symmetric_from_upper`
_MIRROR_BLOCK = 64


def gram_syrk(X, c, fit_intercept: bool, single: bool = False) -> np.ndarray:
    """``[X, 1]ᵀ diag(c) [X, 1]`` for dense X and ``c >= 0``: float64 (float32
    arithmetic if ``single``). Narrow X on the compiled path goes through
    :func:`logitlab.core.fused.dense_gram` in float64, wider X and float32
    sums through BLAS syrk."""
    if not single and compiled_path(X):
        from . import fused
        if fused.fused_hessian(X, fit_intercept):
            upper = np.zeros((X.shape[1] + int(fit_intercept),) * 2)
            fused.dense_gram(X, np.ascontiguousarray(c, dtype=np.float64), upper)
            return symmetric_from_upper(upper)
    gram = GramAccumulator(X.shape[1], fit_intercept, single).add(X, c)
    return symmetric_from_upper(gram.upper)


def design_t_residuals(X, R, fit_intercept: bool) -> np.ndarray:
    """``[X, 1]ᵀ R`` for residuals R (n, C): shape (d + fit_intercept, C)."""
    g = xtdot(X, R)
    if fit_intercept:
        g = np.vstack([g, R.sum(axis=0)[None, :]])
    return g


def augmented_dense(X, fit_intercept: bool) -> np.ndarray:
    """The chunk as a dense float64 ``[X, 1]`` (only for per-row statistics of
    one block, never for the whole data)."""
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    return np.column_stack([Xd, np.ones(Xd.shape[0])]) if fit_intercept else Xd


#: below this many stored entries (n·d dense, nnz sparse) a chunk goes through NumPy /
#: BLAS instead of the compiled kernels: the same sums (tests/test_small_data_path.py),
#: and such data would not wait for numba. (It was off until the Firth solver judged
#: steps against the rounding of ½ log det I and stopped at its rounding floor: on a
#: nearly degenerate Firth fit, collinear33, the two paths' different rounding decided
#: whether it stalled ~8e-10 above tol.)
COMPILED_MIN_ENTRIES = 2**18


def compiled_path(X) -> bool:
    """True when the compiled (numba) kernels serve chunk ``X``: C-ordered dense or
    canonical CSR, float32/float64, with at least :data:`COMPILED_MIN_ENTRIES`
    stored entries."""
    if X.dtype not in (np.float32, np.float64):
        return False
    if hasattr(X, "indptr"):
        return getattr(X, "format", "") == "csr" and X.nnz >= COMPILED_MIN_ENTRIES
    return (isinstance(X, np.ndarray) and X.ndim == 2 and X.flags.c_contiguous
            and X.size >= COMPILED_MIN_ENTRIES)


def dense_or_csr_sq_weighted(X, c, fit_intercept: bool, out=None) -> np.ndarray:
    """``Σ_i c_ik x_ij²`` (d, C) for per-row weights ``c`` (n, C), with the
    intercept's row ``Σ_i c_ik`` appended: the diagonal of a weighted Gram
    matrix, in one read of the chunk (compiled loops for dense and CSR X).

    ``out``: a C-ordered float64 (d + 1, C) accumulator to add the sums into
    (its last row the intercept's, left alone without one); then the view of
    it shaped as the result is returned, and nothing d-sized is allocated on
    the compiled path."""
    d, C = X.shape[1], c.shape[1]
    c = np.ascontiguousarray(c, dtype=np.float64)
    if sp.issparse(X):
        X = X.tocsr()
    D = np.zeros((d, C)) if out is None else out[:d]
    if not compiled_path(X):
        D += np.asarray(X.multiply(X).T @ c) if sp.issparse(X) else \
            np.square(np.asarray(X, dtype=np.float64)).T @ c
    elif sp.issparse(X):
        from . import fused
        fused.csr_sq_weighted(X.data, X.indices, X.indptr, c, D)
    else:
        from . import fused
        fused.dense_sq_weighted(np.ascontiguousarray(X), c, D)
    if out is not None:
        if fit_intercept:
            out[d] += c.sum(axis=0)
        return out if fit_intercept else D
    if fit_intercept:
        D = np.vstack([D, c.sum(axis=0)[None, :]])
    return D
