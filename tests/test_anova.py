"""Tests per term: ``anova`` (car::Anova types II/III, LR and Wald), ``drop1``,
``wald_test`` of terms and of hypotheses written as text, ``lr_test`` of nested
formula fits.

References: ``tests/data/anova_r.json``, written by ``tests/r/anova.R`` (R 4.2.2,
car 3.1.1, sandwich, MASS, nnet; see tests/data/README.md): ``car::Anova``,
``drop1(test="LRT")``, ``car::linearHypothesis`` and ``anova(glm1, glm2, test="LRT")``
on MASS::birthwt (glm fitted to epsilon 1e-14 and refitted from its estimate); the
anes96 multinomial model by the exact MLE (nnet::multinom, then Newton steps in R)
for every refit, with car::Anova(multinom) (whose refits stop at nnet's default
tolerance) as a looser check. statsmodels for matrix fits.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import logitlab
from logitlab.results.anova import relatives, term_factors
from logitlab.results.hypotheses import HypothesisError, parse_hypothesis

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "anova_r.json").read_text())
RTOL = 1e-8

FORMULAS = {
    "b1": "low ~ age*smoke + C(race) + lwt + ht + ui",
    "b2": "low ~ lwt + C(race)*smoke + ptl",
    "b3": "low ~ age + C(race) + smoke",
}
KINDS = {"II_LR": (2, "LR"), "III_LR": (3, "LR"), "II_Wald": (2, "Wald"),
         "III_Wald": (3, "Wald")}


def birthwt():
    df = pd.read_csv(DATA / "birthwt.csv")
    n = len(df)
    df["w"] = 1.0 + (np.arange(1, n + 1) % 3)     # as tests/r/anova.R
    df["o"] = (df["lwt"] - 130) / 100
    return df


def fit_b(key, **kw):
    extra = dict(sample_weight="w", offset="o") if key == "b3" else {}
    return logitlab.fit(FORMULAS[key], birthwt(), **extra, **kw)


def anes():
    df = pd.read_csv(DATA / "anes96.csv")
    df["educ3"] = np.clip(df["educ"], 3, 5)        # as tests/r/anova.R
    return df


MULTI = "PID ~ logpopul + age*C(educ3) + C(vote)"


@pytest.fixture(scope="module")
def multi():
    return logitlab.fit(MULTI, anes())


def r_name(term: str) -> str:
    """R's name of a term: factor() columns instead of C()."""
    for f in ("race", "educ3", "vote"):
        term = term.replace(f"C({f})", f)
    return term


def rel(got, exp, what, rtol=RTOL):
    got, exp = np.asarray(got, float), np.asarray(exp, float)
    err = np.max(np.abs(got - exp) / np.maximum(np.abs(exp), 1e-300))
    assert err <= rtol, f"{what}: max relative error {err:.3g} > {rtol:g}\n{got}\n{exp}"


def check_table(table, ref, what, rtol=RTOL):
    assert [r_name(t) for t in table.index] == ref["term"], what
    rel(table.iloc[:, 0], ref["stat"], f"{what} statistic", rtol)
    assert table["df"].tolist() == ref["df"], what
    rel(table["p_value"], ref["p"], f"{what} p-value", rtol)


