"""Tests of the proportional-odds assumption of an ordinal (cumulative logit) model.

* :func:`nominal_test` — R ``ordinal::nominal_test``: for each term, the
  likelihood-ratio test of the model against the partial proportional-odds
  model in which that term's effect differs by cut (``nominal``):
  ``LR = 2 (ℓ_nominal − ℓ)`` on ``(K − 2) · (columns of the term)`` df.
* :func:`brant_test` — Brant (1990): the K − 1 binary logits of ``[y > c_k]``
  on the same columns (each with its own intercept) give slopes ``β̂_k``; under
  proportional odds they estimate the same β. With ``π_k`` the fitted
  ``P(y > c_k)`` of binary fit k and ``x̃ = [1, x]``, their joint covariance is
  ``V_kl = I_k⁻¹ (Σ_i s_i π_il (1 − π_ik) x̃_i x̃_iᵀ) I_l⁻¹`` for ``k ≤ l`` (``I_k``
  the information of fit k; ``{y > c_l} ⊂ {y > c_k}``). The Wald statistic of
  ``β_1 = β_2 = … = β_{K−1}`` over all slopes ("omnibus", ``(K − 2) d`` df) and over
  each term's slopes (``(K − 2) · columns`` df) is ``(Dβ̂)ᵀ (D V Dᵀ)⁻¹ (Dβ̂)`` with
  ``D`` the differences ``β_1 − β_k``, k = 2, …, K − 1 — the statistic of the
  Stata and R ``brant`` commands.

Both refit on the training rows, which the fitted model holds in memory (a
loaded model does not: refit it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg, stats

from ..engines.memory import MemorySource
from ..fitting import pipeline
from ..fitting.spec import fit_spec
from .hypotheses import model_terms
from .inference import as_results, require_inference


def _training_rows(model):
    """The training rows ``LocalRows(X, codes, s, offset)`` of an ordinal fit."""
    results = as_results(model)
    if not results.layout.ordinal:
        raise ValueError("tests of proportional odds are for ordinal models.")
    rows = None if results.objective is None else results.objective.data.local_rows()
    if rows is None:
        raise ValueError("this test refits on the training rows, which this model does not "
                         "hold (a loaded model, or a Dask fit): refit it in memory first.")
    return results, rows


def _term_columns(model, results) -> dict:
    """``{term: [column indices]}`` of the model's formula terms (or columns)."""
    names = [str(n) for n in results.feature_names]
    return {t: [names.index(c) for c in cols] for t, cols in model_terms(model).items()}


def _ordinal_loglik(rows, results, nominal) -> tuple:
    """``(ℓ, n_params)`` of the ordinal fit on ``rows`` with ``nominal`` columns."""
    K = results.classes.size
    source = MemorySource(rows.X, rows.y, rows.s, rows.offset, ordinal=True,
                          levels=list(range(K)), feature_names=list(results.feature_names))
    spec = fit_spec({"penalty": None, "family": "ordinal", "nominal_indices": nominal})
    outcome = pipeline.fit(spec, source)
    if not outcome.solver.converged:
        raise ValueError(f"the partial proportional-odds refit with nominal columns {nominal} "
                         "did not converge; its likelihood-ratio test is not reliable.")
    return outcome.inference.loglik, len(outcome.inference.estimated)


def nominal_test(model) -> pd.DataFrame:
    """R's ``nominal_test``: one row per term (``df``, ``loglik``, ``aic``, ``lrt``,
    ``p_value``) and a first row ``<none>`` for the model itself."""
    results, rows = _training_rows(model)
    state = require_inference(results)
    if results.layout.nominal:
        raise ValueError("nominal_test takes a proportional-odds model (no nominal terms).")
    ll0, k0 = state.loglik, len(state.estimated)
    out = [{"term": "<none>", "df": np.nan, "loglik": ll0, "aic": -2 * ll0 + 2 * k0,
            "lrt": np.nan, "p_value": np.nan}]
    for term, cols in _term_columns(model, results).items():
        ll, k = _ordinal_loglik(rows, results, tuple(cols))
        df = k - k0
        lrt = 2.0 * (ll - ll0)
        out.append({"term": term, "df": df, "loglik": ll, "aic": -2 * ll + 2 * k, "lrt": lrt,
                    "p_value": float(stats.chi2.sf(lrt, df)) if df > 0 else np.nan})
    return pd.DataFrame(out).set_index("term")


def _binary_splits(rows, K: int, names) -> list:
    """The K − 1 binary fits of ``[y > c_k]``: ``(coef (d + 1,) intercept last,
    fitted π (n,), information (d + 1, d + 1))`` each."""
    fits = []
    spec = fit_spec({"penalty": None})
    for k in range(K - 1):
        source = MemorySource(rows.X, (np.asarray(rows.y) > k).astype(np.int8), rows.s,
                              rows.offset, feature_names=list(names))
        outcome = pipeline.fit(spec, source)
        state = outcome.inference
        if state is None or state.separated or state.aliased or not outcome.solver.converged:
            raise ValueError(f"Brant's test needs the binary fit of y > level {k} to exist, "
                             "but it does not (separated, aliased or not converged); use "
                             "nominal_test() instead.")
        family = outcome.family
        z = family.linear_predictor(rows.X, family.layout.matrix(outcome.coef), rows.offset)
        fits.append((np.asarray(outcome.coef), 1.0 / (1.0 + np.exp(-z)),
                     np.asarray(state.information)))
    return fits


def brant_test(model) -> pd.DataFrame:
    """Brant's Wald tests of proportional odds (see the module docstring): rows
    ``omnibus`` and one per term, columns ``statistic``, ``df``, ``p_value``."""
    results, rows = _training_rows(model)
    K = results.classes.size
    d = results.layout.n_features
    fits = _binary_splits(rows, K, results.feature_names)
    Xt = np.asarray(rows.X.toarray() if hasattr(rows.X, "toarray") else rows.X, dtype=float)
    Xt = np.column_stack([Xt, np.ones(Xt.shape[0])])            # intercept last, as the fits
    s = np.asarray(np.broadcast_to(rows.s, (Xt.shape[0],)), dtype=float)
    inv = [linalg.inv(info) for _, _, info in fits]
    J = K - 1
    V = np.zeros((J * d, J * d))
    for k in range(J):
        for l in range(k, J):
            w = s * fits[l][1] * (1.0 - fits[k][1])
            block = (inv[k] @ (Xt.T @ (w[:, None] * Xt)) @ inv[l])[:d, :d]
            V[k * d:(k + 1) * d, l * d:(l + 1) * d] = block
            V[l * d:(l + 1) * d, k * d:(k + 1) * d] = block.T
    beta = np.concatenate([coef[:d] for coef, _, _ in fits])
    out = {"omnibus": _brant_wald(beta, V, list(range(d)), d, J)}
    for term, cols in _term_columns(model, results).items():
        out[term] = _brant_wald(beta, V, cols, d, J)
    return pd.DataFrame.from_dict(out, orient="index").rename_axis("term")


def _brant_wald(beta, V, cols, d: int, J: int) -> dict:
    """The Wald test that the slopes of ``cols`` are equal across the J fits."""
    D = np.zeros(((J - 1) * len(cols), J * d))
    for r, k in enumerate(range(1, J)):
        for c, j in enumerate(cols):
            D[r * len(cols) + c, j] = 1.0
            D[r * len(cols) + c, k * d + j] = -1.0
    diff = D @ beta
    stat = float(diff @ linalg.solve(D @ V @ D.T, diff, assume_a="pos"))
    df = D.shape[0]
    return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df))}
