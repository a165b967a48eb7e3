"""Fused per-row kernels (numba) for binary models, dense and CSR.

One walk over the rows of a chunk computes, while the rows are in cache,
their logits ``z = x·w + b (+ offset)``, weighted log-losses, residuals
``r = s (p - y)`` and gradient contributions ``r x`` — one read of X per
gradient instead of two (``X w`` then ``Xᵀ r``). The Hessian-vector product
``Σ h (x·v) x`` is fused the same way, and so is the Hessian ``Σ h x̃ x̃ᵀ`` of
narrow dense rows (at most ``FUSED_HESS_MAX_COLS`` columns with the
intercept's): each block of ``GRAM_ROWS`` rows of a tile is transposed into L1
and its entries summed two rows by four columns at a time, where BLAS syrk's
thin updates and a second read of X cost 2–3× more.

The loss passes take rows in tiles of ``TILE`` (dense X: fewer when wide
rows would make a tile larger than ``TILE_BYTES``): the tile's logits first,
then the per-row terms as one SIMD loop (:mod:`logitlab.core.vmath`'s
``exp``/``log1p``; libm's scalar calls cost more than the read of X), then
the tile's gradient while its rows are still in L2. Dense rows of at least
``QUAD_MIN_COLS`` columns are taken four at a time, in the loss passes and in
the Hessian-vector product: four dots share each load of ``w``, and the
gradient's partial sums are loaded and stored once per four rows (on wide rows
the one-row loops fell behind the memory: 10–17 % per pass at d = 500–2,000).

Kernels add into caller-owned accumulators (``g``: (d + 1,), the last entry
the intercept's), so a thread can run many chunks into one accumulator.
They are compiled without parallelism and release the GIL: the backends run
chunks on several threads (or Dask workers) instead.

Precision. The dense kernels do their X-sized arithmetic (``x·w`` and the
``Σ r x`` of a few rows) in the dtype of ``w``: float64 ``w`` gives float64
arithmetic whatever the dtype of X (float32 X is widened element by
element: the result is the float64 one of the same numbers); float32 ``w``
with float32 X gives float32 arithmetic, twice the SIMD width (*single*
mode, :func:`binary_chunk`'s ``single=True``). Either way the per-row terms
(exp, log1p, residuals) are float64, and the gradient's partial sums are
flushed into float64 every ``SUB`` rows, so in single mode a row's logit
carries float32 rounding (~1e-7 relative) but the sums over rows do not
grow it. CSR kernels are always float64.

Numerics (per row, ``e = exp(-|z|)``):
``log(1 + e^z) - y z = max(z, 0) + log1p(e) - y z`` and
``p = 1/(1 + e)`` for ``z ≥ 0``, ``e/(1 + e)`` otherwise — exact for any z.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import njit

from .vmath import exp_nonpos, log1p_unit_scalar

#: error_model="numpy": divisions carry no zero check, so loops vectorize
_OPTS = dict(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"},
             boundscheck=False, error_model="numpy")
#: the per-row terms must keep IEEE order (exp/log1p's error terms)
_EXACT_OPTS = dict(nogil=True, cache=True, fastmath={"contract"}, boundscheck=False,
                   error_model="numpy")
#: CSR loops gather and scatter; reassociation only slows them down
_CSR_OPTS = dict(nogil=True, cache=True, boundscheck=False, error_model="numpy")
#: CSR loops index with unsigned integers (``np.uint64(k)``): numba then
#: skips its negative-index wraparound, which made the loops ~1.7× slower.
_U = np.uint64
#: rows per tile: the tile's buffers stay in L1
TILE = 256
#: ... and at most this many bytes of X per tile, so that the scatter re-reads
#: the tile's rows from L2 (at d = 2,000 a tile of 256 float64 rows is 4 MB:
#: the pass read X twice from memory)
TILE_BYTES = 1 << 18
#: the dense kernels take rows four at a time from this many columns on (below
#: it the four rows' loops are too short to gain)
QUAD_MIN_COLS = 128
#: rows whose gradient terms are summed in the arithmetic dtype before being
#: added into float64 (bounds the growth of float32 rounding in single mode)
SUB = 32
#: rows of a tile whose Hessian terms are summed at a time (their two scratch
#: blocks, (d + 1) × GRAM_ROWS float64 each, stay in L1 up to d ≈ 60)
GRAM_ROWS = 64
#: the dense loss pass sums the Hessian itself up to this many columns of
#: ``[X, 1]``; wider ones go to BLAS syrk (:class:`logitlab.core.design.GramAccumulator`).
#: One thread, 250,000 rows, Hessian alone: 1.3 / 3.0 / 8.1 / 16 / 30 ms at
#: d = 5 / 10 / 20 / 32 / 50 against syrk's 3.8 / 6.5 / 13 / 21 / 42 ms
#: (and a second read of X); at d = 100, 115 against 95 ms
FUSED_HESS_MAX_COLS = 64


@njit(**_EXACT_OPTS)
def _tile_terms(z, y, s, i0, m, e, bits, lt, rt, ht):
    """Per-row terms of rows ``i0 .. i0 + m`` from their logits ``z[:m]``:
    ``lt`` = s·nll, ``rt`` = s (p - y), ``ht`` = s p (1 - p) (all (TILE,)).
    ``s`` of shape (1,) is every row's weight.

    Each loop is simple enough for LLVM to vectorize (a conditional load of
    the weights inside the main loop kept it scalar: 9.8 ns a row against
    2.6 ns, measured): exp, then log1p, then the unweighted terms, then the
    weights, as a separate loop and skipped for unit weights (multiplying
    by 1 is exact, so the bits are the same)."""
    for k in range(m):
        lt[k] = -abs(z[k])
    exp_nonpos(lt[:m], e[:m], bits[:m])
    for k in range(m):
        lt[k] = log1p_unit_scalar(e[k])
    yt = y[i0:i0 + m]
    for k in range(m):
        ek = e[k]
        zk = z[k]
        a = 1.0 / (1.0 + ek)
        pos = zk >= 0.0
        p = a if pos else ek * a
        q = ek * a if pos else a
        yk = np.float64(yt[k])
        lt[k] = max(zk, 0.0) + lt[k] - yk * zk
        rt[k] = p - yk
        ht[k] = p * q
    if s.shape[0] == 1:
        if s[0] != 1.0:
            _scale_terms(s[0], m, lt, rt, ht)
    else:
        st = s[i0:i0 + m]
        for k in range(m):
            lt[k] *= st[k]
            rt[k] *= st[k]
            ht[k] *= st[k]


@njit(**_EXACT_OPTS)
def _scale_terms(sk, m, lt, rt, ht):
    """The tile's terms times one weight ``sk`` for every row."""
    for k in range(m):
        lt[k] *= sk
        rt[k] *= sk
        ht[k] *= sk


