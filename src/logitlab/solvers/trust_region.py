"""Trust-region truncated Newton (TRON-style; Lin, Weng & Keerthi 2008).

Each iteration approximately minimizes the quadratic model
``m(s) = gᵀs + ½ sᵀHs`` inside the trust region ``‖s‖_M ≤ Δ`` by
preconditioned conjugate gradients (Steihaug–Toint): CG stops at the
relative residual of :func:`newton_cg.forcing`, at the boundary, or along a
direction of non-positive curvature. The step is accepted when the actual
reduction is a fair share of the model's (``ρ = ared / pred > η₀``), and Δ
grows or shrinks with ρ by the rules of liblinear's TRON. No line search:
a step costs one H·v per CG step and one evaluation of the objective.

The trust region is measured in the norm ``‖s‖_M = √(sᵀMs)`` of the
preconditioner ``M ≈ H`` (the Hessian's diagonal for sparse X, a sampled
Hessian for dense X; :mod:`logitlab.solvers.precondition`), which puts all
coordinates on the scale of their curvature. Only ``M⁻¹`` is ever applied:
``sᵀMs`` follows from the CG recurrences (Conn, Gould & Toint 2000, §7.5.1).

The first step is not limited (Δ₀ = ∞, so it is the inexact Newton step)
and Δ is then set from its length; a rejected step costs one more pass,
to restore the curvature at the current point.
"""

from __future__ import annotations

import numpy as np

from . import precondition
from ._common import Recorder, max_abs, value_rounding
from .newton_cg import SLOW_CG, TOL_MARGIN, forcing

#: TRON's constants: acceptance / shrink / grow thresholds on ρ, and factors
ETA0, ETA1, ETA2 = 1e-4, 0.25, 0.75
SIGMA1, SIGMA2, SIGMA3 = 0.25, 0.5, 4.0


def steihaug_cg(hessp, g, delta, rtol, max_iter, precond=precondition.IDENTITY, atol=0.0):
    """Approximately minimize ``gᵀs + ½ sᵀHs`` subject to ``‖s‖_M ≤ delta``.

    Stops as :func:`newton_cg.conjugate_gradient` does (``rtol``, ``atol``),
    at the boundary or along non-positive curvature.
    Returns ``(s, r, s_norm, n_products, on_boundary)``: ``r = -g - H s`` is
    the final residual, so the model value is ``m(s) = ½ (gᵀs - rᵀs)``, and
    ``s_norm = ‖s‖_M``.

    Memory: the vectors ``s, r, z = M⁻¹r, p`` are updated in place and each
    product ``Hp`` (a new array from ``hessp``) is reused as the scratch of
    the updates and dropped before the next product: five vectors of the
    coefficients' size at any time (the arithmetic is that of the
    whole-vector expressions, to the bit).
    """
    s = np.zeros_like(g)
    r = -g
    z = precond.apply(r)
    p = z.copy()
    rz = float(r @ z)
    s_s, s_p, p_p = 0.0, 0.0, rz          # sᵀMs, sᵀMp, pᵀMp
    stop = (rtol ** 2) * float(g @ g)
    for k in range(max_iter):
        Hp = hessp(p)
        curv = float(p @ Hp)
        alpha = rz / curv if curv > 0 else np.inf
        if curv <= 0 or s_s + 2 * alpha * s_p + alpha ** 2 * p_p >= delta ** 2:
            # to the boundary: the positive root of ‖s + τ p‖²_M = Δ²
            tau = _boundary_step(s_s, s_p, p_p, delta)
            if not np.isfinite(tau):
                # no boundary (Δ = ∞) and no curvature: stop here, or at the
                # first step take the preconditioned gradient step itself
                # (the ratio test then sizes Δ from it)
                if k == 0:
                    s += p
                    r -= Hp
                    s_s = p_p
                return s, r, np.sqrt(s_s), k + 1, False
            _step(s, r, tau, p, Hp)
            return s, r, delta, k + 1, True
        _step(s, r, alpha, p, Hp)
        del Hp                                  # before the next product is made
        s_s += 2 * alpha * s_p + alpha ** 2 * p_p
        if float(r @ r) <= stop or max_abs(r) <= atol:
            return s, r, np.sqrt(s_s), k + 1, False
        z = precond.apply(r, out=z)
        rz_new = float(r @ z)
        beta = rz_new / rz
        s_p = beta * (s_p + alpha * p_p)
        p_p = rz_new + beta ** 2 * p_p
        p *= beta                               # p = z + β p
        p += z
        rz = rz_new
    return s, r, np.sqrt(s_s), max_iter, False


