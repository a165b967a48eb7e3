"""The user-facing mixed-effects logit (``logitlab.fit("y ~ x + (1 | g)", df)``,
``MixedLogisticRegression``) against lme4::glmer.

References: tests/data/glmer_r.json and glmer_polished.json (tests/r/glmer.R,
tests/r/glmer_polish.R; see tests/test_glmm_core.py) for the fits, and
tests/data/glmer_profile.json (tests/r/glmer_profile.R) for lme4's profile
and Wald intervals, with each profile end's own residual (the restricted
deviance refitted in R at lme4's end, as a signed root minus the normal
quantile) so that lme4's spline interpolation error is known. Also closed
forms: the summary's numbers from the document, contributions adding up to the
logit, duplicated columns, proportions with weights against cbind counts.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import logitlab as ll
from logitlab.data.formula import FormulaError
from logitlab.estimators.mixed_data import RankDeficiencyWarning

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "glmer_r.json").read_text())
POLISHED = json.loads((DATA / "glmer_polished.json").read_text())
PROFILE = json.loads((DATA / "glmer_profile.json").read_text())


def cbpp():
    df = pd.read_csv(DATA / "glmm_cbpp.csv")
    df["period"] = df["period"].astype(str)
    return df


def grouse():
    df = pd.read_csv(DATA / "glmm_grouseticks.csv")
    df["YEAR"] = df["YEAR"].astype(str)
    df["ticked"] = df["TICKS"] > 0
    return df


def verbagg():
    return pd.read_csv(DATA / "glmm_verbagg.csv")


def slopes():
    return pd.read_csv(DATA / "glmm_slopes.csv")


#: reference fit -> (data, formula, options of ll.fit)
CASES = {
    "cbpp_laplace": (cbpp, "cbind(incidence, size - incidence) ~ period + (1 | herd)", {}),
    "cbpp_agq9": (cbpp, "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                  {"n_agq": 9}),
    "grouse_nested": (grouse, "ticked ~ YEAR + scale(HEIGHT) + (1 | LOCATION/BROOD)", {}),
    "verbagg_crossed": (verbagg, "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
                        {}),
    "slopes_corr": (slopes, "y ~ x + (1 + x | g) + (1 | h)", {"offset": "off"}),
    "slopes_uncorr": (slopes, "y ~ x + (1 + x || g)", {"offset": "off"}),
}
_FITS: dict = {}


def fitted(name):
    if name not in _FITS:
        make, formula, options = CASES[name]
        df = make()
        _FITS[name] = (ll.fit(formula, df, **options), df)
    return _FITS[name]


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


# ------------------------------------------------------------------ the fits
@pytest.mark.parametrize("name", list(CASES))
def test_formula_fit_matches_glmer(name):
    model, _ = fitted(name)
    r, polished = R[name], POLISHED[name]
    assert isinstance(model, ll.MixedLogisticRegression)
    assert model.converged_ and not model.singular_
    assert rel(model.loglik_, r["logLik"]) < 1e-6
    assert rel(model.aic_, r["AIC"]) < 1e-6 and rel(model.bic_, r["BIC"]) < 1e-6
    nt = len(model.theta_)
    np.testing.assert_allclose(model.fixed_effects_.to_numpy(), polished["pars"][nt:],
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.results_.bse, polished["se"], rtol=1e-4)
    sds = np.concatenate([np.atleast_1d(v["sd"]) for v in r["varcorr"]])
    np.testing.assert_allclose(model.varcorr()["sd"].to_numpy(), sds, rtol=1e-4)
    assert model.results_.fixed_names[0] == "(Intercept)"
    assert len(model.results_.fixed_names) == len(r["fixef_names"])


def test_text_and_bool_responses_take_the_second_label_as_the_event():
    model, _ = fitted("verbagg_crossed")           # r2: "N" / "Y", the event "Y" (R's factor)
    assert model.classes_.tolist() == ["N", "Y"]
    g, _ = fitted("grouse_nested")                 # TICKS > 0 as a bool column
    assert g.classes_.tolist() == [False, True]


def test_proportions_with_weights_equal_cbind_counts():
    df = cbpp()
    df["prop"] = df.incidence / df["size"]
    a = ll.fit("prop ~ period + (1 | herd)", df, sample_weight="size")
    b, _ = fitted("cbpp_laplace")
    assert rel(a.loglik_, b.loglik_) < 1e-12
    np.testing.assert_allclose(a.fixed_effects_, b.fixed_effects_, rtol=1e-7)


def test_array_api_is_the_formula_fit():
    df = slopes()
    m = ll.MixedLogisticRegression().fit(df[["x"]], df.y, groups=df.g, offset=df.off)
    f = ll.fit("y ~ x + (1 | g)", df, offset="off")
    assert rel(m.loglik_, f.loglik_) < 1e-12
    np.testing.assert_allclose(m.fixed_effects_.to_numpy(), f.fixed_effects_.to_numpy(),
                               rtol=1e-8)
    p = m.predict_event_proba(df[["x"]], groups=df.g, offset=df.off)
    np.testing.assert_allclose(p, f.predict_event_proba(df, offset=df.off), rtol=1e-12)


# ------------------------------------------------------------ the summary
def test_summary_reads_as_glmers():
    model, _ = fitted("cbpp_laplace")
    r = R["cbpp_laplace"]
    text = str(model.summary())
    assert "Generalized linear mixed model fit by maximum likelihood (Laplace Approximation)" \
        in text
    assert f"{r['AIC']:.1f}" in text and f"{r['BIC']:.1f}" in text
    assert f"{r['logLik']:.1f}" in text and f"{-2 * r['logLik']:.1f}" in text
    sd = r["varcorr"][0]["sd"]
    assert f"{sd ** 2:.4g}" in text and f"{sd:.4g}" in text
    assert "Number of obs: 56, groups:  herd, 15" in text
    for name, beta, se in zip(r["fixef_names"], r["fixef"].values(), r["se"]):
        assert f"{beta:.4f}" in text and f"{se:.4f}" in text
    agq = str(fitted("cbpp_agq9")[0].summary())
    assert "Adaptive Gauss-Hermite Quadrature, nAGQ = 9" in agq


def test_summary_prints_correlations_of_a_vector_term():
    model, _ = fitted("slopes_corr")
    corr = R["slopes_corr"]["varcorr"][0]["corr"][0][1]
    lines = str(model.summary()).splitlines()
    row = next(line for line in lines if line.split()[:1] == ["x"] and "." in line)
    assert f"{corr:.2f}" in row


def test_document_is_plain_json_with_r_values():
    model, _ = fitted("slopes_corr")
    r = R["slopes_corr"]
    doc = model.summary().to_dict()
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert doc["model"] == "mixed" and doc["method"] == "laplace" and doc["n_agq"] == 1
    assert rel(doc["log_likelihood"], r["logLik"]) < 1e-6
    assert rel(doc["conditional_deviance"], r["deviance"]) < 1e-6
    assert doc["groups"] == {"g": 50, "h": 8} and doc["n_obs"] == 1000
    coefs = [t["coef"] for t in doc["terms"]]
    np.testing.assert_allclose(coefs, POLISHED["slopes_corr"]["pars"][-2:], rtol=1e-5)
    re = doc["random_effects"]
    assert [(e["group"], e["name"]) for e in re] == [("g", "(Intercept)"), ("g", "x"),
                                                     ("h", "(Intercept)")]
    assert abs(re[1]["corr"]["(Intercept)"] - r["varcorr"][0]["corr"][0][1]) < 1e-4
    assert list(doc["theta"]) == r["theta_names"]
    assert len(doc["conditional_modes"]["g"]) == 50


# --------------------------------------------------------------- intervals
@pytest.mark.parametrize("name", ["cbpp", "grouse"])
def test_wald_intervals_are_lme4s(name):
    model, _ = fitted({"cbpp": "cbpp_laplace", "grouse": "grouse_nested"}[name])
    p = PROFILE[name]
    nt = p["n_theta"]
    ci = model.conf_int(method="wald")
    se = model.results_.bse                  # R's SEs at R's optimum: 1e-4 of an SE apart
    np.testing.assert_allclose(ci["low"], p["wald_lower"][nt:], rtol=0, atol=2e-4 * se.max())
    np.testing.assert_allclose(ci["high"], p["wald_upper"][nt:], rtol=0, atol=2e-4 * se.max())


BOUNDARY = json.loads((DATA / "glmer_boundary.json").read_text())["bacteria_slope"]


def bacteria():
    df = pd.read_csv(DATA / "glmm_bacteria.csv")
    df["trt"] = pd.Categorical(df["trt"], BOUNDARY["trt_levels"])          # R's factor levels
    return df


_BACTERIA: list = []


def profiled(name):
    """The fits of glmer_profile.json: three of CASES, and MASS::bacteria's
    singular correlated slope."""
    if name != "bacteria":
        return fitted({"cbpp": "cbpp_laplace", "grouse": "grouse_nested",
                       "slopes": "slopes_corr"}[name])[0]
    if not _BACTERIA:
        _BACTERIA.append(ll.fit(BOUNDARY["formula"], bacteria()))
    return _BACTERIA[0]


@pytest.mark.parametrize("name", ["cbpp", "slopes", pytest.param("grouse", marks=pytest.mark.slow),
                                  pytest.param("bacteria", marks=pytest.mark.slow)])
def test_profile_intervals_solve_the_profile_equation(name):
    """Our ends are roots of ζ(v) = ±z; lme4's (a spline through its profile)
    agree with them to the accuracy its own residual shows. ``slopes`` has a
    correlated random slope: its second SD and the correlation are profiled on
    lme4's sd / correlation scale; ``bacteria`` is a singular fit (correlation
    +1), whose SDs' lower ends are 0 and whose correlation's are ±1."""
    model = profiled(name)
    p = PROFILE[name]
    ci = model.conf_int(method="profile")
    assert len(ci) == len(p["names"])
    ours = ci[["low", "high"]].to_numpy()
    theirs = np.column_stack([p["profile_lower"], p["profile_upper"]])
    # lme4's end error in v ≈ (its ζ residual) / ζ'(v), ζ' ≈ 1 / SE near the optimum
    residual = np.nan_to_num(np.abs(np.array(p["endpoint_residual_zeta"], dtype=float)))
    width = theirs[:, 1] - theirs[:, 0]
    tol = 2 * residual * width[:, None] / (2 * norm.ppf(0.975)) + 1e-4 * np.abs(theirs) + 1e-6
    assert np.all(np.abs(ours - theirs) <= tol), (ours, theirs, tol)
    if name == "grouse":
        return
    # and our own ends solve the profile equation: restricted refit at each end
    prof = model.results_.fit.deviance
    for (pname, i), (lo, hi) in zip(_params(model), ours):
        for v in (lo, hi):
            bound = pname.startswith("sd_") and v == 0 or pname.startswith("cor_") and abs(v) == 1
            zeta = np.sqrt(max(_restricted(model, i, v * (1 - 1e-9) if bound else v) - prof, 0))
            if bound:           # an end at the bound: the profile stays short of z up to it
                assert zeta < norm.ppf(0.975) + 1e-5, pname
            else:
                assert abs(zeta - norm.ppf(0.975)) < 1e-5, pname


def _params(model):
    from logitlab.results.mixed_profile import profile_parameters
    return profile_parameters(model.results_)


def _sdcor(model):
    """(φ̂, kinds): each term's SDs and correlations at θ's positions
    (column-major lower triangle), from the fit's variance components."""
    phi, kinds = [], []
    for vc in model.results_.fit.varcorr:
        k = len(vc.sd)
        for c in range(k):
            for r in range(c, k):
                phi.append(vc.sd[r] if r == c else vc.corr[r, c])
                kinds.append("sd" if r == c else "cor")
    return np.array(phi), kinds