# ------------------------------------------------------------------ binary vs car
@pytest.mark.parametrize("key", ["b1", "b2", "b3"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_anova_matches_car(key, kind):
    """car::Anova types II/III, LR and Wald; b3 with prior weights and an offset."""
    m = fit_b(key)
    type_, test = KINDS[kind]
    table = m.anova(type=type_, test=test)
    assert table.columns[0] == ("LR Chisq" if test == "LR" else "Chisq")
    check_table(table, REF[key][kind], f"{key} {kind}")


@pytest.mark.parametrize("kind", ["II_Wald", "III_Wald"])
def test_robust_wald_anova_matches_car_with_sandwich(kind):
    """car::Anova(vcov. = sandwich::vcovHC(type = "HC0")) for a cov_type="HC0" fit."""
    m = fit_b("b1", cov_type="HC0")
    check_table(m.anova(*KINDS[kind]), REF["b1"]["HC0"][kind], f"HC0 {kind}")


@pytest.mark.parametrize("key", ["b1", "b2", "b3"])
def test_drop1_matches_r(key):
    m = fit_b(key)
    got, exp = m.drop1(test="LRT"), REF[key]["drop1"]
    assert [r_name(t) for t in got.index] == exp["term"]
    rel(got["deviance"], exp["deviance"], f"{key} drop1 deviance")
    rel(got["aic"], exp["aic"], f"{key} drop1 AIC")
    rel(got["LRT"].iloc[1:], exp["lrt"][1:], f"{key} drop1 LRT")
    rel(got["p_value"].iloc[1:], exp["p"][1:], f"{key} drop1 p")
    assert got["df"].iloc[1:].tolist() == exp["df"][1:]
    rel(m.drop1(test="Chisq")["LRT"].iloc[1:], exp["lrt"][1:], "Chisq = LRT")


# ------------------------------------------------------------------ hypotheses
@pytest.mark.parametrize("hyp,key", [
    ("age = 0", "age"),
    (["C(race)[T.2] = C(race)[T.3]", "lwt = 0"], "race_lwt"),
    ("2*age - lwt = 1", "combo"),
    ("smoke + 30*age:smoke = 0.5", "smoke_int"),
])
def test_string_hypotheses_match_linear_hypothesis(hyp, key):
    m = fit_b("b1")
    got, exp = m.wald_test(hyp), REF["hyp"][key]
    rel(got["statistic"], exp["stat"], f"{hyp!r} vs car::linearHypothesis")
    rel(got["p_value"], exp["p"], f"{hyp!r} p-value")
    assert got["df"] == exp["df"]
    same = logitlab.wald_test(m, hypotheses=hyp)         # the module function too
    assert same["statistic"] == got["statistic"]


def test_a_hypothesis_without_equals_sign_means_equal_to_zero():
    """As car::linearHypothesis: "smoke + 30*age:smoke" is "... = 0"; R's value for "= 0.5"
    is reached with q, the same restriction row."""
    m = fit_b("b1")
    assert m.wald_test("2*age - lwt")["statistic"] == m.wald_test("2*age - lwt = 0")["statistic"]
    labels = list(m.results_.params.index)
    r = np.zeros(len(labels))
    r[labels.index("smoke")], r[labels.index("age:smoke")] = 1.0, 30.0
    got = m.wald_test(R=[r], q=[0.5])
    rel(got["statistic"], REF["hyp"]["smoke_int"]["stat"], "R/q route vs car")


def test_terms_by_formula_name_test_all_their_columns():
    """wald_test(terms=["C(race)"]) is the Wald test of both race dummies: car's type III
    row, and the old coefficient labels still work (the same statistic)."""
    m = fit_b("b1")
    got = m.wald_test(terms=["C(race)"])
    row = REF["b1"]["III_Wald"]["term"].index("race")
    rel(got["statistic"], REF["b1"]["III_Wald"]["stat"][row], "C(race) vs car")
    assert got["df"] == 2
    by_label = logitlab.wald_test(m, terms=["C(race)[T.2]", "C(race)[T.3]"])
    rel(by_label["statistic"], got["statistic"], "labels = term")
    both = m.wald_test(terms=["C(race)", "lwt"])
    assert both["df"] == 3


@pytest.mark.parametrize("text,row,q", [
    ("age", {"age": 1}, 0.0),                                  # no '=': = 0, as car
    ("(Intercept) + age = 2", {"(Intercept)": 1, "age": 1}, 2.0),
    ("age/2 - 0.5*lwt = -1e-1", {"age": 0.5, "lwt": -0.5}, -0.1),
    ("2*(age - lwt) + 1 = lwt", {"age": 2, "lwt": -3}, -1.0),
    ("`age:smoke`*3=age", {"age:smoke": 3, "age": -1}, 0.0),
    ("-C(race)[T.2]+C( race )[T.3]", {"C(race)[T.2]": -1, "C(race)[T.3]": 1}, 0.0),
])
def test_hypothesis_parser_builds_the_restriction(text, row, q):
    labels = ["(Intercept)", "age", "smoke", "C(race)[T.2]", "C(race)[T.3]", "lwt",
              "age:smoke"]
    r, k = parse_hypothesis(text, labels)
    expected = np.array([row.get(lab, 0.0) for lab in labels])
    np.testing.assert_array_equal(r, expected)
    assert k == q


@pytest.mark.parametrize("text,why", [
    ("age + foo = 0", "expected a coefficient label"),
    ("age * lwt = 0", "not linear"),
    ("1 / age = 0", "not linear"),
    ("age = 0 = 1", "more than one '='"),
    ("(age = 0", "not closed"),
    ("2 = 2", "no coefficient"),
    ("age - age = 0", "cancel"),
    ("age = ", "ends too early"),
    ("`nope` = 0", "not a coefficient label"),
])
def test_bad_hypotheses_say_why_and_list_the_labels(text, why):
    m = fit_b("b1")
    with pytest.raises(HypothesisError, match=why) as err:
        m.wald_test(text)
    assert "C(race)[T.2]" in str(err.value)          # the labels are listed


def test_unknown_term_lists_terms_and_labels():
    m = fit_b("b1")
    with pytest.raises(ValueError, match=r"unknown terms \['C\(religion\)'\]") as err:
        m.wald_test(terms=["C(religion)"])
    assert "'C(race)'" in str(err.value) and "C(race)[T.3]" in str(err.value)
    with pytest.raises(ValueError, match="not both"):
        m.wald_test("age = 0", R=np.eye(9)[:1])


# ------------------------------------------------------------------ lr_test
def test_lr_test_of_nested_formula_fits_matches_r_anova():
    big, small = fit_b("b1"), logitlab.fit("low ~ age + smoke + C(race) + lwt", birthwt())
    exp = REF["lr"]
    for got in (logitlab.lr_test(small, big), big.lr_test(small), small.lr_test(big)):
        rel(got["statistic"], exp["stat"], "LR vs anova(glm, glm, test='LRT')")
        rel(got["p_value"], exp["p"], "LR p")
        assert got["df"] == exp["df"]


def test_lr_test_refuses_models_that_are_not_nested_or_not_on_the_same_rows():
    df = birthwt()
    big = fit_b("b1")
    with pytest.raises(ValueError, match=r"not nested.*\['ptl'\]"):
        logitlab.lr_test(logitlab.fit("low ~ age + ptl", df), big)
    with pytest.raises(ValueError, match="different data"):
        logitlab.lr_test(logitlab.fit("low ~ age", df.iloc[:150]), big)
    with pytest.raises(ValueError, match="weights or offsets"):
        logitlab.lr_test(logitlab.fit("low ~ age", df, offset="o"), big)
    with pytest.raises(ValueError, match="different responses"):
        logitlab.lr_test(logitlab.fit("ui ~ age", df), big)


# ------------------------------------------------------------------ multinomial
@pytest.mark.parametrize("kind", list(KINDS))
def test_multinomial_anova_matches_the_exact_mle_refits(multi, kind):
    """A term of a multinomial model: its columns in all 6 non-reference classes."""
    table = multi.anova(*KINDS[kind])
    ref = REF["multinom"][kind]
    names = [r_name(t) for t in table.index]
    assert sorted(names) == sorted(ref)
    rel([table.iloc[i, 0] for i in range(len(names))], [ref[t]["stat"] for t in names],
        f"multinomial {kind}")
    assert table["df"].tolist() == [ref[t]["df"] for t in names]


def test_multinomial_anova_agrees_with_car_to_nnet_tolerance(multi):
    """car::Anova(multinom) itself (refits at nnet's default reltol 1e-8)."""
    got = multi.anova(2, "LR")
    car = REF["multinom"]["car_II_LR"]
    assert [r_name(t) for t in got.index] == car["term"]
    rel(got["LR Chisq"], car["stat"], "car::Anova(multinom) II", rtol=1e-6)
    rel(multi.results_.llf, REF["multinom"]["loglik"], "multinomial log-likelihood")


def test_multinomial_hypotheses_use_class_colon_label(multi):
    got = multi.wald_test(["2:age = 3:age", "4:C(vote)[T.1] = 0"])
    rel(got["statistic"], REF["multinom"]["hyp"]["stat"], "multinomial hypotheses")
    assert got["df"] == 2
    tuples = multi.wald_test(terms=[(4, "C(vote)[T.1]")])
    rel(tuples["statistic"], multi.wald_test("4:C(vote)[T.1]")["statistic"], "tuple label")
    term = multi.wald_test(terms=["C(educ3)"])
    rel(term["statistic"], REF["multinom"]["III_Wald"]["educ3"]["stat"], "term in all classes")


def test_multinomial_drop1_is_type_iii_lr_of_the_outer_terms(multi):
    got = multi.drop1()
    ref = REF["multinom"]["III_LR"]
    assert list(got.index) == ["<none>", "logpopul", "C(vote)", "age:C(educ3)"]
    rel(got["LRT"].iloc[1:], [ref[r_name(t)]["stat"] for t in got.index[1:]], "drop1 LRT")
    rel(got["deviance"].iloc[0], REF["multinom"]["deviance"], "multinomial deviance")


# ------------------------------------------------------------------ no rows, summary
def test_loaded_model_gets_wald_and_a_clear_error_for_lr(tmp_path):
    m = fit_b("b1")
    path = tmp_path / "m.json"
    logitlab.save(m, path)
    loaded = logitlab.load(path)
    with pytest.raises(ValueError, match="loaded or unpickled model"):
        loaded.anova(test="LR")
    with pytest.raises(ValueError, match="loaded or unpickled model"):
        loaded.drop1()
    check_table(loaded.anova(2, "Wald"), REF["b1"]["II_Wald"], "loaded II Wald")
    s = loaded.summary(anova=True)
    assert s.anova.attrs["test"] == "Wald"
    rel(s.anova["Chisq"], REF["b1"]["II_Wald"]["stat"], "loaded summary anova")


def test_summary_appends_the_type_ii_table():
    m = fit_b("b1")
    s = m.summary(anova=True)
    check_table(s.anova, REF["b1"]["II_LR"], "summary anova")
    doc = json.loads(s.to_json())
    assert doc["anova"]["type"] == 2 and doc["anova"]["test"] == "LR"
    assert doc["anova"]["statistic"] == "LR Chisq"
    rel([t["statistic"] for t in doc["anova"]["terms"]], REF["b1"]["II_LR"]["stat"], "json")
    assert "Type II tests per term (LR)" in str(s) and "age:smoke" in str(s)
    assert "LR Chisq" in s._repr_html_()
    assert s.to_frame().attrs["anova"].equals(s.anova)
    assert "anova" not in m.summary().to_dict()                 # only when asked
    # the results object knows no formula: one term per column, the same tests where
    # a term is one column
    results = m.results_.summary(anova=True).anova
    assert list(results.index) == list(m.design_.columns)
    shared = ["age", "smoke", "lwt", "ht", "ui", "age:smoke"]
    rel(results.loc[shared, "LR Chisq"], s.anova.loc[shared, "LR Chisq"], "results anova")


def test_penalized_fit_summary_has_no_anova_and_anova_says_why():
    m = fit_b("b1", alpha=0.01)
    assert m.summary(anova=True).anova is None
    with pytest.raises(ValueError, match="penalized"):
        m.anova()


def test_an_aliased_term_has_no_test_and_the_others_are_those_of_the_model_without_it():
    df = birthwt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = logitlab.fit("low ~ age + lwt + I(age + lwt) + C(race)", df)
    plain = logitlab.fit("low ~ age + lwt + C(race)", df)
    for type_, test in KINDS.values():
        got, exp = m.anova(type_, test), plain.anova(type_, test)
        assert got.loc["I(age + lwt)", "df"] == 0
        assert np.isnan(got.loc["I(age + lwt)"].iloc[0])
        rel(got.drop(index="I(age + lwt)").iloc[:, 0], exp.iloc[:, 0], f"aliased {type_} {test}")
    d = m.drop1()
    assert d.loc["I(age + lwt)", "df"] == 0 and d.loc["I(age + lwt)", "LRT"] == 0  # as R's drop1


def test_firth_fit_gets_wald_and_a_clear_error_for_lr():
    m = logitlab.fit("low ~ age + C(race)", birthwt(), penalty="firth")
    wald = m.anova(3, "Wald")
    labels = list(m.results_.params.index)
    idx = [labels.index("C(race)[T.2]"), labels.index("C(race)[T.3]")]
    b, V = m.results_.params.to_numpy()[idx], m.results_.cov_params().to_numpy()[np.ix_(idx, idx)]
    rel(wald.loc["C(race)", "Chisq"], b @ np.linalg.solve(V, b), "Firth Wald closed form")
    with pytest.raises(ValueError, match="firth fit: use test='Wald'"):
        m.anova(test="LR")


# ------------------------------------------------------------------ matrix fits
def test_matrix_fit_each_column_is_a_term_vs_statsmodels():
    df = birthwt()
    X, y = df[["age", "lwt", "smoke", "ht"]], df["low"]
    m = logitlab.LogisticRegression().fit(X, y)
    full = sm.Logit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-14)
    lr = m.anova(2, "LR")
    assert list(lr.index) == list(X.columns)
    for col in X.columns:
        small = sm.Logit(y, sm.add_constant(X.drop(columns=col))).fit(disp=0, method="newton",
                                                                       tol=1e-14)
        rel(lr.loc[col, "LR Chisq"], 2 * (full.llf - small.llf), f"LR {col} vs statsmodels")
    wald = m.anova(3, "Wald")
    rel(wald["Chisq"].to_numpy(), (full.tvalues ** 2).to_numpy(), "Wald = z² vs statsmodels")


# ------------------------------------------------------------------ helpers and bad input
def test_term_factors_and_relatives():
    assert term_factors("age:C(race, levels=['a:b'])") == {"age", "C(race, levels=['a:b'])"}
    got = relatives(["a", "b", "a:b", "c", "a:b:c"])
    assert got == {"a": ["a:b", "a:b:c"], "b": ["a:b", "a:b:c"], "a:b": ["a:b:c"],
                   "c": ["a:b:c"], "a:b:c": []}


def test_bad_type_and_test():
    m = fit_b("b1")
    with pytest.raises(ValueError, match="type must be 2 or 3"):
        m.anova(type=1)
    with pytest.raises(ValueError, match="test must be 'LR' or 'Wald'"):
        m.anova(test="F")
    with pytest.raises(ValueError, match="test must be 'LRT' or 'Chisq'"):
        m.drop1(test="F")


def test_lr_refits_keep_warnings_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_b("b2").anova(2, "LR")


# ------------------------------------------------------------------ command line
def cli(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "logitlab.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_anova_json_matches_car(tmp_path):
    """`logitlab anova DATA -f F --json` (fit as `fit` does, with --weights / --offset),
    and `--model MODEL` (Wald from the saved model; LR refitted on DATA)."""
    data = tmp_path / "bw.csv"
    birthwt().to_csv(data, index=False)
    out = cli("anova", data, "-f", FORMULAS["b3"], "--weights", "w", "--offset", "o",
              "--type", "2", "--test", "LR", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    ref = REF["b3"]["II_LR"]
    assert [r_name(t["term"]) for t in doc["terms"]] == ref["term"]
    rel([t["statistic"] for t in doc["terms"]], ref["stat"], "CLI b3 II LR")
    rel([t["p_value"] for t in doc["terms"]], ref["p"], "CLI b3 II LR p")
    assert [t["df"] for t in doc["terms"]] == ref["df"]
    assert doc["statistic"] == "LR Chisq" and doc["type"] == 2 and doc["model_file"] is None
    rel(doc["deviance"], REF["b3"]["deviance"], "CLI deviance")

    model = tmp_path / "b1.json"
    assert cli("fit", data, "-f", FORMULAS["b1"], "--out", model).returncode == 0
    for type_, test, key in (("3", "Wald", "III_Wald"), ("III", "LR", "III_LR")):
        out = cli("anova", data, "--model", model, "--type", type_, "--test", test, "--json")
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        ref = REF["b1"][key]
        assert [r_name(t["term"]) for t in doc["terms"]] == ref["term"]
        rel([t["statistic"] for t in doc["terms"]], ref["stat"], f"CLI --model {key}")
    table = cli("anova", data, "--model", model)
    assert table.returncode == 0 and "age:smoke" in table.stdout and "LR Chisq" in table.stdout


@pytest.mark.slow
def test_cli_anova_bad_input_is_one_clear_line(tmp_path):
    data = tmp_path / "bw.csv"
    birthwt().to_csv(data, index=False)
    model = tmp_path / "b1.json"
    assert cli("fit", data, "-f", FORMULAS["b1"], "--out", model).returncode == 0
    other = tmp_path / "half.csv"
    birthwt().iloc[::2].to_csv(other, index=False)
    for args, why in (((other, "--model", model), "does not reproduce its coefficients"),
                      ((data, "-f", FORMULAS["b1"], "--type", "4"), "--type must be 2 or 3"),
                      ((data, "-f", FORMULAS["b1"], "--test", "F"), "test must be 'LR' or"),
                      ((data, "--model", model, "-f", FORMULAS["b1"]), "not both")):
        out = cli("anova", *args)
        assert out.returncode == 2, out.stderr
        assert why in out.stderr and "Traceback" not in out.stderr


# ------------------------------------------------------------------ Dask
def test_dask_fit_gets_wald_tables_and_a_clear_error_for_lr(client):
    import dask.dataframe as dd
    m = logitlab.fit(FORMULAS["b1"], dd.from_pandas(birthwt(), npartitions=3))
    for kind in ("II_Wald", "III_Wald"):
        check_table(m.anova(*KINDS[kind]), REF["b1"][kind], f"Dask {kind}")
    with pytest.raises(ValueError, match="Dask fit"):
        m.anova(test="LR")
    s = m.summary(anova=True)
    assert s.anova.attrs["test"] == "Wald"
