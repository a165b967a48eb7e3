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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
@pytest.mark.slow
def test_bad_input_is_one_line_error(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert message in out.stderr
    assert out.stderr.strip().startswith("error:")


@pytest.mark.slow
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


@pytest.mark.slow
def test_every_command_has_help():
    for command in ("fit", "predict", "explain", "demo"):
        out = ok(command, "--help")
        assert "Usage" in out.stdout


# ------------------------------------------------------- reading data honestly
def invoke(*args, env=None):
    """The command run in this process (faster than a subprocess): ``(exit code,
    stdout, the exception it raised or None)``; main() turns that exception into
    the one-line error that :func:`error_line` checks on a real process."""
    from typer.testing import CliRunner

    from logitlab.cli import app
    res = CliRunner().invoke(app, [str(a) for a in args], env=env)
    return res.exit_code, res.stdout, res.exception


def cli_error(*args) -> str:
    code, _, exc = invoke(*args)
    assert isinstance(exc, (ValueError, TypeError, OSError)), (code, exc)
    return str(exc)


def cli_json(*args) -> dict:
    code, stdout, exc = invoke(*args, "--json")
    assert code == 0 and exc is None, exc
    return json.loads(stdout)


def error_line(out):
    """The one line ``error: ...`` of a failed command (exit 2, no traceback)."""
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr          # one line, however long the message
    assert lines[0].startswith("error: ")
    return lines[0]


def _birthwt_with_none_level(tmp_path):
    df = pd.read_csv(DATA / "birthwt.csv")
    df["visits"] = np.where(df.ftv == 0, "None", np.where(df.ftv == 1, "One", "More"))
    path = tmp_path / "bw_visits.csv"
    df.to_csv(path, index=False)
    return df, path


def test_none_is_a_level_unless_na_values_say_it_is_missing(tmp_path):
    df, path = _birthwt_with_none_level(tmp_path)
    n_none = int((df.visits == "None").sum())
    doc = cli_json("fit", path, "-f", "low ~ age + visits")
    ref = smf.logit("low ~ age + visits", df).fit(disp=0, method="newton", tol=1e-12)
    coef = {t["name"]: t["coef"] for t in doc["terms"]}
    assert set(coef) == {"(Intercept)", "age", "visits[T.None]", "visits[T.One]"}
    for name in ("age", "visits[T.None]", "visits[T.One]"):
        assert coef[name] == pytest.approx(ref.params[name], rel=1e-8)
    line = error_line(run("fit", path, "-f", "low ~ age + visits", "--na-values", "None",
                          "--na-values", ""))
    assert line == (f"error: missing values in {n_none} of {len(df)} rows, in 1 column: "
                    f"'visits': {n_none} rows (first row {int(np.argmax(df.visits == 'None'))}; "
                    f"in the file: 'None' ×{n_none}). Drop those rows (--missing drop) or fill "
                    "them in first. The texts read as missing ('None', empty) are set by "
                    "--na-values.")
    doc = cli_json("fit", path, "-f", "low ~ age + visits", "--na-values", "None",
                   "--missing", "drop")
    ref = smf.logit("low ~ age + visits", df[df.visits != "None"]).fit(disp=0, method="newton",
                                                                       tol=1e-12)
    assert doc["n_dropped"] == n_none
    assert doc["log_likelihood"] == pytest.approx(ref.llf, rel=1e-10)
    from logitlab.io import option
    assert option("missing", "drop") == "missing='drop'"   # the CLI's wording ends with it


def test_a_typo_in_a_number_column_is_an_error_not_a_factor(tmp_path):
    df = pd.read_csv(DATA / "birthwt.csv")
    df["lwt"] = df["lwt"].astype(object)
    df.loc[17, "lwt"] = "thirteen"
    path = tmp_path / "typo.csv"
    df.to_csv(path, index=False)
    expected = ("column 'lwt' holds numbers but also text in 1 row: 'thirteen' (row 17). "
                "Correct those values (or, if they mean missing, list them in --na-values), or "
                "write C(lwt) in the formula to make 'lwt' categorical on purpose.")
    assert error_line(run("fit", path, "-f", "low ~ age + lwt")) == "error: " + expected
    assert cli_error("fit", path, "-t", "low") == expected            # `low ~ .`


def test_sep_reads_a_semicolon_file_and_the_error_says_so(tmp_path):
    df = pd.read_csv(DATA / "birthwt.csv")
    path = tmp_path / "bw_semicolon.csv"
    df.to_csv(path, sep=";", index=False)
    line = error_line(run("fit", path, "-f", "low ~ age + lwt"))
    assert line.endswith("it reads as one column named "
                         f"{';'.join(df.columns)!r}, and the header contains ';': try --sep ';'.")
    doc = cli_json("fit", path, "-f", "low ~ age + lwt", "--sep", ";")
    ref = smf.logit("low ~ age + lwt", df).fit(disp=0, method="newton", tol=1e-12)
    assert doc["log_likelihood"] == pytest.approx(ref.llf, rel=1e-10)


def test_a_repeated_single_valued_option_is_an_error(tmp_path):
    bw = DATA / "birthwt.csv"
    cases = [(["fit", bw, "-f", "low ~ age", "--formula", "low ~ lwt"], "--formula"),
             (["report", bw, "-f", "low ~ age", "--alpha", "1", "-o", tmp_path / "a.html",
               "--alpha=2"], "--alpha")]
    (args, flag), others = cases[0], cases[1:]
    assert error_line(run(*args)) == f"error: {flag} is given more than once; give it once."
    for args, flag in others:
        assert cli_error(*args) == f"{flag} is given more than once; give it once."
    assert not (tmp_path / "a.html").exists()


def test_duplicate_columns_damaged_gzip_and_out_directories_are_one_line_errors(tmp_path):
    import gzip
    df = pd.read_csv(DATA / "birthwt.csv")
    dup = tmp_path / "dup.csv"
    dup.write_text(df[["low", "age", "lwt"]].to_csv(index=False).replace("low,age,lwt",
                                                                          "low,age,age", 1))
    assert cli_error("fit", dup, "-t", "low").endswith(
        "the header names the same column more than once: 'age' (2 times); give every column "
        "its own name.")
    raw = bytearray(gzip.compress(df.to_csv(index=False).encode()))
    raw[40] ^= 0xFF
    damaged = tmp_path / "bw.csv.gz"
    damaged.write_bytes(bytes(raw))
    assert "as CSV (gzip-compressed): the compressed data are damaged" in \
        error_line(run("fit", damaged, "-t", "low"))
    folder = tmp_path / "models"
    folder.mkdir()
    for args, example in ((["fit", DATA / "birthwt.csv", "-t", "low"], "model.json"),
                          (["report", DATA / "birthwt.csv", "-t", "low"], "report.html")):
        assert cli_error(*args, "--out", folder) == (
            f"--out {str(folder)!r} is a directory; give a file name, e.g. "
            f"{str(folder / example)!r}.")
    line = cli_error("fit", DATA / "birthwt.csv", "-t", "low", "-o",
                     tmp_path / "nowhere" / "m.json")
    assert "the directory" in line and "does not exist" in line
    assert list(folder.iterdir()) == []


def test_class_weight_mapping_matches_weighted_glm():
    import statsmodels.api as sm
    df = pd.read_csv(DATA / "birthwt.csv")
    doc = cli_json("fit", DATA / "birthwt.csv", "-f", "low ~ age + lwt",
                   "--class-weight", "0=1,1=5")
    w = np.where(df.low == 1, 5.0, 1.0)
    X = sm.add_constant(df[["age", "lwt"]])
    ref = sm.GLM(df.low, X, family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-14)
    coef = {t["name"]: t["coef"] for t in doc["terms"]}
    for name, key in (("(Intercept)", "const"), ("age", "age"), ("lwt", "lwt")):
        assert coef[name] == pytest.approx(ref.params[key], rel=1e-8)
    from logitlab.cli.main import parse_class_weight
    assert parse_class_weight("yes=2.5, no=1") == {"yes": 2.5, "no": 1.0}
    assert parse_class_weight("True=3,False=1") == {True: 3.0, False: 1.0}
    usage = "--class-weight must be 'balanced' or label=weight pairs such as '0=1,1=5'; got "
    for text, problem in [("0=1,1", "the entry '1' is not label=weight."),
                          ("=3", "the entry '=3' is not label=weight."),
                          ("0=x,1=1", "the weight 'x' of '0' is not a finite number >= 0."),
                          ("0=-1,1=1", "the weight '-1' of '0' is not a finite number >= 0."),
                          ("0=1,0=2", "the label '0' is given twice.")]:
        with pytest.raises(ValueError) as err:
            parse_class_weight(text)
        assert str(err.value) == f"{usage}{text!r}: {problem}"
    base = ["fit", DATA / "birthwt.csv", "-f", "low ~ age", "--class-weight"]
    assert error_line(run(*base, "0=1,1")) == f"error: {usage}'0=1,1': the entry '1' is not " \
        "label=weight."
    assert "--class-weight names classes not in y: ['2']" in cli_error(*base, "0=1,2=3")


def test_help_lists_what_exists_and_says_what_happens():
    from logitlab.cli.main import SOLVER_CHOICES
    from logitlab.solvers import SOLVERS
    assert SOLVER_CHOICES == ("auto",) + tuple(SOLVERS)
    env = {"COLUMNS": "250"}
    text = invoke("fit", "--help", env=env)[1]
    assert ", ".join(SOLVER_CHOICES) + "." in text
    assert "[default: l2]" not in text and "no penalty; l2 if --alpha > 0" in text
    assert "0=1,1=5" in text and "--na-values" in text and "--sep" in text
    listing = invoke("--help", env=env)[1]
    rows = [line.strip(" │") for line in listing.splitlines() if "│" in line]
    for name in ("fit", "predict", "explain", "demo", "report"):
        row = next(r for r in rows if r.startswith(name + " "))
        assert row.endswith("."), row        # each description is a whole sentence
