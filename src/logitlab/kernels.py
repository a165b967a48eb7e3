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
* ``s`` (n,) sample weights, ``y`` (n,) 0/1 floats (binary) or class codes;
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


def _xdot(X, M):
    """``X @ M`` for dense or sparse ``X``, computed in ``X``'s float type."""
    return X @ M.astype(X.dtype, copy=False)


def _xtdot(X, R):
    """``Xᵀ @ R`` in ``X``'s float type, returned as float64."""
    out = X.T @ R.astype(X.dtype, copy=False)
    return np.asarray(out, dtype=np.float64)


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


def weighted_gram(X, c, fit_intercept: bool, nonneg: bool) -> np.ndarray:
    """``[X, 1]ᵀ diag(c) [X, 1]`` as a dense (d+1, d+1) or (d, d) float64 array.

    The column of ones is never materialized. For ``c >= 0`` on dense float
    data the X block is one symmetric rank-k update (BLAS syrk) of ``sqrt(c) X``.
    """
    d = X.shape[1]
    m = d + int(fit_intercept)
    G = np.empty((m, m))
    if sp.issparse(X):
        G[:d, :d] = (X.T @ X.multiply(c[:, None]).tocsr()).toarray()
    elif nonneg and X.dtype in (np.float32, np.float64) and X.shape[0] > 0 and d > 0:
        A = np.asarray(X * np.sqrt(c, dtype=np.float64).astype(X.dtype)[:, None])
        syrk = blas.ssyrk if X.dtype == np.float32 else blas.dsyrk
        upper = syrk(1.0, np.asfortranarray(A), trans=1, lower=0)
        upper = np.asarray(upper, dtype=np.float64)
        G[:d, :d] = np.triu(upper) + np.triu(upper, 1).T
    else:
        G[:d, :d] = _xtdot(X, X * c[:, None]) if d else 0.0
    if fit_intercept:
        col = _xtdot(X, c)
        G[:d, d] = col
        G[d, :d] = col
        G[d, d] = c.sum()
    return G


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


def _multinomial_hessian(X, P, s, layout) -> np.ndarray:
    """Hessian (size, size) from free-class probabilities ``P`` (n, C)."""
    C, m = layout.n_cols, layout.n_rows
    H4 = np.empty((m, C, m, C))
    for a in range(C):
        for b in range(a, C):
            c = -s * P[:, a] * P[:, b]
            if a == b:
                c = c + s * P[:, a]
            G = weighted_gram(X, c, layout.fit_intercept, nonneg=(a == b))
            H4[:, a, :, b] = G
            H4[:, b, :, a] = G.T
    return H4.reshape(layout.size, layout.size)


def _multinomial_stats(X, y, s, Z, layout, want_grad, want_hess, want_curv):
    m_ = np.max(Z, axis=1, keepdims=True)
    shifted = Z - m_
    lse = np.log(np.sum(np.exp(shifted), axis=1))
    rows = np.arange(Z.shape[0])
    loss = float(np.dot(s, lse - shifted[rows, y]))
    grad = hess = curv = None
    if want_grad or want_hess or want_curv:
        P = np.exp(shifted - lse[:, None])[:, list(layout.free_classes)]
        if want_grad:
            R = P.copy()
            for col, k in enumerate(layout.free_classes):
                R[:, col] -= (y == k)
            grad = _grad_matrix(X, R * s[:, None], layout.fit_intercept)
        if want_hess:
            hess = _multinomial_hessian(X, P, s, layout)
        if want_curv:
            curv = Curvature(p=P, s=s)
    return loss, grad, hess, curv


def chunk_stats(X, y, s, offset, W, layout: Layout, *, grad=True, hess=False,
                curvature=False):
    """Weighted sums over one chunk for coefficients ``W``.

    Returns ``(loss, grad, hess, curvature)``: ``loss`` = Σ s·nll (float),
    ``grad`` (n_rows, n_cols) or None, ``hess`` (size, size) or None and the
    per-row :class:`Curvature` for :func:`chunk_hessp` or None.
    """
    z = logits(X, W, layout, offset)
    kernel = _multinomial_stats if layout.multinomial else _binary_stats
    return kernel(X, y, s, z, layout, grad, hess, curvature)


def chunk_hessp(X, curv: Curvature, V, layout: Layout) -> np.ndarray:
    """Σ over the chunk of the Hessian times ``V`` (n_rows, n_cols), same shape.

    Uses the per-row weights stored in ``curv``: one read of the chunk
    (``U = [X, 1] V`` then ``[X, 1]ᵀ (weights * U)``).
    """
    d = layout.n_features
    U = np.asarray(_xdot(X, V[:d]), dtype=np.float64)
    if layout.fit_intercept:
        U = U + V[d]
    if layout.multinomial:
        PU = curv.p * U
        T = curv.s[:, None] * (PU - curv.p * PU.sum(axis=1, keepdims=True))
    else:
        T = curv.h[:, None] * U
    return _grad_matrix(X, T, layout.fit_intercept)


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
