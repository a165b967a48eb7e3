"""Compiled scans of large inputs, in their own module so that numba loads only
when an input is large enough to need them: the float bit patterns (the
finiteness check, :func:`logitlab.data.validation.check_finite`) and the
columns' largest magnitudes (the separation check's scaling)."""

from __future__ import annotations

import numpy as np

from .jit import njit


@njit(nogil=True, cache=True, boundscheck=False)
def max_exponent(bits, mask):
    """``max(bits & mask)`` over a flat integer view of floats: equals ``mask``
    (all exponent bits set) exactly when some entry is NaN or ±inf."""
    top = bits.dtype.type(0)
    for i in range(bits.shape[0]):
        top = max(top, bits[i] & mask)
    return top


@njit(nogil=True, cache=True, boundscheck=False, fastmath={"reassoc", "nsz"})
def column_max_abs(X, out):
    """``out[j] = max(out[j], max_i |X[i, j]|)`` for C-ordered ``X`` (n, d): one
    read of the rows (NumPy's reduction along axis 0 of narrow rows takes
    ~2 ns an entry)."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            out[j] = max(out[j], abs(np.float64(X[i, j])))
