"""Adaptive Gauss–Hermite quadrature (nAGQ > 1) of the marginal likelihood of a
binomial-logit mixed model with one scalar random-effects term, as lme4's
``glmer(..., nAGQ = K)``.

With one scalar term the groups j are independent given (θ, β): the marginal
likelihood is Π_j ∫ p(y_j | u) φ(u) du. Around the conditional mode û_j (PIRLS,
:func:`logitlab.families.glmm_laplace.laplace_deviance`) with the conditional
SD σ_j = 1 / L_jj (L_θ is diagonal here), u = û_j + σ_j z and the K-point
Gauss–Hermite rule for the standard normal (nodes z_k, weights w_k, Σ w_k = 1):

    −2 log ∫ p(y_j | u) φ(u) du ≈ D_j(û_j) + û_j² + log L_jj²
        − 2 log Σ_k w_k exp(−[D_j(û_j + σ_j z_k) − D_j(û_j)]/2
                            − [(û_j + σ_j z_k)² − û_j²]/2 + z_k²/2),

D_j(u) = −2 log p(y_j | u). K = 1 (z = 0, w = 1) is the Laplace approximation.
The deviance is the sum over groups.

lme4's convention, matched here: for nAGQ > 1 its objective (and so
``logLik = −objective / 2``) uses the binomial *deviance residuals* for D_j, i.e.
omits the normalizing constants −2 Σ log C(m, m y) and the saturated
log-likelihood that its Laplace objective (nAGQ = 1) includes — the two logLiks
differ by that constant (83.96 on cbpp). :func:`agq_deviance` returns lme4's
value and the constant, so both scales are available.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .glmm_laplace import GlmmProblem, LaplaceState, laplace_deviance

__all__ = ["gauss_hermite", "agq_deviance", "agq_scale_constant", "check_agq"]


@lru_cache(maxsize=32)
def _rule(n_nodes: int):
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    z.flags.writeable = False
    w = w / np.sqrt(2.0 * np.pi)
    w.flags.writeable = False
    return z, w


def gauss_hermite(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``n_nodes``-point rule for ∫ f(z) φ(z) dz (Σ w = 1)."""
    return _rule(int(n_nodes))


def check_agq(problem: GlmmProblem, n_agq: int) -> None:
    """nAGQ > 1 needs one scalar random-effects term (as lme4); nAGQ ≥ 1."""
    if not isinstance(n_agq, (int, np.integer)) or n_agq < 1:
        raise ValueError(f"nAGQ must be a positive integer; got {n_agq!r}.")
    lay = problem.layout
    if n_agq > 1 and (lay.n_terms != 1 or lay.n_columns[0] != 1):
        raise ValueError(f"nAGQ = {n_agq} > 1 needs a single scalar random-effects term like "
                         "'(1 | g)' (as lme4's glmer); this model has "
                         f"{lay.n_terms} term(s) with {list(map(int, lay.n_columns))} column(s). "
                         "Use nAGQ = 1 (the Laplace approximation).")


def _group_minus2_loglik(problem: GlmmProblem, eta) -> np.ndarray:
    """D_j = −2 log p(y_j | η) per group of the (single) term, constants excluded
    (they cancel in differences); η (n,) or (n, K) → (m,) or (K, m)."""
    m = int(problem.layout.n_levels[0])
    eta = eta.reshape(problem.n, -1)
    ll = problem.weights[:, None] * (problem.y[:, None] * eta - np.logaddexp(0.0, eta))
    index = problem.codes[0][:, None] + m * np.arange(eta.shape[1])        # (n, K)
    out = -2.0 * np.bincount(index.ravel(), ll.ravel(), minlength=m * eta.shape[1])
    return out.reshape(eta.shape[1], m)


def agq_deviance(problem: GlmmProblem, theta, beta, n_agq: int, *, u0=None,
                 tol: float = 1e-20) -> tuple[float, LaplaceState]:
    """(the nAGQ = ``n_agq`` deviance at (θ, β) on lme4's scale, the Laplace
    state at the mode). For n_agq = 1 it is the Laplace deviance; for n_agq > 1
    add :func:`agq_scale_constant` to put it on the Laplace deviance's scale."""
    state = laplace_deviance(problem, theta, beta, u0=u0, tol=tol)
    if n_agq == 1:
        return state.deviance, state
    z, w = gauss_hermite(n_agq)
    u = state.u
    sd = 1.0 / state.factor.diagonal()                              # σ_j = 1 / L_jj, (m,)
    slope = problem.values[0][:, 0] * float(np.asarray(theta).ravel()[0])   # ∂η_i / ∂u_{c_i}
    codes = problem.codes[0]
    d0 = _group_minus2_loglik(problem, state.eta)[0]
    shift = sd[None, :] * z[:, None]                                # (K, m)
    dk = _group_minus2_loglik(problem, state.eta[:, None] + (slope[:, None] * shift[:, codes].T))
    terms = -0.5 * (dk - d0) - 0.5 * ((u + shift) ** 2 - u ** 2) + 0.5 * z[:, None] ** 2
    top = terms.max(axis=0)
    log_sum = top + np.log(np.sum(w[:, None] * np.exp(terms - top), axis=0))
    dev = problem.conditional_deviance(state.eta) + state.sqrL + state.ldL2 \
        - 2.0 * float(np.sum(log_sum))
    return dev, state


def agq_scale_constant(problem: GlmmProblem) -> float:
    """−2 log p(y | η) − Σ deviance residuals² (independent of η): what lme4's
    nAGQ > 1 objective leaves out (see the module docstring)."""
    eta = np.zeros(problem.n)
    return problem.minus2_loglik(eta) - problem.conditional_deviance(eta)
