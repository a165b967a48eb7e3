"""Intervals of a mixed-effects logit: Wald, and profile likelihood as lme4's ``confint``.

Profiles are taken in lme4's coordinates x = (φ, β): φ holds, for each
random-effects term, the standard deviations σ_r and the correlations ρ_rc
(r > c) of its columns, at θ's positions (column-major lower triangle; lme4's
``.sig01, .sig02, …``), mapped to θ by T_t = diag(σ) chol(R) so that
T_t T_tᵀ = D R D (:meth:`ThetaLayout.theta_of_sdcor`).

The profile of parameter i is the deviance minimized over the other
parameters with x_i held at v, D_i(v) = min_{x_{−i}} dev(x), and its signed
square root ζ_i(v) = sign(v − x̂_i) √(D_i(v) − dev(x̂)). The level-L interval is
{v : |ζ_i(v)| ≤ z_{(1+L)/2}}; its ends are found by secant steps from the Wald
end and, once bracketed, regula falsi or Brent's method on ζ_i(v) ∓ z, each
evaluation an inner BFGS fit warm-started on the optimum's tangent line.

Every parameter of lme4's ``confint(fit, method = "profile")`` is profiled:
each SD and correlation of every term, then the fixed effects. An SD's interval
stops at 0 and a correlation's at ±1 when the deviance does not rise by z²
before the bound (the bound is then the end, as lme4 reports it).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.stats import norm

from ..core.lazy import pandas as pd
from ..families.glmm_agq import agq_deviance
from ..families.glmm_gradient import gradient_is_cheap, laplace_gradient
from ..families.glmm_laplace import PirlsError

__all__ = ["wald_table", "profile_intervals", "profile_parameters", "ProfileError"]

#: Brent's tolerance on a profile end, relative to the parameter's standard error
END_XTOL = 1e-7
#: |ζ(v) ∓ z| at which v is the end (v then within ~1e-7 SE of the root)
ZETA_TOL = 1e-7


class ProfileError(ArithmeticError):
    """A profile that cannot reach the interval's level (a flat or unbounded deviance)."""


def wald_table(results, level: float = 0.95, parm=None):
    """β ± z SE for the fixed effects (a DataFrame ``low``, ``high``), as lme4's
    ``confint(method = "Wald")`` (which gives no Wald interval for variance components)."""
    ci = results.wald_intervals(level)
    table = pd.DataFrame({"low": ci[:, 0], "high": ci[:, 1]},
                         index=pd.Index(results.fixed_names, name="parameter"))
    return table if parm is None else table.loc[_check_names(parm, list(table.index))]


def _check_names(parm, names) -> list:
    parm = [parm] if isinstance(parm, str) else list(parm)
    for p in parm:
        if p not in names:
            raise ValueError(f"{p!r} is not a parameter with an interval; they are {names}.")
    return parm


def profile_parameters(results) -> list:
    """``(name, index in x = (φ, β))`` of the profiled parameters, in lme4's
    order: per term its SDs and correlations at θ's positions
    (``"sd_(Intercept)|g"``, ``"cor_x.(Intercept)|g"``, ``"sd_x|g"``), then the
    fixed effects."""
    out, offset = [], 0
    for group, columns, _ in results.terms:
        k = len(columns)
        rows, cols = np.tril_indices(k)
        for r, c in sorted(zip(rows, cols), key=lambda rc: (rc[1], rc[0])):
            name = f"sd_{columns[r]}|{group}" if r == c else \
                f"cor_{columns[r]}.{columns[c]}|{group}"
            out.append((name, offset))
            offset += 1
    nt = len(results.fit.theta)
    return out + [(name, nt + j) for j, name in enumerate(results.fixed_names)]


