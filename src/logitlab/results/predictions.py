"""Tables of predictions, one row per input row (the ``logitlab predict`` output)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def prediction_table(model, X, ids=None, id_column=None, index=None, level=None) -> pd.DataFrame:
    """The ``logitlab predict`` table of rows ``X`` (in memory): ``id_column``
    (from ``ids``), ``predicted``, ``prob_<class>`` per class, then ``logit``
    (binary) or ``logit_<class>`` per class (ordinal: ``eta`` and
    ``cum_logit_<lo|hi>`` per cut). With a confidence ``level``
    (``predict --ci``) also ``logit_se`` (binary) and, per class,
    ``prob_<class>_se``, ``prob_<class>_ci_low``, ``prob_<class>_ci_high`` of
    :func:`prediction_intervals` (binary: for ``classes_[1]``)."""
    n = X.shape[0]
    K = model.classes_.size
    proba = model.predict_proba(X) if n else np.empty((0, K))
    logits = model.decision_function(X) if n else np.empty((0,) if K == 2 else (0, K))
    result = pd.DataFrame(index=index if index is not None else pd.RangeIndex(n))
    if id_column is not None:
        result[id_column] = ids
    if K > 2:
        result["predicted"] = model.classes_[np.argmax(proba, axis=1)]
    else:
        result["predicted"] = model.predict(X) if n else model.classes_[:0]
    for k, c in enumerate(model.classes_):
        result[f"prob_{c}"] = proba[:, k]
    if getattr(model.results_.layout, "ordinal", False):     # η and the cumulative logits
        from .inference import threshold_labels
        result["eta"] = logits
        Z = model.cumulative_logits(X) if n else np.empty((0, K - 1))
        for k, cut in enumerate(threshold_labels(model.classes_)):
            result[f"cum_logit_{cut}"] = Z[:, k]
    elif logits.ndim == 1:
        result["logit"] = logits
    else:
        for k, c in enumerate(model.classes_):
            result[f"logit_{c}"] = logits[:, k]
    if level is not None:
        _add_intervals(result, model, X, n, level)
    return result


def _add_intervals(result: pd.DataFrame, model, X, n: int, level: float) -> None:
    """The ``--ci`` columns of :func:`prediction_table`, added in place."""
    classes = model.classes_
    if n == 0:
        ci = pd.DataFrame({c: np.empty(0) for c in ("logit_se", "prob_se", "prob_ci_low",
                                                    "prob_ci_high")})
    else:
        ci = prediction_intervals(model, X, level)
    if classes.size == 2:
        result["logit_se"] = ci["logit_se"].to_numpy()
        per_class = [(classes[1], ci)]
    else:
        per_class = [(c, ci.xs(c, level="class") if n else ci) for c in classes]
    for c, part in per_class:
        for col in ("prob_se", "prob_ci_low", "prob_ci_high"):
            result[f"prob_{c}_{col[5:]}"] = part[col].to_numpy()


# ------------------------------------------------------- confidence intervals
def prediction_intervals(model, X, level: float = 0.95, offset=None) -> pd.DataFrame:
    """Predictions with their standard errors and confidence intervals.

    With ``x̃ = [x, 1]`` and ``V`` the fit's covariance of the coefficients (the
    inverse information, or the robust / cluster sandwich the model was fitted
    with), ``q = Φ⁻¹(½ + level/2)``:

    * **binary** — one row per input row: ``logit`` ``z = x̃ᵀβ (+ offset)``,
      ``logit_se = √(x̃ᵀ V x̃)``, ``logit_ci_low/high = z ∓ q·se``; ``prob``
      ``p = σ(z)``, ``prob_se = p (1 − p) logit_se`` (the delta method, as R's
      ``predict(type="response", se.fit=TRUE)``), and ``prob_ci_low/high =
      σ(z ∓ q·se)``: the interval is computed on the logit scale and transformed,
      so it stays inside (0, 1) (as R users do with ``se.fit`` and statsmodels'
      ``GLM.get_prediction``).
    * **multinomial** — one row per (input row, class), a ``(row, class)``
      MultiIndex: ``logit`` is the log relative risk ``z_k − z_ref`` against the
      reference class (0 for the reference itself) with ``logit_se``; ``prob``
      ``p_k = softmax(z)_k``; ``prob_se`` by the delta method with
      ``∂p_k/∂z_j = p_k (δ_kj − p_j)``; the interval is computed on the scale of
      ``logit(p_k) = log(p_k / (1 − p_k))`` (gradient ``(δ_kj − p_j)/(1 − p_k)``
      with respect to the free logits ``z_j``) and transformed back.
    * **ordinal** — one row per (input row, level): ``cum_logit`` ``ζ_k − η``
      (the logit of ``P(y ≤ k)``; NaN for the top level) with ``cum_logit_se``
      (gradient ``(−x, e_k)``), ``cum_prob`` and its interval (on the cumulative
      logit scale); ``prob`` ``p_k = σ(a) − σ(b)`` (``a = ζ_k − η``, ``b = ζ_{k−1} − η``)
      with ``prob_se`` by the delta method (gradient ``(−(f(a) − f(b)) x,
      f(a) e_k − f(b) e_{k−1})``, ``f = σ(1 − σ)``), its interval on the scale
      of ``logit(p_k)`` (gradient divided by ``p_k (1 − p_k)``) transformed back.

    Parameters
    ----------
    model : a fitted, unpenalized (or Firth) ``LogisticRegression``
    X : (n, d) predictors as ``predict_proba`` takes them (raw data frames go
        through the formula design)
    level : confidence level in (0, 1)
    offset : (n,) or (n, K) offsets, as in ``predict_proba``

    Returns
    -------
    DataFrame indexed by ``X``'s index (DataFrame input) or row position.
    """
    from scipy import special, stats

    from .inference import as_results, full_covariance
    level = check_level(level)
    results = as_results(model)
    V = full_covariance(results)                     # (size, size), aliased rows 0
    Xd = model.design_matrix(X)
    index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(Xd.shape[0])
    q = stats.norm.ppf(0.5 + level / 2)
    layout = results.layout
    if layout.ordinal:
        from .ordinal_predictions import ordinal_intervals
        return ordinal_intervals(results, Xd, V, q, index, offset)
    Z = model.decision_function(X, offset)
    if not layout.multinomial:
        se = np.sqrt(_quadratic_rows(Xd, V, layout.fit_intercept))
        lo, hi = Z - q * se, Z + q * se
        p = special.expit(Z)
        return pd.DataFrame({
            "logit": Z, "logit_se": se, "logit_ci_low": lo, "logit_ci_high": hi,
            "prob": p, "prob_se": p * (1.0 - p) * se,
            "prob_ci_low": special.expit(lo), "prob_ci_high": special.expit(hi),
        }, index=index)
    return _multinomial_intervals(results, Xd, Z, V, q, index)


def check_level(level) -> float:
    """``level`` as a float strictly between 0 and 1, or a ValueError saying so."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise ValueError(f"level must be a confidence level strictly between 0 and 1 "
                         f"(e.g. 0.95); got {level!r}.")
    return value


