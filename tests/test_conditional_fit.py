"""Conditional logistic regression through the fit pipeline (ConditionalLogisticRegression
and ``logitlab.fit(..., family="conditional")``) against R's ``survival::clogit``
(tests/r/clogit.R → tests/data/clogit_r.json): coefficients, the whole covariance,
the log-likelihoods, the LR, Wald and score tests, for the exact, Breslow and Efron
likelihoods, with offsets and case weights; and what the pipeline adds — aliased
matching variables, profile intervals, model files, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import logitlab

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "clogit_r.json").read_text())


def infert():
    return pd.read_csv(DATA / "infert.csv")


def strata_data():
    return pd.read_csv(DATA / "clogit_strata.csv")


CASES = {   # name: (data, formula, method, weights, offset)
    "infert_exact": (infert, "case ~ spontaneous + induced + strata(stratum)", "exact",
                     None, None),
    "infert_breslow": (infert, "case ~ spontaneous + induced + strata(stratum)", "breslow",
                       None, None),
    "infert_efron": (infert, "case ~ spontaneous + induced + strata(stratum)", "efron",
                     None, None),
    "infert_approximate": (infert, "case ~ spontaneous + induced + strata(stratum)",
                           "approximate", None, None),
    "strata_exact": (strata_data, "case ~ x1 + x2 + x3 + strata(st)", "exact", None, None),
    "strata_breslow": (strata_data, "case ~ x1 + x2 + x3 + strata(st)", "breslow", None, None),
    "strata_efron": (strata_data, "case ~ x1 + x2 + x3 + strata(st)", "efron", None, None),
    "strata_exact_offset": (strata_data, "case ~ x1 + x2 + x3 + strata(st)", "exact", None,
                            "off"),
    "strata_breslow_weighted_offset": (strata_data, "case ~ x1 + x2 + x3 + strata(st)",
                                       "breslow", "w", "off"),
    "strata_efron_weighted_offset": (strata_data, "case ~ x1 + x2 + x3 + strata(st)", "efron",
                                     "w", "off"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_clogit(case):
    data, formula, method, w, off = CASES[case]
    ref = REF[case]
    m = logitlab.fit(formula, data(), family="conditional", method=method, sample_weight=w,
                     offset=off)
    names = list(ref["coefficients"])
    params = m.results_.params
    np.testing.assert_allclose(params[names], [ref["coefficients"][k] for k in names],
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(m.results_.cov_params().loc[names, names], np.array(ref["vcov"]),
                               rtol=1e-7)
    stats = m.results_.statistics()
    np.testing.assert_allclose(stats["log_likelihood"], ref["loglik"], rtol=1e-10)
    np.testing.assert_allclose(stats["null_log_likelihood"], ref["loglik_null"], rtol=1e-10)
    np.testing.assert_allclose(stats["lr_stat"], ref["lr_test"], rtol=1e-8)
    np.testing.assert_allclose(stats["wald_stat"], ref["wald_test"], rtol=1e-8)
    np.testing.assert_allclose(stats["score_stat"], ref["score_test"], rtol=1e-8)
    for key, ours in (("lr_test", "lr_p_value"), ("wald_test", "wald_p_value"),
                      ("score_test", "score_p_value")):
        np.testing.assert_allclose(stats[ours], ref["p_values"][key], rtol=1e-6)
    assert stats["n_events"] == ref["nevent"] and stats["n_rows"] == ref["n"]
    # R's AIC and BIC (its nobs is the number of events)
    k = len(names)
    np.testing.assert_allclose(m.results_.aic, -2 * ref["loglik"] + 2 * k, rtol=1e-10)
    np.testing.assert_allclose(m.results_.bic, -2 * ref["loglik"] + k * np.log(ref["nevent"]),
                               rtol=1e-10)


def test_estimator_on_arrays_and_its_predictions():
    """The estimator on arrays equals the formula fit; with one case per stratum
    predict_proba is R's predict(type="expected") (the Breslow hazard m_s ·
    softmax), and within each stratum the probabilities sum to 1."""
    df = infert()
    X = df[["spontaneous", "induced"]].to_numpy(float)
    m = logitlab.ConditionalLogisticRegression().fit(X, df["case"], strata=df["stratum"])
    ref = REF["infert_exact"]
    np.testing.assert_allclose(m.coef_, list(ref["coefficients"].values()), rtol=1e-8)
    p = m.predict_proba(X, strata=df["stratum"])
    np.testing.assert_allclose(p, ref["expected"], rtol=1e-8)
    sums = pd.Series(p).groupby(df["stratum"].to_numpy()).sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    risk = m.predict_risk(X)
    np.testing.assert_allclose(np.log(risk), X @ m.coef_, rtol=1e-12)
    pred = m.predict(X, strata=df["stratum"])
    assert pd.Series(pred).groupby(df["stratum"].to_numpy()).sum().max() >= 1
    # strata given as a column name of a DataFrame X
    frame = df[["spontaneous", "induced", "stratum"]]
    again = logitlab.ConditionalLogisticRegression().fit(frame, df["case"], strata="stratum")
    np.testing.assert_allclose(again.coef_, m.coef_, rtol=1e-12)


def test_matching_variables_are_aliased_as_clogit_reports_na():
    df = infert()
    with pytest.warns(logitlab.CollinearityWarning, match="constant within every stratum"):
        m = logitlab.fit("case ~ spontaneous + induced + age + strata(stratum)", df,
                         family="conditional")
    assert m.aliased_ == ["age"]
    np.testing.assert_allclose(m.results_.params[["spontaneous", "induced"]],
                               list(REF["infert_exact"]["coefficients"].values()), rtol=1e-8)


def test_profile_intervals_by_their_definition():
    """Each profile bound: a refit with the coefficient fixed there (an offset)
    has a deviance χ²₁(0.95) above the fit's."""
    from scipy.stats import chi2
    df = strata_data()
    m = logitlab.fit("case ~ x1 + x2 + x3 + strata(st)", df, family="conditional")
    ci = m.conf_int(method="profile")
    for bound in ci.loc["x2", ["ci_low", "ci_high"]]:
        fixed = logitlab.fit("case ~ x1 + x3 + strata(st)", df, family="conditional",
                             offset=bound * df["x2"].to_numpy())
        np.testing.assert_allclose(2 * (m.results_.llf - fixed.results_.llf), chi2.ppf(0.95, 1),
                                   rtol=1e-7)


