"""Predicted probabilities of an ordinal (cumulative logit) model with their
delta-method standard errors and confidence intervals (the ordinal part of
:func:`logitlab.results.predictions.prediction_intervals`, whose docstring
states the formulas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special


def ordinal_intervals(results, Xd, V, q: float, index, offset=None) -> pd.DataFrame:
    """The (row, level) table: ``cum_logit``, ``cum_logit_se``, ``cum_prob``,
    ``cum_prob_ci_low/high``, ``prob``, ``prob_se``, ``prob_ci_low/high``.

    ``Xd`` (n, d) the design, ``V`` (d + K − 1, d + K − 1) the covariance of
    (β, ζ), ``q`` the normal quantile of the level."""
    family, layout = results.family, results.layout
    d, m = layout.n_features, layout.n_thresholds
    X = Xd.toarray() if hasattr(Xd, "toarray") else np.asarray(Xd, dtype=np.float64)
    Zc = family.linear_predictor(X, results.coef, offset)          # (n, K − 1)
    n = Zc.shape[0]
    Vbb, Vbz, Vzz = V[:d, :d], V[:d, d:], V[d:, d:]
    xVx = np.einsum("ij,jk,ik->i", X, Vbb, X) if d else np.zeros(n)
    xVz = X @ Vbz if d else np.zeros((n, m))                         # (n, K − 1)
    cum_se = np.sqrt(np.maximum(xVx[:, None] - 2 * xVz + np.diag(Vzz)[None, :], 0.0))
    # per level: the upper (a) and lower (b) cut, padded with the open ends
    inf = np.full((n, 1), np.inf)
    a, b = np.hstack([Zc, inf]), np.hstack([-inf, Zc])
    fa, fb = _density(a), _density(b)
    xVz_a, xVz_b = np.hstack([xVz, np.zeros((n, 1))]), np.hstack([np.zeros((n, 1)), xVz])
    vz = np.diag(Vzz)
    v_a, v_b = np.r_[vz, 0.0], np.r_[0.0, vz]
    v_ab = _cross_terms(Vzz, m)
    g = fa - fb                                                      # −∂p/∂η
    var_p = (g ** 2 * xVx[:, None] - 2 * g * (fa * xVz_a - fb * xVz_b)
             + fa ** 2 * v_a + fb ** 2 * v_b - 2 * fa * fb * v_ab)
    prob_se = np.sqrt(np.maximum(var_p, 0.0))
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
    cse = np.hstack([cum_se, np.full((n, 1), np.nan)])
    rows = pd.MultiIndex.from_product([index, results.classes],
                                      names=[index.name or "row", "class"])
    with np.errstate(invalid="ignore"):
        return pd.DataFrame({
            "cum_logit": cum.ravel(), "cum_logit_se": cse.ravel(),
            "cum_prob": np.hstack([special.expit(Zc), np.ones((n, 1))]).ravel(),
            "cum_prob_ci_low": np.hstack([special.expit(Zc - q * cum_se),
                                          np.ones((n, 1))]).ravel(),
            "cum_prob_ci_high": np.hstack([special.expit(Zc + q * cum_se),
                                           np.ones((n, 1))]).ravel(),
            "prob": P.ravel(), "prob_se": prob_se.ravel(),
            "prob_ci_low": lo.ravel(), "prob_ci_high": hi.ravel(),
        }, index=rows)


def _density(t) -> np.ndarray:
    """The logistic density ``σ(t) σ(−t)``, 0 at ±∞."""
    return np.exp(-np.logaddexp(0.0, t) - np.logaddexp(0.0, -t))


def _cross_terms(Vzz, m: int) -> np.ndarray:
    """``Cov(ζ_k, ζ_{k−1})`` for each level k (0 for the bottom and top levels,
    which have one finite cut): (K,)."""
    out = np.zeros(m + 1)
    for k in range(1, m):
        out[k] = Vzz[k, k - 1]
    return out
