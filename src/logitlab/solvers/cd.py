"""Proximal Newton with coordinate descent (glmnet's method) for L1 / elastic net.

Outer loop: at ``w`` form the quadratic model of the smooth part,
``q(x) = gᵀ(x - w) + ½ (x - w)ᵀ H (x - w)``, minimize ``q(x) + l1 ‖x_β‖₁``
(the *inner problem*), then step to ``w + t (x - w)`` with a line search on the
full objective F. Coefficients that the soft-threshold sets to zero are exactly
zero. Any positive semi-definite ``H`` gives a descent direction and the same
fixed point — the optimum of F, checked by its KKT conditions — so ``H`` only
decides how fast the outer loop converges (Lee, Sun & Saunders, "Proximal
Newton-type methods", SIAM J. Optim. 2014).

**Working set** (glmnet's strong rules): the inner problem moves only the
coordinates that are nonzero, unpenalized, or zero with ``|g_j| ≥ STRONG · l1``
— the others would be soft-thresholded back to zero — so ``H`` is the Hessian
of those ``k`` columns (``n·k²``, :meth:`Objective.hess_block`), not of all
``size``. A zero coordinate that comes to violate its optimality condition
(``|g_j| > l1``) joins the set at the next outer step; the run ends only when
the full gradient meets the tolerance.

**The Hessian is kept** across outer steps while it serves (:class:`Model`):
forming it costs ``n·k²`` against ``n·d`` for a gradient, and near the optimum
— a warm start along a path is near it — the Hessian at the start differs from
the one at the optimum by O(‖w − w*‖), so the steps it gives still shrink the
KKT norm by a large factor. It is formed again at the current point when a
coordinate that must move (:func:`required`: nonzero, unpenalized, or
violating its optimality condition) is outside its columns, when the last step
needed a line search, or when it shrank the KKT norm by less than
``REFRESH_RATE`` or by too little for the passes still to come at that rate to
cost less than a new Hessian (:func:`worth_refreshing`).

**Inner problem**: cyclic coordinate descent with soft-thresholding (compiled,
:mod:`.cd_kernels`), ``x_j ← S(x_j − ∇q_j / H_jj, l1 / H_jj)``,
``S(u, c) = sign(u) max(|u| − c, 0)``, until the set of nonzero coordinates
settles; then the model's minimizer on that set with those signs solves one
linear system, ``H_AA x_A = (H w)_A − g_A − l1 sign(x_A)`` (Cholesky, kept for the
next outer step while neither ``H`` nor the set changes), and is accepted when
it keeps the signs and every zero coordinate satisfies ``|∇q_j| ≤ l1``: the
inner problem is then solved exactly, so the outer loop converges as Newton's
method does (quadratically with a fresh Hessian). Otherwise coordinate descent
goes on to its tolerance.
"""

from __future__ import annotations

import numpy as np

from ._common import Recorder, backtrack

MAX_SIZE = 5000
#: zero coordinates with ``|g_j| ≥ STRONG · l1`` join the working set: the
#: sequential strong rule ``|g_j| ≥ 2 λ − λ_prev`` of a path whose grid steps
#: by λ_prev ≈ 1.5 λ (violators, ``|g_j| > l1``, are always in)
STRONG = 0.5
#: a kept Hessian is formed again after a step that left more than this share
#: of the KKT norm (a fresh Hessian's Newton step leaves far less)
REFRESH_RATE = 0.25
#: the fewest coordinate-descent sweeps an inner solve may take
MIN_SWEEPS = 1000
#: flops of a Gram matrix (BLAS syrk) per flop of a pass over the data, in time
GRAM_SPEEDUP = 8.0
#: outer steps a fresh Hessian needs near the optimum (quadratic convergence)
NEWTON_STEPS = 2.0


class Model:
    """The quadratic model's Hessian ``H`` (k, k) on the working set ``coords``
    (sorted indices into the free coordinates), with the Cholesky factor of its
    block ``H_AA`` on the active set ``A`` the last inner solve met. The Gram
    matrix is summed in float32 where the backend can (twice as fast): its
    relative error ~1e-7 only changes the convergence rate, by as little."""

    def __init__(self, objective, coords, single: bool = True):
        self.coords = np.asarray(coords, dtype=np.intp)
        self.single = single
        self.H = np.ascontiguousarray(objective.hess_block(self.coords, single=single))
        self.size = objective.size
        self.l2 = objective.l2
        #: sweeps an inner solve may take: a sweep costs k² against the n·k² of
        #: forming H, so the inner work stays within that of the model itself
        self.sweep_budget = max(MIN_SWEEPS, int(objective.data.n_rows))
        self._factors: dict = {}

    def reusable_for(self, objective) -> bool:
        """Whether this model (e.g. from the previous fit of a path) can serve as
        ``objective``'s first quadratic model: the same coordinates. Its L2 part
        is changed to ``objective``'s (``H_jj += Δl2`` on penalized coordinates)."""
        if self.size != objective.size:
            return False
        if objective.l2 != self.l2:
            pen = objective.penalized[self.coords]
            self.H[np.flatnonzero(pen), np.flatnonzero(pen)] += objective.l2 - self.l2
            self.l2 = objective.l2
            self._factors = {}
        return True

    def covers(self, coords) -> bool:
        """Whether every coordinate of ``coords`` is in the model's set."""
        return bool(np.isin(coords, self.coords, assume_unique=True).all())

    def factor(self, active):
        """Cholesky factor of ``H_AA`` for the boolean mask ``active`` (k,), or
        None when ``H_AA`` is not positive definite. Only the last set's factor
        is kept (the next outer step usually meets the same set; a factor is as
        large as H)."""
        key = active.tobytes()
        if key not in self._factors:
            from scipy.linalg import LinAlgError, cho_factor
            block = self.H[np.ix_(active, active)]
            try:
                factor = cho_factor(block, lower=True, check_finite=False)
            except LinAlgError:
                factor = None
            self._factors = {key: factor}
        return self._factors[key]


