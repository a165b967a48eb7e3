"""Truncated Newton: conjugate gradients on Hessian-vector products.

The Hessian is never formed, so this suits wide or sparse X. Each outer
iteration evaluates value and gradient and keeps the per-row curvature
(one pass); each inner CG step is one Hessian-vector product (one pass).
The inner solve stops at relative residual ``min(0.5, sqrt(‖g‖))``
(Eisenstat–Walker forcing), which gives superlinear convergence.
"""

from __future__ import annotations

import numpy as np

from ._common import Recorder, backtrack


def conjugate_gradient(hessp, g, rtol, max_iter):
    """Approximately solve ``H d = -g``. Returns ``(d, n_products)``."""
    d = np.zeros_like(g)
    r = -g.copy()
    p = r.copy()
    rr = float(r @ r)
    stop = (rtol ** 2) * rr
    for k in range(max_iter):
        Hp = hessp(p)
        curv = float(p @ Hp)
        if curv <= 1e-16 * float(p @ p):   # flat or singular direction
            return (d if k else -g), k + 1
        a = rr / curv
        d += a * p
        r -= a * Hp
        rr_new = float(r @ r)
        if rr_new <= stop:
            return d, k + 1
        p = r + (rr_new / rr) * p
        rr = rr_new
    return d, max_iter


def solve(objective, w0, *, tol, max_iter=200, callback=None, cg_max_iter=None):
    """Minimize the smooth ``objective`` from ``w0`` (L2 or no penalty)."""
    rec = Recorder("newton-cg", objective, tol, callback, max_iter)
    cg_max_iter = cg_max_iter or min(objective.size, 250)
    w = np.array(w0, dtype=np.float64)
    f, g, _ = objective.smooth(w, curvature=True)
    for _ in range(max_iter):
        gnorm = float(np.max(np.abs(g)))
        if rec.record(f, gnorm):
            return rec.result(w)
        g2 = float(np.linalg.norm(g))
        d, _ = conjugate_gradient(objective.hessp, g, min(0.5, np.sqrt(g2)), cg_max_iter)

        def evaluate(t, d=d):
            fv, gv, _ = objective.smooth(w + t * d, curvature=True)
            return fv, float(np.max(np.abs(gv))), gv

        step = backtrack(evaluate, f, float(g @ d), gnorm)
        if step is None:
            rec.flags.add("line_search_failed")
            return rec.result(w)
        t, f, g = step
        w = w + t * d
    rec.record(f, float(np.max(np.abs(g))))
    return rec.result(w)