@njit(inline="always", **_OPTS)
def _four_dots(X, w, i):
    """``(x_i·w, x_{i+1}·w, x_{i+2}·w, x_{i+3}·w)`` in the dtype of ``w``: four
    dots sharing each load of ``w``."""
    z0 = z1 = z2 = z3 = w.dtype.type(0.0)
    for j in range(X.shape[1]):
        wj = w[j]
        z0 += X[i, j] * wj
        z1 += X[i + 1, j] * wj
        z2 += X[i + 2, j] * wj
        z3 += X[i + 3, j] * wj
    return z0, z1, z2, z3


@njit(inline="always", **_OPTS)
def _four_scatter(X, i, r0, r1, r2, r3, gs):
    """``gs += r0 x_i + r1 x_{i+1} + r2 x_{i+2} + r3 x_{i+3}``: one load and store
    of ``gs`` per four rows."""
    for j in range(X.shape[1]):
        gs[j] += r0 * X[i, j] + r1 * X[i + 1, j] + r2 * X[i + 2, j] + r3 * X[i + 3, j]


@njit(**_OPTS)
def _dense_dots(X, w, b, i0, m, z, quad):
    """``z[k] = X[i0 + k]·w + b`` for k < m (the dot in the dtype of ``w``);
    four rows at a time if ``quad`` (four dots share each load of ``w``)."""
    d = X.shape[1]
    k = 0
    while quad and k + 4 <= m:
        z0, z1, z2, z3 = _four_dots(X, w, i0 + k)
        z[k] = z0 + b
        z[k + 1] = z1 + b
        z[k + 2] = z2 + b
        z[k + 3] = z3 + b
        k += 4
    for k in range(k, m):
        zk = w.dtype.type(0.0)
        for j in range(d):
            zk += X[i0 + k, j] * w[j]
        z[k] = zk + b