def test_errors_say_what_is_wrong():
    df = infert()
    with pytest.raises(ValueError, match="needs the strata"):
        logitlab.fit("case ~ spontaneous", df, family="conditional")
    with pytest.raises(ValueError, match="'nosuch' is not a column"):
        logitlab.fit("case ~ spontaneous + strata(nosuch)", df, family="conditional")
    with pytest.raises(ValueError, match="case weights are not defined for the exact"):
        logitlab.fit("case ~ spontaneous + strata(stratum)", df, family="conditional",
                     sample_weight=np.linspace(0.5, 2, len(df)))
    with pytest.raises(ValueError, match="method must be one of"):
        logitlab.ConditionalLogisticRegression(method="cox").fit(
            df[["spontaneous"]], df["case"], strata=df["stratum"])
    with pytest.raises(ValueError, match="0/1"):
        logitlab.ConditionalLogisticRegression().fit(df[["spontaneous"]], df["parity"],
                                                     strata=df["stratum"])
    with pytest.raises(ValueError, match="missing values"):
        logitlab.ConditionalLogisticRegression().fit(
            df[["spontaneous"]], df["case"], strata=df["stratum"].where(df.index != 5))


@pytest.mark.slow
def test_model_file_and_cli(tmp_path):
    df = infert()
    m = logitlab.fit("case ~ spontaneous + induced + strata(stratum)", df, family="conditional")
    loaded = logitlab.load(logitlab.save(m, tmp_path / "clogit.json"))
    assert type(loaded).__name__ == "ConditionalLogisticRegression"
    np.testing.assert_array_equal(loaded.predict_proba(df, strata=df["stratum"]),
                                  m.predict_proba(df, strata=df["stratum"]))
    assert loaded.summary().to_dict()["terms"] == m.summary().to_dict()["terms"]
    run = subprocess.run([sys.executable, "-m", "logitlab.cli", "fit", str(DATA / "infert.csv"),
                          "-f", "case ~ spontaneous + induced", "--family", "conditional",
                          "--strata", "stratum", "--json"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["model"] == "conditional"
    np.testing.assert_allclose(doc["score_stat"], REF["infert_exact"]["score_test"], rtol=1e-8)
    np.testing.assert_allclose([t["coef"] for t in doc["terms"]],
                               list(REF["infert_exact"]["coefficients"].values()), rtol=1e-8)
    model_file = str(tmp_path / "clogit.json")
    pred = subprocess.run([sys.executable, "-m", "logitlab.cli", "predict", model_file,
                           str(DATA / "infert.csv"), "--strata", "stratum"],
                          capture_output=True, text=True, timeout=300)
    assert pred.returncode == 0, pred.stderr
    table = pd.read_csv(__import__("io").StringIO(pred.stdout))
    np.testing.assert_allclose(table["prob"], REF["infert_exact"]["expected"], rtol=1e-8)
    bad = subprocess.run([sys.executable, "-m", "logitlab.cli", "explain", model_file,
                          str(DATA / "infert.csv"), "--row", "1"], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode != 0 and "not available for conditional" in bad.stderr
    assert "Traceback" not in bad.stderr
    diag = subprocess.run([sys.executable, "-m", "logitlab.cli", "diagnostics", model_file,
                           str(DATA / "infert.csv")], capture_output=True, text=True, timeout=300)
    assert diag.returncode == 2 and "not defined for conditional" in diag.stderr
    assert "Traceback" not in diag.stderr


def test_report_of_a_conditional_model():
    """The report shows the model with clogit's three tests and the odds ratios,
    and says why it has no metrics (predictions need the strata)."""
    from logitlab.report.html import render_report
    df = infert()
    m = logitlab.fit("case ~ spontaneous + induced + strata(stratum)", df, family="conditional")
    page = render_report(m, df, y="case")
    assert "Conditional logistic regression" in page and "Score (logrank) test" in page
    assert "within a stratum" in page and "ROC curve" not in page
    odds = f"{np.exp(REF['infert_exact']['coefficients']['spontaneous']):.4g}"
    assert odds in page


def test_strata_of_several_columns_and_the_strata_argument():
    """strata(a, b) makes one stratum per combination (R's strata()); strata= names
    the column instead of the formula term."""
    df = infert()
    half = (df["stratum"] % 2).to_numpy()
    df["st_div"] = df["stratum"] // 2
    df["st_mod"] = half
    two = logitlab.fit("case ~ spontaneous + induced + strata(st_div, st_mod)", df,
                       family="conditional")
    one = logitlab.fit("case ~ spontaneous + induced", df, family="conditional",
                       strata="stratum")
    np.testing.assert_allclose(two.coef_, one.coef_, rtol=1e-12)
    np.testing.assert_allclose(one.coef_, list(REF["infert_exact"]["coefficients"].values()),
                               rtol=1e-8)


def test_tests_per_term_match_clogit_refits():
    """anova (type II LR) of an additive conditional model: each term's LR statistic
    against clogit fits without it."""
    m = logitlab.fit("case ~ x1 + x2 + x3 + strata(st)", strata_data(), family="conditional")
    table = m.anova()
    for term, lrt in REF["strata_exact_drop1"].items():
        np.testing.assert_allclose(table.loc[term, "LR Chisq"], lrt, rtol=1e-8)
