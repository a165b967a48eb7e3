"""Compiled loops of the coordinate-descent solver (:mod:`logitlab.solvers.cd`),
in their own module so that importing the solvers compiles and loads nothing:
numba is imported when a coordinate-descent fit first runs.

``cd_loop(H, grad_q, x, l1, penalized, tol, max_sweeps, settle)`` minimizes the
quadratic model ``q(x) = gᵀ(x − w) + ½ (x − w)ᵀ H (x − w) + l1 Σ_{penalized}
|x_j|`` by cyclic soft-thresholded coordinate updates, glmnet's active-set way,
from the point ``x`` whose model gradient is ``grad_q = g + H (x − w)`` (both
updated in place).
"""

from __future__ import annotations

import numpy as np

from ..core.jit import njit

#: ``cd_loop``'s outcomes
CONVERGED, SETTLED, SWEEP_LIMIT = 0, 1, 2
#: sweeps over the active set between two full sweeps while waiting for the
#: set to settle (the direct solve that follows finishes the active values)
SETTLE_SWEEPS = 10


@njit(nogil=True, cache=True)
def sweep(H, grad_q, x, diag, l1, penalized, coords):
    """One cyclic pass over ``coords``; returns the largest ``|Δx_j| H_jj``."""
    biggest = 0.0
    n = x.shape[0]
    for j in coords:
        a = diag[j]
        if a <= 0.0:
            continue
        u = x[j] - grad_q[j] / a
        new = u
        if penalized[j]:
            c = l1 / a
            new = u - c if u > c else (u + c if u < -c else 0.0)
        delta = new - x[j]
        if delta != 0.0:
            x[j] = new
            for i in range(n):
                grad_q[i] += H[j, i] * delta   # H is symmetric: row j is contiguous
            biggest = max(biggest, abs(delta) * a)
    return biggest


@njit(nogil=True, cache=True)
def cd_loop(H, grad_q, x, l1, penalized, tol, max_sweeps, settle):
    """Full sweeps alternating with sweeps over the active set (nonzero or
    unpenalized coordinates) until a full sweep changes no coordinate by more
    than ``tol`` (scaled by ``H_jj``): returns CONVERGED. With ``settle``, it
    returns SETTLED as soon as a full sweep leaves the active set as the
    previous full sweep left it (at most ``SETTLE_SWEEPS`` active sweeps in
    between), so that the caller can finish with a direct solve on that set.
    SWEEP_LIMIT after ``max_sweeps`` sweeps in all (full and active ones): an
    inexact minimizer still gives the outer loop a descent direction, and
    coordinate descent on nearly collinear columns would crawl for ever."""
    diag = np.diag(H).copy()
    every = np.arange(x.shape[0])
    previous = (x != 0.0) | ~penalized
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        if sweep(H, grad_q, x, diag, l1, penalized, every) <= tol:
            return CONVERGED
        current = (x != 0.0) | ~penalized
        if settle and np.array_equal(current, previous):
            return SETTLED
        previous = current
        active = np.flatnonzero(current)
        for _ in range(SETTLE_SWEEPS if settle else max_sweeps):
            sweeps += 1
            if sweep(H, grad_q, x, diag, l1, penalized, active) <= tol or sweeps >= max_sweeps:
                break
    return SWEEP_LIMIT
