"""The command line with mixed-effects logits: fit (text, --json, --save, --nagq, --ci),
predict (--kind, --offset), explain, and clear errors for options that do not apply.

References: lme4's glmer (tests/data/glmer_r.json from tests/r/glmer.R: logLik,
AIC, fixef, ranef, fitted(fit) of rows 1-6, population-average probabilities
of rows 1-4 by R's ``integrate``), the Newton-polished optimum of lme4's deviance
(tests/data/glmer_polished.json from tests/r/glmer_polish.R) where glmer's own
optimizer stops short of 1e-6, and the document of ``summary().to_dict()``.
Commands run in this process (typer's CliRunner); the one test that starts a
fresh process is marked slow.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "glmer_r.json").read_text())
POLISHED = json.loads((DATA / "glmer_polished.json").read_text())
CBPP = DATA / "glmm_cbpp.csv"
SLOPES = DATA / "glmm_slopes.csv"
# read from the CSV, period is a number: C() makes it a factor as in R (lme4::cbpp)
CBPP_FORMULA = "cbind(incidence, size - incidence) ~ C(period) + (1 | herd)"
SLOPES_FORMULA = "y ~ x + (1 + x | g) + (1 | h)"


def invoke(*args):
    """``(exit code, stdout, exception)`` of the command run in this process."""
    from typer.testing import CliRunner

    from logitlab.cli import app
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.stdout, res.exception


def ok(*args) -> str:
    code, out, exc = invoke(*args)
    assert code == 0 and exc is None, (code, exc)
    return out


def cli_error(*args) -> str:
    _, _, exc = invoke(*args)
    assert isinstance(exc, (ValueError, TypeError, OSError, NotImplementedError)), exc
    return str(exc)


def rel(a, b) -> float:
    return abs(a - b) / abs(b)


@pytest.fixture(scope="module")
def cbpp_model(tmp_path_factory):
    """``fit --save`` of cbpp, its --json document."""
    path = tmp_path_factory.mktemp("cli") / "cbpp.json"
    doc = json.loads(ok("fit", CBPP, "--formula", CBPP_FORMULA, "--save", path, "--json"))
    return path, doc


# ---------------------------------------------------------------------- fit
def test_fit_prints_glmers_summary_with_lme4s_numbers():
    out = ok("fit", CBPP, "--formula", CBPP_FORMULA)
    r = R["cbpp_laplace"]
    assert out.startswith("Generalized linear mixed model fit by maximum likelihood "
                          "(Laplace Approximation)\n Family: binomial  ( logit )\n"
                          f"Formula: {CBPP_FORMULA}\n")
    aic, bic, loglik, deviance, df_resid = out.split("\n")[5].split()
    assert (float(aic), float(bic), float(loglik), float(deviance)) == \
        tuple(round(r[k], 1) for k in ("AIC", "BIC", "logLik", "minus2logLik"))
    assert int(df_resid) == r["nobs"] - r["df"]
    fixed = out[out.index("Fixed effects:"):].split("\n")[2:6]
    printed = [float(line.split()[1]) for line in fixed]
    np.testing.assert_allclose(printed, [r["fixef"][k] for k in r["fixef_names"]],
                               atol=5e-5 + 1e-12)
    se = [float(line.split()[2]) for line in fixed]
    np.testing.assert_allclose(se, r["se"], atol=5e-5 + 1e-12)
    assert " herd   (Intercept)   0.4125   0.6423" in out
    assert f"{r['varcorr'][0]['sd']:.4g}" == "0.6423"
    assert f"Number of obs: {r['nobs']}, groups:  herd, {r['n_levels']}" in out


def test_fit_json_document(cbpp_model):
    path, doc = cbpp_model
    r = R["cbpp_laplace"]
    assert set(doc) == {"model", "family", "link", "method", "n_agq", "converged", "singular",
                        "level", "ci_method", "n_obs", "n_params", "df_resid", "groups",
                        "log_likelihood", "deviance", "conditional_deviance", "aic", "bic",
                        "max_scaled_gradient", "terms", "random_effects", "variance_intervals",
                        "theta", "conditional_modes", "notes", "formula", "n_dropped", "model_file"}
    assert doc["model"] == "mixed" and doc["method"] == "laplace" and doc["n_agq"] == 1
    assert doc["formula"] == CBPP_FORMULA and doc["n_dropped"] == 0
    assert doc["model_file"] == str(path) and path.exists()
    assert doc["groups"] == {"herd": r["n_levels"]} and doc["n_obs"] == r["nobs"]
    assert doc["converged"] is True and doc["singular"] is False and doc["notes"] == []
    assert rel(doc["log_likelihood"], r["logLik"]) < 1e-6
    assert rel(doc["deviance"], r["minus2logLik"]) < 1e-6
    assert rel(doc["conditional_deviance"], r["deviance"]) < 1e-6
    assert rel(doc["aic"], r["AIC"]) < 1e-6 and rel(doc["bic"], r["BIC"]) < 1e-6
    coef = [t["coef"] for t in doc["terms"]]
    np.testing.assert_allclose(coef, [r["fixef"][k] for k in r["fixef_names"]], rtol=1e-6)
    np.testing.assert_allclose([t["std_err"] for t in doc["terms"]], r["se"], rtol=1e-4)
    assert [t["name"] for t in doc["terms"]] == ["(Intercept)", "C(period)[T.2]",
                                                 "C(period)[T.3]", "C(period)[T.4]"]
    np.testing.assert_allclose(doc["theta"]["herd.(Intercept)"], r["theta"], rtol=1e-5)
    np.testing.assert_allclose(doc["random_effects"][0]["sd"], r["varcorr"][0]["sd"], rtol=1e-5)
    modes = doc["conditional_modes"]["herd"]
    assert [m["level"] for m in modes][:3] == r["ranef"]["level"]
    np.testing.assert_allclose([m["values"]["(Intercept)"] for m in modes[:3]],
                               r["ranef"]["value"], rtol=1e-5)
    np.testing.assert_allclose([m["condsd"]["(Intercept)"] for m in modes[:3]],
                               r["ranef"]["condsd"], rtol=1e-4)


def test_fit_nagq(tmp_path):
    doc = json.loads(ok("fit", CBPP, "--formula", CBPP_FORMULA, "--nagq", 9, "--json"))
    r = R["cbpp_agq9"]
    assert doc["method"] == "agq" and doc["n_agq"] == 9
    assert rel(doc["log_likelihood"], r["logLik"]) < 1e-6
    np.testing.assert_allclose([t["coef"] for t in doc["terms"]],
                               [r["fixef"][k] for k in r["fixef_names"]], rtol=1e-6)
    out = ok("fit", CBPP, "--formula", CBPP_FORMULA, "--nagq", 9)
    assert out.startswith("Generalized linear mixed model fit by maximum likelihood "
                          "(Adaptive Gauss-Hermite Quadrature, nAGQ = 9)")


def test_fit_with_an_offset_and_family_mixed():
    doc = json.loads(ok("fit", SLOPES, "--formula", SLOPES_FORMULA, "--offset", "off",
                        "--family", "mixed", "--json"))
    r, polished = R["slopes_corr"], POLISHED["slopes_corr"]
    assert rel(doc["log_likelihood"], r["logLik"]) < 1e-6
    nt = len(doc["theta"])
    np.testing.assert_allclose([t["coef"] for t in doc["terms"]], polished["pars"][nt:],
                               rtol=1e-6)
    assert doc["groups"] == {"g": 50, "h": 8}
    assert doc["random_effects"][1]["corr"].keys() == {"(Intercept)"}


def test_fit_ci_profile():
    doc = json.loads(ok("fit", CBPP, "--formula", CBPP_FORMULA, "--ci", "profile", "--json"))
    assert doc["ci_method"] == "profile"
    wald = json.loads(ok("fit", CBPP, "--formula", CBPP_FORMULA, "--json"))
    for p, w in zip(doc["terms"], wald["terms"]):
        assert p["coef"] == w["coef"]
        assert p["ci_low"] < p["coef"] < p["ci_high"]
        # a likelihood interval is not the Wald one but of its size (cbpp: within 10 %)
        assert p["ci_low"] != w["ci_low"]
        assert rel(p["ci_high"] - p["ci_low"], w["ci_high"] - w["ci_low"]) < 0.1
    # the profile document carries the variance components' intervals, lme4's .sig01
    lme4 = json.loads((DATA / "glmer_profile.json").read_text())["cbpp"]
    assert wald["variance_intervals"] == []
    (sd,) = doc["variance_intervals"]
    assert sd["name"] == "sd_(Intercept)|herd"
    np.testing.assert_allclose([sd["ci_low"], sd["ci_high"]],
                               [lme4["profile_lower"][0], lme4["profile_upper"][0]], rtol=1e-3)
    np.testing.assert_allclose([t["ci_low"] for t in doc["terms"]], lme4["profile_lower"][1:],
                               rtol=1e-3)


# ------------------------------------------------------------------ predict
def test_predict_kinds_against_lme4(cbpp_model, tmp_path):
    path, _ = cbpp_model
    r = R["cbpp_laplace"]
    out = tmp_path / "p.csv"
    ok("predict", path, CBPP, "--out", out, "--id", "herd")
    cond = pd.read_csv(out)
    assert list(cond.columns) == ["herd", "predicted", "prob_0", "prob_1", "logit"]
    rows = np.array(r["fitted_rows"]) - 1
    np.testing.assert_allclose(cond["prob_1"].to_numpy()[rows], r["fitted"], rtol=1e-6)
    np.testing.assert_allclose(cond["prob_0"] + cond["prob_1"], 1.0, rtol=1e-15)
    np.testing.assert_allclose(cond["logit"], np.log(cond.prob_1 / cond.prob_0), rtol=1e-9)
    assert list(cond["predicted"]) == list((cond["prob_1"] > 0.5).astype(int))
    marg = json.loads(ok("predict", path, CBPP, "--kind", "marginal", "--json"))
    assert set(marg[0]) == {"predicted", "prob_0", "prob_1"}
    rows = np.array(r["marginal_rows"]) - 1
    np.testing.assert_allclose([marg[i]["prob_1"] for i in rows], r["marginal"], rtol=1e-6)
    pop = json.loads(ok("predict", path, CBPP, "--kind", "population", "--json"))
    beta = [r["fixef"][k] for k in r["fixef_names"]]
    df = pd.read_csv(CBPP)
    eta = beta[0] + np.select([df.period == 2, df.period == 3, df.period == 4], beta[1:], 0.0)
    np.testing.assert_allclose([p["logit"] for p in pop], eta, rtol=1e-6)


def test_predict_with_an_offset(tmp_path):
    path = tmp_path / "slopes.json"
    ok("fit", SLOPES, "--formula", SLOPES_FORMULA, "--offset", "off", "--save", path)
    preds = json.loads(ok("predict", path, SLOPES, "--offset", "off", "--json"))
    r = R["slopes_corr"]
    rows = np.array(r["fitted_rows"]) - 1
    np.testing.assert_allclose([preds[i]["prob_1"] for i in rows], r["fitted"], rtol=1e-5)
    marg = json.loads(ok("predict", path, SLOPES, "--offset", "off", "--kind", "marginal",
                         "--json"))
    np.testing.assert_allclose([marg[i]["prob_1"] for i in np.array(r["marginal_rows"]) - 1],
                               r["marginal"], rtol=1e-5)


def test_explain_a_row(cbpp_model):
    path, doc = cbpp_model
    r = R["cbpp_laplace"]
    e = json.loads(ok("explain", path, CBPP, "--row", 2, "--json"))
    names = [t["name"] for t in e["terms"]]
    assert names == ["(Intercept)", "C(period)[T.2]", "C(period)[T.3]", "C(period)[T.4]",
                     "(Intercept) | herd = 1"]
    contrib = [t["contribution"]["1"] for t in e["terms"]]
    np.testing.assert_allclose(contrib[-1], r["ranef"]["value"][0], rtol=1e-5)   # herd 1's mode
    np.testing.assert_allclose(contrib[0] + contrib[2], r["fixef"]["(Intercept)"]
                               + r["fixef"]["period3"], rtol=1e-6)
    assert e["logits"]["1"] == pytest.approx(sum(contrib), rel=1e-15)
    np.testing.assert_allclose(e["probabilities"]["1"], r["fitted"][2], rtol=1e-6)
    text = ok("explain", path, CBPP, "--row", 2)
    assert "(Intercept) | herd = 1" in text and "logit (sum)" in text


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("option", [["--alpha", "1"], ["--penalty", "firth"],
                                    ["--solver", "newton"], ["--cov-type", "HC0"],
                                    ["--class-weight", "balanced"], ["--groups", "herd"],
                                    ["--levels", "a,b"], ["--strata", "herd"],
                                    ["--reference-class", "1"], ["--tol", "1e-8"]])
def test_options_that_do_not_apply_are_named(option):
    message = cli_error("fit", CBPP, "--formula", CBPP_FORMULA, *option)
    assert message.startswith(f"{option[0]} does not apply to mixed-effects models"), message


def test_clear_errors():
    assert "--nagq is an option of mixed-effects models" in cli_error(
        "fit", SLOPES, "--formula", "y ~ x", "--nagq", "3")
    assert "needs --formula with its random effects" in cli_error(
        "fit", SLOPES, "--target", "y", "--family", "mixed")
    assert "n_agq must be an integer from 1" in cli_error(
        "fit", CBPP, "--formula", CBPP_FORMULA, "--nagq", "0")
    assert "grouping factor 'herds' of (1 | herds) is not a column" in cli_error(
        "fit", CBPP, "--formula", "cbind(incidence, size - incidence) ~ 1 + (1 | herds)")
    assert "must read '(terms | group)'" in cli_error(
        "fit", CBPP, "--formula", "cbind(incidence, size - incidence) ~ 1 + ( | herd)")


def test_report_of_a_fitted_and_of_a_saved_model(cbpp_model, tmp_path):
    """``logitlab report`` fits the mixed model, or reads a saved one; both pages
    show glmer's logLik and the herd SD."""
    path, _ = cbpp_model
    r = R["cbpp_laplace"]
    for k, args in enumerate((("--formula", CBPP_FORMULA), ("--model", path))):
        out = tmp_path / f"report{k}.html"
        ok("report", CBPP, *args, "--out", out)
        page = out.read_text("utf-8")
        assert f">{r['logLik']:.4f}<" in page
        assert f">{r['varcorr'][0]['sd']:.6f}<" in page