@njit(**_OPTS)
def _dense_scatter(X, r, i0, m, gs, g, quad):
    """``g[:d] += Σ_k r[k] X[i0 + k]`` for k < m, summed ``SUB`` rows at a time in
    ``gs`` (d,) (the dtype of the arithmetic) and then added into float64 ``g``;
    four rows at a time if ``quad`` (one update of ``gs`` per four rows).
    Returns ``Σ_k r[k]``."""
    d = X.shape[1]
    f = gs.dtype.type
    total = 0.0
    for k0 in range(0, m, SUB):
        gs[:] = 0.0
        k1 = min(k0 + SUB, m)
        k = k0
        while quad and k + 4 <= k1:
            _four_scatter(X, i0 + k, f(r[k]), f(r[k + 1]), f(r[k + 2]), f(r[k + 3]), gs)
            total += r[k] + r[k + 1] + r[k + 2] + r[k + 3]
            k += 4
        for k in range(k, k1):
            rk = f(r[k])
            for j in range(d):
                gs[j] += rk * X[i0 + k, j]
            total += r[k]
        for j in range(d):
            g[j] += gs[j]
    return total


@njit(**_OPTS)
def _tile_buffers():
    """Scratch for one tile: logits, exp, loss, residual, curvature (float64)
    and the exponent bits (int64), all (TILE,)."""
    return (np.empty(TILE), np.empty(TILE), np.empty(TILE), np.empty(TILE), np.empty(TILE),
            np.empty(TILE, np.int64))


@njit(**_OPTS)
def _tile_loss(z, y, s, off, i0, m, keep_h, h, e, lt, rt, ht, bits):
    """From the tile's logits ``z[:m]`` (offset added here): the per-row terms
    into ``lt``/``rt``/``ht``, the curvature copied into ``h`` when kept, and
    the tile's Σ s·nll returned."""
    if off.shape[0] > 0:
        for k in range(m):
            z[k] += off[i0 + k]
    _tile_terms(z, y, s, i0, m, e, bits, lt, rt, ht)
    loss = 0.0
    for k in range(m):
        loss += lt[k]
    if keep_h:
        for k in range(m):
            h[i0 + k] = ht[k]
    return loss


@njit(**_OPTS)
def _tile_rows(d, itemsize):
    """Rows per tile of dense X with ``d`` columns: ``TILE``, or fewer so the
    tile holds at most ``TILE_BYTES`` of X; a multiple of ``SUB`` (the
    scatter's partial sums then group the rows as with full tiles)."""
    fit = TILE_BYTES // max(d * itemsize, 1)
    return max(SUB, min(TILE, fit - fit % SUB))


@njit(inline="always", **_OPTS)
def _dots_2x4(U0, U1, T, q, m):
    """The eight dots ``U0·T[q + j]`` and ``U1·T[q + j]`` (j < 4) over ``m``
    entries: each load of ``T`` serves two rows of ``U``, each of ``U`` four of ``T``."""
    a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = 0.0
    for k in range(m):
        u, v = U0[k], U1[k]
        t0, t1, t2, t3 = T[q, k], T[q + 1, k], T[q + 2, k], T[q + 3, k]
        a0 += u * t0
        a1 += u * t1
        a2 += u * t2
        a3 += u * t3
        c0 += v * t0
        c1 += v * t1
        c2 += v * t2
        c3 += v * t3
    return a0, a1, a2, a3, c0, c1, c2, c3


@njit(inline="always", **_OPTS)
def _dot_rows(U0, T, q, m):
    a = 0.0
    for k in range(m):
        a += U0[k] * T[q, k]
    return a


