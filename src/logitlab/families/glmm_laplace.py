"""The Laplace approximation (nAGQ = 1) to the marginal likelihood of a
binomial-logit mixed model, by penalized IRLS (PIRLS), as lme4's ``glmer``.

Model (lme4's names): η = Xβ + Z b + offset, b = Λ_θ u, u ~ N(0, I_q),
y_i | u ~ Binomial(m_i, μ_i)/m_i with μ = logistic(η) (y the proportion, m the
prior weights — the trials of a ``cbind`` response — 1 for binary data).

For given (θ, β), PIRLS finds the conditional mode û of u by Newton's method
with step halving on the penalized deviance

    pd(u) = −2 log p(y | u) + ‖u‖²,

whose Hessian / 2 is A = L_θ L_θᵀ = Λ_θᵀ ZᵀWZ Λ_θ + I_q, W = diag(m μ(1 − μ)).
The Laplace deviance (lme4's objective, ``fit@devcomp$cmp["dev"]``, = −2 logLik) is

    dev(θ, β) = −2 log p(y | û) + ‖û‖² + log det(L_θ L_θᵀ),

where −2 log p(y | u) includes the binomial normalizing constants
(R's ``binomial()$aic``: −2 Σ log dbinom(m y, m, μ)), so that logLik = −dev / 2
equals R's ``logLik(glmer(...))``. With β inside PIRLS (glmer's stage 1,
nAGQ = 0) the Newton steps are on (u, β) jointly (β unpenalized) and the log
determinant is still that of the u block.

The factorization is :class:`logitlab.core.blockchol.BlockCholesky`: the first
term (lme4 orders terms by decreasing number of levels) is the block-diagonal
leading part, the other terms' columns (and β, jointly) the dense trailing part.
Why: it needs only NumPy/SciPy (CHOLMOD, which lme4 uses, is GPL/LGPL), is
vectorized over levels, and covers one factor with slopes, nested and crossed
designs while the non-leading terms have up to a few thousand columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, gammaln

from ..core.blockchol import BlockCholesky
from .glmm_structure import ThetaLayout

__all__ = ["GlmmProblem", "LaplaceState", "laplace_deviance", "joint_laplace_deviance",
           "PirlsError"]


class PirlsError(ArithmeticError):
    """PIRLS could not find the conditional modes (a singular system, or no descent)."""


def _softplus(x):
    return np.logaddexp(0.0, x)


class GlmmProblem:
    """A binomial-logit GLMM's data.

    X : (n, p) dense fixed-effects matrix
    Z : (n, q) scipy.sparse random-effects matrix (lme4's column order)
    y : (n,) proportions in [0, 1]
    weights : (n,) prior weights m ≥ 0 (trials for grouped data), default 1
    offset : (n,) default 0
    layout : :class:`ThetaLayout` of the terms (n_levels, n_columns), Z's columns
    """

    def __init__(self, X, Z, y, layout: ThetaLayout, weights=None, offset=None):
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.Z = sp.csc_matrix(Z, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        n = self.y.shape[0]
        self.weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        self.offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=np.float64)
        self.layout = layout
        if self.X.shape[0] != n or self.Z.shape[0] != n or self.weights.shape != (n,) \
                or self.offset.shape != (n,):
            raise ValueError("X, Z, y, weights and offset must have one row per observation.")
        if self.Z.shape[1] != layout.q:
            raise ValueError(f"Z has {self.Z.shape[1]} columns but the terms have {layout.q}.")
        self.n, self.p, self.q = n, self.X.shape[1], layout.q
        self.q1 = int(layout.n_levels[0] * layout.n_columns[0])
        self.constant = self._binomial_constant()
        self._leading_rows()
        self.warm_u = np.zeros(self.q)
        self.warm_joint = np.zeros(self.q + self.p)

    def _binomial_constant(self) -> float:
        """−2 Σ log C(m_i, m_i y_i) (R rounds m and m y)."""
        m, s = np.round(self.weights), np.round(self.weights * self.y)
        logc = gammaln(m + 1) - gammaln(s + 1) - gammaln(m - s + 1)
        return -2.0 * float(np.sum(np.where(self.weights > 0, logc, 0.0)))

    def _leading_rows(self) -> None:
        """Each row's level in the first term and its k1 values of Z there."""
        k1 = int(self.layout.n_columns[0])
        Z1 = self.Z[:, :self.q1].tocsr()
        rows = np.repeat(np.arange(self.n), np.diff(Z1.indptr))
        self.codes1 = np.zeros(self.n, dtype=np.int64)
        self.codes1[rows] = Z1.indices // k1
        self.Z1_values = np.zeros((self.n, k1))
        np.add.at(self.Z1_values, (rows, Z1.indices % k1), Z1.data)

    # ------------------------------------------------------------ likelihood
    def minus2_loglik(self, eta) -> float:
        """−2 log p(y | η), normalizing constants included."""
        ll = self.weights * (self.y * eta - _softplus(eta))
        return -2.0 * float(np.sum(ll)) + self.constant

    def conditional_deviance(self, eta) -> float:
        """Σ binomial deviance residuals² = 2 Σ m [y log(y/μ) + (1−y) log((1−y)/(1−μ))]."""
        y, w = self.y, self.weights
        sat = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0) + \
            np.where(y < 1, (1 - y) * np.log(np.where(y < 1, 1 - y, 1.0)), 0.0)
        return 2.0 * float(np.sum(w * (sat - (y * eta - _softplus(eta)))))


