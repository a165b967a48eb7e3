"""What every solver shares: the result type, the history, the line search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

_EPS = np.finfo(np.float64).eps


@dataclass
class SolverResult:
    """Outcome of a solver run.

    coef : (size,) flat coefficients (see :class:`logitlab.core.layout.Layout`)
    objective : final value of the full objective F
    grad_norm : max-norm of the (minimum-norm sub)gradient at ``coef``
    n_iter : iterations taken; converged : ``grad_norm <= tol`` at a finite objective
    history : ``{"objective": (n_iter+1,), "grad_norm": (n_iter+1,)}``, the
        values at the start point and after each iteration
    n_passes : reads of the data; flags : events worth reporting, e.g.
        ``"singular_hessian"``, ``"line_search_failed"``, ``"diverging"``,
        ``"stalled"`` (the objective stopped changing before the gradient met tol),
        ``"rounding_floor"`` (converged at the rounding floor of the gradient,
        ``tol`` raised to it: the Firth solver, :func:`logitlab.solvers.firth.at_rounding_floor`)
    state : what a solver can reuse when the next fit starts from this one (a
        warm start): ``cd``'s last quadratic model; None for the others. Never
        part of a fitted model (not pickled, not saved).
    hessian : the float64 Hessian (size, size) of the smooth objective at
        ``coef`` when the solver formed it there (``newton`` and ``newton-cg``
        with ``information=True``), else None; like ``state``, never saved.
    """

    coef: np.ndarray
    objective: float
    grad_norm: float
    n_iter: int
    converged: bool
    solver: str
    tol: float
    max_iter: int = 0
    history: dict = field(default_factory=dict)
    n_passes: int = 0
    flags: set = field(default_factory=set)
    state: object = None
    hessian: object = None


class Recorder:
    """Collects the history of a run and reports each iteration to a callback.

    ``callback(iteration, objective, grad_norm)`` is called after every
    iteration (iteration 0 is the start point).
    """

    def __init__(self, name: str, objective, tol: float, callback: Callable | None,
                 max_iter: int = 0):
        self.name = name
        self.max_iter = max_iter
        self.objective = objective
        self.tol = tol
        self.callback = callback
        self.values: list[float] = []
        self.norms: list[float] = []
        self.flags: set = set()
        #: a solver's own bound on the rounding error of its gradient (see
        #: :meth:`effective_tol`); 0 unless the solver sets it
        self.grad_floor = 0.0
        self._passes0 = objective.data.n_passes

    def record(self, value: float, grad_norm: float) -> bool:
        """Store one iteration; return True when converged: ``grad_norm`` at most
        tol, or at most the rounding error of the gradient when that is larger
        (float32 arithmetic: ``data.grad_noise``), and the objective finite."""
        self.values.append(float(value))
        self.norms.append(float(grad_norm))
        if self.callback is not None:
            self.callback(len(self.values) - 1, float(value), float(grad_norm))
        return self._converged(value, grad_norm)

    def _converged(self, value, grad_norm) -> bool:
        """A NaN or infinite objective or gradient is never convergence (``nan <=
        tol`` is False, but a zero gradient next to a NaN objective is not)."""
        return bool(np.isfinite(value) and grad_norm <= self.effective_tol())

    def effective_tol(self) -> float:
        """``max(tol, data.grad_noise, grad_floor)``: no solver can tell gradients
        apart below the rounding error of their computation."""
        return max(self.tol, float(self.objective.data.grad_noise), self.grad_floor)

    def result(self, w) -> SolverResult:
        tol = self.effective_tol()
        return SolverResult(
            coef=np.asarray(w, dtype=np.float64), objective=self.values[-1],
            grad_norm=self.norms[-1], n_iter=len(self.values) - 1,
            converged=self._converged(self.values[-1], self.norms[-1]),
            solver=self.name, tol=tol,
            max_iter=self.max_iter,
            history={"objective": np.array(self.values), "grad_norm": np.array(self.norms)},
            n_passes=self.objective.data.n_passes - self._passes0, flags=self.flags)


def max_abs(v) -> float:
    """``max |v|`` (0 for an empty v; NaN when v holds one) without the
    temporary ``|v|`` (a coefficient-sized array)."""
    if v.size == 0:
        return 0.0
    return max(float(v.max()), -float(v.min()))


def _float64_rounding(value: float) -> float:
    """``64 ε max(|value|, 1)``: the rounding of a float64 objective near ``value``."""
    return 64 * _EPS * max(abs(value), 1.0)


def value_rounding(objective, value: float) -> float:
    """How far two computed values of the objective near ``value`` may differ
    by rounding alone: ``64 ε max(|value|, 1)``, or the backend's bound for
    float32 arithmetic (``data.loss_noise``) when larger."""
    return max(_float64_rounding(value),
               float(objective.data.loss_noise))


def backtrack(evaluate, value0: float, decrease: float, gnorm0: float, max_halvings: int = 40,
              rounding: float | None = None):
    """Armijo backtracking along a descent direction.

    ``evaluate(t)`` returns ``(value, grad_norm, payload)`` at step ``t``;
    ``decrease`` is the model decrease (negative: ``gᵀd`` for smooth problems).
    A step is accepted when ``value <= value0 + 1e-4 t decrease``, or — once the
    change in value is below rounding error (``rounding``, default
    ``64 ε max(|value0|, 1)``; see :func:`value_rounding`) — when the gradient
    norm shrank. Returns ``(t, value, payload)`` or None when no step is accepted.
    """
    if rounding is None:
        rounding = _float64_rounding(value0)
    t = 1.0
    for _ in range(max_halvings):
        value, gnorm, payload = evaluate(t)
        if np.isfinite(value):
            if value <= value0 + 1e-4 * t * decrease:
                return t, value, payload
            if abs(value - value0) <= rounding and gnorm < gnorm0:
                return t, value, payload
        t *= 0.5
    return None