@njit(**_OPTS)
def _gram_block(X, ht, i0, k0, m, T, U, H):
    """Adds ``Σ_k ht[k] x̃_k x̃_kᵀ`` over the rows ``i0 + k0 .. i0 + k0 + m``
    (``m ≤ GRAM_ROWS``) into the upper triangle of ``H`` (c, c), ``x̃ = [x, 1]``
    when ``c = d + 1``; float64. ``T``, ``U`` (c, GRAM_ROWS) scratch: the rows
    transposed, and times ``ht``. Entries are taken two rows of ``H`` by four
    columns at a time (a few below the diagonal are summed too, never read)."""
    d = X.shape[1]
    c = H.shape[0]
    for k in range(m):
        for j in range(d):
            T[j, k] = X[i0 + k0 + k, j]
    for j in range(d, c):
        T[j, :m] = 1.0
    for p in range(c):
        for k in range(m):
            U[p, k] = ht[k0 + k] * T[p, k]
    for p in range(0, c - 1, 2):
        q = p
        while q + 4 <= c:
            a0, a1, a2, a3, c0, c1, c2, c3 = _dots_2x4(U[p], U[p + 1], T, q, m)
            H[p, q] += a0
            H[p, q + 1] += a1
            H[p, q + 2] += a2
            H[p, q + 3] += a3
            H[p + 1, q] += c0
            H[p + 1, q + 1] += c1
            H[p + 1, q + 2] += c2
            H[p + 1, q + 3] += c3
            q += 4
        for q in range(q, c):
            H[p, q] += _dot_rows(U[p], T, q, m)
            H[p + 1, q] += _dot_rows(U[p + 1], T, q, m)
    if c % 2:
        H[c - 1, c - 1] += _dot_rows(U[c - 1], T, c - 1, m)


@njit(**_OPTS)
def _tile_gram(X, ht, i0, m, T, U, H):
    """:func:`_gram_block` over a tile's ``m`` rows, ``GRAM_ROWS`` at a time
    (the two scratch blocks then stay in L1)."""
    for k0 in range(0, m, GRAM_ROWS):
        _gram_block(X, ht, i0, k0, min(GRAM_ROWS, m - k0), T, U, H)


@njit(**_OPTS)
def dense_gram(X, c, H):
    """Adds ``Σ_i c_i x̃_i x̃_iᵀ`` into the upper triangle of ``H`` (c, c) for
    dense ``X`` (n, d) and weights ``c`` (n,) (``x̃ = [x, 1]`` if ``c = d + 1``);
    float64. For narrow X (:data:`FUSED_HESS_MAX_COLS`), where BLAS syrk's
    thin updates are slow."""
    T = np.empty((H.shape[0], GRAM_ROWS))
    U = np.empty((H.shape[0], GRAM_ROWS))
    for i0 in range(0, X.shape[0], GRAM_ROWS):
        _gram_block(X, c, 0, i0, min(GRAM_ROWS, X.shape[0] - i0), T, U, H)


@njit(**_OPTS)
def dense_binary(X, y, s, off, w, b, want_grad, g, h, H):
    """Σ s·nll over the rows of dense ``X`` (n, d); adds the gradient into
    ``g`` (d + 1,) when ``want_grad``, writes ``h`` (n,) = s p (1 - p) when
    ``h.size == n`` and adds the Hessian ``Σ h x̃ x̃ᵀ`` into the upper triangle
    of ``H`` (c, c; ``x̃ = [x, 1]`` if ``c = d + 1``, ``x`` if ``c = d``) unless
    it is (0, 0). ``y`` (n,) 0/1; ``s`` (n,), or (1,) for one weight of every
    row; ``off`` is (n,) or (0,); ``w`` (d,) sets the arithmetic dtype of the
    loss and gradient (see the module docstring; the Hessian is float64)."""
    n, d = X.shape
    keep_h = h.shape[0] == n
    z, e, lt, rt, ht, bits = _tile_buffers()
    gs = np.empty(d, w.dtype)
    T = np.empty((H.shape[0], GRAM_ROWS))
    U = np.empty((H.shape[0], GRAM_ROWS))
    loss = 0.0
    gi = 0.0
    rows = _tile_rows(d, X.itemsize)
    quad = d >= QUAD_MIN_COLS
    for i0 in range(0, n, rows):
        m = min(rows, n - i0)
        _dense_dots(X, w, b, i0, m, z, quad)
        loss += _tile_loss(z, y, s, off, i0, m, keep_h, h, e, lt, rt, ht, bits)
        if want_grad:
            gi += _dense_scatter(X, rt, i0, m, gs, g, quad)
        if H.shape[0] > 0:
            _tile_gram(X, ht, i0, m, T, U, H)
    if want_grad:
        g[d] += gi
    return loss


