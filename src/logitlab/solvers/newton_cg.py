"""Truncated Newton: preconditioned conjugate gradients on H·v products.

The Hessian is never formed over all rows, so this suits large n, wide or
sparse X. Each outer iteration evaluates value and gradient and keeps the
per-row curvature (one pass); each inner CG step is one Hessian-vector
product (one pass). The inner solve stops at relative residual
``η = min(0.5, √‖g‖)`` (Eisenstat–Walker forcing), which gives superlinear
convergence, but never tighter than needed to bring ‖g‖ under the tolerance, and is
preconditioned (:mod:`logitlab.solvers.precondition`)
by a sampled Hessian (dense X) or the Hessian's diagonal (sparse X), so it
needs a few products per outer iteration instead of tens.
"""

from __future__ import annotations

import numpy as np

from . import precondition
from ._common import Recorder, backtrack, max_abs, value_rounding

#: rebuild the preconditioner after a solve that took more products than this
#: (and at the first iterations: :func:`precondition.refresh_iterations`)
SLOW_CG = 10
#: the inner solve never aims below this fraction of the tolerance: a
#: residual ``‖r‖₂ ≤ TOL_MARGIN · tol`` already brings the gradient under tol
TOL_MARGIN = 0.3


def forcing(gnorm2: float, tol: float) -> float:
    """Relative residual for the inner solve: ``min(0.5, √‖g‖₂)`` (superlinear
    convergence), but no tighter than the tolerance needs."""
    return min(0.5, max(np.sqrt(gnorm2), TOL_MARGIN * tol / max(gnorm2, 1e-300)))


def conjugate_gradient(hessp, g, rtol, max_iter, precond=precondition.IDENTITY, atol=0.0):
    """Approximately solve ``H d = -g`` (preconditioned CG from d = 0).

    Stops when ``‖r‖₂ ≤ rtol ‖g‖₂``, when ``‖r‖∞ ≤ atol`` (the residual is
    the model's gradient after the step: the solvers pass ``TOL_MARGIN · tol``,
    so the step is expected to end the run), or at a direction of zero
    curvature.
    Returns ``(d, n_products)``.
    """
    d = np.zeros_like(g)
    r = -g
    z = precond.apply(r)
    p = z.copy()
    rz = float(r @ z)
    stop = (rtol ** 2) * float(g @ g)
    for k in range(max_iter):
        Hp = hessp(p)
        curv = float(p @ Hp)
        if curv <= 1e-16 * float(p @ p):   # flat or singular direction
            return (d if k else z), k + 1
        a = rz / curv
        Hp *= a                            # r -= a Hp and d += a p, in place,
        r -= Hp                            # with Hp as the scratch
        np.multiply(p, a, out=Hp)
        d += Hp
        del Hp                             # before the next product is made
        if float(r @ r) <= stop or max_abs(r) <= atol:
            return d, k + 1
        z = precond.apply(r, out=z)
        rz_new = float(r @ z)
        p *= rz_new / rz                   # p = z + (rz_new / rz) p
        p += z
        rz = rz_new
    return d, max_iter


def solve(objective, w0, *, tol, max_iter=200, callback=None, cg_max_iter=None,
          preconditioner="auto"):
    """Minimize the smooth ``objective`` from ``w0`` (L2 or no penalty).

    ``preconditioner``: ``"auto"`` (sampled Hessian for dense X, diagonal for
    sparse), ``"sample"``, ``"diag"`` or ``"none"``.
    """
    rec = Recorder("newton-cg", objective, tol, callback, max_iter)
    cg_max_iter = cg_max_iter or min(objective.size, 250)
    kind = precondition.choose_kind(objective, preconditioner)
    w = np.array(w0, dtype=np.float64)
    f, g, _ = objective.smooth(w, curvature=True)
    M, n_cg = precondition.IDENTITY, 0
    refresh = precondition.refresh_iterations(objective, kind)
    for it in range(max_iter):
        gnorm = max_abs(g)
        if rec.record(f, gnorm):
            return rec.result(w)
        if kind != "none" and (it <= refresh or n_cg > SLOW_CG):
            M = None                                # the old one freed before the pass
            M = precondition.build(objective, w, kind)
        rtol = forcing(float(np.linalg.norm(g)), tol)
        d, n_cg = conjugate_gradient(objective.hessp, g, rtol, cg_max_iter, M,
                                     atol=TOL_MARGIN * rec.effective_tol())

        def evaluate(t, d=d):
            fv, gv, _ = objective.smooth(w + t * d, curvature=True)
            return fv, max_abs(gv), gv

        step = backtrack(evaluate, f, float(g @ d), gnorm,
                         rounding=value_rounding(objective, f))
        if step is None:
            rec.flags.add("line_search_failed")
            return rec.result(w)
        t, f, g = step
        w = w + t * d
    rec.record(f, max_abs(g))
    return rec.result(w)
