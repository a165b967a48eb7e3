"""Maximum-likelihood fit of a binomial-logit mixed model as lme4's ``glmer``.

Two stages, as glmer (``nAGQ0initStep = TRUE``):

1. nAGQ = 0: minimize over θ (bounded: diagonal elements ≥ 0) the Laplace
   deviance with β inside PIRLS (:func:`joint_laplace_deviance`);
2. minimize over (θ, β) jointly the Laplace deviance (nAGQ = 1,
   :func:`laplace_deviance`) or the adaptive Gauss–Hermite deviance (nAGQ > 1),
   started from stage 1 (nAGQ > 1: from the Laplace optimum, found first).

Both by L-BFGS-B (scipy) with central finite-difference gradients (or the
analytic gradient of :mod:`logitlab.families.glmm_gradient` when given), then a
Newton polish with the Hessian. The Hessian H of the deviance in (θ, β) is by
central differences (as lme4's ``deriv12``); the fixed effects' covariance is
glmer's ``vcov`` with ``use.hessian = TRUE``: 2 (H⁻¹)_ββ (H of −2 logLik; the
θ rows of parameters at their bound 0 left out).

Convergence check (lme4's ``checkConv``, without its false alarms): the
gradient g and the scaled gradient H⁻¹ᐟ² g (lme4: ``solve(chol(H), g)``) over the
free parameters (those at a bound with the gradient pushing outward are not
free), and the eigenvalues of H there; ``converged`` when max |scaled g| ≤
``CONVERGED_SCALED_GRADIENT`` and H is positive definite on the free set.
Singular fit: some diagonal element of θ below 1e-4 (lme4's ``isSingular``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from ..core.threads import blas_one_thread
from ..families.glmm_agq import agq_deviance, agq_scale_constant, check_agq
from ..families.glmm_gradient import gradient_is_cheap, joint_laplace_gradient, laplace_gradient
from ..families.glmm_laplace import GlmmProblem, joint_laplace_deviance, laplace_deviance

__all__ = ["GlmmFit", "fit_glmm", "deviance_hessian", "CONVERGED_SCALED_GRADIENT"]

#: the largest |H⁻¹ᐟ² g| component at which a fit counts as converged (lme4 warns above 2e-3)
CONVERGED_SCALED_GRADIENT = 1e-4
#: PIRLS tolerance (Newton decrement) of stage 1, whose optimum is only a start
STAGE1_PIRLS_TOL = 1e-14
#: lme4's isSingular tolerance
SINGULAR_TOL = 1e-4


@dataclass
class GlmmFit:
    """A fitted binomial-logit GLMM (p fixed effects, n_theta covariance parameters).

    beta (p,), se (p,), vcov (p, p): fixed effects, SEs, covariance (2 (H⁻¹)_ββ);
    theta (n_theta,); varcorr: per term a VarCorr (sd (k,), corr (k, k));
    u (q,) spherical conditional modes, b = Λ_θ u (q,); ranef: per term (n_t, k_t)
    conditional modes of b; condvar: per term (n_t, k_t, k_t) conditional
    covariances of b (lme4's ``ranef(condVar = TRUE)``);
    loglik (= −deviance / 2, lme4's ``logLik``), deviance (lme4's objective,
    −2 logLik), conditional_deviance (lme4's ``deviance()``: Σ deviance residuals²
    at the modes), aic, bic, df = p + n_theta, nobs;
    gradient, hessian ((n_theta + p)²), scaled_gradient, hessian_eigenvalues (free
    parameters), converged, singular, messages; n_evaluations (deviance
    evaluations), n_iterations (stage 1, stage 2); stage1: θ, β, deviance at nAGQ = 0.
    """
    beta: np.ndarray
    se: np.ndarray
    vcov: np.ndarray
    theta: np.ndarray
    varcorr: list
    u: np.ndarray
    b: np.ndarray
    ranef: list
    condvar: list
    loglik: float
    deviance: float
    conditional_deviance: float
    aic: float
    bic: float
    df: int
    nobs: int
    n_agq: int
    gradient: np.ndarray
    hessian: np.ndarray
    scaled_gradient: np.ndarray
    hessian_eigenvalues: np.ndarray
    converged: bool
    singular: bool
    messages: list = field(default_factory=list)
    n_evaluations: int = 0
    n_iterations: tuple = (0, 0)
    stage1: dict = field(default_factory=dict)
    eta: np.ndarray = field(default=None, repr=False)
    mu: np.ndarray = field(default=None, repr=False)


class _Objective:
    """The deviance of stage 1 (θ) and stage 2 (θ, β), with warm starts: each
    evaluation's PIRLS starts from the conditional modes of the last accepted
    point, so finite differences around it are smooth."""

    def __init__(self, problem: GlmmProblem, n_agq: int, gradient=None):
        self.pb, self.n_agq, self.analytic = problem, n_agq, gradient
        self.nt = problem.layout.n_theta
        self.count = 0

    def stage1(self, theta) -> float:
        self.count += 1
        return joint_laplace_deviance(self.pb, theta, tol=STAGE1_PIRLS_TOL).deviance

    def value_and_gradient1(self, theta):
        """(nAGQ = 0 deviance, its gradient in θ): analytic when available."""
        if self.analytic is None:
            return self.stage1(theta), self.fd_gradient(self.stage1, theta)
        self.count += 1
        state = joint_laplace_deviance(self.pb, theta, tol=STAGE1_PIRLS_TOL)
        self.pb.warm_joint = np.concatenate([state.u, state.beta])
        return state.deviance, joint_laplace_gradient(self.pb, theta, state)

    def stage2(self, x) -> float:
        self.count += 1
        return agq_deviance(self.pb, x[:self.nt], x[self.nt:], self.n_agq)[0]

    def accept1(self, theta) -> None:
        st = joint_laplace_deviance(self.pb, theta)
        self.pb.warm_joint = np.concatenate([st.u, st.beta])

    def accept2(self, x) -> None:
        self.pb.warm_u = laplace_deviance(self.pb, x[:self.nt], x[self.nt:]).u

    def fd_gradient(self, f, x, h: float = 1e-5) -> np.ndarray:
        """Central differences, step h max(1, |x_j|)."""
        g = np.empty_like(x)
        for j in range(len(x)):
            step = h * max(1.0, abs(x[j]))
            e = np.zeros_like(x)
            e[j] = step
            g[j] = (f(x + e) - f(x - e)) / (2 * step)
        return g

    def gradient2(self, x) -> np.ndarray:
        return self.value_and_gradient2(x)[1]

    def value_and_gradient2(self, x):
        """(deviance, gradient) at x = (θ, β); the modes found become the warm start."""
        if self.analytic is None or self.n_agq != 1:
            return self.stage2(x), self.fd_gradient(self.stage2, x)
        self.count += 1
        theta, beta = x[:self.nt], x[self.nt:]
        state = laplace_deviance(self.pb, theta, beta)
        self.pb.warm_u = state.u
        return state.deviance, self.analytic(self.pb, theta, beta, state)


def deviance_hessian(f, x, grad=None, h: float = 1e-4) -> np.ndarray:
    """Hessian of f at x by central differences of ``grad`` when given (step h),
    else of f (lme4's ``deriv12``: second differences with step h)."""
    m = len(x)
    H = np.empty((m, m))
    if grad is not None:
        for j in range(m):
            e = np.zeros(m)
            e[j] = h
            H[:, j] = (grad(x + e) - grad(x - e)) / (2 * h)
        return 0.5 * (H + H.T)
    f0 = f(x)
    fp, fm = np.empty(m), np.empty(m)
    for j in range(m):
        e = np.zeros(m)
        e[j] = h
        fp[j], fm[j] = f(x + e), f(x - e)
        H[j, j] = (fp[j] - 2 * f0 + fm[j]) / h ** 2
    for j in range(m):
        for k in range(j):
            ej, ek = np.zeros(m), np.zeros(m)
            ej[j], ek[k] = h, h
            H[j, k] = H[k, j] = (f(x + ej + ek) - f(x + ej - ek) - f(x - ej + ek)
                                 + f(x - ej - ek)) / (4 * h ** 2)
    return H


def _free(x, g, lower) -> np.ndarray:
    """Parameters not held at their lower bound by an outward-pushing gradient."""
    at_bound = np.isfinite(lower) & (x <= lower + 1e-12)
    return ~(at_bound & (g >= 0))


def mirror_boundary_columns(layout, x, g, tol: float = 1e-6):
    """x with column j of T_t negated for every diagonal θ_jj at its bound 0
    whose gradient g_jj > ``tol`` pushes outward while the column has entries
    below the diagonal; None when there is no such column.

    Negating a column of T_t leaves Σ_t = T_t T_tᵀ and so the deviance unchanged,
    and at θ_jj = 0 it maps D(ε, θ_{·j}) to D(−ε, −θ_{·j}): the one-sided slope
    into the interior at the mirrored point is −g_jj < 0. A bounded optimizer
    stops at such a point (a minimum of the box, not of the likelihood: lme4
    reaches a better optimum from its start), so the fit restarts from the mirror."""
    out, changed = x.copy(), False
    for t, k in enumerate(layout.n_columns):
        for j in range(int(k) - 1):
            diag, below = layout.column_positions(t, j)
            if x[diag] <= 1e-12 and g[diag] > tol and np.any(x[below] != 0):
                out[below] = -x[below]
                changed = True
    return out if changed else None


def _newton_polish(obj: _Objective, x, g, H, lower, max_steps: int = 4):
    """Projected Newton steps on the free parameters while the deviance falls."""
    f = obj.stage2(x)
    for _ in range(max_steps):
        free = _free(x, g, lower)
        try:
            step = -np.linalg.solve(H[np.ix_(free, free)], g[free])
        except np.linalg.LinAlgError:
            break
        xt = x.copy()
        xt[free] += step
        xt = np.maximum(xt, lower)
        ft = obj.stage2(xt)
        if not ft < f:
            break
        x, f = xt, ft
        obj.accept2(x)
        g = obj.gradient2(x)
        if np.max(np.abs(step)) < 1e-10:
            break
    return x, g


def _reporting(value_and_gradient, callback):
    """(the objective, scipy's ``callback(intermediate_result)``) calling
    ``callback(iteration, deviance, max |gradient|)`` after each iteration (the
    gradient of the last evaluation: the accepted point's); unchanged without a callback."""
    if callback is None:
        return value_and_gradient, None
    state = {"k": 0, "g": np.zeros(1)}

    def fg(x):
        f, g = value_and_gradient(x)
        state["g"] = g
        return f, g

    def report(intermediate_result):
        state["k"] += 1
        callback(state["k"], float(intermediate_result.fun), float(np.max(np.abs(state["g"]))))
    return fg, report


def _stage1(obj: _Objective, theta0, lower, max_iter: int, callback=None):
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    fg, report = _reporting(obj.value_and_gradient1, callback)
    res = minimize(fg, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": max_iter, "ftol": 1e-10, "gtol": 1e-4}, callback=report)
    obj.accept1(res.x)
    return res


def _stage2(obj: _Objective, x0, lower, max_iter: int, callback=None):
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]

    fg, report = _reporting(obj.value_and_gradient2, callback)
    res = minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-8, "maxcor": 20},
                   callback=report)
    obj.accept2(res.x)
    return res


