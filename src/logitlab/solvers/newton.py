"""Newton / IRLS with a Cholesky factorization and a backtracking line search.

Each iteration computes value, gradient and Hessian in one pass over the data
(:meth:`logitlab.solvers.objective.Objective.smooth`), solves ``H d = -g`` by Cholesky
and takes the largest step ``t`` in 1, 1/2, 1/4, ... that decreases the
objective enough (Armijo). This is the method of R's ``glm`` and statsmodels:
quadratic convergence, so the optimum is reached to machine precision in a
handful of iterations when the number of coefficients is small.

If ``H`` is singular (collinear columns) the minimum-norm step from the
eigendecomposition is used and ``"singular_hessian"`` is flagged.

Once the gradient meets ``tol`` the Newton step from the gradient and
Hessian already in hand is taken once more (flag ``"polished"``), checked by
one value-and-gradient pass (no Hessian) and recorded as the last iteration:
by quadratic convergence it brings the coefficients from ~``tol`` to rounding
level, so default fits reproduce printed tables to their last digit.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ._common import Recorder, backtrack, value_rounding


def newton_direction(H, g):
    """Solve ``H d = -g``; returns ``(d, singular)``."""
    try:
        factor = linalg.cho_factor(H, lower=True, check_finite=False)
        d = -linalg.cho_solve(factor, g, check_finite=False)
        if np.all(np.isfinite(d)):
            return d, False
    except linalg.LinAlgError:
        pass
    vals, vecs = linalg.eigh(H)
    keep = vals > vals.max(initial=0.0) * H.shape[0] * np.finfo(float).eps
    d = -vecs[:, keep] @ ((vecs[:, keep].T @ g) / vals[keep])
    return d, True


def _polish(objective, rec, w, d, f, gnorm):
    """One more Newton step from a converged point, kept if it is no worse."""
    f_new, g_new, _ = objective.smooth(w + d)
    g_norm_new = float(np.max(np.abs(g_new)))
    if f_new <= f + 64 * np.finfo(float).eps * abs(f) and g_norm_new <= gnorm:
        rec.flags.add("polished")
        rec.record(f_new, g_norm_new)
        return w + d
    return w


def solve(objective, w0, *, tol, max_iter=100, callback=None):
    """Minimize the smooth ``objective`` from ``w0`` (L2 or no penalty)."""
    rec = Recorder("newton", objective, tol, callback, max_iter)
    w = np.array(w0, dtype=np.float64)
    f, g, H = objective.smooth(w, hess=True)
    for _ in range(max_iter):
        gnorm = float(np.max(np.abs(g)))
        d, singular = newton_direction(H, g)
        if rec.record(f, gnorm):
            return rec.result(w if singular else _polish(objective, rec, w, d, f, gnorm))
        if singular:
            rec.flags.add("singular_hessian")

        def evaluate(t, d=d):
            fv, gv, Hv = objective.smooth(w + t * d, hess=True)
            return fv, float(np.max(np.abs(gv))), (gv, Hv)

        step = backtrack(evaluate, f, float(g @ d), gnorm,
                         rounding=value_rounding(objective, f))
        if step is None:
            rec.flags.add("line_search_failed")
            return rec.result(w)
        t, f, (g, H) = step
        w = w + t * d
    rec.record(f, float(np.max(np.abs(g))))
    return rec.result(w)