class _Profile:
    """D_i(v) by restricted refits in x = (φ, β), warm-started on the line
    z(v) ≈ ẑ + (v − x̂_i) dz/dv, dz/dv = −H_zz⁻¹ H_zi, with H = Jᵀ H_θβ J the fit's
    Hessian carried to φ by the Jacobian J = ∂(θ, β)/∂(φ, β) at the optimum."""

    def __init__(self, problem, results):
        self.pb, self.fit = problem, results.fit
        self.layout = problem.layout
        self.nt = len(self.fit.theta)
        self.x_hat = np.concatenate([self.layout.sdcor_of(self.fit.theta), self.fit.beta])
        self.dev_hat = self.fit.deviance
        self.n_agq = self.fit.n_agq
        self.analytic = self.n_agq == 1 and gradient_is_cheap(problem)
        diag = self.layout.lower
        self.lower = np.concatenate([np.where(diag, 0.0, -1.0), np.full(problem.p, -np.inf)])
        self.upper = np.concatenate([np.where(diag, np.inf, 1.0), np.full(problem.p, np.inf)])
        J = self._jacobian(self.x_hat[:self.nt])
        H = results.fit.hessian.copy()
        H[:, :self.nt] = H[:, :self.nt] @ J
        H[:self.nt, :] = J.T @ H[:self.nt, :]
        self.H = H
        #: an SD at 0 or a correlation at ±1: the restricted optima may lie on
        #: the bounds, which only a bounded optimizer follows
        self.on_boundary = bool(np.any(self.x_hat[:self.nt] <= self.lower[:self.nt] + 1e-8)
                                or np.any(self.x_hat[:self.nt] >= self.upper[:self.nt] - 1e-8))
        self.n_fits = 0

    def _theta(self, phi):
        return self.layout.theta_of_sdcor(phi)

    def _jacobian(self, phi, h: float = 1e-7) -> np.ndarray:
        """∂θ/∂φ (n_theta × n_theta) by central differences of the map (exact
        to ~1e-9; the map is a few small Cholesky factors); one-sided within
        [lower, upper] where a central difference would cross a bound (an SD
        at 0, where the map's |σ| has a kink; a correlation near ±1)."""
        J = np.zeros((self.nt, self.nt))
        here = self._theta(phi)
        for j in range(self.nt):
            e = np.zeros(self.nt)
            e[j] = h
            up = self._theta(phi + e) if phi[j] + h <= self.upper[j] else None
            down = self._theta(phi - e) if phi[j] - h >= self.lower[j] else None
            if up is not None and down is not None:
                J[:, j] = (up - down) / (2 * h)
            elif up is not None:
                J[:, j] = (up - here) / h
            elif down is not None:
                J[:, j] = (here - down) / h
        return J

    def _dev(self, x):
        """``(deviance, state)`` at x = (φ, β); ``(inf, None)`` outside the domain."""
        theta = self._theta(x[:self.nt])
        if theta is None:
            return np.inf, None
        try:
            return agq_deviance(self.pb, theta, x[self.nt:], self.n_agq)
        except PirlsError:                  # no mode found there: outside the usable domain
            self.pb.warm_u = self.fit.u.copy()
            return np.inf, None

    def _value_grad(self, z, i, v):
        x = np.insert(z, i, v)
        dev, state = self._dev(x)
        if state is None:
            return np.inf, np.zeros_like(z)
        self.pb.warm_u = state.u
        if self.analytic:
            theta = self._theta(x[:self.nt])
            g = laplace_gradient(self.pb, theta, x[self.nt:], state)
            g[:self.nt] = self._jacobian(x[:self.nt]).T @ g[:self.nt]
            return dev, np.delete(g, i)
        g = np.empty_like(z)
        for j in range(len(z)):
            h = 1e-5 * max(1.0, abs(z[j]))
            e = np.zeros_like(z)
            e[j] = h
            g[j] = (self._dev(np.insert(z + e, i, v))[0] - self._dev(np.insert(z - e, i, v))[0]) \
                / (2 * h)
        return dev, g

    def start(self, i: int, v: float) -> np.ndarray:
        """The others' start at x_i = v: the tangent line, projected on the bounds."""
        z_hat = np.delete(self.x_hat, i)
        Hzz = np.delete(np.delete(self.H, i, 0), i, 1)
        Hzi = np.delete(self.H[:, i], i)
        try:
            slope = -np.linalg.solve(Hzz, Hzi)
        except np.linalg.LinAlgError:
            slope = np.zeros_like(z_hat)
        if not np.all(np.isfinite(slope)):
            slope = np.zeros_like(z_hat)
        return np.clip(z_hat + (v - self.x_hat[i]) * slope, np.delete(self.lower, i),
                       np.delete(self.upper, i))

    def deviance_at(self, i: int, v: float) -> float:
        """D_i(v) = min over the others of the deviance with x_i = v: BFGS started
        at :meth:`start` with the fit's H_zz⁻¹ as its first inverse Hessian,
        unconstrained in the SDs (the map uses |σ|, so the deviance is even in
        each) and kept inside the correlations' domain by backtracking from
        points where R is not positive semidefinite (deviance +∞); L-BFGS-B on
        the bounds when the fit is on the boundary (an SD at 0, a correlation at
        ±1) or H_zz is not positive definite."""
        self.n_fits += 1
        z0 = self.start(i, v)
        self.pb.warm_u = self.fit.u.copy()
        if len(z0) == 0:
            return float(self._dev(np.array([v]))[0])
        Hzz = np.delete(np.delete(self.H, i, 0), i, 1)
        try:
            if self.on_boundary:
                raise ArithmeticError("the optimum is on the boundary")
            np.linalg.cholesky(Hzz)
            return _bfgs(lambda z: self._value_grad(z, i, v), z0, np.linalg.inv(Hzz))
        except (np.linalg.LinAlgError, ArithmeticError):
            pass
        bounds = [(lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)
                  for lo, hi in zip(np.delete(self.lower, i), np.delete(self.upper, i))]
        res = minimize(self._value_grad, z0, args=(i, v), jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-7})
        if not np.isfinite(res.fun):
            raise ProfileError(f"the deviance cannot be evaluated with parameter {i} at {v:.6g} "
                               "(no conditional mode of the random effects there).")
        return float(res.fun)

    def zeta(self, i: int, v: float) -> float:
        d = self.deviance_at(i, v) - self.dev_hat
        return float(np.sign(v - self.x_hat[i]) * np.sqrt(max(d, 0.0)))