def _convergence(g, H, free):
    """(scaled gradient, eigenvalues of H, converged) on the free parameters."""
    Hf, gf = H[np.ix_(free, free)], g[free]
    eig = np.linalg.eigvalsh(Hf) if len(gf) else np.zeros(0)
    try:
        scaled = np.linalg.solve(np.linalg.cholesky(Hf), gf)
    except np.linalg.LinAlgError:
        return np.full(gf.shape, np.nan), eig, False
    ok = bool(np.all(np.abs(scaled) <= CONVERGED_SCALED_GRADIENT)) and bool(np.all(eig > 0))
    return scaled, eig, ok


def fit_glmm(problem: GlmmProblem, n_agq: int = 1, *, theta_start=None, beta_start=None,
             max_iter: int = 1000, gradient=None, callback=None) -> GlmmFit:
    """Fit by maximum likelihood (Laplace for ``n_agq`` = 1, adaptive
    Gauss–Hermite for ``n_agq`` > 1 with one scalar term); see the module
    docstring. ``gradient(problem, theta, beta)``: an analytic gradient of the
    Laplace deviance (default :func:`laplace_gradient` when cheap, finite
    differences otherwise). ``theta_start``: stage 1's start (default T_t = I);
    with ``beta_start`` too, stage 1 is skipped and stage 2 starts there;
    ``beta_start`` alone replaces stage 1's β as stage 2's start. ``callback(iteration,
    deviance, max |gradient|)``: called after every iteration of each stage (the
    iterations of stage 2 count from 1 again)."""
    check_agq(problem, n_agq)
    with blas_one_thread():         # small dense algebra: BLAS threads only spin
        return _fit(problem, n_agq, theta_start, beta_start, max_iter, gradient, callback)


