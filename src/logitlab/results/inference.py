"""Statistical inference on a fitted model, as exact as R and statsmodels.

For an unpenalized fit (``alpha=0``) the estimates are maximum-likelihood and
their covariance is the inverse Fisher information at the optimum,
``V = I(β̂)⁻¹`` with ``I = Σ s_i x_i x_iᵀ ⊗ (diag p_i - p_i p_iᵀ)``; or a
sandwich ``V = I⁻¹ B I⁻¹`` with ``B = Σ_g u_g u_gᵀ`` the outer products of
the (per-row or per-cluster) scores (``HC1`` and ``cluster`` add the usual
small-sample factors, as statsmodels does).

From ``V``: standard errors, z statistics ``β̂/se``, two-sided normal
p-values, Wald intervals ``β̂ ± z_{1-a/2} se``, odds ratios ``e^β̂`` (relative-
risk ratios against the reference class for multinomial models) with
``e^{interval}``. From the log-likelihoods: deviance ``-2 ℓ``, AIC
``-2ℓ + 2k``, BIC ``-2ℓ + k log n``, McFadden's pseudo-R² ``1 - ℓ/ℓ₀`` and the
likelihood-ratio test against the intercept-only model. ``n`` is the sum of
the sample weights (frequency-weight semantics) and ``k`` the number of
estimated (non-aliased) coefficients.

Terms are named ``(Intercept)`` and the feature names; multinomial terms
are ``(class, term)`` pairs for each class compared with the reference.
"""

from __future__ import annotations

import contextlib

import numpy as np
from ..core.lazy import pandas as pd
from scipy import linalg

from ..core.distributions import chi2_sf, norm_ppf, norm_sf

from ..core.layout import INTERCEPT
from ..core.threads import blas_one_thread
from .hypotheses import restriction
from .table import LabeledTable, label_index  # noqa: F401  (label_index: re-exported)


class InferenceUnavailable(ValueError):
    """The model carries no inference (penalized, or too many coefficients)."""


def as_results(model):
    """The :class:`~logitlab.results.results.LogitResults` of a fitted estimator
    (or the results object itself)."""
    results = getattr(model, "results_", None) if not hasattr(model, "outcome") else model
    if results is None:
        from ..core.exceptions import check_is_fitted
        check_is_fitted(model, "results_")
    return results


def require_inference(model):
    """The fit's :class:`~logitlab.fitting.outcome.InferenceState`, or an
    :class:`InferenceUnavailable` that says why there is none."""
    results = as_results(model)
    state = results.inference
    if state is None:
        if results.penalized:
            raise InferenceUnavailable(
                "this is a penalized fit (alpha > 0): its estimates are shrunk, so standard "
                "errors, p-values and intervals from the likelihood do not apply. Fit with "
                "alpha=0 (or penalty='firth') for inference.")
        raise InferenceUnavailable(
            "this model has too many coefficients to keep the information matrix "
            "(see logitlab.fitting.spec.INFERENCE_MAX_SIZE); fit fewer terms for inference.")
    return state


def term_labels(model) -> list:
    """Labels of the full parameter vector in its internal (row, class) order."""
    results = as_results(model)
    layout = results.layout
    if layout.ordinal:
        names = [str(n) for n in results.feature_names]
        cuts = threshold_labels(results.classes)
        return names + cuts + [f"{cut}.{names[j]}" for j in layout.nominal for cut in cuts]
    rows = [str(n) for n in results.feature_names] + ([INTERCEPT] if layout.fit_intercept else [])
    classes = [results.classes[k] for k in layout.free_classes]
    if not layout.multinomial:
        return [rows[j] for j in range(layout.n_rows)]
    return [(classes[k], rows[j]) for j in range(layout.n_rows) for k in range(layout.n_cols)]


def threshold_labels(levels) -> list:
    """R's labels of an ordinal model's thresholds: ``"lo|hi"`` for each pair of
    neighbouring levels (``polr``'s ``zeta`` names)."""
    levels = [str(v) for v in levels]
    return [f"{a}|{b}" for a, b in zip(levels[:-1], levels[1:])]


def term_kinds(model) -> list:
    """The ``kind`` of each coefficient (layout order): ``"coef"``; an ordinal
    model's ``"threshold"`` (cut points) and ``"nominal"`` (a nominal feature's
    effect at one cut, labelled ``"lo|hi.name"`` as R's ``clm``)."""
    layout = as_results(model).layout
    kinds = ["coef"] * layout.size
    if layout.ordinal:
        d, m = layout.n_features, layout.n_thresholds
        kinds[d:d + m] = ["threshold"] * m
        kinds[d + m:] = ["nominal"] * (layout.size - d - m)
    return kinds