def _theta(model, phi):
    """θ of φ by Σ = D R D and its Cholesky factor, term by term."""
    out, pos = [], 0
    for vc in model.results_.fit.varcorr:
        k = len(vc.sd)
        D, R = np.zeros(k), np.eye(k)
        for c in range(k):
            for r in range(c, k):
                if r == c:
                    D[r] = phi[pos]
                else:
                    R[r, c] = R[c, r] = phi[pos]
                pos += 1
        T = np.linalg.cholesky(np.outer(D, D) * R + 1e-300 * np.eye(k))
        out += [T[r, c] for c in range(k) for r in range(c, k)]
    return np.array(out)


def _restricted(model, i, v):
    """min over the other parameters of the Laplace deviance with x_i = v
    (x = SDs and correlations, then β), by scipy's L-BFGS-B with
    finite-difference gradients from the optimum (not the profile's optimizer,
    map, start or gradient)."""
    from scipy.optimize import minimize

    from logitlab.families.glmm_laplace import laplace_deviance
    pb = model.problem_
    phi, kinds = _sdcor(model)
    nt = len(phi)
    x0 = np.concatenate([phi, model.fixed_effects_.to_numpy()])

    def f(z):
        x = np.insert(z, i, v)
        return laplace_deviance(pb, _theta(model, x[:nt]), x[nt:], u0=np.zeros(pb.q)).deviance
    box = {"sd": (0, None), "cor": (-1 + 1e-9, 1 - 1e-9)}
    bounds = [box[kinds[j]] if j < nt else (None, None) for j in range(len(x0)) if j != i]
    res = minimize(f, np.delete(x0, i), method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-15, "gtol": 1e-9, "eps": 1e-6, "maxiter": 500})
    return res.fun


