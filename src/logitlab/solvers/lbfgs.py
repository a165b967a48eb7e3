"""Limited-memory BFGS with a rounding-aware backtracking line search.

Each iteration costs one pass (value and gradient together) unless the unit
step is cut back. The direction ``d = -H_k g`` comes from the two-loop
recursion over the last ``memory`` pairs ``s = w_{k+1} - w_k``,
``y = g_{k+1} - g_k`` (Nocedal & Wright 2006, Algorithm 7.4), with the
initial matrix ``γ I``, ``γ = sᵀy / yᵀy`` of the newest pair.

The step is Armijo backtracking from ``t = 1`` (:func:`._common.backtrack`).
The objective is strictly convex (L2) or convex, so every accepted step gives
``sᵀy > 0`` without a Wolfe curvature test; pairs with ``sᵀy`` at rounding
level are skipped. Near the optimum the decrease per step falls below the
rounding error of the objective — in float64 long before the gradient reaches
``tol``, and much earlier with float32 arithmetic (``data.loss_noise``) — so,
as in the Newton solvers, a step whose change in value is within rounding is
accepted when the gradient shrank. The stopping test is the one every solver
here uses: the gradient max-norm at most ``tol`` (or the float32 rounding
floor, :meth:`._common.Recorder.effective_tol`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ._common import Recorder, backtrack, value_rounding


def two_loop(g, pairs) -> np.ndarray:
    """``H g`` for the L-BFGS inverse-Hessian approximation of ``pairs``
    (oldest first: ``(s, y, 1 / sᵀy)``); ``g`` when there are none."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s @ q)
        q -= a * y
        alphas.append(a)
    if pairs:
        s, y, _ = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        q += (a - rho * float(y @ q)) * s
    return q


def solve(objective, w0, *, tol, max_iter=1000, callback=None, memory=20):
    """Minimize the smooth ``objective`` from ``w0`` (L2 or no penalty).

    ``memory``: the number of ``(s, y)`` pairs kept.
    """
    rec = Recorder("lbfgs", objective, tol, callback, max_iter)
    pairs: deque = deque(maxlen=max(int(memory), 1))
    w = np.array(w0, dtype=np.float64)
    f, g, _ = objective.smooth(w)
    for _ in range(max_iter):
        gnorm = float(np.max(np.abs(g)))
        if rec.record(f, gnorm):
            return rec.result(w)
        d = -two_loop(g, pairs)
        slope = float(g @ d)
        if not pairs or not slope < 0:
            # first step, or a direction spoilt by rounding: steepest descent,
            # scaled to unit length (the line search only shortens it)
            pairs.clear()
            d = -g / max(float(np.linalg.norm(g)), 1e-300)
            slope = float(g @ d)

        def evaluate(t, d=d):
            fv, gv, _ = objective.smooth(w + t * d)
            return fv, float(np.max(np.abs(gv))), gv

        step = backtrack(evaluate, f, slope, gnorm, rounding=value_rounding(objective, f))
        if step is None:
            # no decrease along d at rounding level: the objective no longer changes
            rec.flags.add("stalled")
            return rec.result(w)
        t, f, g_new = step
        s, y = t * d, g_new - g
        sy = float(s @ y)
        if sy > 1e-12 * float(np.linalg.norm(s)) * float(np.linalg.norm(y)):
            pairs.append((s, y, 1.0 / sy))
        w, g = w + s, g_new
    rec.record(f, float(np.max(np.abs(g))))
    return rec.result(w)