def _bfgs(value_grad, z, Hinv, gtol: float = 1e-7, max_iter: int = 200) -> float:
    """min f by BFGS with Armijo backtracking from z, first inverse Hessian ``Hinv``;
    returns the minimum (raises ArithmeticError when the line search fails far from it)."""
    f, g = value_grad(z)
    for _ in range(max_iter):
        if np.max(np.abs(g)) < gtol:
            break
        d = -Hinv @ g
        slope = float(g @ d)
        if slope >= 0:
            d, slope = -g, -float(g @ g)
        t = 1.0
        while True:
            fn, gn = value_grad(z + t * d)
            if fn <= f + 1e-4 * t * slope:
                break
            t /= 2
            if t < 1e-12:
                if np.max(np.abs(g)) < 1e-4:
                    return f                   # rounding level: the deviance is flat here
                raise ArithmeticError("the line search failed")
        s_, y_ = t * d, gn - g
        sy = float(s_ @ y_)
        if sy > 1e-14:
            rho = 1.0 / sy
            V = np.eye(len(z)) - rho * np.outer(s_, y_)
            Hinv = V @ Hinv @ V.T + rho * np.outer(s_, s_)
        z, f, g = z + s_, fn, gn
    return float(f)


def _standard_errors(H) -> np.ndarray:
    """SEs of x = (φ, β) from 2 H⁻¹ (a parameter at a bound: its curvature alone)."""
    try:
        cov = 2.0 * np.linalg.inv(H)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full(H.shape[0], np.nan)
    bad = ~np.isfinite(se) | (se <= 0)
    curv = np.sqrt(2.0 / np.maximum(np.diag(H), 1e-12))
    return np.where(bad, curv, se)


