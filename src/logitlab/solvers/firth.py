"""Firth's bias-reduced logistic regression (Firth 1993; Heinze & Schemper 2002).

Maximizes the penalized log-likelihood ``ℓ*(β) = ℓ(β) + ½ log det I(β)``
(Jeffreys prior) of a binary model. Its gradient is the modified score

    U*(β) = Σ_i s_i [y_i - p_i + h_i (½ - p_i)] x̃_i

with hat values ``h_i = w_i x̃_iᵀ I⁻¹ x̃_i``, ``w_i = s_i p_i (1 - p_i)``. Each
iteration takes the Fisher-scoring step ``I⁻¹ U*`` (two passes: value and
information, then the hat correction) with step halving on ``ℓ*``, as R's
``logistf`` does. Finite estimates exist even under separation.

The reported objective is ``-ℓ*/S`` and the gradient norm ``max |U*|/S``, so
``tol`` means the same as for the other solvers. Coordinates held fixed by
the objective (profile likelihood, the restricted model of the penalized LR
test) stay fixed; the penalty always uses the information of the
``penalty_coords`` (the model's estimated coefficients).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ._common import Recorder, backtrack


def penalized_value(objective, w, penalty_coords):
    """``(-ℓ*/S, I_full (sum), cho factor of I over penalty_coords)`` at free ``w``."""
    full = objective.expand(w)
    st = objective.data.stats(objective.layout.matrix(full), grad=True, hess=True)
    I_pen = st.hess[np.ix_(penalty_coords, penalty_coords)]
    try:
        factor = linalg.cho_factor(I_pen, lower=True)
    except linalg.LinAlgError:
        return np.inf, st, None
    logdet = 2.0 * float(np.sum(np.log(np.diag(factor[0]))))
    value = (st.loss - 0.5 * logdet) * objective.scale
    return value, st, factor


def modified_score(objective, w, st, factor, penalty_coords):
    """U* over the free coordinates (sum over rows), one pass."""
    chol = (np.tril(factor[0]), np.asarray(penalty_coords, dtype=np.intp))
    return -st.grad.ravel()[objective.free] + objective.hat_correction(w, chol)


def solve(objective, w0, *, tol, max_iter=100, callback=None, penalty_coords=None):
    """Maximize the Firth-penalized likelihood over the free coordinates."""
    if objective.layout.multinomial:
        raise ValueError("Firth's correction is implemented for binary models only.")
    rec = Recorder("firth", objective, tol, callback, max_iter)
    coords = np.arange(objective.layout.size) if penalty_coords is None else np.asarray(penalty_coords)
    w = np.array(w0, dtype=np.float64)
    F, st, factor = penalized_value(objective, w, coords)
    if factor is None:
        raise ValueError("the Fisher information is singular at the start point: remove "
                         "constant or collinear columns before a Firth fit.")
    S = 1.0 / objective.scale
    for _ in range(max_iter):
        U = modified_score(objective, w, st, factor, coords)
        gnorm = float(np.max(np.abs(U))) / S if U.size else 0.0
        if rec.record(F, gnorm):
            return rec.result(w)
        info_free = st.hess[np.ix_(objective.free, objective.free)]
        step = linalg.solve(info_free, U, assume_a="pos")

        def evaluate(t, step=step):
            # U* at the trial point needs a second pass; report 0 so that a step
            # whose change of ℓ* is below rounding (near the optimum, where the
            # scoring step is exact to second order) is accepted
            value, st_t, fac_t = penalized_value(objective, w + t * step, coords)
            return value, 0.0, (st_t, fac_t)

        found = backtrack(evaluate, F, -float(U @ step) / S, gnorm)
        if found is None:
            rec.flags.add("line_search_failed")
            return rec.result(w)
        t, F, (st, factor) = found
        w = w + t * step
    U = modified_score(objective, w, st, factor, coords)
    rec.record(F, float(np.max(np.abs(U))) / S if U.size else 0.0)
    return rec.result(w)
