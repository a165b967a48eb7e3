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
level, gathered from the blocks of A⁻¹ between levels that share a row
(:meth:`BlockCholesky.inverse_parts`). At stage 1's joint mode (β inside PIRLS) dû and dβ̂ solve the joint
system, so v = [v_u; v_β] solves it with [Mᵀs; Xᵀs] and M v is M v_u + X v_β.
The cost is O(r² q_1 + n K²) (r the non-leading terms' columns, q_1 the leading
term's, K the columns of a row); :data:`MAX_TRAILING_WORK` bounds r² q_1, beyond
it the caller uses finite differences.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .glmm_laplace import (GlmmProblem, PirlsSystem, joint_laplace_deviance, laplace_deviance,
                           rows_dot_levels, sum_by_level)

__all__ = ["laplace_gradient", "joint_laplace_gradient", "gradient_is_cheap", "MAX_TRAILING_WORK"]

#: the largest r² q_1 (trailing columns² × leading columns) for the analytic gradient
MAX_TRAILING_WORK = 2e10


def gradient_is_cheap(problem: GlmmProblem) -> bool:
    """Whether the analytic gradient's dense r × q_1 block of A⁻¹ is affordable."""
    r = problem.q - problem.q1
    return r * r * problem.q1 <= MAX_TRAILING_WORK and r * problem.q1 <= 5e7


def _per_row_inverse(problem: GlmmProblem, factor, V) -> list:
    """R_t (n, k_t): A⁻¹ m_i restricted to term t's columns of row i's level.

    A⁻¹ m_i = Σ_s (A⁻¹)[(t, c_t(i)), (s, c_s(i))] V_s[i]: only the blocks of A⁻¹
    between levels that share a row are gathered — the diagonal blocks of the
    leading part, and the (dense) trailing × leading and trailing blocks."""
    codes = problem.codes
    B11, B21, B22 = factor.inverse_parts()
    c1 = codes[0]
    R1 = np.column_stack([rows_dot_levels(c1, V[0], B11[:, a, :]) for a in range(B11.shape[1])])
    if not factor.r:
        return [R1]
    k1 = factor.k
    rest_off = problem.layout.column_offsets[1:] - problem.q1
    idx = [rest_off[t - 1] + codes[t][:, None] * V[t].shape[1] + np.arange(V[t].shape[1])
           for t in range(1, len(V))]                                     # (n, k_t) rows of B21
    lead = c1[:, None] * k1 + np.arange(k1)                               # (n, k1)
    out = [R1]
    for s, ids in enumerate(idx, start=1):
        cross = B21[ids[:, :, None], lead[:, None, :]]                    # (n, k_s, k1)
        R1 = R1 + np.einsum("isa,is->ia", cross, V[s])
        Rs = np.einsum("isa,ia->is", cross, V[0])
        for t, idt in enumerate(idx, start=1):
            Rs = Rs + np.einsum("ist,it->is", B22[ids[:, :, None], idt[:, None, :]], V[t])
        out.append(Rs)
    out[0] = R1
    return out


def _gradient(problem: GlmmProblem, theta, u, eta, factor_u, joint_factor=None):
    """(∂F/∂θ, ∂F/∂β) at the mode (u, η); ``factor_u`` factors A = MᵀWM + I there.
    With ``joint_factor`` (of [[A, MᵀWX], [XᵀWM, XᵀWX]]) the mode is the joint
    (u, β) one of stage 1: then v = [v_u; v_β] solves the joint system with
    [Mᵀs; Xᵀs] and M v becomes M v_u + X v_β (β's own gradient is then 0)."""
    lay = problem.layout
    V = [np.asfortranarray(vals @ Tt) for vals, Tt in zip(problem.values, lay.factors(theta))]
    mu = expit(eta)
    var = problem.weights * mu * (1 - mu)
    r = problem.weights * (problem.y - mu)
    R = _per_row_inverse(problem, factor_u, V)
    h = sum(np.einsum("ij,ij->i", Vt, Rt) for Vt, Rt in zip(V, R))
    s = var * (1 - 2 * mu) * h
    Ms = np.concatenate([sum_by_level(problem.codes[t], int(lay.n_levels[t]), s[:, None] * V[t],
                                      problem.indicators[t]).ravel()
                         for t in range(lay.n_terms)])
    if joint_factor is None:
        v, Xv = factor_u.solve(Ms), 0.0
    else:
        vv = joint_factor.solve(np.concatenate([Ms, problem.X.T @ s]))
        v, Xv = vv[:problem.q], problem.X @ vv[problem.q:]
    U, Vv = lay.split_by_term(u), lay.split_by_term(v)
    Mv = sum(rows_dot_levels(problem.codes[t], V[t], Vv[t]) for t in range(lay.n_terms))
    alpha = -2 * r + s - var * (Mv + Xv)
    grad_theta = []
    for t in range(lay.n_terms):
        # Σ_i z_ia α_i û_{c(i) b} = Σ_j (Σ_{i in j} z_ia α_i) û_jb, likewise for r v: level sums
        c, Zt, m_t = problem.codes[t], problem.values[t], int(lay.n_levels[t])
        Za = sum_by_level(c, m_t, alpha[:, None] * Zt, problem.indicators[t])        # (n_t, k)
        Zr = sum_by_level(c, m_t, r[:, None] * Zt, problem.indicators[t])
        G = Za.T @ U[t] + Zr.T @ Vv[t] + 2.0 * (Zt.T @ (var[:, None] * R[t]))       # (k, k): [a, b]
        grad_theta.append(lay.tril_of(t, G))
    return np.concatenate(grad_theta), problem.X.T @ alpha


def laplace_gradient(problem: GlmmProblem, theta, beta, state=None) -> np.ndarray:
    """∂F/∂(θ, β) of the Laplace deviance (n_theta + p,), at the PIRLS mode
    (``state`` from :func:`laplace_deviance` at (θ, β), computed when not given)."""
    if state is None:
        state = laplace_deviance(problem, theta, beta)
    g_theta, g_beta = _gradient(problem, theta, state.u, state.eta, state.factor)
    return np.concatenate([g_theta, g_beta])


def joint_laplace_gradient(problem: GlmmProblem, theta, state=None) -> np.ndarray:
    """dF₀/dθ (n_theta,) of the nAGQ = 0 deviance (β inside PIRLS), at the joint
    mode (``state`` from :func:`joint_laplace_deviance` at θ): the formula of the
    module docstring with dû, dβ̂ from the joint mode condition."""
    if state is None:
        state = joint_laplace_deviance(problem, theta)
    system = PirlsSystem(problem, theta, joint=False)
    mu = expit(state.eta)
    factor_u = system.factor(problem.weights * mu * (1 - mu))
    return _gradient(problem, theta, state.u, state.eta, factor_u, state.factor)[0]