def test_boundary_optimum_of_a_correlated_slope_as_glmer():
    """MASS::bacteria, ``(week | ID)``: the optimum has the correlation at +1. A
    bounded optimizer can stop at θ_11 = 0 (an intercept SD of 0: logLik −99.03),
    a point of the box that is not a minimum of the likelihood (negating T's
    column gives the same Σ and a descent direction); the fit leaves it and reaches
    glmer's optimum (tests/r/glmer_boundary.R)."""
    r = BOUNDARY
    model = ll.fit(r["formula"], bacteria())
    assert rel(model.loglik_, r["logLik"]) < 1e-8
    assert model.singular_ and model.converged_
    np.testing.assert_allclose(model.fixed_effects_.to_numpy(), r["fixef"], rtol=1e-4)
    np.testing.assert_allclose(model.results_.bse, r["se"], rtol=1e-4)
    vc = model.varcorr()
    np.testing.assert_allclose(vc["sd"], r["sd"], rtol=1e-4)
    assert vc["corr_(Intercept)"].iloc[1] == pytest.approx(r["corr"], abs=1e-6)


def test_profile_summary_shows_the_variance_components_intervals():
    """summary(ci="profile"): the fixed effects' intervals in the table, the
    variance components' below the random effects, in the text and the document."""
    model, _ = fitted("slopes_corr")
    ci = model.conf_int(method="profile")
    summary = model.summary(ci="profile")
    doc = summary.to_dict()
    variance = [r["name"] for r in doc["variance_intervals"]]
    assert variance == ["sd_(Intercept)|g", "cor_x.(Intercept)|g", "sd_x|g", "sd_(Intercept)|h"]
    for r in doc["variance_intervals"]:
        assert (r["ci_low"], r["ci_high"]) == tuple(ci.loc[r["name"]])
    for t in doc["terms"]:
        assert (t["ci_low"], t["ci_high"]) == tuple(ci.loc[t["name"]])
    text = str(summary)
    assert "Profile intervals of the variance components (95%)" in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("cor_x.(Intercept)|g"))
    assert line.split()[1:] == [f"{v:#.4g}" for v in ci.loc["cor_x.(Intercept)|g"]]


