"""Statistics of one block of rows: log-likelihood, gradient, Hessian, H·v.

These are the only functions that touch the data. Every backend (in-memory
row blocks, Dask partitions) calls them on a chunk of rows and adds up the
results, so a fit reads each row once per evaluation.

Notation for a chunk of ``n`` rows, ``d`` features, ``K`` classes:

* ``X`` (n, d) dense ndarray or scipy.sparse CSR, float32 or float64;
* ``W`` (d + fit_intercept, C) coefficients: one column per *free* class, the
  intercept in the last row. Binary models have C = 1 (the logit of class 1).
  Multinomial models have C = K (symmetric softmax, used with a penalty) or
  C = K - 1 (the reference class has logit 0: the identifiable MLE, as in R
  ``nnet::multinom`` and statsmodels ``MNLogit``);
* ``s`` (n,) sample weights (unit weights may be a stride-0 view), ``y`` (n,) 0/1
  (binary: int8 codes or floats) or class codes;
* ``offset`` (n,) for binary, (n, K) for multinomial, or None.

Per row, with logits ``z`` and probabilities ``p``:

* binary: ``nll = log(1 + e^z) - y z``, gradient ``x (p - y)``,
  Hessian ``p (1 - p) x xᵀ``;
* multinomial: ``nll = logsumexp(z) - z_y``, gradient block
  ``x (p_k - [y = k])``, Hessian block ``(p_k δ_kl - p_k p_l) x xᵀ``.

Sums (not means) weighted by ``s`` are returned; the objective divides.
The flat parameter vector is ``W.ravel()`` (C order), so the Hessian is
indexed ``[j * C + k, i * C + l]`` for feature rows j, i and classes k, l.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import special
from scipy.linalg import blas

from . import fused as _fused
from .losses import binary_nll_from_logits


@dataclass(frozen=True)
class Layout:
    """Shape of the parameters: which classes carry coefficients.

    ``free_classes`` lists the class indices with a coefficient column
    (binary: ``(1,)``; multinomial: all K, or all but the reference class).
    """

    n_features: int
    n_classes: int
    free_classes: tuple
    fit_intercept: bool = True

    @property
    def multinomial(self) -> bool:
        return self.n_classes > 2

    @property
    def n_rows(self) -> int:
        """Rows of ``W``: features plus the intercept."""
        return self.n_features + int(self.fit_intercept)

    @property
    def n_cols(self) -> int:
        """Columns of ``W``: one per free class."""
        return len(self.free_classes)

    @property
    def size(self) -> int:
        return self.n_rows * self.n_cols

    def matrix(self, w) -> np.ndarray:
        """View the flat vector ``w`` (size,) as ``W`` (n_rows, n_cols)."""
        return np.asarray(w).reshape(self.n_rows, self.n_cols)


@dataclass
class Curvature:
    """Per-row Hessian weights of a chunk, kept for Hessian-vector products.

    binary: ``h`` (n,) = s p (1 - p); multinomial: ``p`` (n, C) the free classes'
    probabilities and ``s`` (n,) the weights.
    """

    h: np.ndarray | None = None
    p: np.ndarray | None = None
    s: np.ndarray | None = None


_UPCAST_ROWS = 1 << 14  # float32 rows converted to float64 at a time


def _as64(X):
    """A float64 copy of a (small) chunk; float64 X is returned as is."""
    return X if X.dtype == np.float64 else X.astype(np.float64)


def _xdot(X, M):
    """``X @ M`` in float64 for dense or sparse ``X`` of any float type.

    float32 X is converted a few thousand rows at a time (storage in
    float32, arithmetic in float64: the result is that of the float64 data).
    A single column goes through matrix-vector code (gemv)."""
    M = np.asarray(M, dtype=np.float64)
    vec = M.ndim == 2 and M.shape[1] == 1
    Mv = M[:, 0] if vec else M
    if X.dtype == np.float64 or X.shape[0] <= _UPCAST_ROWS:
        out = _as64(X) @ Mv
    else:
        out = np.concatenate([_as64(X[i:i + _UPCAST_ROWS]) @ Mv
                              for i in range(0, X.shape[0], _UPCAST_ROWS)])
    out = np.asarray(out)
    return out[:, None] if vec else out


def _xtdot(X, R):
    """``Xᵀ @ R`` in float64 (float32 X converted chunk by chunk)."""
    R = np.asarray(R, dtype=np.float64)
    vec = R.ndim == 2 and R.shape[1] == 1
    Rv = R[:, 0] if vec else R
    if X.dtype == np.float64 or X.shape[0] <= _UPCAST_ROWS:
        out = np.asarray(_as64(X).T @ Rv)
    else:
        out = sum(np.asarray(_as64(X[i:i + _UPCAST_ROWS]).T @ Rv[i:i + _UPCAST_ROWS])
                  for i in range(0, X.shape[0], _UPCAST_ROWS))
    return out[:, None] if vec else out


def logits(X, W, layout: Layout, offset=None) -> np.ndarray:
    """Logits of a chunk: (n,) for binary, (n, K) for multinomial (float64).

    In the reference parametrization the reference class's column is the
    offset only (its coefficients are zero).
    """
    d = layout.n_features
    z = np.asarray(_xdot(X, W[:d]), dtype=np.float64)
    if layout.fit_intercept:
        z = z + W[d]
    if not layout.multinomial:
        z = z[:, 0]
        return z if offset is None else z + offset
    if layout.n_cols == layout.n_classes:
        full = z
    else:
        full = np.zeros((z.shape[0], layout.n_classes))
        full[:, list(layout.free_classes)] = z
    return full if offset is None else full + offset


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
        return _gram_syrk(X, c, fit_intercept, single)
    G = np.empty((m, m))
    if sp.issparse(X):
        X = _as64(X)
        G[:d, :d] = (X.T @ X.multiply(c[:, None]).tocsr()).toarray()
    else:
        G[:d, :d] = _xtdot(X, X * c[:, None]) if d else 0.0
    if fit_intercept:
        col = _xtdot(X, c)
        G[:d, d] = col
        G[d, :d] = col
        G[d, d] = c.sum()
    return G


#: bytes of the row buffer of :class:`GramAccumulator` (it stays in cache)
_GRAM_BYTES = 1 << 20


class GramAccumulator:
    """The upper triangle of ``Σ [X, 1]ᵀ diag(c) [X, 1]`` over the row ranges
    passed to :meth:`add` (dense X, ``c >= 0``), in ``upper`` (m, m),
    Fortran-ordered, float32 if ``single`` else float64 (the lower triangle is
    not referenced).

    Symmetric rank-k updates (BLAS syrk) of ``√c [X, 1]`` built a few rows at a
    time in one ~1 MiB buffer, kept across :meth:`add` calls: the intercept
    comes out of the same update, and nothing X-sized (nor a new buffer per
    range: each was ~256 page faults) is allocated.
    """

    def __init__(self, n_features: int, fit_intercept: bool, single: bool = False):
        self.d = n_features
        self.fit_intercept = fit_intercept
        m = n_features + int(fit_intercept)
        self.dtype, self._syrk = (np.float32, blas.ssyrk) if single else (np.float64, blas.dsyrk)
        self.upper = np.zeros((m, m), self.dtype, order="F")
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
        for a in range(0, n, rows):
            b = min(a + rows, n)
            A = self._buf[:b - a]
            np.multiply(X[a:b], root[a:b, None], out=A[:, :d])
            if self.fit_intercept:
                A[:, d] = root[a:b]
            # Aᵀ of the C-ordered A is Fortran-ordered: syrk reads it in place
            self.upper = self._syrk(1.0, A.T, beta=1.0, c=self.upper, trans=0, lower=0,
                                    overwrite_c=1)
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


def _gram_syrk(X, c, fit_intercept: bool, single: bool = False) -> np.ndarray:
    """``[X, 1]ᵀ diag(c) [X, 1]`` for dense X and ``c >= 0``: float64 (float32
    arithmetic if ``single``)."""
    gram = GramAccumulator(X.shape[1], fit_intercept, single).add(X, c)
    return symmetric_from_upper(gram.upper)


def _grad_matrix(X, R, fit_intercept: bool) -> np.ndarray:
    """``[X, 1]ᵀ R`` for residuals R (n, C): shape (d + fit_intercept, C)."""
    g = _xtdot(X, R)
    if fit_intercept:
        g = np.vstack([g, R.sum(axis=0)[None, :]])
    return g


def _binary_stats(X, y, s, z, layout, want_grad, want_hess, want_curv):
    loss = float(np.dot(s, binary_nll_from_logits(y, z)))
    grad = hess = curv = None
    if want_grad or want_hess or want_curv:
        p = special.expit(z)
        if want_grad:
            grad = _grad_matrix(X, (s * (p - y))[:, None], layout.fit_intercept)
        if want_hess or want_curv:
            h = s * p * (1.0 - p)
            if want_hess:
                hess = weighted_gram(X, h, layout.fit_intercept, nonneg=True)
            if want_curv:
                curv = Curvature(h=h)
    return loss, grad, hess, curv


def _multinomial_hessian(X, P, s, layout, rows: int = 1024) -> np.ndarray:
    """Hessian (size, size) from free-class probabilities ``P`` (n, C).

    Per row the Hessian is ``s (diag(p) - p pᵀ) ⊗ x xᵀ`` (x with the 1 of the
    intercept). The ``p pᵀ`` part for all class pairs is one symmetric
    rank-k update of ``Y = √s (x ⊗ p)`` (n, size); the diagonal class blocks
    are then set from ``s p_k (1 - p_k)`` directly (no cancellation).
    """
    C, m = layout.n_cols, layout.n_rows
    out = np.zeros((layout.size, layout.size))
    for i in range(0, max(X.shape[0], 1), rows):
        Xa = _augmented_dense(X[i:i + rows], layout.fit_intercept)
        Pb, sb = P[i:i + rows], s[i:i + rows]
        Y = (Xa[:, :, None] * (np.sqrt(sb)[:, None] * Pb)[:, None, :]).reshape(Xa.shape[0], -1)
        out -= blas.dsyrk(1.0, np.ascontiguousarray(Y).T, trans=0, lower=0)
    out = np.triu(out) + np.triu(out, 1).T
    H4 = out.reshape(m, C, m, C)
    for k in range(C):
        H4[:, k, :, k] = weighted_gram(X, s * P[:, k] * (1.0 - P[:, k]),
                                       layout.fit_intercept, nonneg=True)
    return out


def _multinomial_stats(X, y, s, Z, layout, want_grad, want_hess, want_curv):
    n, C = Z.shape[0], layout.n_cols
    keep_p = want_hess or want_curv
    P = np.empty((n, C)) if keep_p else np.empty((0, C))
    R = np.empty((n, C)) if want_grad else np.empty((0, C))
    loss = _fused.softmax_rows(np.ascontiguousarray(Z, dtype=np.float64),
                               np.ascontiguousarray(y, dtype=np.int64),
                               np.ascontiguousarray(s, dtype=np.float64),
                               np.asarray(layout.free_classes, dtype=np.int64), P, R)
    grad = _grad_matrix(X, R, layout.fit_intercept) if want_grad else None
    hess = _multinomial_hessian(X, P, s, layout) if want_hess else None
    curv = Curvature(p=P, s=s) if want_curv else None
    return float(loss), grad, hess, curv


def chunk_stats(X, y, s, offset, W, layout: Layout, *, grad=True, hess=False,
                curvature=False, single=False, h_out=None):
    """Weighted sums over one chunk for coefficients ``W``.

    Returns ``(loss, grad, hess, curvature)``: ``loss`` = Σ s·nll (float),
    ``grad`` (n_rows, n_cols) or None, ``hess`` (size, size) or None and the
    per-row :class:`Curvature` for :func:`chunk_hessp` or None. ``single``:
    float32 arithmetic for the X-sized work of binary models on dense float32
    X (:mod:`logitlab.core.fused`); the Hessian is float64 regardless. ``h_out``:
    optional (n,) buffer the fused binary path writes the curvature into.
    """
    if not layout.multinomial and _fused.supports(X):
        return _fused_binary_stats(X, y, s, offset, W, layout, grad, hess, curvature, single,
                                   h_out)
    z = logits(X, W, layout, offset)
    kernel = _multinomial_stats if layout.multinomial else _binary_stats
    return kernel(X, y, s, z, layout, grad, hess, curvature)


def _fused_binary_stats(X, y, s, offset, W, layout, want_grad, want_hess, want_curv, single,
                        h_out=None):
    """Binary chunk statistics through the fused kernels (one read of X)."""
    d = layout.n_features
    b = W[d, 0] if layout.fit_intercept else 0.0
    loss, g, h = _fused.binary_chunk(X, y, s, offset, W[:d, 0], b, grad=want_grad,
                                     curvature=want_hess or want_curv, single=single,
                                     h_out=h_out)
    grad = None if g is None else (g if layout.fit_intercept else g[:d])[:, None]
    hess = weighted_gram(X, h, layout.fit_intercept, nonneg=True) if want_hess else None
    return loss, grad, hess, (Curvature(h=h) if want_curv else None)


def chunk_hessp(X, curv: Curvature, V, layout: Layout, single=False) -> np.ndarray:
    """Σ over the chunk of the Hessian times ``V`` (n_rows, n_cols), same shape.

    Uses the per-row weights stored in ``curv``: one read of the chunk
    (``U = [X, 1] V`` then ``[X, 1]ᵀ (weights * U)``). ``single``: as
    :func:`chunk_stats`.
    """
    d = layout.n_features
    if not layout.multinomial and _fused.supports(X):
        bv = V[d, 0] if layout.fit_intercept else 0.0
        g = _fused.binary_hessp(X, curv.h, V[:d, 0], bv, single=single)
        return (g if layout.fit_intercept else g[:d])[:, None]
    U = np.asarray(_xdot(X, V[:d]), dtype=np.float64)
    if layout.fit_intercept:
        U = U + V[d]
    if layout.multinomial:
        T = np.empty_like(U)
        _fused.softmax_hessp_rows(curv.p, np.ascontiguousarray(curv.s, dtype=np.float64),
                                  np.ascontiguousarray(U), T)
    else:
        T = curv.h[:, None] * U
    return _grad_matrix(X, T, layout.fit_intercept)


def chunk_hess_diag(X, curv: Curvature, layout: Layout) -> np.ndarray:
    """Diagonal of the chunk's Hessian, shaped like ``W`` (n_rows, n_cols).

    Entry (j, k) is ``Σ_i c_ik x_ij²`` with ``c_ik = s_i p_ik (1 - p_ik)``
    (binary: ``h_i``); the intercept row is ``Σ_i c_ik``. One read of the chunk.
    """
    c = (curv.h[:, None] if not layout.multinomial
         else curv.s[:, None] * curv.p * (1.0 - curv.p))
    D = np.zeros((X.shape[1], c.shape[1]))
    c = np.ascontiguousarray(c, dtype=np.float64)
    if sp.issparse(X):
        X = X.tocsr()
        _fused.csr_sq_weighted(X.data, X.indices, X.indptr, c, D)
    else:
        _fused.dense_sq_weighted(np.ascontiguousarray(X), c, D)
    if layout.fit_intercept:
        D = np.vstack([D, c.sum(axis=0)[None, :]])
    return D


def chunk_hess_rows(X, curv: Curvature, rows, layout: Layout) -> np.ndarray:
    """The chunk's Hessian restricted to the rows ``rows`` of ``W`` (sorted; row
    ``n_features`` is the intercept's), every free class: shape
    ``(len(rows)·C, len(rows)·C)``, coordinates in the order of ``W[rows].ravel()``.

    From the per-row weights in ``curv`` (binary ``Σ h x_J x_Jᵀ``; multinomial
    the class blocks of :func:`_multinomial_hessian`), reading only the columns
    ``rows`` of the chunk: the working-set Hessian of coordinate descent, which
    costs ``n·|rows|²`` instead of ``n·d²``.
    """
    d = layout.n_features
    rows = np.asarray(rows, dtype=np.intp)
    feats = rows[rows < d]
    intercept = bool(layout.fit_intercept and rows.size and rows[-1] == d)
    sub = Layout(int(feats.size), layout.n_classes, layout.free_classes, intercept)
    if sub.size == 0:
        return np.zeros((0, 0))
    Xs = X[:, feats]
    if layout.multinomial:
        return _multinomial_hessian(Xs, curv.p, curv.s, sub)
    return weighted_gram(Xs, curv.h, intercept, nonneg=True)


def _augmented_dense(X, fit_intercept: bool) -> np.ndarray:
    """The chunk as a dense float64 ``[X, 1]`` (only for per-row statistics of
    one block, never for the whole data)."""
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    return np.column_stack([Xd, np.ones(Xd.shape[0])]) if fit_intercept else Xd


def chunk_scores(X, y, s, offset, W, layout: Layout) -> np.ndarray:
    """Per-row weighted scores ``s_i (p_i - y_i) ⊗ [x_i, 1]``: (n, size).

    Column ``j * C + k`` (feature row j, class column k) matches the flat
    parameter order; summing the rows gives the gradient of Σ s·nll. Used for
    sandwich (robust / cluster) covariances.
    """
    z = logits(X, W, layout, offset)
    if layout.multinomial:
        P = np.exp(z - np.max(z, axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        R = P[:, list(layout.free_classes)]
        for col, k in enumerate(layout.free_classes):
            R[:, col] -= (y == k)
    else:
        R = (special.expit(z) - y)[:, None]
    R = R * s[:, None]
    Xd = _augmented_dense(X, layout.fit_intercept)
    return (Xd[:, :, None] * R[:, None, :]).reshape(Xd.shape[0], layout.size)


def chunk_hat_correction(X, y, s, offset, W, layout: Layout, info_inv) -> np.ndarray:
    """Firth's correction to the score of a binary model, summed over a chunk.

    With ``w_i = s_i p_i (1 - p_i)`` and the hat values
    ``h_i = w_i [x_i, 1]ᵀ I⁻¹ [x_i, 1]`` (``info_inv`` = I⁻¹, (size, size)),
    returns ``Σ_i h_i (1/2 - p_i) [x_i, 1]`` (size,), the gradient of
    ``½ log det I(β)``.
    """
    z = logits(X, W, layout, offset)
    p = special.expit(z)
    Xd = _augmented_dense(X, layout.fit_intercept)
    h = s * p * (1.0 - p) * np.sum((Xd @ info_inv) * Xd, axis=1)
    return Xd.T @ (h * (0.5 - p))
