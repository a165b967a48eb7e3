"""Plain (proximal) gradient descent: the textbook method, kept for learners.

    w ← w - η ∇f(w)          (then soft-threshold by η·l1 when there is an L1 term)

With ``learning_rate="auto"`` η starts at 1 and is halved whenever a step
fails the sufficient-decrease test ``f(w⁺) ≤ f(w) + ∇fᵀ(w⁺ - w) + ‖w⁺ - w‖²/(2η)``
(backtracking); a fixed float ``learning_rate`` is used as given, and a step
that increases the objective is flagged ``"diverging"``. Every iteration is
one pass over the data and is recorded in the history, so the slow, steady
decrease of the loss can be plotted next to Newton's few big steps.
"""

from __future__ import annotations

import numpy as np

from ._common import _EPS, Recorder


def _prox(u, c, penalized):
    """Soft-threshold the penalized coordinates of ``u`` by ``c``."""
    if c == 0.0:
        return u
    out = u.copy()
    out[penalized] = np.sign(u[penalized]) * np.maximum(np.abs(u[penalized]) - c, 0.0)
    return out


def solve(objective, w0, *, tol, max_iter=10000, callback=None, learning_rate="auto"):
    """Minimize smooth part + L1 term of ``objective`` from ``w0``."""
    auto = isinstance(learning_rate, str)
    if auto and learning_rate != "auto":
        raise ValueError(f"learning_rate must be 'auto' or a positive number; got {learning_rate!r}")
    eta = 1.0 if auto else float(learning_rate)
    if not eta > 0:
        raise ValueError(f"learning_rate must be positive; got {learning_rate!r}")
    rec = Recorder("gd", objective, tol, callback, max_iter)
    w = np.array(w0, dtype=np.float64)
    f, g, _ = objective.smooth(w)
    F = f + objective.l1_term(w)
    for _ in range(max_iter):
        if rec.record(F, objective.kkt_violation(w, g)):
            return rec.result(w)
        while True:
            w_new = _prox(w - eta * g, eta * objective.l1, objective.penalized)
            step = w_new - w
            f_new, g_new, _ = objective.smooth(w_new)
            bound = f + float(g @ step) + float(step @ step) / (2 * eta)
            # below 64 ulps of f the test cannot tell a too-long step from rounding
            if not auto or f_new <= bound + 64 * _EPS * max(abs(f), 1e-300) or eta < 1e-20:
                break
            eta *= 0.5
        F_new = f_new + objective.l1_term(w_new)
        if not np.isfinite(F_new) or F_new > F + 1e-12 * abs(F):
            rec.flags.add("diverging")
            if not np.isfinite(F_new):
                break
        w, f, g, F = w_new, f_new, g_new, F_new
    rec.record(F, objective.kkt_violation(w, g))
    return rec.result(w)