def test_profile_names_are_lme4s_and_a_wrong_name_is_a_clear_error():
    model, _ = fitted("slopes_corr")
    names = [n for n, _ in _params(model)]
    assert names[:4] == ["sd_(Intercept)|g", "cor_x.(Intercept)|g", "sd_x|g",
                         "sd_(Intercept)|h"]
    ci = model.conf_int(method="profile", parm=["cor_x.(Intercept)|g", "x"])
    assert list(ci.index) == ["cor_x.(Intercept)|g", "x"]
    with pytest.raises(ValueError, match="not a parameter"):
        model.conf_int(method="profile", parm="nonsense")


# -------------------------------------------------------------- predictions
@pytest.mark.parametrize("name", ["cbpp_laplace", "grouse_nested", "slopes_corr"])
def test_predictions_match_glmers_fitted_and_integrated_values(name):
    model, df = fitted(name)
    r = R[name]
    rows = np.array(r["fitted_rows"]) - 1
    off = df["off"].to_numpy()[rows] if "off" in df else None
    p = model.predict_event_proba(df.iloc[rows], offset=off)
    np.testing.assert_allclose(p, r["fitted"], rtol=1e-5)
    rows = np.array(r["marginal_rows"]) - 1
    off = df["off"].to_numpy()[rows] if "off" in df else None
    pm = model.predict_event_proba(df.iloc[rows], offset=off, kind="marginal")
    np.testing.assert_allclose(pm, r["marginal"], rtol=1e-4)     # (our θ, β vs R's: 1e-5)
    eta0 = model.decision_function(df.iloc[rows], offset=off, kind="population")
    X = model.problem_.X[rows]
    np.testing.assert_allclose(eta0, X @ model.fixed_effects_.to_numpy()
                               + (0 if off is None else off), rtol=1e-12)


def test_new_levels_raise_or_use_the_population():
    model, df = fitted("cbpp_laplace")
    new = df.iloc[:3].copy()
    new["herd"] = [1, 99, 98]
    with pytest.raises(ValueError, match=r"'herd' has levels '99', '98' not seen"):
        model.predict_event_proba(new)
    pop = ll.MixedLogisticRegression(new_levels="population")
    pop.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    p = pop.predict_event_proba(new)
    p0 = model.predict_event_proba(new, kind="population")
    assert p[1] == pytest.approx(p0[1], rel=1e-15) and p[2] == pytest.approx(p0[2], rel=1e-15)
    assert p[0] == pytest.approx(model.predict_event_proba(df.iloc[:1])[0], rel=1e-15)


