"""A compiled scan of float bit patterns (the finiteness check of large inputs,
:func:`logitlab.data.validation.check_finite`), in its own module so that
numba loads only when an input is large enough to need it."""

from __future__ import annotations

from .jit import njit


@njit(nogil=True, cache=True, boundscheck=False)
def max_exponent(bits, mask):
    """``max(bits & mask)`` over a flat integer view of floats: equals ``mask``
    (all exponent bits set) exactly when some entry is NaN or ±inf."""
    top = bits.dtype.type(0)
    for i in range(bits.shape[0]):
        top = max(top, bits[i] & mask)
    return top
