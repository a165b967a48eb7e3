"""Firth's bias-reduced logistic regression (Firth 1993; Heinze & Schemper 2002).

Maximizes the penalized log-likelihood ``ℓ*(β) = ℓ(β) + ½ log det I(β)``
(Jeffreys prior) of a binary or multinomial model. Its gradient is the modified
score ``U*(β) = U(β) + ∇ ½ log det I(β)``; binary:

    U*(β) = Σ_i s_i [y_i - p_i + h_i (½ - p_i)] x̃_i

with hat values ``h_i = w_i x̃_iᵀ I⁻¹ x̃_i``, ``w_i = s_i p_i (1 - p_i)``;
multinomial (K − 1 columns against a reference class, Kosmidis & Firth 2011,
R ``brglm2::brmultinom``): the family's ``chunk_hat_correction``. For the
canonical logit links the maximizer of ``ℓ*`` is the mean-bias-reduced
estimate (brglm2's ``type = "AS_mean"``). Each iteration takes the
Fisher-scoring step ``I⁻¹ U*`` (two passes: value and information, then the
hat correction), no coefficient moving by more than ``MAX_STEP``, with step
halving on ``ℓ*``, as R's ``logistf`` does. Finite estimates exist even under
separation.

The reported objective is ``-ℓ*/S`` and the gradient norm ``max |U*|/S``, so
``tol`` means the same as for the other solvers. On a nearly singular
information the computed ``½ log det I`` carries a rounding error far above
that of ℓ (:func:`penalty_rounding`): a step whose change of ℓ* is below it is
accepted and judged by the next U*. A run that stalls (the line search fails,
or ``STALL_ITERS`` iterations bring no new smallest ``max |U*|`` and change ℓ*
by no more than its rounding) where the scoring step's predicted gain
``½ U*ᵀ I⁻¹ U*`` is below the rounding bound of ℓ* (:func:`at_rounding_floor`)
has reached the maximum to the precision of its arithmetic: it is reported
converged at that floor (flag ``"rounding_floor"``).

Coordinates held fixed by the objective (profile likelihood, the restricted
model of the penalized LR test) stay fixed; the penalty always uses the
information of the ``penalty_coords`` (the model's estimated coefficients).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from . import qr
from ._common import Recorder, backtrack, value_rounding

#: largest change of a coefficient in one scoring step (logistf's ``maxstep``)
MAX_STEP = 5.0
#: iterations without a new smallest ``max |U*|`` after which a run has stalled
STALL_ITERS = 5


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


def penalty_rounding(objective, st, factor, penalty_coords) -> float:
    """First-order bound on the rounding error of the computed ``½ log det I``
    (objective units, ``× 1/S``): the Cholesky factorization (and the sums of
    ``I``) perturb ``I`` by ``|δI| ≲ (p + 1) ε |I|`` (p = the number of penalty
    coordinates), which moves ``½ log det I`` by ``½ tr(I⁻¹ δI) ≤ ½ (p + 1) ε
    Σ_kl |I⁻¹|_kl |I|_kl``. On a nearly singular information (a nearly separated
    or collinear design) this is far above the float64 rounding of ℓ: the
    penalized likelihood cannot rank steps that change it by less."""
    coords = np.asarray(penalty_coords)
    I_pen = st.hess[np.ix_(coords, coords)]
    G = linalg.cho_solve(factor, np.eye(coords.size), check_finite=False)
    eps = np.finfo(np.float64).eps
    return 0.5 * (coords.size + 1) * eps * float(np.sum(np.abs(G) * np.abs(I_pen))) \
        * objective.scale


def modified_score(objective, w, st, factor, penalty_coords):
    """U* over the free coordinates (sum over rows), one pass."""
    chol = (np.tril(factor[0]), np.asarray(penalty_coords, dtype=np.intp))
    return -st.grad.ravel()[objective.free] + objective.hat_correction(w, chol)


def at_rounding_floor(rec, objective, w, U, step, rounding):
    """The result of a stalled run at free ``w``: converged with
    ``grad_floor = max |U*| / S`` and flag ``"rounding_floor"`` when the scoring
    step's predicted gain ``½ U*ᵀ I⁻¹ U* / S`` is at most the rounding of ℓ*:
    ``rounding`` (float64 rounding of the value and :func:`penalty_rounding`)
    plus the logits' rounding bound (:class:`~logitlab.solvers.qr.RoundingBounds`,
    one pass); else not converged, flag ``"stalled"``."""
    bounds = qr.RoundingBounds(objective)
    gain = 0.5 * float(U @ step) * objective.scale
    if gain <= rounding + bounds.value(w):
        rec.grad_floor = max(rec.norms[-1], bounds.gradient(w))
        rec.flags.add("rounding_floor")
    else:
        rec.flags.add("stalled")
    return rec.result(w)


def solve(objective, w0, *, tol, max_iter=100, callback=None, penalty_coords=None):
    """Maximize the Firth-penalized likelihood over the free coordinates."""
    if objective.layout.symmetric:
        raise ValueError("Firth's penalty needs the reference-class layout (K − 1 columns, "
                         "as penalty='firth' fits use): the information of the symmetric "
                         "softmax (K columns) is singular.")
    rec = Recorder("firth", objective, tol, callback, max_iter)
    coords = np.arange(objective.layout.size) if penalty_coords is None else np.asarray(penalty_coords)
    w = np.array(w0, dtype=np.float64)
    F, st, factor = penalized_value(objective, w, coords)
    if factor is None:
        raise ValueError("the Fisher information is singular at the start point: remove "
                         "constant or collinear columns before a Firth fit.")
    S = 1.0 / objective.scale
    best, since_best, F_prev = np.inf, 0, np.inf
    for _ in range(max_iter):
        U = modified_score(objective, w, st, factor, coords)
        gnorm = float(np.max(np.abs(U))) / S if U.size else 0.0
        if rec.record(F, gnorm):
            return rec.result(w)
        info_free = st.hess[np.ix_(objective.free, objective.free)]
        with warnings.catch_warnings():     # nearly singular near separation: capped below
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            step = linalg.solve(info_free, U, assume_a="pos")
        largest = float(np.max(np.abs(step), initial=0.0))
        if largest > MAX_STEP:        # logistf's maxstep: a nearly singular information
            step *= MAX_STEP / largest
        # below the rounding of ℓ* a step is judged by the next iteration's U*
        rounding = value_rounding(objective, F) + penalty_rounding(objective, st, factor, coords)
        # a stall: no new smallest U* while ℓ* moves only within its rounding
        progress = gnorm < best or F_prev - F > rounding
        best, since_best = min(best, gnorm), (0 if progress else since_best + 1)
        F_prev = F
        if since_best >= STALL_ITERS:
            return at_rounding_floor(rec, objective, w, U, step, rounding)

        def evaluate(t, step=step):
            # U* at the trial point needs a second pass; report 0 so that a step
            # whose change of ℓ* is below its rounding (near the optimum, where
            # the scoring step contracts) is accepted
            value, st_t, fac_t = penalized_value(objective, w + t * step, coords)
            return value, 0.0, (st_t, fac_t)

        found = backtrack(evaluate, F, -float(U @ step) / S, gnorm, rounding=rounding)
        if found is None:
            rec.flags.add("line_search_failed")
            return at_rounding_floor(rec, objective, w, U, step, rounding)
        t, F, (st, factor) = found
        w = w + t * step
    U = modified_score(objective, w, st, factor, coords)
    rec.record(F, float(np.max(np.abs(U))) / S if U.size else 0.0)
    return rec.result(w)
