"""Compiled loops of the coordinate-descent solver (:mod:`logitlab.solvers.cd`),
in their own module so that importing the solvers compiles and loads nothing:
numba is imported when a coordinate-descent fit first runs.

``cd_loop(H, g, w, l1, penalized, tol, max_sweeps)`` minimizes the quadratic
model ``gᵀ(x − w) + ½ (x − w)ᵀ H (x − w) + l1 Σ_{penalized} |x_j|`` by cyclic
soft-thresholded coordinate updates, glmnet's active-set way.
"""

from __future__ import annotations

import numpy as np

from ..core.jit import njit


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
def cd_loop(H, g, w, l1, penalized, tol, max_sweeps):
    x = w.copy()
    grad_q = g.copy()
    diag = np.diag(H).copy()
    every = np.arange(x.shape[0])
    for _ in range(max_sweeps):
        if sweep(H, grad_q, x, diag, l1, penalized, every) <= tol:
            break
        # glmnet's active set: iterate on the nonzero coordinates until they
        # settle, then a full sweep checks whether the set is complete
        active = np.flatnonzero((x != 0.0) | ~penalized)
        for _ in range(max_sweeps):
            if sweep(H, grad_q, x, diag, l1, penalized, active) <= tol:
                break
    return x