@njit(**_OPTS)
def dense_hessp(X, h, v, bv, g, quad):
    """Adds ``Σ_i h_i (x_i·v + bv) [x_i, 1]`` into ``g`` (d + 1,): each row
    once, while it is in L1 (no tiles: there is nothing to vectorize across
    rows); four rows at a time if ``quad`` (four dots share each load of
    ``v``, the partial sums are updated once per four rows). Arithmetic in the
    dtype of ``v``; partial sums over ``SUB`` rows are added into float64 ``g``."""
    n, d = X.shape
    f = v.dtype.type
    gs = np.empty(d, v.dtype)
    gi = 0.0
    for i0 in range(0, n, SUB):
        gs[:] = 0.0
        i1 = min(i0 + SUB, n)
        i = i0
        while quad and i + 4 <= i1:
            u0, u1, u2, u3 = _four_dots(X, v, i)
            t0 = h[i] * (u0 + bv)
            t1 = h[i + 1] * (u1 + bv)
            t2 = h[i + 2] * (u2 + bv)
            t3 = h[i + 3] * (u3 + bv)
            _four_scatter(X, i, f(t0), f(t1), f(t2), f(t3), gs)
            gi += t0 + t1 + t2 + t3
            i += 4
        for i in range(i, i1):
            u = f(0.0)
            for j in range(d):
                u += X[i, j] * v[j]
            t = h[i] * (u + bv)
            tt = f(t)
            for j in range(d):
                gs[j] += tt * X[i, j]
            gi += t
        for j in range(d):
            g[j] += gs[j]
    g[d] += gi


@njit(**_CSR_OPTS)
def _csr_dots(data, indices, indptr, w, b, i0, m, z):
    """``z[k] = x_{i0+k}·w + b`` for k < m (CSR rows)."""
    for k in range(m):
        i = i0 + k
        zk = b
        for t in range(_U(indptr[i]), _U(indptr[i + 1])):
            zk += data[t] * w[_U(indices[t])]
        z[k] = zk


@njit(**_CSR_OPTS)
def _csr_scatter(data, indices, indptr, r, i0, m, g):
    """``g[:d] += Σ_k r[k] x_{i0+k}``; returns ``Σ_k r[k]``."""
    total = 0.0
    for k in range(m):
        i = i0 + k
        rk = r[k]
        for t in range(_U(indptr[i]), _U(indptr[i + 1])):
            g[_U(indices[t])] += rk * data[t]
        total += rk
    return total


@njit(**_CSR_OPTS)
def csr_binary(data, indices, indptr, y, s, off, w, b, want_grad, g, h):
    """:func:`dense_binary` for CSR ``(data, indices, indptr)`` with d = w.size."""
    n = indptr.shape[0] - 1
    d = w.shape[0]
    keep_h = h.shape[0] == n
    z, e, lt, rt, ht, bits = _tile_buffers()
    loss = 0.0
    gi = 0.0
    for i0 in range(0, n, TILE):
        m = min(TILE, n - i0)
        _csr_dots(data, indices, indptr, w, b, i0, m, z)
        loss += _tile_loss(z, y, s, off, i0, m, keep_h, h, e, lt, rt, ht, bits)
        if want_grad:
            gi += _csr_scatter(data, indices, indptr, rt, i0, m, g)
    if want_grad:
        g[d] += gi
    return loss


@njit(**_CSR_OPTS)
def csr_hessp(data, indices, indptr, h, v, bv, g):
    """:func:`dense_hessp` for CSR X."""
    n = indptr.shape[0] - 1
    d = v.shape[0]
    gi = 0.0
    for i in range(n):
        k0, k1 = _U(indptr[i]), _U(indptr[i + 1])
        u = bv
        for k in range(k0, k1):
            u += data[k] * v[_U(indices[k])]
        t = h[i] * u
        for k in range(k0, k1):
            g[_U(indices[k])] += t * data[k]
        gi += t
    g[d] += gi