def face_step(model, g, w, x, l1, penalized, tol):
    """Move the coordinate-descent iterate ``x`` (k,) towards the model's minimizer
    on its *face* — the active set ``A`` (nonzero or unpenalized coordinates)
    with their signs — found by one linear solve (see the module docstring).

    Returns ``(point, exact)``. On the segment from ``x`` to that minimizer the
    signs hold until a coordinate reaches zero; the step stops there and sets
    it to zero (``exact`` False). When no sign changes, ``point`` is the face's
    minimizer, and ``exact`` says whether it minimizes the whole model: every
    zero coordinate has ``|∇q_j| ≤ l1 + tol``. Either way ``q`` decreases (it is
    convex and smooth on the face). ``(None, False)`` when ``H_AA`` is not
    positive definite."""
    active = (x != 0.0) | ~penalized
    sign = np.where(penalized, np.sign(x), 0.0)
    factor = model.factor(active)
    if factor is None:
        return None, False
    from scipy.linalg import cho_solve
    H = model.H
    Hw = H @ w
    new = np.zeros_like(x)
    new[active] = cho_solve(factor, Hw[active] - g[active] - l1 * sign[active],
                            check_finite=False)
    flips = np.flatnonzero(sign * new < 0.0)
    if flips.size:
        reach = x[flips] / (x[flips] - new[flips])      # in (0, 1]: where x_j hits 0
        first = int(np.argmin(reach))
        point = x + reach[first] * (new - x)
        point[flips[first]] = 0.0
        return point, False
    zero = ~active
    if not zero.any():
        return new, True
    grad_q = g[zero] + H[zero] @ new - Hw[zero]
    return new, bool(np.max(np.abs(grad_q)) <= l1 + tol)