def _fit(problem, n_agq, theta_start, beta_start, max_iter, gradient, callback=None) -> GlmmFit:
    if gradient is None and gradient_is_cheap(problem):
        gradient = laplace_gradient
    lay = problem.layout
    obj = _Objective(problem, n_agq, gradient)
    lower_t = lay.bounds_lower
    if theta_start is not None and beta_start is not None:        # no stage 1
        theta1, beta0, nit1, stage1 = (np.asarray(theta_start, dtype=np.float64),
                                       np.asarray(beta_start, dtype=np.float64), 0, {})
    else:
        theta0 = lay.start() if theta_start is None else np.asarray(theta_start, dtype=np.float64)
        res1 = _stage1(obj, theta0, lower_t, max_iter, callback)
        st1 = joint_laplace_deviance(problem, res1.x)
        theta1, nit1 = res1.x, int(res1.nit)
        beta0 = st1.beta if beta_start is None else np.asarray(beta_start, dtype=np.float64)
        stage1 = {"theta": res1.x, "beta": st1.beta, "deviance": st1.deviance}
    lower = np.concatenate([lower_t, np.full(problem.p, -np.inf)])
    x0 = np.concatenate([theta1, beta0])
    if n_agq > 1 and gradient is not None:     # the Laplace optimum (analytic gradient) first
        x0 = _stage2(_Objective(problem, 1, gradient), x0, lower, max_iter).x
    res2 = _stage2(obj, x0, lower, max_iter, callback)
    x = res2.x
    g = obj.gradient2(x)
    grad_fn = obj.gradient2 if (gradient is not None and n_agq == 1) else None
    H = deviance_hessian(obj.stage2, x, grad_fn)
    x, g = _newton_polish(obj, x, g, H, lower)
    for _ in range(lay.n_theta):                # leave boundary points that are not minima
        mirrored = mirror_boundary_columns(lay, x, g)
        if mirrored is None:
            break
        res = _stage2(obj, mirrored, lower, max_iter, callback)
        if not obj.stage2(res.x) < obj.stage2(x) - 1e-10:
            obj.accept2(x)
            break
        res2, x = res, res.x
        g = obj.gradient2(x)
        H = deviance_hessian(obj.stage2, x, grad_fn)
        x, g = _newton_polish(obj, x, g, H, lower)
    messages = [] if res2.success else [f"L-BFGS-B: {res2.message}"]
    return _result(problem, obj, x, g, H, n_agq, lower, messages, (nit1, int(res2.nit)), stage1)


