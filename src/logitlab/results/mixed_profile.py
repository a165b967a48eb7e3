"""Intervals of a mixed-effects logit: Wald, and profile likelihood as lme4's ``confint``.

The profile of parameter i of x = (θ, β) is the deviance minimized over the
other parameters with x_i held at v, D_i(v) = min_{x_{−i}} dev(x), and its
signed square root ζ_i(v) = sign(v − x̂_i) √(D_i(v) − dev(x̂)). The level-L
interval is {v : |ζ_i(v)| ≤ z_{(1+L)/2}}; its ends are found by bracketing
(steps of the parameter's standard error) and Brent's method on ζ_i(v) ∓ z,
each evaluation an inner L-BFGS-B fit warm-started at the last one.

Parameters profiled (lme4's ``confint(fit, method = "profile")``): every fixed
effect, and the standard deviation of each term's first column, which is θ's
diagonal element there (σ_t1 = T_t[0, 0] for the binomial, whose scale is 1);
a lower end below which the deviance never rises by z² is 0 (the boundary).
The other SDs and the correlations of vector terms are functions of several
θ and are not profiled (their Wald-free intervals need lme4's reparameterized
profile); ask for them by name and a ``ValueError`` says so.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.stats import norm

from ..core.lazy import pandas as pd
from ..families.glmm_agq import agq_deviance
from ..families.glmm_gradient import gradient_is_cheap, laplace_gradient

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
    """``(name, index in x = (θ, β))`` of the profiled parameters: the first SD of
    every term (``"sd_(Intercept)|herd"``), then the fixed effects."""
    out, offset = [], 0
    for group, columns, _ in results.terms:
        k = len(columns)
        out.append((f"sd_{columns[0]}|{group}", offset))
        offset += k * (k + 1) // 2
    nt = len(results.fit.theta)
    return out + [(name, nt + j) for j, name in enumerate(results.fixed_names)]


class _Profile:
    """D_i(v) by restricted refits, warm-started on the line z(v) ≈ ẑ + (v − x̂_i) dz/dv,
    dz/dv = −H_zz⁻¹ H_zi from the fit's Hessian (the optimum's tangent)."""

    def __init__(self, problem, results):
        self.pb, self.fit = problem, results.fit
        self.nt = len(self.fit.theta)
        self.x_hat = np.concatenate([self.fit.theta, self.fit.beta])
        self.dev_hat = self.fit.deviance
        self.n_agq = self.fit.n_agq
        self.analytic = self.n_agq == 1 and gradient_is_cheap(problem)
        self.lower = np.concatenate([problem.layout.bounds_lower, np.full(problem.p, -np.inf)])
        self.H = results.fit.hessian
        self.n_fits = 0

    def _dev(self, x):
        return agq_deviance(self.pb, x[:self.nt], x[self.nt:], self.n_agq)

    def _value_grad(self, z, i, v):
        x = np.insert(z, i, v)
        dev, state = self._dev(x)
        self.pb.warm_u = state.u
        if self.analytic:
            g = laplace_gradient(self.pb, x[:self.nt], x[self.nt:], state)
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
        return np.maximum(z_hat + (v - self.x_hat[i]) * slope, np.delete(self.lower, i))

    def deviance_at(self, i: int, v: float) -> float:
        """D_i(v) = min over the others of the deviance with x_i = v: BFGS started
        at :meth:`start` with the fit's H_zz⁻¹ as its first inverse Hessian,
        unconstrained (every real T_t gives a covariance T_t T_tᵀ, and the
        deviance is the same for T_t and T_t with a column's sign flipped), or
        L-BFGS-B on the bounds when H_zz is not positive definite (a fit on the boundary)."""
        self.n_fits += 1
        z0 = self.start(i, v)
        self.pb.warm_u = self.fit.u.copy()
        if len(z0) == 0:
            return float(self._dev(np.array([v]))[0])
        Hzz = np.delete(np.delete(self.H, i, 0), i, 1)
        try:
            np.linalg.cholesky(Hzz)
            return _bfgs(lambda z: self._value_grad(z, i, v), z0, np.linalg.inv(Hzz))
        except (np.linalg.LinAlgError, ArithmeticError):
            pass
        bounds = [(lo if np.isfinite(lo) else None, None) for lo in np.delete(self.lower, i)]
        res = minimize(self._value_grad, z0, args=(i, v), jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-7})
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


def _standard_errors(results) -> np.ndarray:
    """SEs of x = (θ, β) from 2 H⁻¹ (θ at a bound: its curvature alone)."""
    H = results.fit.hessian
    try:
        cov = 2.0 * np.linalg.inv(H)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full(H.shape[0], np.nan)
    bad = ~np.isfinite(se) | (se <= 0)
    curv = np.sqrt(2.0 / np.maximum(np.diag(H), 1e-12))
    return np.where(bad, curv, se)


def _end(prof: _Profile, i: int, side: int, target: float, se: float, lower: float):
    """The end of the interval on ``side`` (−1 lower, +1 upper): secant steps on
    ζ(v) = side · target from the Wald end (ζ is nearly linear in v), falling back
    to bracketing and Brent's method when a step leaves the bracket."""
    x0 = prof.x_hat[i]
    tol = END_XTOL * se
    a, za = x0, 0.0                             # the bracket's inner end: ζ short of the target
    b = max(x0 + side * target * se, lower) if side < 0 else x0 + side * target * se
    for _ in range(40):
        zb = prof.zeta(i, b)
        if side < 0 and b <= lower and side * zb < target:
            return lower                        # the deviance never rises enough: the bound
        if abs(zb - side * target) < ZETA_TOL:
            return b
        if side * zb > target:                  # bracketed: secant inside [a, b]
            return _bracketed(prof, i, side, target, a, za, b, zb, tol)
        slope = (zb - za) / (b - a)
        a, za = b, zb
        step = (side * target - zb) / slope if side * slope > 0 else side * 2 * se
        step = side * min(max(side * step, 0.1 * se), 4 * se * (1 + abs(zb)))
        b = a + step
        if side < 0:
            b = max(b, lower)
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
    parameter name); see the module docstring. ``verbose``: progress over the
    parameters (:func:`logitlab.core.progress.steps`)."""
    from ..core.progress import steps
    params = profile_parameters(results)
    names = [n for n, _ in params]
    wanted = names if parm is None else _check_names(parm, names + _unprofiled(results))
    unprofiled = [p for p in wanted if p not in names]
    if unprofiled:
        raise ValueError(f"{unprofiled[0]!r} is not profiled: only the first standard deviation "
                         "of each random-effects term and the fixed effects are (the other "
                         "variance components are functions of several θ).")
    prof = _Profile(problem, results)
    se = _standard_errors(results)
    target = norm.ppf(0.5 + level / 2)
    saved = problem.warm_u.copy()
    rows = {}
    try:
        with steps(verbose, "profile", len(wanted)) as progress:
            for name, i in params:
                if name not in wanted:
                    continue
                lower = 0.0 if i < prof.nt else -np.inf
                step = se[i] if np.isfinite(se[i]) and se[i] > 0 else \
                    0.1 * max(1, abs(prof.x_hat[i]))
                rows[name] = (_end(prof, i, -1, target, step, lower),
                              _end(prof, i, +1, target, step, lower))
                progress.advance(name)
    finally:
        problem.warm_u = saved
    return pd.DataFrame(rows.values(), columns=["low", "high"],
                        index=pd.Index(list(rows), name="parameter"))


def _unprofiled(results) -> list:
    """Names of the variance components that are not profiled."""
    out = []
    for group, columns, _ in results.terms:
        out += [f"sd_{c}|{group}" for c in columns[1:]]
        out += [f"cor_{columns[j]}.{columns[i]}|{group}" for i in range(len(columns))
                for j in range(i)]
    return out
