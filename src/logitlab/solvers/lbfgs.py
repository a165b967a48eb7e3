"""Limited-memory BFGS (scipy's L-BFGS-B) on the smooth objective.

Each iteration costs one or a few passes (value and gradient together). scipy
stops on the projected-gradient max-norm ``gtol``, the same test as every
other solver here; its relative-decrease test is switched off (``ftol=0``)
because near the optimum the decrease per step (~‖g‖²/λ) falls below any
multiple of machine epsilon long before the gradient reaches ``tol``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ._common import Recorder


def solve(objective, w0, *, tol, max_iter=1000, callback=None, memory=20):
    """Minimize the smooth ``objective`` from ``w0`` (L2 or no penalty)."""
    rec = Recorder("lbfgs", objective, tol, callback, max_iter)
    last = {}

    def fun(w):
        f, g, _ = objective.smooth(w)
        last.update(w=w.copy(), f=f, g=g)
        return f, g

    def evaluated_at(w):
        if "w" not in last or not np.array_equal(last["w"], w):
            fun(w)
        return last["f"], last["g"]

    def on_iteration(intermediate_result):
        f, g = evaluated_at(intermediate_result.x)
        if rec.record(f, float(np.max(np.abs(g)))):
            raise StopIteration  # met tol, or the float32 rounding floor scipy cannot know

    f0, g0 = evaluated_at(np.array(w0, dtype=np.float64))
    if rec.record(f0, float(np.max(np.abs(g0)))) or max_iter == 0:
        return rec.result(last["w"])
    res = optimize.minimize(
        fun, np.array(w0, dtype=np.float64), jac=True, method="L-BFGS-B",
        callback=on_iteration,
        options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0,
                 "maxcor": memory, "maxls": 50, "maxfun": 20 * max_iter + 100})
    f, g = evaluated_at(res.x)
    gnorm = float(np.max(np.abs(g)))
    if rec.norms[-1] != gnorm or rec.values[-1] != f:
        rec.record(f, gnorm)
    if gnorm > rec.effective_tol() and res.nit < max_iter:
        # scipy's line search found no decrease: the objective no longer
        # changes at rounding level
        rec.flags.add("stalled")
    return rec.result(res.x)