def _augmented(Xd, fit_intercept: bool):
    """``[X, 1]`` (dense, or CSR for sparse ``X``)."""
    import scipy.sparse as sp
    if not fit_intercept:
        return Xd
    ones = np.ones((Xd.shape[0], 1))
    if sp.issparse(Xd):
        return sp.hstack([Xd, sp.csr_matrix(ones)], format="csr")
    return np.hstack([np.asarray(Xd, dtype=np.float64), ones])


def _quadratic_rows(Xd, V, fit_intercept: bool) -> np.ndarray:
    """``x̃_iᵀ V x̃_i`` for every row (n,), ``V`` over the rows of ``W`` (binary)."""
    A = _augmented(Xd, fit_intercept)
    AV = np.asarray(A @ V)
    prod = A.multiply(AV).sum(axis=1) if hasattr(A, "multiply") else np.einsum("ij,ij->i", A, AV)
    return np.maximum(np.asarray(prod, dtype=np.float64).ravel(), 0.0)


def _multinomial_intervals(results, Xd, Z, V, q, index) -> pd.DataFrame:
    """The (row, class) table of :func:`prediction_intervals` for K > 2 classes.

    ``S`` (n, C, C) is the covariance of the free logits per row:
    ``S_ikl = x̃_iᵀ V[:, k, :, l] x̃_i`` with ``V`` reshaped to (R, C, R, C)."""
    from scipy import special
    layout = results.layout
    free = list(layout.free_classes)
    ref = results.outcome.reference
    R, C = layout.n_rows, layout.n_cols
    A = _augmented(Xd, layout.fit_intercept)
    V4 = V.reshape(R, C, R, C)
    n, K = Z.shape
    S = np.empty((n, C, C))
    for k in range(C):
        for m in range(C):
            AV = np.asarray(A @ V4[:, k, :, m])
            S[:, k, m] = (np.asarray(A.multiply(AV).sum(axis=1)).ravel() if hasattr(A, "multiply")
                          else np.einsum("ij,ij->i", A, AV))
    rel = Z - Z[:, [ref]]                            # log relative risks (n, K)
    P = special.softmax(Z, axis=1)
    logit_se = np.zeros((n, K))
    logit_se[:, free] = np.sqrt(np.maximum(np.einsum("ikk->ik", S), 0.0))
    prob_se, lo, hi = np.empty((n, K)), np.empty((n, K)), np.empty((n, K))
    Pf = P[:, free]
    for c in range(K):
        # gradient of logit(p_c) over the free logits: (δ_cj − p_j) / (1 − p_c), with
        # 1 − p_c summed from the other classes' probabilities (no cancellation)
        rest = np.delete(P, c, axis=1).sum(axis=1)
        delta = np.array([1.0 if j == c else 0.0 for j in free])
        with np.errstate(divide="ignore", invalid="ignore"):
            G = (delta[None, :] - Pf) / rest[:, None]
            se = np.sqrt(np.maximum(np.einsum("ik,ikm,im->i", G, S, G), 0.0))
            eta = np.log(P[:, c]) - np.log(rest)
        prob_se[:, c] = P[:, c] * rest * np.where(np.isfinite(se), se, 0.0)
        # a probability that rounds to 0 or 1 has a degenerate interval at that value
        lo[:, c] = np.where(np.isfinite(eta), special.expit(eta - q * se), P[:, c])
        hi[:, c] = np.where(np.isfinite(eta), special.expit(eta + q * se), P[:, c])
    classes = results.classes
    rows = pd.MultiIndex.from_product([index, classes], names=[index.name or "row", "class"])
    return pd.DataFrame({
        "logit": rel.ravel(), "logit_se": logit_se.ravel(),
        "prob": P.ravel(), "prob_se": prob_se.ravel(),
        "prob_ci_low": lo.ravel(), "prob_ci_high": hi.ravel(),
    }, index=rows)
