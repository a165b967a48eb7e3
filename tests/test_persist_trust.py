"""Model files you can trust: signatures, load-time checks, read limits, stale temporaries.

References: an HMAC-SHA256 and a SHA-256 computed here with the standard
library from the documented canonical JSON (README, persist.py docstring);
the estimator's own parameter checks (a fresh ``LogisticRegression`` with the
edited parameter must refuse to fit); statsmodels' formula API for what a
formula encodes; ``os.kill`` / file-system state for the temporaries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import logitlab
from logitlab import LogisticRegression, load, save
from logitlab.fitting.spec import check_engine_options
from logitlab.persist import KEY_ENV, MAX_DEPTH, STALE_SECONDS, remove_stale_temporaries

DATA = Path(__file__).parent / "data"
KEY = b"correct horse battery staple"


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


def canonical(doc, drop):
    body = {k: v for k, v in doc.items() if k not in drop}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def resum(doc):
    """What anyone can do after an edit: recompute the documented checksum."""
    doc["sha256"] = hashlib.sha256(canonical(doc, {"sha256"})).hexdigest()
    return doc


def write(path, doc):
    Path(path).write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def birthwt():
    return pd.read_csv(DATA / "birthwt.csv")


@pytest.fixture(scope="module")
def formula_model(birthwt):
    return logitlab.fit("low ~ age + lwt + C(race) + smoke", birthwt)


# ------------------------------------------------------------------ signatures
def test_signature_is_the_documented_hmac_and_the_checksum_covers_it(tmp_path, formula_model,
                                                                     birthwt):
    path = save(formula_model, tmp_path / "m.json", key=KEY)
    doc = json.loads(path.read_text())
    expected = hmac.new(KEY, canonical(doc, {"sha256", "hmac_sha256"}), hashlib.sha256)
    assert doc["hmac_sha256"] == expected.hexdigest()
    # the checksum is over everything but itself, signature included: a reader that
    # does not know signatures (logitlab 0.1.0) still loads a signed file
    assert doc["sha256"] == hashlib.sha256(canonical(doc, {"sha256"})).hexdigest()
    assert doc["format_version"] == 1
    for key in (KEY, KEY.decode()):
        np.testing.assert_array_equal(load(path, key=key).predict_proba(birthwt),
                                      formula_model.predict_proba(birthwt))


def test_an_edit_with_a_recomputed_checksum_is_refused_only_with_a_key(tmp_path, formula_model,
                                                                      birthwt):
    path = save(formula_model, tmp_path / "m.json", key=KEY)
    doc = resum(json.loads(path.read_text()))
    doc["state"]["coef"][-1] += 5.0                       # shift the intercept
    write(path, resum(doc))
    # the checksum alone cannot tell: without a key the edited model loads ...
    edited = load(path)
    z = edited.decision_function(birthwt) - formula_model.decision_function(birthwt)
    np.testing.assert_allclose(z, 5.0, rtol=1e-12)
    # ... with the key it is refused
    with pytest.raises(ValueError) as err:
        load(path, key=KEY)
    assert str(err.value) == (
        f"cannot load {str(path)!r}: its hmac_sha256 signature does not match the contents "
        "for this key, so the file was modified by someone without the key (or signed with "
        "another key) and cannot be trusted.")
    # a correctly signed file under the wrong key is refused the same way
    save(formula_model, path, key=KEY)
    with pytest.raises(ValueError, match="signature does not match"):
        load(path, key=b"another key")


def test_with_a_key_unsigned_and_stripped_files_are_refused(tmp_path, formula_model):
    path = save(formula_model, tmp_path / "m.json", key=KEY)
    doc = json.loads(path.read_text())
    del doc["hmac_sha256"]
    write(path, resum(doc))                                # the signature stripped
    message = (f"cannot load {str(path)!r}: it is not signed (no hmac_sha256), but a key was "
               f"given (key= or {KEY_ENV}), and with a key unsigned files are refused")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(path, key=KEY)
    save(formula_model, path)                              # never signed
    with pytest.raises(ValueError, match="it is not signed"):
        load(path, key=KEY)
    load(path)                                             # without a key: checksum only


def test_the_environment_key_signs_and_verifies(tmp_path, formula_model, monkeypatch):
    unsigned = save(formula_model, tmp_path / "plain.json")
    monkeypatch.setenv(KEY_ENV, KEY.decode())
    path = save(formula_model, tmp_path / "m.json")
    doc = json.loads(path.read_text())
    assert doc["hmac_sha256"] == hmac.new(KEY, canonical(doc, {"sha256", "hmac_sha256"}),
                                          hashlib.sha256).hexdigest()
    load(path)
    with pytest.raises(ValueError, match="it is not signed"):
        load(unsigned)
    with pytest.raises(ValueError, match="signature does not match"):
        load(path, key="an explicit key wins over the environment")
    for bad, exc in ((b"", ValueError), (3, TypeError)):
        with pytest.raises(exc, match="key must"):
            save(formula_model, tmp_path / "x.json", key=bad)


def test_cli_reads_the_environment_key(tmp_path, formula_model):
    path = save(formula_model, tmp_path / "m.json")          # unsigned
    env = {**os.environ, KEY_ENV: KEY.decode()}
    out = subprocess.run([sys.executable, "-m", "logitlab.cli", "predict", str(path),
                          str(DATA / "birthwt.csv")], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ")
    assert "it is not signed" in out.stderr


# ------------------------------------------------ what would fail only later
PARAM_EDITS = [
    ("threshold", 7, "threshold must be a number in [0, 1]; got 7"),
    ("threshold", "0.3", "threshold must be a number in [0, 1]; got '0.3'"),
    ("solver", "bogus", "solver must be 'auto' or one of"),
    ("solver", "cd", None),                          # valid: loads
    ("penalty", "lasso", "penalty must be one of"),
    ("alpha", -1.0, "alpha must be a finite number >= 0; got -1.0"),
    ("cov_type", "HC9", "cov_type must be one of"),
    ("tol", -1.0, "tol must be a positive number; got -1.0"),
    ("max_iter", 2.5, "max_iter must be a non-negative integer or None; got 2.5"),
    ("engine", "spark", "engine must be one of"),
    ("engine_options", {"turbo": 1}, "engine_options ['turbo'] are not options"),
    ("solver_options", {"warp": 1}, "solver_options ['warp'] are not options"),
    ("class_weight", {"__mapping__": [[7, 2.0]]}, "class_weight names classes not in y"),
    ("dtype", "float16", "dtype must be None, 'float32' or 'float64'"),
    ("reference_class", 7, "reference_class=7 is not one of the classes [0, 1]"),
]


@pytest.mark.parametrize("name, value, message", PARAM_EDITS)
def test_parameters_pass_the_estimators_own_checks_at_load(tmp_path, formula_model, birthwt,
                                                          name, value, message):
    path = save(formula_model, tmp_path / "m.json")
    doc = json.loads(path.read_text())
    doc["estimator"]["params"][name] = value
    if name == "solver_options":
        doc["estimator"]["params"]["solver"] = "newton"
    write(path, resum(doc))
    # the reference: the estimator itself refuses to fit with that parameter
    params = logitlab.persist.from_json_value(doc["estimator"]["params"])
    X, y = birthwt[["age", "lwt", "smoke"]], birthwt.low
    if message is None:
        LogisticRegression(**params).fit(X, y)
        load(path)
        return
    with pytest.raises(ValueError):
        m = LogisticRegression(**params)
        check_engine_options(m.engine_options)       # what a Dask fit checks first
        m.fit(X, y).predict(X)
    with pytest.raises(ValueError) as err:
        load(path)
    assert str(err.value).startswith(f"cannot load {str(path)!r}: estimator.params: ")
    assert message in str(err.value)
    assert str(err.value).endswith("; the file is corrupted or was edited and cannot be trusted.")


def _edited(tmp_path, model, edit):
    path = save(model, tmp_path / "m.json")
    doc = json.loads(path.read_text())
    edit(doc)
    return write(path, resum(doc))


CONSISTENCY_EDITS = [
    (lambda d: d["design"].__setitem__("formula", "low ~ age"),
     "design.formula 'low ~ age' is not the formula its design encodes "
     "('low ~ age + lwt + C(race) + smoke')"),
    (lambda d: d["design"].__setitem__("rhs", "age + lwt + C(race) + ht"),
     "design.formula 'low ~ age + lwt + C(race) + smoke' is not the formula its design "
     "encodes ('low ~ age + lwt + C(race) + ht')"),
    (lambda d: (d["design"].__setitem__("rhs", "age + lwt + C(race) + ht"),
                d["design"].__setitem__("formula", "low ~ age + lwt + C(race) + ht")),
     "design.variables ['age', 'lwt', 'race', 'smoke'] are not the variables the formula "
     "'age + lwt + C(race) + ht' uses (['age', 'ht', 'lwt', 'race'])"),
    (lambda d: d["design"]["factors"]["C(race)"].__setitem__("levels", [1, 2, 3, 4]),
     "the formula 'age + lwt + C(race) + smoke' with the stored levels encodes the columns "
     "['age', 'lwt', 'C(race)[T.2]', 'C(race)[T.3]', 'C(race)[T.4]', 'smoke'] and an "
     "intercept, not the stored ['age', 'lwt', 'C(race)[T.2]', 'C(race)[T.3]', 'smoke'] and "
     "an intercept"),
    (lambda d: d["design"]["factors"]["C(race)"].__setitem__("reference", 9),
     "design.factors['C(race)']: the levels must be distinct and hold the reference level"),
    (lambda d: d["design"].__setitem__("intercept", False),
     "design.intercept is False but the coefficients have an intercept"),
    (lambda d: d["estimator"]["params"].__setitem__("fit_intercept", False),
     "estimator.params.fit_intercept is False but the coefficients have an intercept"),
    (lambda d: d["state"]["fit"].__setitem__("solver", "simplex"),
     "state.fit.solver: solver must be 'auto' or one of"),
    (lambda d: d["state"]["fit"].__setitem__("solver", "cd") or
     d["estimator"]["params"].__setitem__("penalty", "firth"),
     "state.fit.solver: solver='cd' does not support penalty 'firth'"),
    (lambda d: d["inference"].__setitem__("information", [[1.0]]),
     "inference.information must be a 6 × 6 matrix of finite numbers"),
    (lambda d: d["inference"]["information"][2].__setitem__(2, {"__float__": "nan"}),
     "inference.information must be a 6 × 6 matrix of finite numbers"),
    (lambda d: d["inference"].__setitem__("aliased", [99]),
     "inference.aliased must be increasing indices in [0, 6)"),
    (lambda d: d["inference"].__setitem__("estimated", [0, 1, 2, 3, 4, 60]),
     "inference.estimated must be increasing indices in [0, 6)"),
    (lambda d: d["inference"].pop("loglik"), "'inference' lacks ['loglik']"),
    (lambda d: d["estimator"]["params"].__setitem__("cov_type", "HC1"),
     "inference.method and cov_type must be 'mle' and 'HC1' (the estimator's)"),
]


@pytest.mark.parametrize("edit, message", CONSISTENCY_EDITS)
def test_the_file_must_agree_with_itself(tmp_path, formula_model, edit, message):
    path = _edited(tmp_path, formula_model, edit)
    with pytest.raises(ValueError) as err:
        load(path)
    assert str(err.value).startswith(f"cannot load {str(path)!r}: {message}"), str(err.value)


def test_every_formula_kind_reencodes_to_its_stored_design(tmp_path):
    # the load-time re-encoding must accept every design a fit produces; the
    # columns are those of the statsmodels (patsy) design of the same formula
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "x": rng.normal(size=n) + 5,
                       "age": rng.uniform(20, 60, n), "g": rng.choice(["a", "b", "c"], n),
                       "h": rng.choice(["u", "v"], n), "k": rng.integers(1, 4, n),
                       "flag": rng.random(n) > 0.5})
    formulas = ["y ~ C(age > 30) + g:h", "y ~ center(x) + standardize(age) + cr(x, df=3)",
                "y ~ 0 + C(g) + flag", "y ~ C(k) + np.log(age) + I(x / 2)",
                "y ~ C(g, contr.sum) + bs(x, df=3, degree=2) * h", "y ~ poly(x, 3):g + ."]
    for formula in formulas:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = logitlab.fit(formula, df)
        again = load(save(model, tmp_path / "m.json"))
        assert again.design_.columns == model.design_.columns
        np.testing.assert_array_equal(again.predict_proba(df), model.predict_proba(df))
    ref = smf.logit("y ~ C(k) + np.log(age) + I(x / 2)", df).fit(disp=0)
    model = load(save(logitlab.fit("y ~ C(k) + np.log(age) + I(x / 2)", df), tmp_path / "k.json"))
    assert len(model.design_.columns) == len(ref.params) - 1      # patsy's, minus Intercept


# ------------------------------------------------------------------ read limits
def test_deeply_nested_json_is_a_one_line_error(tmp_path, birthwt):
    path = tmp_path / "deep.json"
    path.write_text('{"format": ' + "[" * 200_000 + "]" * 200_000 + "}")
    message = (f"cannot load {str(path)!r}: its JSON is nested more than {MAX_DEPTH} levels "
               "deep (a model file needs about 10), so it is not a logitlab model file or is "
               "corrupted.")
    with pytest.raises(ValueError) as err:
        load(path)
    assert str(err.value) == message
    shallow = tmp_path / "shallow.json"          # within json's recursion, beyond the cap
    shallow.write_text('{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1))
    with pytest.raises(ValueError, match="nested more than"):
        load(shallow)
    out = subprocess.run([sys.executable, "-m", "logitlab.cli", "predict", str(path),
                          str(DATA / "birthwt.csv")], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2
    assert out.stderr == f"error: {message}\n"


def test_brackets_inside_strings_are_not_nesting(tmp_path):
    # labels full of brackets, quotes and backslashes: the depth counts JSON structure only
    rng = np.random.default_rng(7)
    levels = ["[" * 150, '\\"{' * 120 + "\\", "plain"]
    df = pd.DataFrame({"y": rng.integers(0, 2, 90), "g": np.repeat(levels, 30),
                       "x": rng.normal(size=90)})
    model = logitlab.fit("y ~ C(g) + x", df)
    again = load(save(model, tmp_path / "m.json"))
    assert again.design_.levels == model.design_.levels
    np.testing.assert_array_equal(again.predict_proba(df), model.predict_proba(df))


def test_files_larger_than_the_cap_are_refused_before_parsing(tmp_path, formula_model, birthwt):
    path = save(formula_model, tmp_path / "m.json")
    size = path.stat().st_size
    with pytest.raises(ValueError) as err:
        load(path, max_bytes=size - 1)
    assert str(err.value) == (
        f"cannot load {str(path)!r}: it is larger than {size - 1} bytes, the largest model "
        "file load reads; if it is a model file you trust, raise the limit: "
        "load(path, max_bytes=...).")
    np.testing.assert_array_equal(load(path, max_bytes=size).predict(birthwt),
                                  formula_model.predict(birthwt))
    if os.path.exists("/dev/zero"):              # no size, endless: stops at the cap
        with pytest.raises(ValueError, match="it is larger than 1000 bytes"):
            load("/dev/zero", max_bytes=1000)


# ------------------------------------------------------------ stale temporaries
WRITER = textwrap.dedent("""
    import os, sys, time
    import logitlab.persist as persist
    def hang(src, dst):
        print("writing", flush=True)
        time.sleep(600)
    os.replace = hang
    persist.write_atomic(sys.argv[1], b"{}")