@dataclass
class LaplaceState:
    """PIRLS at the conditional mode, for one (θ, β).

    deviance : the Laplace deviance (−2 logLik); ``minus2_loglik_cond`` =
    −2 log p(y | û); ``sqrL`` = ‖û‖²; ``ldL2`` = log det(L_θ L_θᵀ);
    u (q,), b = Λ_θ u (q,), beta (p,), eta (n,), mu (n,); ``factor`` the
    :class:`BlockCholesky` of the u (or joint (u, β)) system at û; ``iterations``.
    """
    deviance: float
    minus2_loglik_cond: float
    sqrL: float
    ldL2: float
    u: np.ndarray
    b: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    factor: BlockCholesky
    iterations: int


class _System:
    """The PIRLS normal equations of one θ: M = Z Λ_θ and the blocks of
    A = MᵀWM + I (u only), or of [[A, MᵀWX], [XᵀWM, XᵀWX]] (joint)."""

    def __init__(self, problem: GlmmProblem, theta, joint: bool):
        self.pb, self.joint = problem, joint
        self.Lambda = problem.layout.Lambda(theta)
        self.M = sp.csc_matrix(problem.Z @ self.Lambda)
        self.M1 = self.M[:, :problem.q1]
        self.Mr = self.M[:, problem.q1:]
        T1 = problem.layout.factors(theta)[0]
        self.V1 = problem.Z1_values @ T1              # (n, k1): row i of M in its level block

    def factor(self, w) -> BlockCholesky:
        pb, k1 = self.pb, self.V1.shape[1]
        m1 = int(pb.layout.n_levels[0])
        D = np.empty((m1, k1, k1))
        for a in range(k1):
            for c in range(a + 1):
                D[:, a, c] = D[:, c, a] = np.bincount(pb.codes1, w * self.V1[:, a] * self.V1[:, c],
                                                      minlength=m1)
        D += np.eye(k1)
        r_u = self.Mr.shape[1]
        if not r_u and not self.joint:
            return BlockCholesky(D)
        WM1 = sp.diags(w) @ self.M1
        parts21, parts22 = [], []
        if r_u:
            WMr = sp.diags(w) @ self.Mr
            parts21.append(sp.csr_matrix(WMr.T @ self.M1))
            parts22.append((self.Mr.T @ WMr).toarray() + np.eye(r_u))
        if self.joint:
            WX = pb.X * w[:, None]
            parts21.append(sp.csr_matrix(np.asarray((WM1.T @ pb.X).T)))
            xx = pb.X.T @ WX
            if r_u:
                xr = np.asarray(self.Mr.T @ WX)          # (r_u, p)
                parts22 = [np.block([[parts22[0], xr], [xr.T, xx]])]
            else:
                parts22 = [xx]
        return BlockCholesky(D, sp.vstack(parts21, format="csr"), parts22[0])

    def eta(self, u, beta) -> np.ndarray:
        pb = self.pb
        return pb.X @ beta + pb.offset + self.M @ u

    def gradient(self, u, mu) -> np.ndarray:
        """(Mᵀ m (y − μ) − u [, Xᵀ m (y − μ)]): minus half the gradient of pd."""
        pb = self.pb
        r = pb.weights * (pb.y - mu)
        g = self.M.T @ r - u
        return np.concatenate([g, pb.X.T @ r]) if self.joint else g