def _step(s, r, t, p, Hp) -> None:
    """``s += t p`` and ``r -= t Hp`` in place, overwriting ``Hp`` (the scratch)."""
    Hp *= t
    r -= Hp
    np.multiply(p, t, out=Hp)
    s += Hp


def _boundary_step(s_s, s_p, p_p, delta):
    """Positive root τ of ``p_p τ² + 2 s_p τ + s_s = Δ²`` (inf when Δ = ∞)."""
    if not np.isfinite(delta) or p_p <= 0:
        return np.inf
    disc = np.sqrt(max(s_p ** 2 + p_p * (delta ** 2 - s_s), 0.0))
    # the form without cancellation
    return (delta ** 2 - s_s) / (s_p + disc) if s_p >= 0 else (disc - s_p) / p_p


def update_radius(delta, step_norm, ratio, g_s, f_change, on_boundary):
    """TRON's rule for the new radius (liblinear ``tron.cpp``).

    ``alpha`` is the minimizer of the 1-D quadratic through ``f``, ``g_s = gᵀs``
    and the new value, used to size the next region from the step just taken.
    """
    curv = f_change - g_s
    alpha = SIGMA3 if curv <= 0 else max(SIGMA1, -0.5 * g_s / curv)
    if ratio < ETA0:
        return min(alpha * step_norm, SIGMA2 * delta)
    if ratio < ETA1:
        return max(SIGMA1 * delta, min(alpha * step_norm, SIGMA2 * delta))
    if ratio < ETA2:
        return max(SIGMA1 * delta, min(alpha * step_norm, SIGMA3 * delta))
    if on_boundary:
        return SIGMA3 * delta
    return max(delta, min(alpha * step_norm, SIGMA3 * delta))


def solve(objective, w0, *, tol, max_iter=200, callback=None, cg_max_iter=None,
          preconditioner="auto"):
    """Minimize the smooth ``objective`` from ``w0`` (L2 or no penalty).

    ``preconditioner``: ``"auto"`` (sampled Hessian for dense X, diagonal for
    sparse), ``"sample"``, ``"diag"`` or ``"none"``; it also sets the norm of
    the trust region.
    """
    rec = Recorder("trust-ncg", objective, tol, callback, max_iter)
    cg_max_iter = cg_max_iter or min(objective.size, 250)
    kind = precondition.choose_kind(objective, preconditioner)
    refresh = precondition.refresh_iterations(objective, kind)
    w = np.array(w0, dtype=np.float64)
    f, g, _ = objective.smooth(w, curvature=True)
    M, n_cg, delta, rejected = precondition.IDENTITY, 0, np.inf, 0
    for it in range(max_iter):
        if rec.record(f, max_abs(g)):
            return rec.result(w)
        if kind != "none" and (it <= refresh or n_cg > SLOW_CG):
            M = None                                # the old one freed before the pass
            M = precondition.build(objective, w, kind)
        while True:
            s, r, step_norm, n_cg, on_boundary = steihaug_cg(
                objective.hessp, g, delta, forcing(float(np.linalg.norm(g)), tol),
                cg_max_iter, M, atol=TOL_MARGIN * rec.effective_tol())
            g_s = float(g @ s)
            predicted = -0.5 * (g_s - float(r @ s))
            del r                                   # before the pass at w + s
            s += w                                  # w + s, in the step's array
            w_new, s = s, None
            f_new, g_new, _ = objective.smooth(w_new, curvature=True)
            actual = f - f_new
            if not np.isfinite(delta):
                delta = step_norm
            ratio = actual / predicted if predicted > 0 else -np.inf
            if not np.isfinite(f_new):
                ratio = -np.inf
            delta = update_radius(delta, step_norm, ratio, g_s, f_new - f, on_boundary)
            if ratio > ETA0 or _rounding_tie(f, f_new, g, g_new, value_rounding(objective, f)):
                w, f, g = w_new, f_new, g_new
                rejected = 0
                break
            rejected += 1
            w_new = g_new = None                    # freed before the next solve
            objective.smooth(w, curvature=True)    # the curvature back at w
            if rejected > 30 or delta <= 1e-15 * max(np.linalg.norm(w), 1.0):
                rec.flags.add("line_search_failed")
                return rec.result(w)
    rec.record(f, max_abs(g))
    return rec.result(w)


def _rounding_tie(f, f_new, g, g_new, rounding: float) -> bool:
    """Accept a step whose change in value is below rounding error when the
    gradient shrank (near the optimum the model reduction is lost in f's
    last digits)."""
    return abs(f_new - f) <= rounding and \
        max_abs(g_new) < max_abs(g)