_EMPTY = np.zeros(0)
_EMPTY_MATRIX = np.zeros((0, 0))


def _arith(X, w, single: bool):
    """``w`` in the arithmetic dtype: float32 for dense float32 X in single
    mode, float64 otherwise."""
    if single and X.dtype == np.float32 and not hasattr(X, "indptr"):
        return np.ascontiguousarray(w, dtype=np.float32)
    return np.ascontiguousarray(w, dtype=np.float64)


#: labels the kernels read as they are (one compiled variant each): int8
#: class codes (what a fit passes) or float 0/1; others become float64
_LABEL_TYPES = (np.dtype(np.int8), np.dtype(np.float64))


def _labels(y):
    """Contiguous int8 or float64 labels as they are, else a float64 copy."""
    if y.dtype in _LABEL_TYPES and y.flags.c_contiguous:
        return y
    return np.ascontiguousarray(y, dtype=np.float64)


def _weights(s):
    """Row weights for the kernels: float64, contiguous. A stride-0 view (one
    weight for every row, as unit weights are passed) becomes that weight
    alone, shape (1,), which :func:`_tile_terms` applies to every row: no
    n-sized copy, and a strided read would cost the loop its SIMD (~25 %)."""
    if s.ndim == 1 and s.shape[0] > 1 and s.strides[0] == 0:
        return np.full(1, s[0], dtype=np.float64)
    return np.ascontiguousarray(s, dtype=np.float64)


def fused_hessian(X, fit_intercept: bool) -> bool:
    """Whether the loss pass of :func:`binary_chunk` can sum the Hessian of
    ``X`` itself (dense, at most :data:`FUSED_HESS_MAX_COLS` columns with the
    intercept's)."""
    return not hasattr(X, "indptr") and X.shape[1] + int(fit_intercept) <= FUSED_HESS_MAX_COLS


def binary_chunk(X, y, s, offset, w, b, *, grad: bool, curvature: bool, g=None,
                 single: bool = False, h_out=None, hess_out=None):
    """Fused loss (+ gradient, + curvature, + Hessian) of a binary chunk.

    ``X`` dense C-ordered or CSR; ``w`` (d,), ``b`` the intercept (0.0
    without one). Returns ``(loss, g, h)``: ``g`` (d + 1,) float64 (added into
    the given accumulator if any) or None, ``h`` (n,) or None. ``single``:
    float32 arithmetic for dense float32 X (see the module docstring).
    ``h_out``: (n,) float64 or float32 array to write the curvature into
    (the caller's reusable buffer) instead of a new float64 one.
    ``hess_out``: (c, c) float64 (dense X, :func:`fused_hessian`) whose upper
    triangle the Hessian ``Σ s p (1 - p) x̃ x̃ᵀ`` is added into, in float64
    (``c = d + 1``: with the intercept's row and column last).
    """
    n = X.shape[0]
    if g is None and grad:
        g = np.zeros(w.shape[0] + 1)
    h = _EMPTY
    if curvature:
        h = np.empty(n) if h_out is None else h_out
    off = _EMPTY if offset is None else np.ascontiguousarray(offset, dtype=np.float64)
    yf, sf = _labels(y), _weights(s)
    acc = g if grad else _EMPTY
    w = _arith(X, w, single)
    if hasattr(X, "indptr"):
        loss = csr_binary(X.data, X.indices, X.indptr, yf, sf, off, w, float(b), grad, acc, h)
    else:
        H = _EMPTY_MATRIX if hess_out is None else hess_out
        loss = dense_binary(X, yf, sf, off, w, float(b), grad, acc, h, H)
    return loss, (g if grad else None), (h if curvature else None)


def binary_hessp(X, h, v, bv, g=None, single: bool = False):
    """Fused ``Σ h (x·v + bv) [x, 1]`` over a chunk: (d + 1,) float64."""
    if g is None:
        g = np.zeros(v.shape[0] + 1)
    v = _arith(X, v, single)
    if hasattr(X, "indptr"):
        csr_hessp(X.data, X.indices, X.indptr, h, v, float(bv), g)
    else:
        dense_hessp(X, h, v, float(bv), g, X.shape[1] >= QUAD_MIN_COLS)
    return g