def test_explain_adds_up_to_the_logit_and_the_probability():
    model, df = fitted("slopes_corr")
    off = df["off"].to_numpy()
    e = model.explain(df, 7, offset=off)
    eta = model.decision_function(df, offset=off)[7]
    assert e.logits[0] == pytest.approx(eta, rel=1e-13)
    assert e.probabilities[1] == pytest.approx(model.predict_event_proba(df, offset=off)[7],
                                               rel=1e-13)
    by_name = model.explain(df, 7, offset="off")
    assert by_name.logits[0] == e.logits[0]
    np.testing.assert_array_equal(model.predict_event_proba(df, offset="off"),
                                  model.predict_event_proba(df, offset=off))
    labels = list(e.terms.index)
    g, h = df.g[7], df.h[7]
    assert f"x | g = {g}" in labels and f"(Intercept) | h = {h}" in labels
    b = model.ranef()["g"].loc[g, "x"]
    assert e.terms.loc[f"x | g = {g}"].iloc[1] == pytest.approx(b * df.x[7], rel=1e-14)
    assert "logit (sum)" in str(e)


def test_ranef_tables_match_glmer():
    model, _ = fitted("grouse_nested")
    r = R["grouse_nested"]["ranef"]
    tables = model.ranef()
    for group, col, level, value, sd in zip(r["group"], r["term"], r["level"], r["value"],
                                            r["condsd"]):
        assert abs(tables[group].loc[level, col] - value) < 1e-4 * max(1, abs(value))
        assert abs(tables[group].loc[level, f"{col}_condsd"] - sd) < 1e-4 * sd


# --------------------------------------------------------------- bad input
def test_duplicated_column_is_dropped_with_a_warning_as_glmer():
    df = slopes()
    df["x2"] = 2 * df["x"]
    with pytest.warns(RankDeficiencyWarning, match="dropping 1 column: x2"):
        m = ll.fit("y ~ x + x2 + (1 | g)", df)
    f = ll.fit("y ~ x + (1 | g)", df)
    assert m.results_.fixed_names == ["(Intercept)", "x"]
    assert rel(m.loglik_, f.loglik_) < 1e-12


@pytest.mark.parametrize("formula, match", [
    ("y ~ x + (1 | nothere)", "grouping factor 'nothere'"),
    ("y ~ x + (1 + nothere | g)", "uses 'nothere'"),
    ("y ~ x + (1 | )", "must read"),
])
def test_formula_errors_name_the_problem(formula, match):
    with pytest.raises(FormulaError, match=match):
        ll.fit(formula, slopes())


def test_missing_values_are_named_or_dropped():
    df = slopes()
    df.loc[5, "g"] = np.nan
    with pytest.raises(ValueError, match=r"'g'.*row 5"):
        ll.fit("y ~ x + (1 | g)", df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = ll.fit("y ~ x + (1 | g)", df, missing="drop")
    assert any("dropped 1 of 1000 rows" in str(w.message) for w in caught)
    assert m.results_.fit.nobs == 999 and m.results_.n_dropped == 1


def test_three_classes_and_options_that_do_not_apply():
    df = slopes()
    df["y3"] = df.y + (df.x > 1)
    with pytest.raises(ValueError, match="3 classes"):
        ll.fit("y3 ~ x + (1 | g)", df)
    with pytest.raises(ValueError, match="penalty do not apply to mixed-effects"):
        ll.fit("y ~ x + (1 | g)", df, penalty="l1")
    with pytest.raises(ValueError, match="n_agq must be"):
        ll.fit("y ~ x + (1 | g)", df, n_agq=0)
    with pytest.raises(ValueError, match="single scalar random-effects term"):
        ll.fit("y ~ x + (1 + x | g)", df, n_agq=5)


def test_verbose_shows_the_deviance_falling_to_glmers(capsys):
    df = cbpp()
    ll.fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", df, verbose="always")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("glmer:")]
    deviances = [float(line.split("objective")[1].split()[0]) for line in lines]
    assert len(deviances) >= 4
    assert abs(deviances[-1] - R["cbpp_laplace"]["minus2logLik"]) < 1e-6
    restarts = [k for k, line in enumerate(lines) if "iteration    1 " in line]
    stage2 = deviances[restarts[-1]:]
    assert all(b <= a + 1e-9 for a, b in zip(stage2, stage2[1:]))     # L-BFGS-B descends