def test_prediction_errors(cbpp_model, tmp_path):
    path, _ = cbpp_model
    assert "--kind must be one of conditional, population, marginal" in cli_error(
        "predict", path, CBPP, "--kind", "average")
    assert "--ci is not available for mixed-effects models" in cli_error(
        "predict", path, CBPP, "--ci", "0.95")
    assert "--offset column 'nope' is not in the data" in cli_error(
        "predict", path, CBPP, "--offset", "nope")
    new = pd.read_csv(CBPP).assign(herd=99)
    new.to_csv(tmp_path / "new.csv", index=False)
    assert "'herd' has level '99' not seen in fitting" in cli_error(
        "predict", path, tmp_path / "new.csv")
    marg = json.loads(ok("predict", path, tmp_path / "new.csv", "--kind", "marginal", "--json"))
    assert len(marg) == len(new)
    assert "'logitlab margins' is not available for mixed-effects models" in cli_error(
        "margins", path, CBPP)
    assert "'logitlab diagnostics' is not available for mixed-effects models" in cli_error(
        "diagnostics", path, CBPP)
    assert "--row 99 is out of range" in cli_error("explain", path, CBPP, "--row", 99)
    bw = DATA / "birthwt.csv"
    ok("fit", bw, "--formula", "low ~ age", "--out", tmp_path / "bw.json")
    assert "--kind is for mixed-effects models" in cli_error(
        "predict", tmp_path / "bw.json", bw, "--kind", "marginal")
    assert "--offset is for mixed-effects models" in cli_error(
        "predict", tmp_path / "bw.json", bw, "--offset", "age")


@pytest.mark.slow
def test_a_fresh_process_prints_one_error_line_not_a_traceback():
    src = Path(__file__).resolve().parents[1] / "src"
    out = subprocess.run([sys.executable, "-m", "logitlab.cli", "fit", str(CBPP), "--formula",
                          CBPP_FORMULA, "--alpha", "1"], capture_output=True, text=True,
                         env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2
    assert re.fullmatch(r"error: --alpha does not apply to mixed-effects models.*\n", out.stderr)
    assert "Traceback" not in out.stderr and out.stdout == ""
