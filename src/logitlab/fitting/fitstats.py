"""Quantities computed from the data right after a fit, for inference.

These need the rows (one pass each) and so are taken while the estimator
still holds them: the Fisher information at the optimum, the null model's
log-likelihood, the aliased columns, and the "meat" of sandwich covariances.
:mod:`logitlab.results.inference` turns them into standard errors, tests and tables.

All sums are over rows weighted by the sample weights ``s`` (frequency-weight
semantics: a weight of 2 is the same as a repeated row).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ..solvers.objective import Objective
from .. import solvers

#: relative squared residual norm below which a column counts as aliased
ALIAS_RTOL = 1e-9


def loglik(objective: Objective, w_full) -> float:
    """Σ s·log-likelihood at the full vector ``w_full`` (unpenalized part)."""
    st = objective.data.stats(objective.layout.matrix(w_full), grad=False)
    return -st.loss


def information(objective: Objective, w_full) -> np.ndarray:
    """Fisher information ``Σ s x xᵀ ⊗ (diag p - p pᵀ)`` (size, size) at ``w_full``.

    For the logit link the observed and expected information coincide: the
    Hessian of the summed negative log-likelihood.
    """
    st = objective.data.stats(objective.layout.matrix(w_full), grad=False, hess=True)
    return st.hess


def aliased_rows(gram: np.ndarray, order, rtol: float = ALIAS_RTOL) -> list:
    """Rows of a PSD matrix that are linear combinations of earlier rows in ``order``.

    Sequential (pivot-free) Cholesky, as R's ``glm`` keeps the first of
    collinear columns: a row whose squared residual norm, after projection on
    the kept rows, is below ``rtol`` times its own squared norm is aliased.
    """
    kept, aliased = [], []
    L = np.zeros((0, 0))
    for j in order:
        gjj = gram[j, j]
        if not gjj > 0:
            aliased.append(j)
            continue
        v = linalg.solve_triangular(L, gram[kept, j], lower=True) if kept else np.zeros(0)
        resid = gjj - float(v @ v)
        if resid <= rtol * gjj:
            aliased.append(j)
            continue
        m = len(kept)
        L_new = np.zeros((m + 1, m + 1))
        L_new[:m, :m] = L
        L_new[m, :m] = v
        L_new[m, m] = np.sqrt(resid)
        L = L_new
        kept.append(j)
    return sorted(aliased)


def aliased_features(objective: Objective, w0_full) -> list:
    """Feature rows (indices into X's columns; ``n_features`` is the intercept)
    that are aliased, from the Hessian at the start point (positive weights,
    so it has the null space of the weighted Gram matrix ``[X, 1]ᵀ S [X, 1]``).
    Intercept first, then the columns in order, as R checks them."""
    return aliased_from_information(information(objective, w0_full), objective.layout)


def aliased_from_information(H: np.ndarray, layout) -> list:
    """Aliased feature rows from a full information matrix (size, size) at any
    point where every row has positive weight: its first class block has the
    null space of ``[X, 1]ᵀ S [X, 1]``."""
    m, C = layout.n_rows, layout.n_cols
    block = H.reshape(m, C, m, C)[:, 0, :, 0]
    d = layout.n_features
    order = ([d] if layout.fit_intercept else []) + list(range(d))
    return aliased_rows(block, order)


def null_objective(objective: Objective) -> Objective:
    """The same data with every feature coefficient fixed at 0 (intercepts free)."""
    layout = objective.layout
    fixed = np.ones((layout.n_rows, layout.n_cols), dtype=bool)
    if layout.fit_intercept:
        fixed[-1] = False
    return Objective(objective.data, fixed=fixed.ravel(), fixed_values=np.zeros(layout.size))


def null_loglik(objective: Objective, w0_full) -> float:
    """Log-likelihood of the intercept-only model (with the same offsets).

    Without offsets it is the closed form ``Σ_k S_k log(S_k / S)`` over the
    weighted class totals ``S_k`` (the family's ``null_loglik``); with offsets
    the intercepts are refitted.
    """
    data, layout = objective.data, objective.layout
    if not data.has_offset and layout.fit_intercept:
        return data.family.null_loglik(data.class_totals())
    null = null_objective(objective)
    if null.size == 0:
        return loglik(objective, np.zeros(objective.layout.size))
    res = solvers.run("newton", null, null.restrict(w0_full), tol=1e-12, max_iter=100)
    return loglik(objective, null.expand(res.coef))


def score_meat(objective: Objective, w_full, n_groups=None) -> tuple:
    """Sandwich "meat" ``Σ_g u_g u_gᵀ`` of the per-row (or per-cluster) scores.

    ``n_groups``: None (each row its own cluster) or the number of clusters
    (the backend carries each row's cluster code). Returns
    ``(meat (size, size), n_clusters)``.
    """
    data = objective.data
    W = objective.layout.matrix(w_full)
    if n_groups is None:
        return data.score_meat(W), int(data.n_rows)
    sums = data.cluster_score_sums(W, n_groups)
    return sums.T @ sums, int(n_groups)


def firth_null_loglik(objective: Objective, w0_full) -> float:
    """Penalized log-likelihood of the intercept-only Firth model whose penalty
    is the full model's ``½ log det I`` (R ``logistf``'s likelihood-ratio test)."""
    null = null_objective(objective)
    res = solvers.run("firth", null, null.restrict(w0_full), tol=1e-10, max_iter=200,
                      penalty_coords=objective.free)
    return -float(res.objective) * float(objective.data.weight_sum)
