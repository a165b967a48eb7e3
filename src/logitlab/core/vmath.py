"""Vectorizable ``exp`` and ``log1p`` for the fused kernels (numba).

``math.exp`` and ``math.log1p`` compile to scalar libm calls (~25 ns a row
together), which made the loss pass of a dense binary fit cost twice a read
of X. These versions are branch-free polynomials over a tile of values, so
LLVM turns each loop into SIMD code (4 doubles per AVX2 instruction):

* ``exp(x)`` for ``x ≤ 0``: ``x = n ln2 + r`` with ``|r| ≤ ln2 / 2``
  (Cody–Waite: ln2 split in two parts, so ``r`` is exact to ~1e-20),
  ``e^r`` by its Taylor series to degree 13 (truncation < 4e-18), and
  ``2^n`` built in the exponent bits. ``n`` comes from the "magic number"
  rounding ``x/ln2 + 1.5·2^52``, whose low mantissa bits are ``n``.
  Below ``x = -708`` (where ``2^n`` would leave the normal range) the
  result is 0 instead of a subnormal ≤ 3e-308.
* ``log1p(e)`` for ``0 ≤ e ≤ 1``: ``u = 1 + e`` rounded and the rounding
  error ``c = e - (u - 1)`` kept; ``u = 2^k m`` with ``m ∈ [√½, √2]``;
  ``log m = 2 atanh(s)``, ``s = (m - 1)/(m + 1)``, ``|s| ≤ 0.1716``, by its
  series to ``s²¹`` (truncation < 3e-17 relative); then
  ``log1p(e) = k ln2 + log m + c/u``.

Both are within a few ulps of the correctly rounded values (tested against
``math.exp`` / ``math.log1p`` over the whole range).
"""

from __future__ import annotations

import numpy as np

from .jit import njit

#: error_model="numpy": a division by zero gives inf instead of raising, so the
#: loops carry no branch and vectorize
_OPTS = dict(nogil=True, cache=True, fastmath={"contract"}, boundscheck=False,
             error_model="numpy")

LOG2E = 1.4426950408889634
LN2_HI = 0.6931471803691238      # ln2 with its last 20 bits zeroed: n·LN2_HI is exact
LN2_LO = 1.9082149292705877e-10  # ln2 - LN2_HI
LN2 = 0.6931471805599453
SQRT2 = 1.4142135623730951
MAGIC = 6755399441055744.0       # 1.5·2^52: adding it rounds to an integer in the low bits
EXP_MIN = -708.0

_INV_FACT = np.array([1.0 / np.prod(np.arange(1, k + 1, dtype=float)) for k in range(14)])
_INV_ODD = np.array([1.0 / (2 * k + 1) for k in range(11)])


@njit(**_OPTS)
def exp_nonpos(x, out, bits):
    """``out[k] = exp(x[k])`` for ``x[k] ≤ 0`` (k < x.size); ``bits`` is an
    int64 scratch array of the same size (the tiles are reused by callers)."""
    m = x.shape[0]
    t = out  # out holds the rounded multiple of ln2 until the last loop
    for k in range(m):
        xk = max(x[k], EXP_MIN)
        t[k] = xk * LOG2E + MAGIC
    tb = t.view(np.int64)
    magic_bits = np.int64(0x4338000000000000)
    for k in range(m):
        bits[k] = (tb[k] - magic_bits + 1023) << 52
    scale = bits.view(np.float64)
    c = _INV_FACT
    for k in range(m):
        xk = max(x[k], EXP_MIN)
        n = t[k] - MAGIC
        r = (xk - n * LN2_HI) - n * LN2_LO
        p = c[13]
        p = p * r + c[12]
        p = p * r + c[11]
        p = p * r + c[10]
        p = p * r + c[9]
        p = p * r + c[8]
        p = p * r + c[7]
        p = p * r + c[6]
        p = p * r + c[5]
        p = p * r + c[4]
        p = p * r + c[3]
        p = p * r + c[2]
        p = p * r + 1.0
        p = p * r + 1.0
        out[k] = p * scale[k] if x[k] >= EXP_MIN else 0.0


@njit(**_OPTS)
def log1p_unit_scalar(ek):
    """``log1p(ek)`` for ``0 ≤ ek ≤ 1``; vectorizes when inlined in a loop."""
    c = _INV_ODD
    u = 1.0 + ek
    corr = (ek - (u - 1.0)) / u
    kf = np.float64(u > SQRT2)
    mm = u * (1.0 - 0.5 * kf)
    s = (mm - 1.0) / (mm + 1.0)
    s2 = s * s
    q = c[10]
    q = q * s2 + c[9]
    q = q * s2 + c[8]
    q = q * s2 + c[7]
    q = q * s2 + c[6]
    q = q * s2 + c[5]
    q = q * s2 + c[4]
    q = q * s2 + c[3]
    q = q * s2 + c[2]
    q = q * s2 + c[1]
    q = q * s2 + 1.0
    return kf * LN2 + 2.0 * s * q + corr


@njit(**_OPTS)
def log1p_unit(e, out):
    """``out[k] = log1p(e[k])`` for ``0 ≤ e[k] ≤ 1``."""
    for k in range(e.shape[0]):
        out[k] = log1p_unit_scalar(e[k])
