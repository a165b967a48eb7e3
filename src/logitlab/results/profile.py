"""Profile-likelihood confidence intervals (R's ``confint`` on a glm; ``logistf``).

For coefficient ``β_c`` the interval at level ``1 - a`` is the set of values
``t`` with ``D(t) = ℓ̂ - ℓ_p(t) ≤ q²/2``, ``q² = χ²₁(1 - a)``, where
``ℓ_p(t) = max_{β: β_c = t} ℓ(β)``. Each bound is a root of the signed root
``ζ(t) = sign(t - β̂_c) √(2 D(t))`` (nearly linear in t) at ``∓q``. For
``penalty="firth"`` ``ℓ`` is the penalized likelihood ``ℓ + ½ log det I(β)``
whose penalty keeps the full model's information, as in ``logistf``.

How a bound is found (:class:`_Profile`):

* every ``ℓ_p(t)`` is a constrained refit (Newton, or Firth's scoring), warm
  started on the tangent of the profile path at the nearest point already on
  it, ``β_-c(t) ≈ β_-c(t₀) + τ (t - t₀)`` with ``τ = -H_-c,-c⁺ H_-c,c`` (at the
  estimate this is ``V_-c,c / V_cc``), or on that point with only ``β_c``
  moved when that is better; a refit counts only when it really converged: the
  Newton decrement ``½ gᵀH⁺g`` (the distance to the constrained maximum, in
  log-likelihood units) is at most ``VALUE_TOL`` and ``max |g| / n ≤ GRAD_TOL``.
  A failed Newton refit is retried by the trust-region solver, then through the
  midpoint (continuation). Firth's ℓ* is not concave: near separation the
  constrained maximum can have two branches and the path may follow the lower,
  so each Firth point is refitted from the estimate with only ``β_c`` moved
  too, and the higher maximum kept (:meth:`_Profile._higher_branch`);
* the derivative comes free: ``dℓ_p/dt = ∂ℓ/∂β_c`` at the constrained optimum
  (envelope theorem), so the root is found by Newton steps on ``|ζ|``, kept
  inside the bracket once there is one (regula falsi when Newton leaves it,
  bisection when ``||ζ| - q|`` did not halve in two steps); before that the
  step grows at most 8-fold;
* a bound does not exist (``±inf``: a one-sided interval) when the separation
  check proved the coefficient infinite in that direction (or in either: no
  refit needed), or
  when ``D`` levels off: over two successive 8-fold steps it neither doubled nor
  rose, nor is rising, by more than 0.1% of what is still missing to ``q²/2``;
* a bound whose refit does not converge, or that needs more than
  ``MAX_REFITS`` refits, is NaN with a :class:`ConvergenceWarning` naming the
  term — never a number that is not a bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ..core.lazy import pandas as pd
from scipy import linalg

from ..core.distributions import chi2_ppf, chi2_sf

from .. import solvers
from ..core import progress
from ..core.exceptions import ConvergenceWarning, bridged
from ..core.userwarn import warn
from ..solvers import firth as firth_solver
from ..solvers.objective import Objective
from .inference import require_inference, as_results, display_order, term_labels

MAX_REFITS = 30        #: constrained refits one bound may use
REFIT_MAX_ITER = 100   #: iterations of one constrained refit
VALUE_TOL = 1e-7       #: a refit's distance to its constrained maximum (log-likelihood units)
GRAD_TOL = 1e-7        #: ... and its largest gradient entry per unit weight
ROOT_RTOL = 1e-9       #: a bound is final when its Newton correction is below this (relative)
_GROWTH = 8.0          # largest factor by which a step may grow before a bracket is found
_FLAT = 1e-3           # share of the missing rise of D below which D counts as flat
_PINV_RCOND = 1e-12    # eigenvalues of H below this share of the largest are ignored
_ROUND = 10            # solver iterations between two convergence checks of a refit


@dataclass
class Bound:
    """One profile bound: ``value`` (``±inf`` when it does not exist, NaN when it
    could not be computed), the constrained refits it took, ``status`` (``"found"``,
    ``"infinite"``, ``"refit_failed"`` or ``"not_reached"``) and, when it failed,
    the value ``at`` which the refit failed (or the last one tried)."""

    value: float
    refits: int
    status: str
    at: float = np.nan


@dataclass
class _Point:
    """A point on the profile path: ``w`` the full coefficient vector at the
    constrained optimum with ``β_c = t``, ``D = ℓ̂ - ℓ_p(t)``, ``slope = dD/dt``,
    ``tangent = dw/dt`` (full vector, 1 at c)."""

    t: float
    w: np.ndarray
    D: float
    slope: float
    tangent: np.ndarray


class _Profile:
    """Constrained refits along the profile of full-vector coordinate ``index``."""

    def __init__(self, model, index: int, firth: bool, ll_hat: float):
        self.base = as_results(model).objective
        self.firth, self.ll_hat, self.index = firth, float(ll_hat), int(index)
        self.n = float(self.base.data.weight_sum)
        free = self.base.free
        self.pos = int(np.flatnonzero(free == index)[0])
        self.others = np.delete(np.arange(free.size), self.pos)
        self.fixed = np.ones(self.base.layout.size, dtype=bool)
        self.fixed[free] = False
        self.fixed[index] = True
        self.refits = 0
        w_hat = np.asarray(as_results(model).coef, dtype=np.float64)
        at_hat = self._measure(w_hat)
        self.sigma = at_hat["sigma"]
        self.points = [_Point(w_hat[index], w_hat, 0.0, 0.0, at_hat["tangent"])]

    # ------------------------------------------------------------ one point
    def _measure(self, w):
        """Log-likelihood (penalized for Firth), gradient and information (sums,
        over the model's free coordinates) at the full vector ``w``, and what
        follows: the Newton decrement over the other coordinates, the tangent of
        the path, ``dD/dt`` and the profile standard error ``1/√(H_cc - H_c,-c H⁺ H_-c,c)``.
        None when they are not finite."""
        base, free = self.base, self.base.free
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.firth:
                value, st, factor = firth_solver.penalized_value(base, base.restrict(w), free)
                if factor is None or not np.isfinite(value):
                    return None
                grad = firth_solver.modified_score(base, base.restrict(w), st, factor, free)
                H = st.hess[np.ix_(free, free)]
                ll = -value * self.n
            else:
                f, g, H = base.smooth(base.restrict(w), hess=True)
                ll, grad, H = -f * self.n, -g * self.n, H * self.n
        if not (np.isfinite(ll) and np.all(np.isfinite(grad)) and np.all(np.isfinite(H))):
            return None
        o, c = self.others, self.pos
        pinv = _pinv(H[np.ix_(o, o)])
        step = pinv @ grad[o]
        tau = -pinv @ H[o, c]
        tangent = np.zeros(base.layout.size)
        tangent[free[o]] = tau
        tangent[self.index] = 1.0
        schur = float(H[c, c] + H[c, o] @ tau)
        return {"ll": ll, "decrement": 0.5 * float(grad[o] @ step),
                "grad_max": float(np.max(np.abs(grad[o]), initial=0.0)) / self.n,
                "slope": -float(grad[c]), "tangent": tangent,
                "sigma": 1.0 / np.sqrt(schur) if schur > 0 else np.inf}

    def _start(self, t):
        """The better (higher likelihood) of two warm starts from the nearest point:
        on its tangent, or with only ``β_c`` moved."""
        near = min(self.points, key=lambda p: abs(p.t - t))
        moved = near.w.copy()
        moved[self.index] = t
        candidates = [near.w + near.tangent * (t - near.t), moved]
        return min(candidates, key=self._value)

    def _value(self, w) -> float:
        """The objective (minimized) at full vector ``w``; inf when not finite."""
        base = self.base
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.firth:
                value = firth_solver.penalized_value(base, base.restrict(w), base.free)[0]
            else:
                value = base.smooth(base.restrict(w), grad=False)[0]
        return float(value) if np.isfinite(value) else np.inf

    def _refit(self, t, solver, start=None):
        """One constrained refit at ``β_c = t`` (from ``start``, default
        :meth:`_start`): the new point, or None when it did
        not converge (judged by its own gradient, not the solver's flag). The
        solver runs in rounds of ``_ROUND`` iterations, checked after each: a run
        stalled at the rounding floor of its gradient stops there."""
        self.refits += 1
        w = self._start(t) if start is None else start
        obj = Objective(self.base.data, fixed=self.fixed, fixed_values=w)
        options = {"penalty_coords": self.base.free} if self.firth else {}
        done = 0
        while True:
            rounds = min(_ROUND, REFIT_MAX_ITER - done)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                res = solvers.run(solver, obj, obj.restrict(w), max_iter=rounds,
                                  tol=1e-9 if self.firth else 1e-10, **options)
            w, done = obj.expand(res.coef), done + rounds
            m = self._measure(w)
            if m is not None and m["decrement"] <= VALUE_TOL and m["grad_max"] <= GRAD_TOL:
                break
            if m is None or done >= REFIT_MAX_ITER or res.converged or res.n_iter < rounds:
                return None
        point = _Point(float(t), w, self.ll_hat - m["ll"], m["slope"], m["tangent"])
        self.points.append(point)
        return point

    def point(self, t, budget: int):
        """The profile at ``t`` within ``budget`` refits: Newton (Firth's scoring),
        then the trust-region solver, then through the midpoint from the nearest
        point. None when none converged."""
        solvers_to_try = ["firth"] if self.firth else ["newton", "trust-ncg"]
        for name in solvers_to_try:
            if budget - self.refits <= 0:
                return None
            p = self._refit(t, name)
            if p is not None:
                return self._higher_branch(p, budget) if self.firth else p
        near = min(self.points, key=lambda q: abs(q.t - t))
        if budget - self.refits < 2 or self._refit(0.5 * (near.t + t), solvers_to_try[0]) is None:
            return None
        return self._refit(t, solvers_to_try[0])

    def _higher_branch(self, p, budget):
        """Firth's penalized likelihood is not concave: near separation the
        constrained maximum can have two branches, and the path (warm started
        from its nearest point) may follow the lower one. A second refit from
        the estimate with only ``β_c`` moved; the point of the higher ``ℓ*`` is
        kept (ℓ_p is the maximum). Maximum likelihood (concave) needs none."""
        if budget - self.refits <= 0:
            return p
        start = self.points[0].w.copy()
        start[self.index] = p.t
        if not np.isfinite(self._value(start)):     # a singular information there
            return p
        q = self._refit(p.t, "firth", start=start)
        if q is None:
            return p
        better, worse = (q, p) if q.D < p.D - VALUE_TOL else (p, q)
        self.points = [x for x in self.points if x is not worse]
        return better

    # ------------------------------------------------------------ one bound
    def bound(self, side: float, crit: float) -> Bound:
        """The bound on ``side`` (-1 low, +1 high) where ``|ζ| = crit``."""
        est = self.points[0]
        budget = self.refits + MAX_REFITS
        used = lambda: self.refits - (budget - MAX_REFITS)  # noqa: E731
        D_star = 0.5 * crit ** 2
        lo, hi = (0.0, 0.0), None          # (u, |ζ|) below and above crit
        u = crit * min(self.sigma, 1.0 + abs(est.t))
        previous, flats, residuals = None, 0, []
        while True:
            t = est.t + side * u
            p = self.point(t, budget)
            if p is None:
                status = "refit_failed" if used() < MAX_REFITS else "not_reached"
                return Bound(np.nan, used(), status, at=t)
            f = np.sqrt(2.0 * max(p.D, 0.0))
            df = side * p.slope / f if f > 0 else 0.0     # d|ζ|/du
            delta = (crit - f) / df if df > 0 else None    # Newton step on |ζ|
            if delta is not None and abs(delta) <= ROOT_RTOL * max(1.0, abs(t)):
                return Bound(est.t + side * (u + delta), used(), "found")
            if f >= crit:
                hi = (u, f)
            else:
                lo = (u, f)
            if hi is None:
                flats = flats + 1 if previous and _flat(previous, (u, p.D, side * p.slope),
                                                        D_star) else 0
                if flats >= 2:
                    return Bound(side * np.inf, used(), "infinite")
                previous = (u, p.D, side * p.slope)
                u = _GROWTH * u if delta is None else min(u + delta, _GROWTH * u)
                continue
            if hi[0] - lo[0] <= ROOT_RTOL * max(1.0, abs(est.t + side * hi[0])):
                return Bound(est.t + side * _secant(lo, hi, crit), used(), "found")
            residuals.append(abs(f - crit))
            u = _bracketed_step(u, delta, lo, hi, crit, residuals)


def _bracketed_step(u, delta, lo, hi, crit, residuals) -> float:
    """The next ``u`` inside the bracket ``lo < u < hi``: the Newton step ``u + delta``
    if it stays inside, else regula falsi; bisection when ``||ζ| - q|`` did not
    halve over the last two steps."""
    if len(residuals) >= 3 and residuals[-1] > 0.5 * residuals[-3]:
        return 0.5 * (lo[0] + hi[0])
    u = u + delta if delta is not None else np.nan
    return u if lo[0] < u < hi[0] else _secant(lo, hi, crit)


def _pinv(H):
    """Pseudo-inverse of a symmetric PSD matrix, ignoring eigenvalues below
    ``_PINV_RCOND`` of the largest (a direction of separation, where the
    likelihood is flat)."""
    if H.size == 0:
        return np.zeros_like(H)
    vals, vecs = linalg.eigh(H)
    keep = vals > _PINV_RCOND * max(vals.max(), 0.0)
    return (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T


def _secant(lo, hi, crit) -> float:
    """Regula falsi between ``lo = (u, |ζ|)`` and ``hi``, kept off the ends."""
    (u0, f0), (u1, f1) = lo, hi
    u = u0 + (crit - f0) * (u1 - u0) / (f1 - f0) if f1 > f0 else 0.5 * (u0 + u1)
    margin = 1e-3 * (u1 - u0)
    return float(min(max(u, u0 + margin), u1 - margin))


def _flat(previous, current, D_star) -> bool:
    """``D`` levelled off between two growth steps ``(u, D, dD/du)``: it did not
    double, and neither its rise nor its slope over the step reaches ``_FLAT``
    of what is still missing to ``D_star``."""
    (u1, D1, _), (u2, D2, slope2) = previous, current
    gap = D_star - D2
    return (u2 >= 2.0 * u1 and D2 <= 2.0 * max(D1, 0.0) + VALUE_TOL
            and D2 - D1 <= _FLAT * gap and max(slope2, 0.0) * (u2 - u1) <= _FLAT * gap)


def _check_level(level):
    if not (isinstance(level, (int, float, np.floating)) and 0 < float(level) < 1):
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95); got {level!r}.")


def profile_search(model, index, level=0.95) -> tuple:
    """``(low, high)`` :class:`Bound` s of full-vector coordinate ``index``."""
    state = require_inference(model)
    _check_level(level)
    if as_results(model).objective is None:
        raise ValueError("profile intervals refit the model on its training data, which a "
                         "loaded or unpickled model does not carry: refit it first.")
    firth = state.method == "firth"
    ll_hat = state.penalized_loglik if firth else state.loglik
    crit = float(np.sqrt(chi2_ppf(level, 1)))
    sign = state.infinite.get(str(int(index)))
    profile = None
    bounds = []
    for side in (-1.0, 1.0):
        if sign is not None and sign in (0, side):
            # the separation check found a direction of recession that moves β_c
            # this way (sign 0: either way) without lowering ℓ: ℓ_p never falls
            # below ℓ̂ on this side
            bounds.append(Bound(side * np.inf, 0, "infinite"))
            continue
        profile = profile or _Profile(model, index, firth, ll_hat)
        bounds.append(profile.bound(side, crit))
    return bounds[0], bounds[1]


def profile_bounds(model, index, level=0.95):
    """``(low, high)`` profile-likelihood bounds of full-vector coordinate ``index``
    (``±inf`` when a bound does not exist, NaN when it could not be computed)."""
    low, high = profile_search(model, index, level)
    return low.value, high.value


def profile_ci(model, terms=None, level=0.95, verbose=None) -> pd.DataFrame:
    """Profile-likelihood intervals (and their odds ratios) for ``terms``
    (labels as in :func:`logitlab.inference.coef_table`; default all).

    ``verbose``: progress of the coefficients done / total, with the time left
    (:mod:`logitlab.core.progress`); None: the model's own ``verbose`` parameter.

    ``attrs["refits"]`` holds the constrained refits each bound took
    (``{term: (low, high)}``) and ``attrs["status"]`` how each ended (see
    :class:`Bound`); a bound that could not be computed is NaN and warned about."""
    state = require_inference(model)
    _check_level(level)
    chosen, index = _chosen_terms(model, state, terms)
    if verbose is None:
        verbose = as_results(model).params_given.get("verbose", 0)
    found = []
    with progress.steps(verbose, "profile intervals", len(chosen)) as done:
        for label, i in zip(index, chosen):
            found.append(profile_search(model, i, level))
            done.advance(str(label))
    for label, pair in zip(index, found):
        _warn_failed(label, pair)
    out = pd.DataFrame([[b.value for b in pair] for pair in found],
                       columns=["ci_low", "ci_high"], index=_label_index(index), dtype=float)
    with np.errstate(over="ignore"):
        out["or_ci_low"] = np.exp(out["ci_low"])
        out["or_ci_high"] = np.exp(out["ci_high"])
    out.attrs["refits"] = {label: (a.refits, b.refits) for label, (a, b) in zip(index, found)}
    out.attrs["status"] = {label: (a.status, b.status) for label, (a, b) in zip(index, found)}
    return out


def lr_tests(model, terms=None) -> pd.DataFrame:
    """Likelihood-ratio test of ``β_j = 0`` for each term: ``lr_stat = 2 D(0) =
    2 [ℓ̂ - max_{β_j = 0} ℓ]`` on 1 df and its ``p_value``. For a Firth fit ``ℓ``
    is the penalized likelihood whose penalty keeps the full model's information
    (logistf's per-coefficient test). A restricted refit that does not converge
    gives NaN and a :class:`ConvergenceWarning` naming the term."""
    state = require_inference(model)
    if as_results(model).objective is None:
        raise ValueError("likelihood-ratio tests refit the model on its training data, which "
                         "a loaded or unpickled model does not carry: refit it first.")
    chosen, index = _chosen_terms(model, state, terms)
    firth = state.method == "firth"
    ll_hat = state.penalized_loglik if firth else state.loglik
    rows = []
    for label, i in zip(index, chosen):
        point = _Profile(model, i, firth, ll_hat).point(0.0, MAX_REFITS)
        if point is None:
            name = " / ".join(map(str, label)) if isinstance(label, tuple) else str(label)
            warn(f"likelihood-ratio test of '{name}': the refit with {name} = 0 did not "
                 "converge; its statistic and p-value are reported as NaN.", bridged(ConvergenceWarning))
            rows.append((np.nan, np.nan))
            continue
        stat = 2.0 * max(point.D, 0.0)
        rows.append((stat, float(chi2_sf(stat, 1))))
    return pd.DataFrame(rows, columns=["lr_stat", "p_value"], index=_label_index(index),
                        dtype=float)


def _chosen_terms(model, state, terms):
    """Full-vector indices and labels of ``terms`` (default: all estimated)."""
    labels = term_labels(model)
    estimated = [i for i in display_order(model) if i in set(state.estimated)]
    chosen = estimated
    if terms is not None:
        lookup = {labels[i]: i for i in estimated}
        unknown = [t for t in terms if t not in lookup]
        if unknown:
            known = [labels[i] for i in estimated]
            raise ValueError(f"unknown terms {unknown}; the terms are {known}.")
        chosen = [lookup[t] for t in terms]
    return chosen, [labels[i] for i in chosen]


def _label_index(index):
    return (pd.MultiIndex.from_tuples(index, names=["class", "term"])
            if index and isinstance(index[0], tuple) else pd.Index(index, name="term"))


def _warn_failed(label, pair):
    name = " / ".join(map(str, label)) if isinstance(label, tuple) else str(label)
    for which, b in zip(("lower", "upper"), pair):
        if b.status == "refit_failed":
            why = (f"the constrained refit at {name} = {b.at:.6g} did not converge "
                   f"(Newton decrement above {VALUE_TOL:g} or gradient above {GRAD_TOL:g})")
        elif b.status == "not_reached":
            why = f"{MAX_REFITS} constrained refits did not locate it (last at {b.at:.6g})"
        else:
            continue
        warn(f"profile interval of '{name}': {why}; its {which} bound is reported as NaN.",
             bridged(ConvergenceWarning))