def supports(X) -> bool:
    """True when X can go through the fused kernels (C-ordered dense or
    canonical CSR, float32/float64)."""
    if X.dtype not in (np.float32, np.float64):
        return False
    if hasattr(X, "indptr"):
        return getattr(X, "format", "") == "csr"
    return isinstance(X, np.ndarray) and X.ndim == 2 and X.flags.c_contiguous


@njit(**_OPTS)
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


@njit(**_OPTS)
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


@njit(**_OPTS)
def dense_column_blocks(X, h, width, intercept, out):
    """Adds ``Σ_i h_i x̃_iJ x̃_iJᵀ`` into ``out[k]`` (width, width) for every block
    ``J = [k·width, (k+1)·width)`` of adjacent columns of ``x̃ = [x, 1]``
    (``x`` alone without ``intercept``) for dense ``X`` (n, d); the last
    block's entries beyond the last column stay as they are. Rows are taken
    a tile at a time (a tile of X stays in L2 while every block reads it),
    and each tile's sums are made in float32 (a preconditioner needs no
    more) before being added into float64 ``out``."""
    n, d = X.shape
    nb = out.shape[0]
    cols = d + 1 if intercept else d
    tile = _tile_rows(d, X.itemsize)
    acc = np.empty((width, width), np.float32)
    row = np.empty(width, np.float32)
    for i0 in range(0, n, tile):
        i1 = min(i0 + tile, n)
        for k in range(nb):
            a = k * width
            w = min(width, cols - a)
            wx = min(w, d - a)                      # columns of X; then the intercept's 1
            acc[:, :] = 0.0
            for i in range(i0, i1):
                hi = np.float32(h[i])
                for q in range(wx):
                    row[q] = X[i, a + q]
                for q in range(wx, w):
                    row[q] = 1.0
                for p in range(w):
                    t = hi * row[p]
                    for q in range(w):
                        acc[p, q] += t * row[q]
            for p in range(w):
                for q in range(w):
                    out[k, p, q] += acc[p, q]


@njit(**_OPTS)
def dense_sq_weighted(X, c, out):
    """Adds ``Σ_i c_ik x_ij²`` into ``out`` (d, C) for dense X (n, d) and weights
    c (n, C), in float64 (no squared copy of X)."""
    n, d = X.shape
    C = c.shape[1]
    acc = np.zeros((C, d))                  # contiguous in j: the inner loop vectorizes
    for i in range(n):
        for col in range(C):
            cc = c[i, col]
            for j in range(d):
                x = np.float64(X[i, j])
                acc[col, j] += cc * (x * x)
    for j in range(d):
        for col in range(C):
            out[j, col] += acc[col, j]


@njit(**_CSR_OPTS)
def csr_sq_weighted(data, indices, indptr, c, out):
    """Adds ``Σ_i c_ik x_ij²`` into ``out`` (d, C) for CSR X and weights c (n, C)."""
    n = indptr.shape[0] - 1
    C = c.shape[1]
    for i in range(n):
        for k in range(_U(indptr[i]), _U(indptr[i + 1])):
            x2 = data[k] * data[k]
            j = _U(indices[k])
            for col in range(C):
                out[j, col] += c[i, col] * x2


@njit(nogil=True, cache=True, boundscheck=False)
def scaled_rows(X, root, out, a, fit_intercept):
    """``out[k, :d] = X[a + k] · root[a + k]`` (and ``out[k, d] = root[a + k]``
    with an intercept) for the rows of ``out``: the products of numpy's
    broadcast multiply, in half its time (its inner loop per row of a hundred
    columns is mostly overhead); :class:`logitlab.core.design.GramAccumulator`'s
    rows of ``√c [X, 1]``."""
    d = X.shape[1]
    for k in range(out.shape[0]):
        r = root[a + k]
        x = X[a + k]
        o = out[k]
        for j in range(d):
            o[j] = x[j] * r
        if fit_intercept:
            o[d] = r