def display_order(model) -> np.ndarray:
    """Full-vector indices in the order of a table: per class, intercept first
    (ordinal models: the slopes, then the thresholds, as R's ``polr``)."""
    layout = as_results(model).layout
    if layout.ordinal:
        return np.arange(layout.size)
    rows = ([layout.n_rows - 1] if layout.fit_intercept else []) + list(range(layout.n_features))
    return np.array([j * layout.n_cols + k for k in range(layout.n_cols) for j in rows])


#: largest information inverted with one BLAS thread
_ONE_THREAD_MAX = 512


def covariance_matrix(state) -> np.ndarray:
    """Covariance of the estimated coordinates (in ``state.estimated`` order):
    the inverse information, or the sandwich ``I⁻¹ B I⁻¹`` with HC1's
    ``n / (n - k)`` or the cluster factor ``g/(g-1) (n-1)/(n-k)``."""
    info = np.asarray(state.information, dtype=np.float64)
    k = info.shape[0]
    if k == 0:
        return np.zeros((0, 0))
    # one BLAS thread for small k: OpenBLAS's threads cost more than they save
    # there (18 ms against 0.6 ms for k = 101 on a busy machine, measured)
    with blas_one_thread() if k <= _ONE_THREAD_MAX else contextlib.nullcontext():
        try:
            inv = linalg.cho_solve(linalg.cho_factor(info, lower=True), np.eye(k))
        except linalg.LinAlgError:
            inv = linalg.pinvh(info)
    if state.cov_type == "nonrobust" or state.meat is None:
        return inv
    V = inv @ np.asarray(state.meat) @ inv
    n, kind = state.n_obs, state.cov_type
    if kind == "HC1":
        V *= n / (n - k)
    elif kind == "cluster":
        g = state.n_clusters
        V *= g / (g - 1) * (n - 1) / (n - k)
    return V


def full_covariance(model) -> np.ndarray:
    """The covariance (size, size) over the full coefficient vector (layout
    order); the rows and columns of aliased or pinned coefficients are 0."""
    results = as_results(model)
    state = require_inference(results)
    size = results.layout.size
    V = np.zeros((size, size))
    est = np.asarray(state.estimated, dtype=np.intp)
    V[np.ix_(est, est)] = covariance_matrix(state)
    return V


def parameters(model) -> tuple:
    """``(labels, estimates, covariance)`` of the estimated coefficients, in
    display order (aliased coefficients excluded)."""
    state = require_inference(model)
    labels = term_labels(model)
    order = [i for i in display_order(model) if i in set(state.estimated)]
    pos = {full: p for p, full in enumerate(state.estimated)}
    idx = [pos[i] for i in order]
    V = covariance_matrix(state)[np.ix_(idx, idx)]
    return [labels[i] for i in order], np.asarray(as_results(model).coef)[order], V


