"""Fused per-row kernels (numba) for binary models, dense and CSR.

One loop over the rows of a chunk computes, while each row is in cache,
its logit ``z = x·w + b (+ offset)``, its weighted log-loss, the residual
``r = s (p - y)`` and the gradient contribution ``r x`` — one read of X per
gradient instead of two (``X w`` then ``Xᵀ r``). The Hessian-vector product
``Σ h (x·v) x`` is fused the same way.

Kernels add into caller-owned accumulators (``g``: (d + 1,), the last entry
the intercept's), so a thread can run many chunks into one accumulator.
They are compiled without parallelism and release the GIL: the backends run
chunks on several threads (or Dask workers) instead. Accumulation is in
float64 whatever the dtype of X.

Numerics (per row, ``e = exp(-|z|)``):
``log(1 + e^z) - y z = max(z, 0) + log1p(e) - y z`` and
``p = 1/(1 + e)`` for ``z ≥ 0``, ``e/(1 + e)`` otherwise — exact for any z.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_OPTS = dict(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"}, boundscheck=False)
#: CSR loops gather and scatter; reassociation only slows them down
_CSR_OPTS = dict(nogil=True, cache=True, boundscheck=False)


@nb.njit(**_OPTS)
def _row_terms(z, y, s):
    """(weighted loss, residual r = s (p - y), curvature s p (1 - p)) of one row."""
    e = math.exp(-abs(z))
    a = 1.0 / (1.0 + e)
    if z >= 0.0:
        p, q = a, e * a
        nll = z + math.log1p(e) - y * z
    else:
        p, q = e * a, a
        nll = math.log1p(e) - y * z
    return s * nll, s * (p - y), s * p * q


@nb.njit(**_OPTS)
def dense_binary(X, y, s, off, w, b, want_grad, g, h):
    """Σ s·nll over the rows of dense ``X`` (n, d); adds the gradient into
    ``g`` (d + 1,) when ``want_grad`` and writes ``h`` (n,) = s p (1 - p) when
    ``h.size == n``. ``off`` is (n,) or (0,)."""
    n, d = X.shape
    has_off = off.shape[0] == n
    keep_h = h.shape[0] == n
    loss = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += X[i, j] * w[j]
        if has_off:
            z += off[i]
        li, r, hi = _row_terms(z, y[i], s[i])
        loss += li
        if keep_h:
            h[i] = hi
        if want_grad:
            for j in range(d):
                g[j] += r * X[i, j]
            g[d] += r
    return loss


@nb.njit(**_OPTS)
def dense_hessp(X, h, v, bv, g):
    """Adds ``Σ_i h_i (x_i·v + bv) [x_i, 1]`` into ``g`` (d + 1,)."""
    n, d = X.shape
    for i in range(n):
        u = bv
        for j in range(d):
            u += X[i, j] * v[j]
        t = h[i] * u
        for j in range(d):
            g[j] += t * X[i, j]
        g[d] += t


@nb.njit(**_CSR_OPTS)
def csr_binary(data, indices, indptr, y, s, off, w, b, want_grad, g, h):
    """:func:`dense_binary` for CSR ``(data, indices, indptr)`` with d = w.size."""
    n = indptr.shape[0] - 1
    d = w.shape[0]
    has_off = off.shape[0] == n
    keep_h = h.shape[0] == n
    loss = 0.0
    for i in range(n):
        z = b
        for k in range(indptr[i], indptr[i + 1]):
            z += data[k] * w[indices[k]]
        if has_off:
            z += off[i]
        li, r, hi = _row_terms(z, y[i], s[i])
        loss += li
        if keep_h:
            h[i] = hi
        if want_grad:
            for k in range(indptr[i], indptr[i + 1]):
                g[indices[k]] += r * data[k]
            g[d] += r
    return loss


@nb.njit(**_CSR_OPTS)
def csr_hessp(data, indices, indptr, h, v, bv, g):
    """:func:`dense_hessp` for CSR X."""
    n = indptr.shape[0] - 1
    d = v.shape[0]
    for i in range(n):
        a, b = indptr[i], indptr[i + 1]
        u = bv
        for k in range(a, b):
            u += data[k] * v[indices[k]]
        t = h[i] * u
        for k in range(a, b):
            g[indices[k]] += t * data[k]
        g[d] += t


_EMPTY = np.zeros(0)


def binary_chunk(X, y, s, offset, w, b, *, grad: bool, curvature: bool, g=None):
    """Fused loss (+ gradient, + curvature) of a binary chunk.

    ``X`` dense C-ordered or CSR; ``w`` (d,) float64, ``b`` the intercept (0.0
    without one). Returns ``(loss, g, h)``: ``g`` (d + 1,) (added into the
    given accumulator if any) or None, ``h`` (n,) or None.
    """
    n = X.shape[0]
    if g is None and grad:
        g = np.zeros(w.shape[0] + 1)
    h = np.empty(n) if curvature else _EMPTY
    off = _EMPTY if offset is None else np.ascontiguousarray(offset, dtype=np.float64)
    yf = np.ascontiguousarray(y, dtype=np.float64)
    sf = np.ascontiguousarray(s, dtype=np.float64)
    acc = g if grad else _EMPTY
    if hasattr(X, "indptr"):
        loss = csr_binary(X.data, X.indices, X.indptr, yf, sf, off, w, float(b), grad, acc, h)
    else:
        loss = dense_binary(X, yf, sf, off, w, float(b), grad, acc, h)
    return loss, (g if grad else None), (h if curvature else None)


def binary_hessp(X, h, v, bv, g=None):
    """Fused ``Σ h (x·v + bv) [x, 1]`` over a chunk: (d + 1,)."""
    if g is None:
        g = np.zeros(v.shape[0] + 1)
    if hasattr(X, "indptr"):
        csr_hessp(X.data, X.indices, X.indptr, h, v, float(bv), g)
    else:
        dense_hessp(X, h, v, float(bv), g)
    return g


def supports(X) -> bool:
    """True when X can go through the fused kernels (C-ordered dense or
    canonical CSR, float32/float64)."""
    if X.dtype not in (np.float32, np.float64):
        return False
    if hasattr(X, "indptr"):
        return getattr(X, "format", "") == "csr"
    return isinstance(X, np.ndarray) and X.ndim == 2 and X.flags.c_contiguous


@nb.njit(**_OPTS)
def softmax_rows(Z, y, s, free, P, R):
    """Multinomial per-row terms from full logits ``Z`` (n, K).

    Returns Σ s (logsumexp(z) - z_y); writes the free classes' probabilities
    into ``P`` (n, C) and the weighted residuals ``s (p - [y = k])`` into
    ``R`` (n, C) when they have n rows. ``free`` (C,) lists the free classes.
    """
    n, K = Z.shape
    C = free.shape[0]
    keep_p = P.shape[0] == n
    keep_r = R.shape[0] == n
    loss = 0.0
    for i in range(n):
        m = Z[i, 0]
        for k in range(1, K):
            m = max(m, Z[i, k])
        total = 0.0
        for k in range(K):
            total += math.exp(Z[i, k] - m)
        loss += s[i] * (math.log(total) + m - Z[i, y[i]])
        if keep_p or keep_r:
            for c in range(C):
                p = math.exp(Z[i, free[c]] - m) / total
                if keep_p:
                    P[i, c] = p
                if keep_r:
                    R[i, c] = s[i] * (p - (1.0 if y[i] == free[c] else 0.0))
    return loss


@nb.njit(**_OPTS)
def softmax_hessp_rows(P, s, U, T):
    """``T = s (P∘U - P (Σ_c P∘U))`` row by row (the multinomial curvature
    applied to ``U = [X, 1] V``); all (n, C)."""
    n, C = P.shape
    for i in range(n):
        acc = 0.0
        for c in range(C):
            acc += P[i, c] * U[i, c]
        for c in range(C):
            T[i, c] = s[i] * P[i, c] * (U[i, c] - acc)


@nb.njit(**_CSR_OPTS)
def csr_sq_weighted(data, indices, indptr, c, out):
    """Adds ``Σ_i c_ik x_ij²`` into ``out`` (d, C) for CSR X and weights c (n, C)."""
    n = indptr.shape[0] - 1
    C = c.shape[1]
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            x2 = data[k] * data[k]
            for col in range(C):
                out[indices[k], col] += c[i, col] * x2
