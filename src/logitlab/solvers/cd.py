"""Coordinate descent inside an IRLS loop (glmnet's method) for L1 / elastic net.

Outer loop (proximal Newton): at ``w`` form the quadratic model of the smooth
part, ``q(x) = gᵀ(x - w) + ½ (x - w)ᵀ H (x - w)``, and minimize
``q(x) + l1 ‖x_β‖₁`` by cyclic coordinate descent, each coordinate solved in
closed form by soft-thresholding::

    x_j ← S(x_j - ∇q_j / H_jj, l1 / H_jj),   S(u, c) = sign(u) max(|u| - c, 0)

then step to ``w + t (x - w)`` with a line search on the full objective.
Coefficients that the soft-threshold sets to zero are exactly zero.

Working set (glmnet's strong rules): the inner problem moves only the
coordinates that are nonzero, unpenalized, or zero with ``|g_j| ≥ STRONG · l1``
— the others would be soft-thresholded back to zero — so each outer step
forms the Hessian of those few columns (``n·k²``, :meth:`Objective.hess_block`)
instead of all ``size`` (``n·size²``). A zero coordinate that comes to violate
its optimality condition (``|g_j| > l1``) joins the set at the next outer
step; the run ends only when the full gradient meets the tolerance. The
Hessian is still dense in the set, so the method is meant for up to a few
thousand coefficients (``auto`` uses ``gd`` beyond that).
"""

from __future__ import annotations

import numpy as np


from ._common import Recorder, backtrack

MAX_SIZE = 5000
#: zero coordinates with ``|g_j| ≥ STRONG · l1`` join the working set: the
#: sequential strong rule ``|g_j| ≥ 2 λ − λ_prev`` of a path whose grid steps
#: by λ_prev ≈ 1.5 λ (violators, ``|g_j| > l1``, are always in)
STRONG = 0.5


def coordinate_descent(H, g, w, l1, penalized, tol, max_sweeps=1000):
    """Minimize ``gᵀ(x-w) + ½(x-w)ᵀH(x-w) + l1 Σ_pen |x_j|`` from ``x = w``.

    Cyclic coordinate descent with an active set (compiled): sweeps until the
    largest change of a coordinate, scaled by ``H_jj``, is below ``tol`` on a
    full sweep. Returns ``x`` (size,).
    """
    from .cd_kernels import cd_loop      # numba: loaded when a cd fit first runs
    return cd_loop(np.ascontiguousarray(H), np.asarray(g, dtype=np.float64),
                    np.asarray(w, dtype=np.float64), float(l1),
                   np.asarray(penalized, dtype=np.bool_), float(tol), int(max_sweeps))


def working_set(objective, w, g) -> np.ndarray:
    """Coordinates the inner coordinate descent may move: the unpenalized and
    nonzero ones, and the zero ones with ``|g_j| ≥ STRONG · l1``. Every
    coordinate violating its optimality condition (``|g_j| > l1`` at zero) is
    in the set, so the outer loop cannot stop short of the full optimum."""
    pen = objective.penalized
    return np.flatnonzero(~pen | (w != 0.0) | (np.abs(g) >= STRONG * objective.l1))


def solve(objective, w0, *, tol, max_iter=100, callback=None):
    """Minimize smooth part + L1 term of ``objective`` from ``w0``."""
    if objective.size > MAX_SIZE:
        raise ValueError(
            f"solver='cd' forms the Hessian of up to {objective.size} coefficients; it "
            f"is meant for up to {MAX_SIZE}. Use solver='gd' (proximal gradient) for "
            "L1 penalties on wider data.")
    rec = Recorder("cd", objective, tol, callback, max_iter)
    w = np.array(w0, dtype=np.float64)
    f, g, _ = objective.smooth(w, curvature=True)
    F = f + objective.l1_term(w)
    for _ in range(max_iter):
        kkt = objective.kkt_violation(w, g)
        if rec.record(F, kkt):
            return rec.result(w)
        ws = working_set(objective, w, g)
        x = w.copy()
        x[ws] = coordinate_descent(objective.hess_block(ws), g[ws], w[ws], objective.l1,
                                   objective.penalized[ws],
                                   tol=max(0.1 * min(kkt, 1.0), 0.01 * tol))
        d = x - w
        decrease = float(g @ d) + objective.l1_term(x) - objective.l1_term(w)

        def evaluate(t, d=d):
            point = w + t * d
            fv, gv, _ = objective.smooth(point, curvature=True)
            return fv + objective.l1_term(point), objective.kkt_violation(point, gv), gv

        step = backtrack(evaluate, F, min(decrease, 0.0), kkt)
        if step is None:
            rec.flags.add("line_search_failed")
            return rec.result(w)
        t, F, g = step
        w = x if t == 1.0 else w + t * d
    rec.record(F, objective.kkt_violation(w, g))
    return rec.result(w)
