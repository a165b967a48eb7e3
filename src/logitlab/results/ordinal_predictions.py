"""Predicted probabilities of an ordinal (cumulative logit) model with their
delta-method standard errors and confidence intervals (the ordinal part of
:func:`logitlab.results.predictions.prediction_intervals`, whose docstring
states the formulas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from ..families.ordinal import logistic_density as _density


def ordinal_intervals(results, Xd, V, q: float, index, offset=None) -> pd.DataFrame:
    """The (row, level) table: ``cum_logit``, ``cum_logit_se``, ``cum_prob``,
    ``cum_prob_ci_low/high``, ``prob``, ``prob_se``, ``prob_ci_low/high``.

    ``Xd`` (n, d) the design, ``V`` (size, size) the covariance of the
    coefficients (layout order), ``q`` the normal quantile of the level. The
    gradients come from the family's row Jacobians of the cumulative logits
    (``∇a``, ``∇b`` of each level): ``∂ logit P(y ≤ k) = ∇a_k`` and
    ``∂p_k = f(a) ∇a_k − f(b) ∇b_k``, ``f = σ(1 − σ)``."""
    family, layout = results.family, results.layout
    m = layout.n_thresholds
    X = Xd.toarray() if hasattr(Xd, "toarray") else np.asarray(Xd, dtype=np.float64)
    Zc = family.linear_predictor(X, results.coef, offset)          # (n, K − 1)
    n = Zc.shape[0]
    inf = np.full((n, 1), np.inf)
    a, b = np.hstack([Zc, inf]), np.hstack([-inf, Zc])
    fa, fb = _density(a), _density(b)
    cum_se = np.full((n, m + 1), np.nan)
    prob_se = np.empty((n, m + 1))
    for k in range(m + 1):
        Ga, Gb = family.jacobians(X, np.full(n, k))
        if k < m:
            cum_se[:, k] = np.sqrt(np.maximum(_quadratic(Ga, V), 0.0))
        prob_se[:, k] = np.sqrt(np.maximum(
            _quadratic(fa[:, [k]] * Ga - fb[:, [k]] * Gb, V), 0.0))
    logP = family.log_probabilities(Zc)
    P = np.exp(logP)
    # 1 − p_k as the sum of the other levels' probabilities (no cancellation)
    rest = np.stack([np.delete(P, k, axis=1).sum(axis=1) for k in range(m + 1)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = logP - np.log(rest)
        se = prob_se / (P * rest)
    ok = np.isfinite(eta) & np.isfinite(se)
    lo = np.where(ok, special.expit(eta - q * se), P)
    hi = np.where(ok, special.expit(eta + q * se), P)
    cum = np.hstack([Zc, np.full((n, 1), np.nan)])
    ones = np.ones((n, 1))
    rows = pd.MultiIndex.from_product([index, results.classes],
                                      names=[index.name or "row", "class"])
    return pd.DataFrame({
        "cum_logit": cum.ravel(), "cum_logit_se": cum_se.ravel(),
        "cum_prob": np.hstack([special.expit(Zc), ones]).ravel(),
        "cum_prob_ci_low": np.hstack([special.expit(Zc - q * cum_se[:, :m]), ones]).ravel(),
        "cum_prob_ci_high": np.hstack([special.expit(Zc + q * cum_se[:, :m]), ones]).ravel(),
        "prob": P.ravel(), "prob_se": prob_se.ravel(),
        "prob_ci_low": lo.ravel(), "prob_ci_high": hi.ravel(),
    }, index=rows)


def _quadratic(G, V) -> np.ndarray:
    """``g_iᵀ V g_i`` for every row of ``G`` (n, size)."""
    return np.einsum("ij,jk,ik->i", G, V, G)

