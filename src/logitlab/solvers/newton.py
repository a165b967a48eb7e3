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
level, so default fits reproduce printed tables to their last digit. With
``information=True`` (fits with inference) that pass forms the Hessian too
and keeps the rows' curvature: the information at the returned point is
``SolverResult.hessian``, and the fit's aliasing and saturation checks need
no pass of their own.

Nearly collinear columns (flag ``"qr_steps"``): when the Hessian at the start,
scaled to unit diagonal, has a condition number above :data:`QR_CONDITION`
(LAPACK's estimate from its Cholesky factor), it carries too few correct
digits for the steps in the collinear direction — its condition is the square
of the design's — and the solver switches to the R factor of the weighted
design instead (:mod:`logitlab.solvers.qr`; one extra pass per iteration,
accurate to the design's condition times ε as R's QR-based IRLS). A small
gradient does not show convergence along such a direction (a step of 1e8 in
it changes the gradient by 1e-8), so these steps go on after the gradient
meets ``tol`` until the Newton decrement is at the objective's rounding level
or stops shrinking.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from . import qr
from ._common import Recorder, backtrack, value_rounding

#: condition number of the unit-diagonal Hessian above which steps come from
#: the R factor of the weighted design (κ(H) = κ(design)²: 1e8 leaves ~8 digits)
QR_CONDITION = 1e8
#: extra QR steps allowed after the gradient meets tol (the decrement must
#: shrink by at least this factor at each, else the solver stops)
_EXTRA_STEPS, _SHRINK = 6, 0.25


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


def _polish(objective, rec, w, d, f, gnorm, H=None):
    """One more Newton step from a converged point, kept if it is no worse:
    ``(point, Hessian there)``. With ``H`` (the Hessian at ``w``) the pass at
    ``w + d`` forms the Hessian too, so either point's is known, and keeps the
    per-row curvature where the fit's checks of aliasing and saturation read
    it instead of passing over the data; else None."""
    information = H is not None
    keep = information and objective.data.family.curvature_serves_checks
    f_new, g_new, H_new = objective.smooth(w + d, hess=information, curvature=keep)
    g_norm_new = float(np.max(np.abs(g_new)))
    if f_new <= f + 64 * np.finfo(float).eps * abs(f) and g_norm_new <= gnorm:
        rec.flags.add("polished")
        rec.record(f_new, g_norm_new)
        return w + d, H_new
    return w, H


def ill_conditioned(H) -> bool:
    """Whether the Hessian scaled to unit diagonal ``D H D`` has an estimated
    condition number above :data:`QR_CONDITION` (or is not positive definite)."""
    diag = np.diagonal(H)
    if H.size == 0:
        return False
    if not (np.all(np.isfinite(H)) and np.all(diag > 0)):
        return True
    inv = 1.0 / np.sqrt(diag)
    Hs = H * inv[:, None] * inv[None, :]
    try:
        c, _ = linalg.cho_factor(Hs, lower=False, check_finite=False)
    except linalg.LinAlgError:
        return True
    rcond, info = linalg.lapack.dpocon(c, np.max(np.sum(np.abs(Hs), axis=0)))
    return info != 0 or not rcond * QR_CONDITION > 1.0


def solve(objective, w0, *, tol, max_iter=100, callback=None, information=False):
    """Minimize the smooth ``objective`` from ``w0`` (L2 or no penalty).
    ``information``: return the Hessian at the solution (``result.hessian``;
    the polishing pass forms it), which a fit with inference needs."""
    rec = Recorder("newton", objective, tol, callback, max_iter)
    w = np.array(w0, dtype=np.float64)
    f, g, H = objective.smooth(w, hess=True)
    if ill_conditioned(H):
        return _solve_qr(objective, rec, w, f, g, max_iter)
    for _ in range(max_iter):
        gnorm = float(np.max(np.abs(g)))
        d, singular = newton_direction(H, g)
        if rec.record(f, gnorm):
            if singular:
                return rec.result(w)
            w, H = _polish(objective, rec, w, d, f, gnorm, H if information else None)
            result = rec.result(w)
            result.hessian = H
            return result
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


def _solve_qr(objective, rec, w, f, g, max_iter):
    """Newton with steps from the R factor of the weighted design
    (:func:`logitlab.solvers.qr.hessian_factor`); see the module docstring."""
    rec.flags.add("qr_steps")
    bounds = qr.RoundingBounds(objective)
    extra, last = 0, np.inf
    for _ in range(max_iter):
        gnorm = float(np.max(np.abs(g))) if g.size else 0.0
        rec.grad_floor = bounds.gradient(w)
        R = qr.hessian_factor(objective, w)
        d, singular = qr.qr_direction(R, g)
        decrement = float(-g @ d)
        if singular:
            rec.flags.add("singular_hessian")
        if rec.record(f, gnorm):
            rounding = max(value_rounding(objective, f), bounds.value(w))
            settled = 0.5 * decrement <= rounding
            if settled or singular or extra >= _EXTRA_STEPS or decrement > _SHRINK * last:
                return rec.result(w if singular else _polish(objective, rec, w, d, f, gnorm)[0])
            extra += 1
        last = decrement

        def evaluate(t, d=d):
            fv, gv, _ = objective.smooth(w + t * d)
            return fv, float(np.max(np.abs(gv))), gv

        step = backtrack(evaluate, f, float(g @ d), gnorm,
                         rounding=max(value_rounding(objective, f), bounds.value(w)))
        if step is None:
            rec.flags.add("line_search_failed")
            return rec.result(w)
        t, f, g = step
        w = w + t * d
    rec.grad_floor = bounds.gradient(w)
    rec.record(f, float(np.max(np.abs(g))) if g.size else 0.0)
    return rec.result(w)