""")


def _start_writer(target):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "writing"   # its temporary file exists now
    return proc


def _temporaries(directory, name):
    return sorted(p.name for p in Path(directory).iterdir()
                  if p.name.startswith(f".{name}.") and p.name.endswith(".tmp"))


def test_a_save_killed_by_sigkill_leaves_nothing_after_the_next_save(tmp_path, formula_model,
                                                                    birthwt):
    target = tmp_path / "m.json"
    proc = _start_writer(target)
    (left,) = _temporaries(tmp_path, "m.json")
    assert f"-{proc.pid}." in left
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _temporaries(tmp_path, "m.json") == [left]      # SIGKILL cannot clean up
    save(formula_model, target)
    assert _temporaries(tmp_path, "m.json") == []
    np.testing.assert_array_equal(load(target).predict(birthwt), formula_model.predict(birthwt))


def test_a_live_concurrent_save_keeps_its_temporary_file(tmp_path, formula_model):
    target = tmp_path / "m.json"
    proc = _start_writer(target)
    try:
        (live,) = _temporaries(tmp_path, "m.json")
        save(formula_model, target)
        assert _temporaries(tmp_path, "m.json") == [live]
        assert os.kill(proc.pid, 0) is None                 # still writing
    finally:
        proc.kill()
        proc.wait()


def test_old_temporaries_go_and_other_targets_stay(tmp_path, formula_model):
    old_style = tmp_path / ".m.json.abc_1234.tmp"          # no writer pid: judged by age
    fresh_old_style = tmp_path / ".m.json.zzz_9999.tmp"
    other_target = tmp_path / ".m.json.bak.deadbeef-1.abcdefgh.tmp"
    unrelated = tmp_path / ".m.json.notes.tmp"
    for p in (old_style, fresh_old_style, other_target, unrelated):
        p.write_bytes(b"partial")
    past = time.time() - STALE_SECONDS - 60
    for p in (old_style, other_target, unrelated):
        os.utime(p, (past, past))
    assert remove_stale_temporaries(tmp_path / "m.json") == [old_style.name]
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == sorted([fresh_old_style.name, other_target.name, unrelated.name])
