"""Predictions of a binomial-logit mixed model.

* conditional on the random effects: P(y = 1 | b) = logistic(Xβ + Z b + offset),
  b the conditional modes; a row in a level not seen in fitting has a zero row
  of Z (:meth:`logitlab.data.random_effects.RandomEffectsDesign.transform`), so
  its random effects are 0 (lme4's ``allow.new.levels = TRUE``);
* marginal (population average): P(y = 1) = ∫ logistic(x_iβ + o_i + z_iᵀ b) N(b; 0, Σ) db.
  z_iᵀ b is a scalar normal with variance v_i = Σ_t z_itᵀ Σ_t z_it (z_it the row's
  left-side values of term t, Σ_t = T_t T_tᵀ; levels do not matter, new ones
  included), so the integral is one-dimensional whatever the dimension of the
  row's random effects: ∫ logistic(η_i + √v_i s) φ(s) ds, by Gauss–Hermite.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .glmm_agq import gauss_hermite

__all__ = ["conditional_probability", "marginal_variance", "marginal_probability",
           "MARGINAL_NODES"]

#: Gauss–Hermite nodes of the marginal integral (error < 1e-12 for SD(z'b) ≤ 3)
MARGINAL_NODES = 100


def conditional_probability(X, beta, Z, b, offset=None) -> np.ndarray:
    """logistic(Xβ + Z b + offset), X (n, p), Z (n, q) sparse or dense, b (q,)."""
    eta = np.asarray(X, dtype=np.float64) @ np.asarray(beta, dtype=np.float64) + Z @ np.asarray(b)
    if offset is not None:
        eta = eta + np.asarray(offset, dtype=np.float64)
    return expit(eta)


def marginal_variance(term_matrices, covariances) -> np.ndarray:
    """v_i = Σ_t z_itᵀ Σ_t z_it: term_matrices[t] (n, k_t), covariances[t] (k_t, k_t)."""
    return sum(np.einsum("ia,ab,ib->i", np.asarray(Zt, dtype=np.float64), S,
                         np.asarray(Zt, dtype=np.float64))
               for Zt, S in zip(term_matrices, covariances))


def marginal_probability(X, beta, term_matrices, covariances, offset=None,
                         n_nodes: int = MARGINAL_NODES) -> np.ndarray:
    """The population-average P(y = 1) of each row (n,), see the module docstring."""
    eta = np.asarray(X, dtype=np.float64) @ np.asarray(beta, dtype=np.float64)
    if offset is not None:
        eta = eta + np.asarray(offset, dtype=np.float64)
    sd = np.sqrt(marginal_variance(term_matrices, covariances))
    z, w = gauss_hermite(n_nodes)
    return expit(eta[:, None] + sd[:, None] * z[None, :]) @ w