def _split(x, q, joint, beta):
    return (x[:q], x[q:]) if joint else (x, beta)


def _pirls(system: _System, x0, beta, tol: float, max_iter: int) -> LaplaceState:
    """Newton with step halving on pd over x = u (or (u, β) when joint), until
    the Newton decrement gᵀA⁻¹g is below ``tol`` (or stops falling at rounding)."""
    pb, q, joint = system.pb, system.pb.q, system.joint
    x = x0.copy()
    u, b_ = _split(x, q, joint, beta)
    eta = system.eta(u, b_)
    pd = pb.minus2_loglik(eta) + u @ u
    last = np.inf
    for it in range(1, max_iter + 1):
        mu = expit(eta)
        try:
            factor = system.factor(pb.weights * mu * (1 - mu))
        except np.linalg.LinAlgError:
            raise PirlsError("the PIRLS system is singular (are the fixed effects "
                             "collinear or separated?)") from None
        g = system.gradient(u, mu)
        delta = factor.solve(g)
        dec = float(g @ delta)
        # converged, or (near convergence) no longer falling: rounding dominates
        if dec < tol or (dec < 1e-12 * (1.0 + abs(pd)) and dec > 0.25 * last):
            break
        last = dec
        step = 1.0
        for _ in range(30):
            xt = x + step * delta
            ut, bt = _split(xt, q, joint, beta)
            eta_t = system.eta(ut, bt)
            pd_t = pb.minus2_loglik(eta_t) + ut @ ut
            if pd_t <= pd + 1e-10 * abs(pd):
                break
            step *= 0.5
        else:
            raise PirlsError("PIRLS step halving found no descent.")
        x, eta, pd = xt, eta_t, pd_t
        u, b_ = ut, bt
    else:
        raise PirlsError(f"PIRLS did not converge in {max_iter} iterations.")
    ldL2 = factor.logdet(q)
    m2ll = pb.minus2_loglik(eta)
    sqrL = float(u @ u)
    return LaplaceState(deviance=m2ll + sqrL + ldL2, minus2_loglik_cond=m2ll, sqrL=sqrL,
                        ldL2=ldL2, u=u.copy(), b=system.Lambda @ u, beta=np.array(b_, dtype=float),
                        eta=eta, mu=mu, factor=factor, iterations=it)


def laplace_deviance(problem: GlmmProblem, theta, beta, *, u0=None, tol: float = 1e-20,
                     max_iter: int = 100) -> LaplaceState:
    """The Laplace deviance at (θ, β) (glmer's stage 2 objective), PIRLS on u
    started at ``u0`` (default: the last mode found, ``problem.warm_u``)."""
    system = _System(problem, theta, joint=False)
    x0 = problem.warm_u if u0 is None else np.asarray(u0, dtype=np.float64)
    state = _pirls(system, x0, np.asarray(beta, dtype=np.float64), tol, max_iter)
    return state


def joint_laplace_deviance(problem: GlmmProblem, theta, *, start=None, tol: float = 1e-20,
                           max_iter: int = 100) -> LaplaceState:
    """The nAGQ = 0 deviance at θ (glmer's stage 1 objective): PIRLS on (u, β)
    jointly, started at ``start`` = (u, β) (default: ``problem.warm_joint``)."""
    system = _System(problem, theta, joint=True)
    x0 = problem.warm_joint if start is None else np.asarray(start, dtype=np.float64)
    return _pirls(system, x0, None, tol, max_iter)