def coef_columns(model, level: float = 0.95) -> LabeledTable:
    """The Wald table: coef, std_err, z, p_value, ci_low, ci_high, odds_ratio,
    or_ci_low, or_ci_high — one row per estimated coefficient (Wald interval
    β ± z_{(1+level)/2}·SE); aliased coefficients follow with NaN statistics and
    ``aliased=True``. A :class:`~logitlab.results.table.LabeledTable` (no pandas)."""
    labels, beta, V = parameters(model)
    se = np.sqrt(np.maximum(np.diag(V), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / se
    q = norm_ppf(0.5 + level / 2)
    table = LabeledTable(labels, {
        "coef": beta, "std_err": se, "z": z, "p_value": 2 * norm_sf(np.abs(z)),
        "ci_low": beta - q * se, "ci_high": beta + q * se,
    })
    with np.errstate(over="ignore"):   # a diverging estimate's bound is e^big = inf
        table["odds_ratio"] = np.exp(table["coef"])
        table["or_ci_low"] = np.exp(table["ci_low"])
        table["or_ci_high"] = np.exp(table["ci_high"])
    table["aliased"] = np.zeros(len(table), dtype=bool)
    return _with_aliased(model, table)


def coef_table(model, level: float = 0.95) -> pd.DataFrame:
    """:func:`coef_columns` as a pandas DataFrame indexed by term (a ("class",
    "term") MultiIndex for multinomial models)."""
    return coef_columns(model, level).to_frame()


def _with_aliased(model, table: LabeledTable) -> LabeledTable:
    state = require_inference(model)
    if not state.aliased:
        return table
    labels = term_labels(model)
    C = as_results(model).layout.n_cols
    extra = [labels[j * C + k] for j in state.aliased for k in range(C)]
    rows = LabeledTable(extra, {name: np.full(len(extra), np.nan) for name in table.columns})
    rows["aliased"] = np.ones(len(extra), dtype=bool)
    return table.append(rows)


def default_ci_method(model) -> str:
    """The interval method a summary uses unless told: ``"profile"`` for a Firth fit
    (penalized profile likelihood, as Heinze & Schemper and R's ``logistf``) that
    still holds its training rows (a loaded model does not: Wald then),
    ``"wald"`` otherwise."""
    results = as_results(model)
    state = results.inference
    refittable = results.objective is not None
    return "profile" if state is not None and state.method == "firth" and refittable else "wald"


def model_statistics(model) -> dict:
    """Log-likelihoods, deviances, AIC, BIC, pseudo-R², the LR test vs the null.

    For a Firth fit ``log_likelihood`` and ``null_log_likelihood`` are penalized
    (as logistf reports them) and ``unpenalized_log_likelihood`` is ``ℓ(β̂)``;
    otherwise the latter equals ``log_likelihood``.

    Class labels: ``n_obs = Σ s`` (frequency weights), deviance ``−2ℓ``, BIC
    ``−2ℓ + k log n``, ``df_resid = n − k``. A grouped binomial response
    (:func:`grouped_statistics`) gets R's statistics of the grouped fit instead:
    ``ℓ`` with the binomial coefficients, the deviance against the saturated
    model, ``n_obs`` the number of groups of non-zero weight (R's ``nobs``).
    The LR test against the null is the same either way (the constants cancel)."""
    state = require_inference(model)
    layout = as_results(model).layout
    k = len(state.estimated)
    k_null = layout.n_fixed_effects
    ll, ll0, n = state.loglik, state.loglik_null, state.n_obs
    unpenalized = ll
    if state.method == "firth":   # logistf reports the penalized likelihoods
        ll, ll0 = state.penalized_loglik, state.penalized_loglik_null
    lr = 2.0 * (ll - ll0)
    df = k - k_null
    out = {
        "n_obs": n, "n_params": k, "df_model": df, "df_resid": n - k,
        "log_likelihood": ll, "unpenalized_log_likelihood": unpenalized,
        "null_log_likelihood": ll0,
        "deviance": -2.0 * ll, "null_deviance": -2.0 * ll0,
        "aic": -2.0 * ll + 2.0 * k, "bic": -2.0 * ll + k * np.log(n),
        "pseudo_r2": 1.0 - ll / ll0 if ll0 != 0 else np.nan,
        "lr_stat": lr, "lr_df": df, "lr_p_value": float(chi2_sf(lr, df)) if df > 0 else np.nan,
        "cov_type": state.cov_type, "method": state.method,
    }
    if getattr(state, "grouped", None) is not None:
        out.update(grouped_statistics(state, k))
    if getattr(state, "conditional", None) is not None:
        out.update(conditional_statistics(model, state, k))
    return out


def conditional_statistics(model, state, k: int) -> dict:
    """The tests ``summary(clogit)`` prints besides the LR test: Wald
    ``β̂ᵀ V⁻¹ β̂`` and the score test of β = 0 (both on k df), with the method,
    the events (``n_obs``, R's ``nobs``) and the informative strata."""
    c = state.conditional
    beta = np.asarray(as_results(model).coef)[np.asarray(state.estimated, dtype=np.intp)]
    V = covariance_matrix(state)
    try:
        wald = float(beta @ linalg.solve(V, beta, assume_a="pos")) if k else 0.0
    except linalg.LinAlgError:
        wald = float("nan")
    score = float(c["score_stat"])
    return {"conditional_method": c["method"], "n_events": int(c["n_events"]),
            "n_strata": int(c["n_strata"]), "n_rows": int(state.n_rows),
            "wald_stat": wald, "wald_df": k,
            "wald_p_value": float(chi2_sf(wald, k)) if k else np.nan,
            "score_stat": score, "score_df": k,
            "score_p_value": float(chi2_sf(score, k)) if k else np.nan}


def grouped_statistics(state, k: int) -> dict:
    """R's statistics of a grouped binomial fit (``glm(cbind(s, f) ~ ., binomial)``).

    With ``ℓ_w = Σ s_i (y_i log p_i + (1 − y_i) log(1 − p_i))`` (the state's
    ``loglik``; ``loglik_null`` likewise at the intercept-only fit), and the
    record's ``log_choose = Σ log C(n_i, n_i y_i)`` and
    ``loglik_saturated = Σ s_i [y_i log y_i + (1 − y_i) log(1 − y_i)]``:
    ``log_likelihood = ℓ_w + log_choose`` (R's ``logLik``),
    ``deviance = 2 (loglik_saturated − ℓ_w)``, the null deviance likewise,
    ``aic = −2 logLik + 2k``, ``bic = −2 logLik + k log g`` and
    ``df_resid = g − k`` with ``g = n_groups`` (rows of non-zero weight, R's
    ``nobs``); McFadden's pseudo-R² on these log-likelihoods. For a Firth fit
    the penalized log-likelihoods get the same constant. Returns the keys it
    overrides, plus ``n_groups``, ``n_trials`` (Σ s) and ``grouped_form``.
    (The state's ``n_obs`` is then ``g`` too, so that HC1 and cluster
    covariances take R's ``sandwich`` small-sample factors.)"""
    g = state.grouped
    n_groups, const, sat = int(g["n_groups"]), float(g["log_choose"]), float(g["loglik_saturated"])
    ll_w, ll0_w = state.loglik, state.loglik_null
    ll, ll0 = ll_w + const, ll0_w + const
    if state.method == "firth":
        ll, ll0 = state.penalized_loglik + const, state.penalized_loglik_null + const
    return {
        "n_obs": n_groups, "df_resid": n_groups - k, "n_groups": n_groups,
        "n_trials": float(g["n_trials"]), "grouped_form": str(g["form"]),
        "log_likelihood": ll, "unpenalized_log_likelihood": ll_w + const,
        "null_log_likelihood": ll0,
        "deviance": 2.0 * (sat - ll_w), "null_deviance": 2.0 * (sat - ll0_w),
        "aic": -2.0 * ll + 2.0 * k, "bic": -2.0 * ll + k * np.log(n_groups),
        "pseudo_r2": 1.0 - ll / ll0 if ll0 != 0 else np.nan,
    }


#: log-likelihoods within this (relative) of each other belong to the same fit
_SAME_FIT_RTOL = 1e-8


def lr_test(small, big) -> dict:
    """Likelihood-ratio test of nested fits: ``2 (ℓ_big - ℓ_small)`` on
    ``k_big - k_small`` degrees of freedom. Both must be fitted to the same rows.

    Formula fits are checked to be nested (:func:`check_nested`: the smaller's
    columns a subset of the bigger's, the same response and rows).

    When ``big`` adds only aliased terms (``k_big == k_small``) the two fits are
    the same model: as R's ``anova``, the result is 0 on 0 degrees of freedom,
    with no p-value (NaN), provided the log-likelihoods agree (to
    ``1e-8 · max(1, |ℓ|)``; otherwise the models are not nested).
    """
    a, b = model_statistics(small), model_statistics(big)
    if not np.isclose(a["n_obs"], b["n_obs"], rtol=1e-12):
        raise ValueError(f"the models were fitted to different data (n = {a['n_obs']} and "
                         f"{b['n_obs']}); a likelihood-ratio test needs the same rows.")
    df = b["n_params"] - a["n_params"]
    stat = 2.0 * (b["log_likelihood"] - a["log_likelihood"])
    if df == 0:
        scale = max(1.0, abs(a["log_likelihood"]), abs(b["log_likelihood"]))
        if abs(stat) <= 2.0 * _SAME_FIT_RTOL * scale:
            return {"statistic": 0.0, "df": 0, "p_value": float("nan")}
        raise ValueError(
            "the models estimate the same number of parameters "
            f"({a['n_params']}) but their log-likelihoods differ ({a['log_likelihood']!r} "
            f"and {b['log_likelihood']!r}): they are not nested, so a likelihood-ratio "
            "test does not apply.")
    if df < 0:
        raise ValueError(f"the second model must have more parameters than the first "
                         f"({b['n_params']} vs {a['n_params']}): pass lr_test(small, big).")
    check_nested(small, big)
    return {"statistic": stat, "df": df, "p_value": float(chi2_sf(stat, df))}


def _design_columns(model):
    """The formula fit's coefficient columns (the intercept as ``(Intercept)``), or None."""
    design = getattr(model, "design_", None)
    if design is None:
        return None
    layout = as_results(model).layout
    return set(map(str, design.columns)) | ({INTERCEPT} if layout.fit_intercept else set())


def check_nested(small, big) -> None:
    """For formula fits: ``small``'s columns must be a subset of ``big``'s, the
    response the same and (with intercepts) the null log-likelihoods equal (the
    same rows, weights and offsets); a ``ValueError`` says what differs."""
    cols_small, cols_big = _design_columns(small), _design_columns(big)
    if cols_small is None or cols_big is None:
        return
    if small.design_.response != big.design_.response:
        raise ValueError(f"the models have different responses ({small.design_.response!r} "
                         f"and {big.design_.response!r}): a likelihood-ratio test compares fits "
                         "of the same response.")
    extra = sorted(cols_small - cols_big)
    if extra:
        raise ValueError(f"the models are not nested: the smaller model has {extra}, which "
                         f"the bigger one ({big.design_.formula!r}) does not; a likelihood-"
                         "ratio test needs every column of the smaller model in the bigger one.")
    a, b = require_inference(small), require_inference(big)
    if a.n_rows != b.n_rows:
        raise ValueError(f"the models were fitted to different rows ({a.n_rows} and "
                         f"{b.n_rows}); a likelihood-ratio test needs the same rows.")
    if as_results(small).layout.fit_intercept and as_results(big).layout.fit_intercept:
        scale = max(1.0, abs(a.loglik_null))
        if abs(a.loglik_null - b.loglik_null) > _SAME_FIT_RTOL * scale:
            raise ValueError(
                "the models' intercept-only log-likelihoods differ "
                f"({a.loglik_null!r} and {b.loglik_null!r}): they were fitted to different "
                "rows, weights or offsets, so a likelihood-ratio test does not apply.")


def wald_test(model, terms=None, R=None, q=None, hypotheses=None) -> dict:
    """Wald test of ``R β = q``: ``(Rβ̂ - q)ᵀ (R V Rᵀ)⁺ (Rβ̂ - q)``, χ² on rank(R) df.

    What to test, one of:

    * ``terms``: a list (or one string) of formula terms (``"C(race)"``: all its
      dummies = 0; ``"age:smoke"``; ``"(Intercept)"``), coefficient labels as in
      :func:`coef_table` (``"C(race)[T.2]"``; multinomial ``("2", "age")`` or
      ``"2:age"``; a term of a multinomial model is its columns in every class), or
      hypotheses written as text (see below);
    * ``hypotheses``: a string or list of linear hypotheses, e.g. ``"age = 0"``,
      ``["C(race)[T.2] = C(race)[T.3]", "lwt = 0"]``, ``"2*age - lwt = 1"``
      (:mod:`logitlab.results.hypotheses`; multinomial labels ``"2:age"``);
    * a matrix ``R`` (r, k) over the estimated coefficients in table order, with
      ``q`` (r,) (default 0).

    Returns ``{"statistic", "df", "p_value"}``.
    """
    labels, beta, V = parameters(model)
    if terms is not None or hypotheses is not None:
        if R is not None:
            raise ValueError("give terms / hypotheses or a restriction matrix R, not both.")
        items = []
        for given in (terms, hypotheses):
            if given is not None:
                items += [given] if isinstance(given, (str, tuple)) else list(given)
        R, q_items = restriction(model, labels, items)
        q = q_items if q is None else q
    if R is None:
        raise ValueError("give the terms or hypotheses to test, or a restriction matrix R.")
    R = np.atleast_2d(np.asarray(R, dtype=np.float64))
    if R.shape[1] != beta.size:
        raise ValueError(f"R has {R.shape[1]} columns; the model has {beta.size} estimated "
                         "coefficients.")
    q = np.zeros(R.shape[0]) if q is None else np.atleast_1d(np.asarray(q, dtype=np.float64))
    if q.shape != (R.shape[0],):
        raise ValueError(f"q has {q.size} entries; R has {R.shape[0]} rows.")
    diff = R @ beta - q
    stat = float(diff @ linalg.pinvh(R @ V @ R.T) @ diff)
    df = int(np.linalg.matrix_rank(R))
    return {"statistic": stat, "df": df, "p_value": float(chi2_sf(stat, df))}