def _end(prof: _Profile, i: int, side: int, target: float, se: float, bound: float):
    """The end of the interval on ``side`` (−1 lower, +1 upper): secant steps on
    ζ(v) = side · target from the Wald end (ζ is nearly linear in v), falling back
    to bracketing and Brent's method when a step leaves the bracket. ``bound``:
    the parameter's bound on that side (0 for an SD's lower end, ±1 for a
    correlation, else ±∞), returned when ζ stays short of the target there."""
    x0 = prof.x_hat[i]
    tol = END_XTOL * se
    clip = (lambda v: max(v, bound)) if side < 0 else (lambda v: min(v, bound))  # noqa: E731
    a, za = x0, 0.0                             # the bracket's inner end: ζ short of the target
    b = clip(x0 + side * target * se)
    for k in range(40):
        zb = prof.zeta(i, b)
        if b == bound and side * zb < target:
            return bound                        # the deviance never rises enough: the bound
        if abs(zb - side * target) < ZETA_TOL:
            return b
        if side * zb > target:                  # bracketed: secant inside [a, b]
            return _bracketed(prof, i, side, target, a, za, b, zb, tol)
        slope = (zb - za) / (b - a)
        a, za = b, zb
        step = (side * target - zb) / slope if slope > 0 else side * 2 * se
        # at most 4 SEs (more as ζ grows), doubling from the 4th step on so that a
        # profile that flattens (a variance going to 0 takes a correlation's role
        # away) still reaches its bound or shows that it is unbounded
        step = side * min(max(side * step, 0.1 * se), 4 * se * (1 + abs(zb)) * 2.0 ** max(k - 2, 0))
        b = clip(a + step)
    raise ProfileError(f"the profile of parameter {i} does not reach the interval's level; "
                       "the likelihood is flat in that direction (separation?).")


def _bracketed(prof, i, side, target, a, za, b, zb, tol):
    """The root of ζ − side·target between a (short) and b (beyond): regula falsi
    (Illinois) steps, then Brent's method if they stall."""
    f = lambda v: prof.zeta(i, v) - side * target        # noqa: E731
    fa, fb = za - side * target, zb - side * target
    for _ in range(8):
        c = b - fb * (b - a) / (fb - fa)
        fc = f(c)
        if abs(fc) < ZETA_TOL or abs(b - a) < tol:
            return c
        if np.sign(fc) == np.sign(fb):
            a, fa = a, fa / 2
        else:
            a, fa = b, fb
        b, fb = c, fc
    lo, hi = min(a, b), max(a, b)
    return brentq(f, lo, hi, xtol=tol, rtol=1e-12)


def profile_intervals(problem, results, level: float = 0.95, parm=None, verbose=0):
    """Profile-likelihood intervals (a DataFrame ``low``, ``high`` indexed by
    parameter name; see :func:`profile_parameters` and the module docstring).
    ``parm``: names to compute (all by default). ``verbose``: progress over the
    parameters (:func:`logitlab.core.progress.steps`)."""
    from ..core.progress import steps
    params = profile_parameters(results)
    names = [n for n, _ in params]
    wanted = names if parm is None else _check_names(parm, names)
    prof = _Profile(problem, results)
    se = _standard_errors(prof.H)
    target = norm.ppf(0.5 + level / 2)
    saved = problem.warm_u.copy()
    rows = {}
    try:
        with steps(verbose, "profile", len(wanted)) as progress:
            for name, i in params:
                if name not in wanted:
                    continue
                step = se[i] if np.isfinite(se[i]) and se[i] > 0 else \
                    0.1 * max(1, abs(prof.x_hat[i]))
                rows[name] = (_end(prof, i, -1, target, step, prof.lower[i]),
                              _end(prof, i, +1, target, step, prof.upper[i]))
                progress.advance(name)
    finally:
        problem.warm_u = saved
    return pd.DataFrame(rows.values(), columns=["low", "high"],
                        index=pd.Index(list(rows), name="parameter"))
