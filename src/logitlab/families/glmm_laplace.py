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

__all__ = ["GlmmProblem", "LaplaceState", "PirlsSystem", "laplace_deviance", "joint_laplace_deviance",
           "PirlsError", "sum_by_level", "rows_dot_levels"]


class PirlsError(ArithmeticError):
    """PIRLS could not find the conditional modes (a singular system, or no descent)."""


def _softplus(x):
    """log(1 + eˣ) = max(x, 0) + log1p(e^−|x|) (as ``logaddexp(0, x)``, about twice as fast)."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


#: terms of up to this many columns are summed by level with ``bincount`` (else a sparse product)
BINCOUNT_MAX_COLUMNS = 8


def sum_by_level(codes, n_levels: int, values, indicator=None) -> np.ndarray:
    """Σ over the rows of each level: (n_levels,) or (n_levels, j) from values (n,) or
    (n, j) and each row's level ``codes`` (n,); ``bincount`` per column (faster than the
    sparse indicator product for a few columns), ``indicator`` @ values for many."""
    if values.ndim == 1:
        return np.bincount(codes, values, minlength=n_levels)
    if values.shape[1] > BINCOUNT_MAX_COLUMNS and indicator is not None:
        return indicator @ values
    out = np.empty((n_levels, values.shape[1]))
    for a in range(values.shape[1]):
        out[:, a] = np.bincount(codes, values[:, a], minlength=n_levels)
    return out


def rows_dot_levels(codes, V, U) -> np.ndarray:
    """Σ_a V[i, a] U[codes[i], a] (n,): each row's values times its level's (k,) vector."""
    out = V[:, 0] * np.take(U[:, 0], codes)
    for a in range(1, V.shape[1]):
        out += V[:, a] * np.take(U[:, a], codes)
    return out


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
        self._term_rows()
        self.warm_u = np.zeros(self.q)
        self.warm_joint = np.zeros(self.q + self.p)

    def _binomial_constant(self) -> float:
        """−2 Σ log C(m_i, m_i y_i) (R rounds m and m y)."""
        m, s = np.round(self.weights), np.round(self.weights * self.y)
        logc = gammaln(m + 1) - gammaln(s + 1) - gammaln(m - s + 1)
        return -2.0 * float(np.sum(np.where(self.weights > 0, logc, 0.0)))

    def _term_rows(self) -> None:
        """Per term t: each row's level ``codes[t]`` (n,) and its k_t values of Z
        in that level's columns ``values[t]`` (n, k_t); the level indicator
        ``indicators[t]`` (n_t × n sparse) sums rows by level."""
        self.codes, self.values, self.indicators = [], [], []
        lay = self.layout
        for t, (m, k) in enumerate(zip(lay.n_levels, lay.n_columns)):
            Zt = self.Z[:, lay.column_offsets[t]:lay.column_offsets[t + 1]].tocsr()
            rows = np.repeat(np.arange(self.n), np.diff(Zt.indptr))
            codes = np.zeros(self.n, dtype=np.int64)
            codes[rows] = Zt.indices // k
            values = np.zeros((self.n, int(k)))
            np.add.at(values, (rows, Zt.indices % k), Zt.data)
            if np.any(np.bincount(rows, minlength=self.n) > k) or \
                    np.any(codes[rows] != Zt.indices // k):
                raise ValueError(f"Z's columns of term {t} must have each row in one level.")
            self.codes.append(codes)
            self.values.append(values)
            self.indicators.append(sp.csr_matrix((np.ones(self.n), (codes, np.arange(self.n))),
                                                 shape=(int(m), self.n)))

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


#: largest r × q1 for which the cross block A21 is formed dense
DENSE_CROSS_MAX = 4_000_000


class PirlsSystem:
    """The PIRLS normal equations of one θ, from each row's level codes c_t and
    the values V_t = Z_t-row · T_t (n, k_t) of M = Z Λ_θ in its level's columns:
    the blocks of A = MᵀWM + I (u only), or of [[A, MᵀWX], [XᵀWM, XᵀWX]] (joint),
    sums over rows by level (``bincount``), no loop over levels."""

    def __init__(self, problem: GlmmProblem, theta, joint: bool):
        self.pb, self.joint = problem, joint
        self.T = problem.layout.factors(theta)
        self.V = [np.asfortranarray(v @ T) for v, T in zip(problem.values, self.T)]   # (n, k_t)
        lay = problem.layout
        self.rest_offsets = lay.column_offsets[1:] - problem.q1     # of terms 1.. in the rest

    def _split_u(self, u) -> list:
        return self.pb.layout.split_by_term(u)

    def eta(self, u, beta) -> np.ndarray:
        """Xβ + offset + Z Λ_θ u."""
        pb = self.pb
        eta = pb.X @ beta + pb.offset
        for c, V, U in zip(pb.codes, self.V, self._split_u(u)):
            eta += rows_dot_levels(c, V, U)
        return eta

    def b(self, u) -> np.ndarray:
        """b = Λ_θ u (per level b_tj = T_t u_tj)."""
        return np.concatenate([(U @ T.T).ravel() for U, T in zip(self._split_u(u), self.T)])

    def _by_level(self, t: int, values) -> np.ndarray:
        """Σ over the rows of each level of term t: (n_t, ...) from (n, ...)."""
        pb = self.pb
        return sum_by_level(pb.codes[t], int(pb.layout.n_levels[t]), values, pb.indicators[t])

    def gradient(self, u, mu) -> np.ndarray:
        """(Mᵀ m (y − μ) − u [, Xᵀ m (y − μ)]): minus half the gradient of pd."""
        pb = self.pb
        r = pb.weights * (pb.y - mu)
        g = np.concatenate([self._by_level(t, r[:, None] * V).ravel()
                            for t, V in enumerate(self.V)]) - u
        return np.concatenate([g, pb.X.T @ r]) if self.joint else g

    def _pair_block(self, w, s: int, t: int, n_rows: int, n_cols: int, row0: int, col0: int,
                    dense: bool):
        """Σ_i w_i M_si M_tiᵀ placed at (row0, col0): the (term s) × (term t) block."""
        pb = self.pb
        ks, kt = self.V[s].shape[1], self.V[t].shape[1]
        rows = row0 + pb.codes[s][:, None] * ks + np.arange(ks)          # (n, ks)
        cols = col0 + pb.codes[t][:, None] * kt + np.arange(kt)          # (n, kt)
        vals = (w[:, None, None] * self.V[s][:, :, None] * self.V[t][:, None, :])
        rr = np.broadcast_to(rows[:, :, None], vals.shape).ravel()
        cc = np.broadcast_to(cols[:, None, :], vals.shape).ravel()
        if dense:
            return np.bincount(rr * n_cols + cc, vals.ravel(),
                               minlength=n_rows * n_cols).reshape(n_rows, n_cols)
        return sp.csr_matrix((vals.ravel(), (rr, cc)), shape=(n_rows, n_cols))

    def _leading_blocks(self, w) -> np.ndarray:
        """The diagonal blocks D_j of A11 (n_1, k1, k1): Σ_{i in j} w_i v_i v_iᵀ + I."""
        pb, V1 = self.pb, self.V[0]
        m1, k1 = int(pb.layout.n_levels[0]), V1.shape[1]
        if k1 == 1:
            return (np.bincount(pb.codes[0], w * V1[:, 0] ** 2, minlength=m1) + 1.0)[:, None, None]
        D = np.empty((m1, k1, k1))
        for a in range(k1):
            for c in range(a + 1):
                D[:, a, c] = D[:, c, a] = np.bincount(pb.codes[0], w * V1[:, a] * V1[:, c],
                                                      minlength=m1)
        return D + np.eye(k1)

    def _x_cross(self, w, t: int) -> np.ndarray:
        """M_tᵀ W X (n_t k_t × p)."""
        V = self.V[t]
        blocks = [self._by_level(t, (w * V[:, a])[:, None] * self.pb.X) for a in range(V.shape[1])]
        return np.stack(blocks, axis=1).reshape(-1, self.pb.p)

    def factor(self, w) -> BlockCholesky:
        """The :class:`BlockCholesky` of the system at weights w = m μ(1 − μ)."""
        pb = self.pb
        D = self._leading_blocks(w)
        r_u, n_terms = pb.q - pb.q1, pb.layout.n_terms
        if not r_u and not self.joint:
            return BlockCholesky(D)
        dense = (r_u + pb.p * self.joint) * pb.q1 <= DENSE_CROSS_MAX
        parts21 = []
        A22 = np.eye(r_u)
        for s in range(1, n_terms):
            parts21.append(self._pair_block(w, s, 0, r_u, pb.q1, self.rest_offsets[s - 1], 0, dense))
            for t in range(1, n_terms):
                A22 += self._pair_block(w, s, t, r_u, r_u, self.rest_offsets[s - 1],
                                        self.rest_offsets[t - 1], True)
        A21 = (np.sum(parts21, axis=0) if dense else sp.csr_matrix(sum(parts21))) if parts21 \
            else None
        if self.joint:
            xu = self._x_cross(w, 0).T                                          # (p, q1)
            xr = np.concatenate([self._x_cross(w, t) for t in range(1, n_terms)]) if r_u \
                else np.zeros((0, pb.p))
            xx = pb.X.T @ (pb.X * w[:, None])
            A21 = xu if A21 is None else (np.vstack([A21, xu]) if dense
                                         else sp.vstack([A21, sp.csr_matrix(xu)], format="csr"))
            A22 = np.block([[A22, xr], [xr.T, xx]])
        return BlockCholesky(D, A21, A22)


def _split(x, q, joint, beta):
    return (x[:q], x[q:]) if joint else (x, beta)


def _pirls(system: PirlsSystem, x0, beta, tol: float, max_iter: int) -> LaplaceState:
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
                        ldL2=ldL2, u=u.copy(), b=system.b(u), beta=np.array(b_, dtype=float),
                        eta=eta, mu=mu, factor=factor, iterations=it)


def laplace_deviance(problem: GlmmProblem, theta, beta, *, u0=None, tol: float = 1e-20,
                     max_iter: int = 100) -> LaplaceState:
    """The Laplace deviance at (θ, β) (glmer's stage 2 objective), PIRLS on u
    started at ``u0`` (default: the last mode found, ``problem.warm_u``)."""
    system = PirlsSystem(problem, theta, joint=False)
    x0 = problem.warm_u if u0 is None else np.asarray(u0, dtype=np.float64)
    state = _pirls(system, x0, np.asarray(beta, dtype=np.float64), tol, max_iter)
    return state


def joint_laplace_deviance(problem: GlmmProblem, theta, *, start=None, tol: float = 1e-20,
                           max_iter: int = 100) -> LaplaceState:
    """The nAGQ = 0 deviance at θ (glmer's stage 1 objective): PIRLS on (u, β)
    jointly, started at ``start`` = (u, β) (default: ``problem.warm_joint``)."""
    system = PirlsSystem(problem, theta, joint=True)
    x0 = problem.warm_joint if start is None else np.asarray(start, dtype=np.float64)
    return _pirls(system, x0, None, tol, max_iter)
