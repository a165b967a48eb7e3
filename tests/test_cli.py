"""The command line end to end on real files: fit → save → predict → explain.

References: statsmodels' formula API computed in the test, the published
tables in tests/data/README.md, and closed forms (contributions sum to the logit,
probability = sigmoid(logit)).
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

DATA = Path(__file__).parent / "data"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "logitlab.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def ok(*args, **kw):
    out = run(*args, **kw)
    assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def birthwt_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "bw.json"
    ok("fit", DATA / "birthwt.csv", "--formula", "low ~ age + lwt + C(race) + smoke", "--out", path)
    return path


def test_fit_json_matches_statsmodels_formula_api():
    out = ok("fit", DATA / "birthwt.csv", "-f", "low ~ age + lwt + C(race) + smoke", "--json")
    doc = json.loads(out.stdout)
    ref = smf.logit("low ~ age + lwt + C(race) + smoke", pd.read_csv(DATA / "birthwt.csv")).fit(
        disp=0, method="newton", tol=1e-12)
    ci = ref.conf_int()
    names = {"(Intercept)": "Intercept"}
    for term in doc["terms"]:
        key = names.get(term["name"], term["name"])
        assert term["coef"] == pytest.approx(ref.params[key], rel=1e-7)
        assert term["std_err"] == pytest.approx(ref.bse[key], rel=1e-7)
        assert term["z"] == pytest.approx(ref.tvalues[key], rel=1e-7)
        assert term["p_value"] == pytest.approx(ref.pvalues[key], rel=1e-6)
        assert term["ci_low"] == pytest.approx(ci.loc[key, 0], rel=1e-7)
        assert term["ci_high"] == pytest.approx(ci.loc[key, 1], rel=1e-7)
        assert term["odds_ratio"] == pytest.approx(math.exp(ref.params[key]), rel=1e-7)
    assert len(doc["terms"]) == len(ref.params)
    for key, value in [("log_likelihood", ref.llf), ("null_log_likelihood", ref.llnull),
                       ("aic", ref.aic), ("bic", ref.bic), ("pseudo_r2", ref.prsquared),
                       ("deviance", -2 * ref.llf), ("null_deviance", -2 * ref.llnull)]:
        assert doc[key] == pytest.approx(value, rel=1e-9)
    assert doc["n_obs"] == 189 and doc["converged"] is True
    assert doc["solver"] == "newton" and doc["n_iter"] >= 1


def test_fit_target_uses_all_other_columns_hosmer_lemeshow(tmp_path):
    # Hosmer & Lemeshow Table 2.2: low ~ age + lwt + race2 + race3 + ftv
    df = pd.read_csv(DATA / "birthwt.csv")
    table = pd.DataFrame({"age": df.age, "lwt": df.lwt, "race2": (df.race == 2).astype(int),
                          "race3": (df.race == 3).astype(int), "ftv": df.ftv, "low": df.low})
    path = tmp_path / "hl.parquet"
    table.to_parquet(path)
    doc = json.loads(ok("fit", path, "--target", "low", "--json").stdout)
    coef = {t["name"]: t for t in doc["terms"]}
    published = {"(Intercept)": (1.2953657, 1.0714432), "age": (-0.023822974, 0.033729623),
                 "lwt": (-0.014244611, 0.0065407195), "race2": (1.0038978, 0.49785899),
                 "race3": (0.43310843, 0.36224026), "ftv": (-0.049308318, 0.1672391)}
    for name, (b, se) in published.items():
        assert coef[name]["coef"] == pytest.approx(b, abs=1.5e-7 * max(1, abs(b)))
        assert coef[name]["std_err"] == pytest.approx(se, rel=1e-6)
    assert -2 * doc["log_likelihood"] == pytest.approx(222.573, abs=1e-3)
    assert doc["lr_stat"] == pytest.approx(12.0991, abs=1e-4)


def test_multinomial_json_names_the_reference_class():
    # iris versicolor/virginica/setosa is separated; use birthwt race as a 3-class outcome
    df = pd.read_csv(DATA / "birthwt.csv")
    ref = smf.mnlogit("race ~ age + lwt + smoke", df).fit(disp=0, method="newton", tol=1e-12)
    doc = json.loads(ok("fit", DATA / "birthwt.csv", "-f", "race ~ age + lwt + smoke",
                        "--json").stdout)
    assert doc["reference_class"] == 1 and doc["classes"] == [1, 2, 3]
    params = np.asarray(ref.params)  # (terms, classes 2 and 3)
    for term in doc["terms"]:
        k = doc["classes"].index(term["class"]) - 1
        j = ["(Intercept)", "age", "lwt", "smoke"].index(term["name"])
        assert term["coef"] == pytest.approx(params[j, k], rel=1e-7)
        assert term["std_err"] == pytest.approx(np.asarray(ref.bse)[j, k], rel=1e-6)
    assert doc["log_likelihood"] == pytest.approx(ref.llf, rel=1e-10)


def test_predict_and_explain_from_a_saved_model(birthwt_model, tmp_path):
    df = pd.read_csv(DATA / "birthwt.csv")
    ref = smf.logit("low ~ age + lwt + C(race) + smoke", df).fit(disp=0, method="newton", tol=1e-12)
    out = tmp_path / "preds.csv"
    ok("predict", birthwt_model, DATA / "birthwt.csv", "--out", out, "--id", "bwt")
    preds = pd.read_csv(out)
    assert list(preds.columns) == ["bwt", "predicted", "prob_0", "prob_1", "logit"]
    np.testing.assert_allclose(preds["prob_1"], ref.predict(df), rtol=1e-7)
    np.testing.assert_array_equal(preds["bwt"], df["bwt"])
    np.testing.assert_array_equal(preds["predicted"], (ref.predict(df) > 0.5).astype(int))
    np.testing.assert_allclose(preds["prob_0"] + preds["prob_1"], 1.0, rtol=1e-15)

    doc = json.loads(ok("explain", birthwt_model, DATA / "birthwt.csv", "--row", 3, "--json").stdout)
    contributions = [t["contribution"]["1"] for t in doc["terms"]]
    logit = doc["logits"]["1"]
    assert math.fsum(contributions) == logit                 # exact, by construction
    assert logit == pytest.approx(preds["logit"][3], rel=1e-12)
    assert doc["probabilities"]["1"] == pytest.approx(1 / (1 + math.exp(-logit)), rel=1e-12)
    assert doc["odds"]["1"] == pytest.approx(math.exp(logit), rel=1e-12)
    age = next(t for t in doc["terms"] if t["name"] == "age")
    assert age["value"] == df["age"][3]
    assert age["contribution"]["1"] == pytest.approx(ref.params["age"] * df["age"][3], rel=1e-7)
    text = ok("explain", birthwt_model, DATA / "birthwt.csv", "--row", 3).stdout
    assert "logit (sum)" in text and "odds = e^logit" in text


def test_explain_multinomial_softmax_and_argmax(tmp_path):
    model = tmp_path / "race.json"
    ok("fit", DATA / "birthwt.csv", "-f", "race ~ age + lwt + smoke", "-o", model)
    doc = json.loads(ok("explain", model, DATA / "birthwt.csv", "-r", 0, "--json").stdout)
    z = np.array([doc["logits"][c] for c in ("1", "2", "3")])
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose([doc["probabilities"][c] for c in ("1", "2", "3")], p, rtol=1e-12)
    assert doc["decision"] == [1, 2, 3][int(np.argmax(p))]
    for c in ("1", "2", "3"):
        assert math.fsum(t["contribution"][c] for t in doc["terms"]) == doc["logits"][c]


@pytest.mark.parametrize("args, message", [
    (["fit", "missing.csv", "-t", "low"], "no such file"),
    (["fit", DATA / "birthwt.csv", "-t", "nosuch"], "'nosuch' is not a column"),
    (["fit", DATA / "birthwt.csv"], "exactly one of --formula"),
    (["fit", DATA / "birthwt.csv", "-t", "low", "--alpha", "-1"], "alpha must be"),
    (["fit", DATA / "birthwt.csv", "-t", "low", "--penalty", "l1", "--solver", "newton",
      "--alpha", "0.1"], "does not support penalty 'l1'"),
    (["fit", DATA / "birthwt.csv", "-f", "low ~ age + nosuch"], "nosuch"),
    (["fit", DATA / "birthwt.csv", "-f", "low ~ age", "--level", "1.5"], "--level"),
])
def test_bad_input_is_one_line_error(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert message in out.stderr
    assert out.stderr.strip().startswith("error:")


def test_missing_values_raise_or_drop(tmp_path):
    df = pd.read_csv(DATA / "birthwt.csv")
    df.loc[[4, 9, 20], "lwt"] = np.nan
    path = tmp_path / "bw_missing.csv"
    df.to_csv(path, index=False)
    out = run("fit", path, "-f", "low ~ age + lwt")
    assert out.returncode == 2 and "lwt" in out.stderr and "3" in out.stderr
    doc = json.loads(ok("fit", path, "-f", "low ~ age + lwt", "--missing", "drop", "--json").stdout)
    assert doc["n_obs"] == 186 and doc["n_dropped"] == 3
    ref = smf.logit("low ~ age + lwt", df.dropna()).fit(disp=0, method="newton", tol=1e-12)
    assert doc["log_likelihood"] == pytest.approx(ref.llf, rel=1e-10)


def test_predict_with_wrong_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = run("predict", bad, DATA / "birthwt.csv")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("error:")


def test_every_command_has_help():
    for command in ("fit", "predict", "explain", "demo"):
        out = ok(command, "--help")
        assert "Usage" in out.stdout
