"""Coordinate descent inside an IRLS loop (glmnet's method) for L1 / elastic net.

Outer loop (proximal Newton): at ``w`` form the quadratic model of the smooth
part, ``q(x) = gᵀ(x - w) + ½ (x - w)ᵀ H (x - w)``, and minimize
``q(x) + l1 ‖x_β‖₁`` by cyclic coordinate descent, each coordinate solved in
closed form by soft-thresholding::

    x_j ← S(x_j - ∇q_j / H_jj, l1 / H_jj),   S(u, c) = sign(u) max(|u| - c, 0)

then step to ``w + t (x - w)`` with a line search on the full objective.
Coefficients that the soft-threshold sets to zero are exactly zero.
The Hessian here is the full (size, size) matrix, so the method is meant for
up to a few thousand coefficients (``auto`` uses ``gd`` beyond that).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._common import Recorder, backtrack

MAX_SIZE = 5000


@nb.njit(nogil=True, cache=True)
def _sweep(H, grad_q, x, diag, l1, penalized, coords):
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


@nb.njit(nogil=True, cache=True)
def _cd_loop(H, g, w, l1, penalized, tol, max_sweeps):
    x = w.copy()
    grad_q = g.copy()
    diag = np.diag(H).copy()
    every = np.arange(x.shape[0])
    for _ in range(max_sweeps):
        if _sweep(H, grad_q, x, diag, l1, penalized, every) <= tol:
            break
        # glmnet's active set: iterate on the nonzero coordinates until they
        # settle, then a full sweep checks whether the set is complete
        active = np.flatnonzero((x != 0.0) | ~penalized)
        for _ in range(max_sweeps):
            if _sweep(H, grad_q, x, diag, l1, penalized, active) <= tol:
                break
    return x


def coordinate_descent(H, g, w, l1, penalized, tol, max_sweeps=1000):
    """Minimize ``gᵀ(x-w) + ½(x-w)ᵀH(x-w) + l1 Σ_pen |x_j|`` from ``x = w``.

    Cyclic coordinate descent with an active set (compiled): sweeps until the
    largest change of a coordinate, scaled by ``H_jj``, is below ``tol`` on a
    full sweep. Returns ``x`` (size,).
    """
    return _cd_loop(np.ascontiguousarray(H), np.asarray(g, dtype=np.float64),
                    np.asarray(w, dtype=np.float64), float(l1),
                    np.asarray(penalized, dtype=np.bool_), float(tol), int(max_sweeps))


def solve(objective, w0, *, tol, max_iter=100, callback=None):
    """Minimize smooth part + L1 term of ``objective`` from ``w0``."""
    if objective.size > MAX_SIZE:
        raise ValueError(
            f"solver='cd' forms the {objective.size}x{objective.size} Hessian; it is "
            f"meant for up to {MAX_SIZE} coefficients. Use solver='gd' (proximal "
            "gradient) for L1 penalties on wider data.")
    rec = Recorder("cd", objective, tol, callback, max_iter)
    w = np.array(w0, dtype=np.float64)
    f, g, H = objective.smooth(w, hess=True)
    F = f + objective.l1_term(w)
    for _ in range(max_iter):
        kkt = objective.kkt_violation(w, g)
        if rec.record(F, kkt):
            return rec.result(w)
        x = coordinate_descent(H, g, w, objective.l1, objective.penalized,
                               tol=max(0.1 * min(kkt, 1.0), 0.01 * tol))
        d = x - w
        decrease = float(g @ d) + objective.l1_term(x) - objective.l1_term(w)

        def evaluate(t, d=d):
            fv, gv, Hv = objective.smooth(w + t * d, hess=True)
            point = w + t * d
            return fv + objective.l1_term(point), objective.kkt_violation(point, gv), (gv, Hv)

        step = backtrack(evaluate, F, min(decrease, 0.0), kkt)
        if step is None:
            rec.flags.add("line_search_failed")
            return rec.result(w)
        t, F, (g, H) = step
        w = x if t == 1.0 else w + t * d
    rec.record(F, objective.kkt_violation(w, g))
    return rec.result(w)
