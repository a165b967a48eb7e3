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

``information=True`` (unpenalized fits with inference, whose standard errors
need the float64 Hessian ``H(ŵ)`` at the solution anyway — a pass that costs
several gradient passes at a hundred coefficients). Each step predicts the
gradient it leaves (max-norm): after CG, the CG residual (the model's
gradient) or, when larger, the quadratic-convergence estimate ``‖g‖ ρ²``
from the last contraction rate ρ; after a chord step, ``‖g‖ ρ``. Predicted
below :data:`FINAL_MARGIN` times the tolerance, the evaluation there also
forms the float64 Hessian (same pass); else, predicted below
:data:`CHORD_START` before any chord step, a Hessian with float32 sums (half
the flops; a model for steps only). From a Hessian ``H_a`` formed at ``w_a``
the steps are chord steps ``d = -H_a⁻¹ g`` (flag ``"chord_steps"``): one
value-and-gradient pass each, no products. Near the optimum they contract
the gradient by ``ρ ≈ ‖I - H_a⁻¹ H(w)‖ = O(‖w_a - ŵ‖)`` per step (the first
is a Newton step with the model Hessian). A step that contracts by less than
:data:`CHORD_MAX_RATE` ends them (CG resumes, preconditioned by ``H_a``).

A run that ends at a point where the float64 Hessian was formed returns it
as ``SolverResult.hessian`` (over the objective's scaling): the information
there, so the fit needs no further pass for it. One that meets the
tolerance elsewhere while chord steps are on takes one more chord step,
evaluated with the float64 Hessian and kept if no worse (no line search:
near the optimum the value changes by rounding alone); any other outcome
leaves ``hessian`` None (the fit forms the information itself).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from . import precondition
from ._common import Recorder, backtrack, max_abs, value_rounding

#: rebuild the preconditioner after a solve that took more products than this
#: (and at the first iterations: :func:`precondition.refresh_iterations`)
SLOW_CG = 10
#: the inner solve never aims below this fraction of the tolerance: a
#: residual ``‖r‖₂ ≤ TOL_MARGIN · tol`` already brings the gradient under tol
TOL_MARGIN = 0.3
#: ``information=True``: form the Hessian at a point whose gradient (max-norm)
#: is predicted below this, and take chord steps from it
CHORD_START = 1e-3
#: chord steps end when one shrinks the gradient by less than this factor
CHORD_MAX_RATE = 0.25
#: the float64 Hessian (the information) is formed at a point whose gradient
#: is predicted below this fraction of the tolerance: the estimates there are
#: well inside it, so the standard errors do not carry the tolerance's error
FINAL_MARGIN = 0.1


def forcing(gnorm2: float, tol: float) -> float:
    """Relative residual for the inner solve: ``min(0.5, √‖g‖₂)`` (superlinear
    convergence), but no tighter than the tolerance needs."""
    return min(0.5, max(np.sqrt(gnorm2), TOL_MARGIN * tol / max(gnorm2, 1e-300)))


def conjugate_gradient(hessp, g, rtol, max_iter, precond=precondition.IDENTITY, atol=0.0,
                       residual=None):
    """Approximately solve ``H d = -g`` (preconditioned CG from d = 0).

    Stops when ``‖r‖₂ ≤ rtol ‖g‖₂``, when ``‖r‖∞ ≤ atol`` (the residual is
    the model's gradient after the step: the solvers pass ``TOL_MARGIN · tol``,
    so the step is expected to end the run), or at a direction of zero
    curvature.
    Returns ``(d, n_products)``; ``residual``: a list that gets ``‖r‖∞`` at
    the stop appended (inf at a direction of zero curvature).
    """
    d = np.zeros_like(g)
    r = -g
    z = precond.apply(r)
    p = z.copy()
    rz = float(r @ z)
    stop = (rtol ** 2) * float(g @ g)
    note = residual.append if residual is not None else (lambda value: None)
    for k in range(max_iter):
        Hp = hessp(p)
        curv = float(p @ Hp)
        if curv <= 1e-16 * float(p @ p):   # flat or singular direction
            note(np.inf)
            return (d if k else z), k + 1
        a = rz / curv
        Hp *= a                            # r -= a Hp and d += a p, in place,
        r -= Hp                            # with Hp as the scratch
        np.multiply(p, a, out=Hp)
        d += Hp
        del Hp                             # before the next product is made
        if float(r @ r) <= stop or max_abs(r) <= atol:
            note(max_abs(r))
            return d, k + 1
        z = precond.apply(r, out=z)
        rz_new = float(r @ z)
        p *= rz_new / rz                   # p = z + (rz_new / rz) p
        p += z
        rz = rz_new
    note(max_abs(r))
    return d, max_iter


class _Chord:
    """The chord steps of ``information=True`` (see the module docstring): the
    Cholesky factor of the last Hessian formed, the Hessian at the current
    point (None unless formed there) and the last contraction rate."""

    def __init__(self, enabled: bool, rec):
        self.enabled, self.rec = enabled, rec
        self.factor = self.hessian = None
        self.rate = 1.0
        self.ended = False                # chord steps stalled (or H not positive definite)

    def wants_hessian(self, predicted: float):
        """Which Hessian to form at a candidate whose gradient (max-norm) is
        predicted to be ``predicted``: the float64 one (True) when below
        :data:`FINAL_MARGIN` times the tolerance (the information at the end),
        else one with float32 sums (``"float32"``, half the flops) when below
        :data:`CHORD_START` and no chord steps were taken yet, else none (False)."""
        if not self.enabled:
            return False
        if predicted <= FINAL_MARGIN * self.rec.effective_tol():
            return True
        if self.factor is None and not self.ended and predicted <= CHORD_START:
            return "float32"
        return False

    def direction(self, g):
        """The chord step ``-H_a⁻¹ g`` and the gradient it is predicted to leave."""
        self.rec.flags.add("chord_steps")
        return -linalg.cho_solve(self.factor, g, check_finite=False), self.rate * max_abs(g)

    def update(self, H, exact: bool, gnorm_old: float, gnorm_new: float, M):
        """After a step from gradient ``gnorm_old`` to ``gnorm_new``, ``H`` the
        Hessian at the new point (or None; ``exact``: float64): the
        preconditioner for CG (``H_a`` once chord steps stall, else ``M``)."""
        self.rate = gnorm_new / gnorm_old if gnorm_old > 0 else 1.0
        if self.factor is not None and self.rate > CHORD_MAX_RATE:
            M = precondition.Preconditioner("sample", factor=self.factor)
            self.factor, self.ended = None, True
        self.hessian = H if exact else None
        if H is not None:
            try:
                self.factor = linalg.cho_factor(H, lower=True, check_finite=False)
            except linalg.LinAlgError:
                self.factor, self.ended = None, True
        return M

    def final_step(self, objective, w, f: float, g, gnorm: float):
        """At a converged point without its Hessian, while chord steps are on:
        one more chord step, evaluated with the float64 Hessian (one pass) and
        kept if it is no worse (value within rounding, gradient not larger;
        no line search). Returns the point kept."""
        if not self.enabled or self.factor is None or self.hessian is not None:
            return w
        d, _ = self.direction(g)
        f_new, g_new, H = objective.smooth(w + d, curvature=True, hess=True)
        g_norm_new = max_abs(g_new)
        if f_new <= f + value_rounding(objective, f) and g_norm_new <= gnorm:
            self.rec.record(f_new, g_norm_new)
            self.hessian = H
            return w + d
        return w

    def result(self, w):
        """The recorder's result at ``w``, with the Hessian there if it was formed."""
        result = self.rec.result(w)
        result.hessian = self.hessian
        return result


def solve(objective, w0, *, tol, max_iter=200, callback=None, cg_max_iter=None,
          preconditioner="auto", information=False):
    """Minimize the smooth ``objective`` from ``w0`` (L2 or no penalty).

    ``preconditioner``: ``"auto"`` (sampled Hessian for dense X, diagonal for
    sparse), ``"sample"``, ``"diag"`` or ``"none"``. ``information``: form the
    Hessian at the solution (``result.hessian``), with chord steps from the
    Hessians formed (module docstring).
    """
    rec = Recorder("newton-cg", objective, tol, callback, max_iter)
    cg_max_iter = cg_max_iter or min(objective.size, 250)
    kind = precondition.choose_kind(objective, preconditioner)
    w = np.array(w0, dtype=np.float64)
    f, g, _ = objective.smooth(w, curvature=True)
    M, n_cg = precondition.IDENTITY, 0
    refresh = precondition.refresh_iterations(objective, kind)
    chord = _Chord(information, rec)
    for it in range(max_iter):
        gnorm = max_abs(g)
        if rec.record(f, gnorm):
            return chord.result(chord.final_step(objective, w, f, g, gnorm))
        if chord.factor is not None:
            d, predicted = chord.direction(g)
        else:
            if kind != "none" and (it <= refresh or n_cg > SLOW_CG) and not chord.ended:
                M = None                                # the old one freed before the pass
                M = precondition.build(objective, w, kind)
            rtol = forcing(float(np.linalg.norm(g)), tol)
            residual = []
            d, n_cg = conjugate_gradient(objective.hessp, g, rtol, cg_max_iter, M,
                                         atol=TOL_MARGIN * rec.effective_tol(),
                                         residual=residual)
            # the model's gradient, or the quadratic-convergence estimate g ρ² when
            # larger (far from the optimum the model's residual is optimistic)
            predicted = max(residual[0], gnorm * chord.rate ** 2)
        hess = chord.wants_hessian(predicted)

        def evaluate(t, d=d, hess=hess):
            fv, gv, Hv = objective.smooth(w + t * d, curvature=True,
                                          hess=hess if t == 1.0 else False)
            return fv, max_abs(gv), (gv, Hv)

        step = backtrack(evaluate, f, float(g @ d), gnorm,
                         rounding=value_rounding(objective, f))
        if step is None:
            rec.flags.add("line_search_failed")
            return chord.result(w)
        t, f, (g, H) = step
        w = w + t * d
        M = chord.update(H, hess is True, gnorm, max_abs(g), M)
    rec.record(f, max_abs(g))
    return chord.result(w)