def _result(problem, obj, x, g, H, n_agq, lower, messages, n_iter, stage1) -> GlmmFit:
    lay, nt, p = problem.layout, obj.nt, problem.p
    theta, beta = x[:nt], x[nt:]
    dev, state = agq_deviance(problem, theta, beta, n_agq)
    free = _free(x, g, lower)
    scaled, eig, ok = _convergence(g, H, free)
    keep = free | (np.arange(len(x)) >= nt)
    try:
        Hinv = np.linalg.inv(H[np.ix_(keep, keep)])
        vcov = 2.0 * Hinv[-p:, -p:]
        vcov = 0.5 * (vcov + vcov.T)
    except np.linalg.LinAlgError:
        vcov = np.full((p, p), np.nan)
        messages.append("the Hessian is singular: no standard errors")
    if not ok:
        messages.append("the convergence check failed: max |scaled gradient| "
                        f"{np.nanmax(np.abs(scaled)) if len(scaled) else 0:.2g}, "
                        f"smallest Hessian eigenvalue {eig.min() if len(eig) else 0:.3g}")
    T = lay.factors(theta)
    ranef = lay.split_by_term(state.b)
    blocks = state.factor.inverse_diagonal_blocks(lay.n_columns, lay.n_levels)
    condvar = [Tt @ B @ Tt.T for Tt, B in zip(T, blocks)]
    df = p + nt
    n = problem.n
    return GlmmFit(
        beta=beta, se=np.sqrt(np.diag(vcov)), vcov=vcov, theta=theta,
        varcorr=lay.varcorr(theta), u=state.u, b=state.b, ranef=ranef, condvar=condvar,
        loglik=-dev / 2, deviance=dev, conditional_deviance=problem.conditional_deviance(state.eta),
        aic=dev + 2 * df, bic=dev + np.log(n) * df, df=df, nobs=n, n_agq=n_agq,
        gradient=g, hessian=H, scaled_gradient=scaled, hessian_eigenvalues=eig,
        converged=ok, singular=lay.is_singular(theta, SINGULAR_TOL), messages=messages,
        n_evaluations=obj.count, n_iterations=n_iter, stage1=stage1, eta=state.eta, mu=state.mu)


def laplace_scale_deviance(fit: GlmmFit, problem: GlmmProblem) -> float:
    """An nAGQ > 1 fit's deviance on the Laplace (full binomial likelihood) scale."""
    return fit.deviance + (agq_scale_constant(problem) if fit.n_agq > 1 else 0.0)