def minimize_model(model, g, w, l1, penalized, tol, max_faces=10, max_sweeps=None):
    """Minimize ``gᵀ(x-w) + ½(x-w)ᵀH(x-w) + l1 Σ_pen |x_j|`` from ``x = w``
    (vectors over ``model.coords``): coordinate descent until the active set
    settles, then a step to the minimizer on that face (:func:`face_step`),
    repeated until that minimizer is the model's, else coordinate descent to
    ``tol`` (largest ``|Δx_j| H_jj`` of a full sweep) within ``max_sweeps``
    sweeps (default ``model.sweep_budget``). Returns ``x`` (k,): the model's
    minimizer, or a point below ``q(w)`` (a descent direction for the outer
    loop)."""
    from .cd_kernels import SETTLED, cd_loop      # numba: loaded when a cd fit first runs
    g = np.asarray(g, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    pen = np.asarray(penalized, dtype=np.bool_)
    l1, tol = float(l1), float(tol)
    max_sweeps = model.sweep_budget if max_sweeps is None else int(max_sweeps)
    x = w.copy()
    grad_q = g.copy()
    for _ in range(max_faces):
        if cd_loop(model.H, grad_q, x, l1, pen, tol, max_sweeps, True) != SETTLED:
            return x
        point, exact = face_step(model, g, w, x, l1, pen, tol)
        if point is None:                 # H_AA singular: coordinate descent alone
            break
        x = point
        if exact:
            return x
        grad_q = g + model.H @ (x - w)
    cd_loop(model.H, grad_q, x, l1, pen, tol, max_sweeps, False)
    return x


def working_set(objective, w, g) -> np.ndarray:
    """Coordinates the inner coordinate descent may move: the unpenalized and
    nonzero ones, and the zero ones with ``|g_j| ≥ STRONG · l1``. Every
    coordinate violating its optimality condition (``|g_j| > l1`` at zero) is
    in the set, so the outer loop cannot stop short of the full optimum."""
    pen = objective.penalized
    return np.flatnonzero(~pen | (w != 0.0) | (np.abs(g) >= STRONG * objective.l1))


def required(objective, w, g) -> np.ndarray:
    """The coordinates a quadratic model must move for the outer loop to reach
    the optimum: the unpenalized, the nonzero, and the zero ones that violate
    their optimality condition (``|g_j| > l1``). The rest of the working set
    only anticipates coordinates about to enter: a kept model that lacks them
    still serves."""
    pen = objective.penalized
    return np.flatnonzero(~pen | (w != 0.0) | (np.abs(g) > objective.l1))


def solve(objective, w0, *, tol, max_iter=100, callback=None, warm_state=None):
    """Minimize smooth part + L1 term of ``objective`` from ``w0``.

    ``warm_state``: the ``state`` of a previous run's result (its last
    :class:`Model`), used as the first quadratic model when it fits — along a
    path of penalties the previous optimum's Hessian serves the next fit. It
    changes the iterations, never the optimum. The result's ``state`` is the
    last model."""
    if objective.size > MAX_SIZE:
        raise ValueError(
            f"solver='cd' forms the Hessian of up to {objective.size} coefficients; it "
            f"is meant for up to {MAX_SIZE}. Use solver='gd' (proximal gradient) for "
            "L1 penalties on wider data.")
    rec = Recorder("cd", objective, tol, callback, max_iter)
    w = np.array(w0, dtype=np.float64)
    f, g, _ = objective.smooth(w, curvature=True)
    F = f + objective.l1_term(w)
    model = warm_state if isinstance(warm_state, Model) and warm_state.reusable_for(
        objective) else None
    refresh = model is None
    for _ in range(max_iter):
        kkt = objective.kkt_violation(w, g)
        if rec.record(F, kkt):
            return finish(rec, w, model)
        ws = working_set(objective, w, g)
        if refresh or not model.covers(required(objective, w, g)):
            model, refresh = Model(objective, ws), True   # at w: the last curvature point
        step, model = step_with_fallback(objective, model, refresh, ws, w, g, F, kkt, tol)
        if step is None:
            rec.flags.add("line_search_failed")
            return finish(rec, w, model)
        t, F, g, w = step
        refresh = t < 1.0 or worth_refreshing(model, objective.size, kkt,
                                              objective.kkt_violation(w, g), tol)
    rec.record(F, objective.kkt_violation(w, g))
    return finish(rec, w, model)


def step_with_fallback(objective, model, fresh, ws, w, g, F, kkt, tol):
    """``(step, model)``: the outer step with ``model`` (``fresh``: formed at
    ``w``); when its line search fails, again with a model formed at ``w`` —
    after a kept model, in float32; after a fresh float32 one, in float64 (a
    nearly singular Hessian that float32 rounding made indefinite). ``step``
    is None when a fresh float64 model fails too."""
    while True:
        step = outer_step(objective, model, w, g, F, kkt, tol)
        if step is not None or (fresh and not model.single):
            return step, model
        objective.smooth(w, curvature=True)      # the line search moved the curvature point
        model, fresh = Model(objective, ws, single=not fresh), True


def worth_refreshing(model, size, kkt_before, kkt_after, tol) -> bool:
    """Whether to form the Hessian anew after a step that took the KKT norm from
    ``kkt_before`` to ``kkt_after`` with ``model``: when the step kept more than
    ``REFRESH_RATE`` of it, or when the steps still to come at that rate cost
    more passes over the data (``size`` flops per row each) than forming the
    model's ``k`` columns (``k²/2`` per row, at about ``GRAM_SPEEDUP`` times the
    speed of a pass: BLAS syrk against a memory-bound pass)."""
    rate = kkt_after / kkt_before if kkt_before > 0 else 0.0
    if rate > REFRESH_RATE:
        return True
    if rate <= 0.0 or kkt_after <= tol:
        return False
    steps_left = np.log(kkt_after / tol) / np.log(1.0 / rate)
    k = model.coords.size
    return 0.5 * k * k / GRAM_SPEEDUP < size * max(steps_left - NEWTON_STEPS, 0.0)


def finish(rec, w, model):
    """The solver's result at ``w``, with ``model`` as its reusable state."""
    result = rec.result(w)
    result.state = model
    return result


def outer_step(objective, model, w, g, F, kkt, tol):
    """One proximal Newton step with ``model``: ``(t, F, g, w)`` at the accepted
    point (its curvature evaluated), or None when the line search fails."""
    ws = model.coords
    x = w.copy()
    x[ws] = minimize_model(model, g[ws], w[ws], objective.l1, objective.penalized[ws],
                           tol=max(0.1 * min(kkt, 1.0), 0.01 * tol))
    d = x - w
    decrease = float(g @ d) + objective.l1_term(x) - objective.l1_term(w)

    def evaluate(t):
        point = x if t == 1.0 else w + t * d
        fv, gv, _ = objective.smooth(point, curvature=True)
        return fv + objective.l1_term(point), objective.kkt_violation(point, gv), (gv, point)

    step = backtrack(evaluate, F, min(decrease, 0.0), kkt)
    if step is None:
        return None
    t, F, (g, point) = step
    return t, F, g, point
