"""The analytic gradient of the Laplace deviance in (θ, β).

F(θ, β) = pd(û) + log det A, A = MᵀWM + I, M = Z Λ_θ, at the conditional mode û
(∂pd/∂u = 0). With r = m (y − μ), W = diag(w), w = m μ(1 − μ),
w' = m μ(1 − μ)(1 − 2μ) (dw/dη), the leverages h_i = m_iᵀ A⁻¹ m_i (m_i row i
of M), s = w' ∘ h and v = A⁻¹ Mᵀ s:

* envelope: ∂pd/∂β = −2 Xᵀ r, ∂pd/∂θ_j = −2 rᵀ (dM_j û), dM_j = Z ∂Λ_θ/∂θ_j;
* log det through M: 2 Σ_i w_i (A⁻¹ m_i) · dm_ij;
* log det through W(η), with dη = dη_direct + M dû and, from the mode condition,
  A dû = dMᵀ r − MᵀW dη_direct: (s − W M v) · dη_direct + r · (dM v),

so ∂F/∂β = Xᵀ(−2r + s − W M v) and, for θ_j the (a, b) entry of term t's T_t
(dm_ij = z_{ia} e_b in row i's level block),

    ∂F/∂θ_j = Σ_i z_{ia} [α_i û_{t c(i) b} + 2 w_i R_{t i b} + r_i v_{t c(i) b}],

α = −2r + s − W M v, R_{t i} = (A⁻¹ m_i) restricted to term t's block of row i's
level. A⁻¹ m_i comes from the block Cholesky factor: its leading part is one
k_1 block per row, the trailing part dense (r × n) — so the cost is
O(n r² + n K²), fine while the non-leading terms have up to a few hundred columns
(:data:`MAX_TRAILING_WORK` bounds n r²; beyond it the caller uses finite differences).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.special import expit

from .glmm_laplace import GlmmProblem, laplace_deviance

__all__ = ["laplace_gradient", "gradient_is_cheap", "MAX_TRAILING_WORK"]

#: the largest n · r² (rows × trailing columns²) for the analytic gradient
MAX_TRAILING_WORK = 2e9


def gradient_is_cheap(problem: GlmmProblem) -> bool:
    r = problem.q - problem.q1
    return problem.n * r * max(r, 1) <= MAX_TRAILING_WORK


def _per_row_inverse(problem: GlmmProblem, factor, V) -> list:
    """R_t (n, k_t): A⁻¹ m_i restricted to term t's columns of row i's level."""
    n, q1, codes = problem.n, problem.q1, problem.codes
    m1, k1 = factor.m, factor.k
    p1 = np.einsum("iab,ib->ia", factor.L11inv[codes[0]], V[0])          # L11⁻¹ m_i, (n, k1)
    if not factor.r:
        return [np.einsum("iba,ib->ia", factor.L11inv[codes[0]], p1)]
    r = factor.r
    rest_off = problem.layout.column_offsets[1:] - q1
    Mr = np.zeros((r, n))
    rows = np.arange(n)
    for t in range(1, len(V)):
        k = V[t].shape[1]
        for a in range(k):
            Mr[rest_off[t - 1] + codes[t] * k + a, rows] = V[t][:, a]
    L21 = factor.L21.toarray() if sp.issparse(factor.L21) else factor.L21
    G = L21.reshape(r, m1, k1)[:, codes[0], :]                           # (r, n, k1)
    P2 = sla.solve_triangular(factor.L22, Mr - np.einsum("rib,ib->ri", G, p1), lower=True)
    R2 = sla.solve_triangular(factor.L22, P2, lower=True, trans="T")      # (r, n)
    R1 = np.einsum("iba,ib->ia", factor.L11inv[codes[0]], p1 - np.einsum("rib,ri->ib", G, R2))
    out = [R1]
    for t in range(1, len(V)):
        k = V[t].shape[1]
        idx = rest_off[t - 1] + codes[t][:, None] * k + np.arange(k)      # (n, k)
        out.append(R2[idx, rows[:, None]])
    return out


def laplace_gradient(problem: GlmmProblem, theta, beta, state=None) -> np.ndarray:
    """∂F/∂(θ, β) of the Laplace deviance (n_theta + p,), at the PIRLS mode
    (``state`` from :func:`laplace_deviance` at (θ, β), computed when not given)."""
    if state is None:
        state = laplace_deviance(problem, theta, beta)
    lay = problem.layout
    T = lay.factors(theta)
    V = [v @ Tt for v, Tt in zip(problem.values, T)]
    mu = expit(state.eta)
    var = problem.weights * mu * (1 - mu)
    r = problem.weights * (problem.y - mu)
    R = _per_row_inverse(problem, state.factor, V)
    h = sum(np.einsum("ij,ij->i", Vt, Rt) for Vt, Rt in zip(V, R))
    s = var * (1 - 2 * mu) * h
    Ms = np.concatenate([(problem.indicators[t] @ (s[:, None] * V[t])).ravel()
                         for t in range(lay.n_terms)])
    v = state.factor.solve(Ms)
    U, Vv = lay.split_by_term(state.u), lay.split_by_term(v)
    Mv = sum(np.einsum("ij,ij->i", V[t], Vv[t][problem.codes[t]]) for t in range(lay.n_terms))
    alpha = -2 * r + s - var * Mv
    grad_beta = problem.X.T @ alpha
    grad_theta = []
    for t in range(lay.n_terms):
        c = problem.codes[t]
        inner = alpha[:, None] * U[t][c] + 2 * var[:, None] * R[t] + r[:, None] * Vv[t][c]
        grad_theta.append(lay.tril_of(t, problem.values[t].T @ inner))   # (k, k): [a, b]
    return np.concatenate(grad_theta + [grad_beta])
