"""Model files: ``logitlab.save`` / ``logitlab.load`` (src/logitlab/persist.py).

References: the in-memory model itself (a loaded model must predict
bit-identically: ``np.array_equal``), the published Greene / Stata table for
spector (tests/data/README.md) read back from a file, a SHA-256 computed here
from the documented canonical form, and exact error messages for damaged files.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import logitlab
from logitlab import LogisticRegression, load, save

DATA = Path(__file__).parent / "data"


def birthwt():
    return pd.read_csv(DATA / "birthwt.csv")


def canonical_sha(doc):
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rewrite(path, doc, fix_checksum=True):
    if fix_checksum:
        doc["sha256"] = canonical_sha(doc)
    Path(path).write_text(json.dumps(doc))


# ------------------------------------------------------------ model zoo
def _numeric():
    df = birthwt()
    return df[["age", "lwt", "smoke", "ht"]], df


def case_binary_numpy():
    X, df = _numeric()
    return LogisticRegression().fit(X.to_numpy(), df.low), X.to_numpy()


def case_binary_frame_no_intercept():
    X, df = _numeric()
    return LogisticRegression(fit_intercept=False).fit(X, df.low), X


def case_binary_penalized_l1_float32():
    X, df = _numeric()
    X32 = X.to_numpy(np.float32)
    return LogisticRegression(penalty="l1", alpha=0.01, dtype="float32").fit(X32, df.low), X32


def case_multinomial_unpenalized_reference():
    X, df = _numeric()
    model = LogisticRegression(reference_class=2).fit(X.to_numpy(), df.race)
    assert model.results_.layout.free_classes == (0, 2)           # the reference parametrization
    return model, X.to_numpy()


def case_multinomial_penalized_symmetric():
    iris = pd.read_csv(DATA / "iris.csv")
    X = iris.iloc[:, :4]
    model = LogisticRegression(alpha=0.01).fit(X, iris.target)
    assert model.results_.layout.free_classes == (0, 1, 2)        # the symmetric softmax
    return model, X


def case_string_labels_object():
    X, df = _numeric()
    y = pd.Series(np.where(df.low == 1, "low", "normal"), dtype=object)
    return LogisticRegression(class_weight={"low": 2.0, "normal": 1.0}).fit(X, y), X


def case_string_labels_unicode_array():
    X, df = _numeric()
    y = np.array(["élevé", "bas", "moyen"])[df.race.to_numpy() - 1]
    return LogisticRegression(alpha=0.001, reference_class="moyen").fit(X, y), X


def case_int_labels_class_weight_int_keys():
    X, df = _numeric()
    y = np.where(df.low == 1, 7, -3)
    return LogisticRegression(class_weight={7: 1.5, -3: 1.0}).fit(X.to_numpy(), y), X.to_numpy()


def case_bool_labels():
    X, df = _numeric()
    return LogisticRegression(callback=lambda *a: None).fit(X, df.low == 1), X


def case_float_labels():
    X, df = _numeric()
    return LogisticRegression().fit(X.to_numpy(), df.low.astype(float) * 3 + 2), X.to_numpy()


def case_formula_complex():
    df = birthwt()
    train = df.sample(frac=0.65, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = logitlab.fit("low ~ age * smoke + np.log(lwt) + I(age**2) + "
                             "C(race, contr.treatment(3)) + poly(lwt, 2) + scale(age) + "
                             "bs(lwt, df=4) + C(ftv, levels=[0, 1, 2, 3, 4, 6])", train)
    return model, df.drop(index=train.index)


def case_formula_strings_weights():
    df = pd.read_csv(DATA / "titanic_table.csv")
    model = logitlab.fit('Survived ~ Class * Sex + C(Age, contr.treatment("Child"))', df,
                         sample_weight="Freq", unseen="reference")
    return model, df.drop(columns=["Survived", "Freq"])


def case_formula_intercept_only():
    df = birthwt()
    return logitlab.fit("low ~ 1", df), df


def case_formula_multinomial_categorical():
    df = birthwt()
    df["race"] = pd.Categorical(df.race.map({1: "white", 2: "black", 3: "other"}),
                                categories=["white", "black", "other"])
    return logitlab.fit("race ~ age + lwt + C(smoke)", df, alpha=0.001), df


CASES = [case_binary_numpy, case_binary_frame_no_intercept, case_binary_penalized_l1_float32,
         case_multinomial_unpenalized_reference, case_multinomial_penalized_symmetric,
         case_string_labels_object, case_string_labels_unicode_array,
         case_int_labels_class_weight_int_keys, case_bool_labels, case_float_labels,
         case_formula_complex, case_formula_strings_weights, case_formula_intercept_only,
         case_formula_multinomial_categorical]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__[5:])
def test_load_save_predicts_bit_identically(tmp_path, case):
    model, X = case()
    path = save(model, tmp_path / "model.json")
    again = load(path)
    assert type(again) is LogisticRegression
    for method in ("predict_proba", "decision_function", "predict_log_proba", "predict"):
        assert np.array_equal(getattr(again, method)(X), getattr(model, method)(X)), method
    assert again.classes_.dtype == model.classes_.dtype
    assert again.classes_.tolist() == model.classes_.tolist()
    assert [type(c) for c in again.classes_.tolist()] == [type(c) for c in model.classes_.tolist()]
    assert again.reference_class_ == model.reference_class_
    assert type(again.reference_class_) is type(model.reference_class_)
    for attr in ("coef_", "intercept_", "coef_vs_reference_", "intercept_vs_reference_"):
        assert np.array_equal(getattr(again, attr), getattr(model, attr)), attr
    for attr in ("n_iter_", "converged_", "solver_", "objective_", "grad_norm_", "tol_",
                 "n_passes_", "n_features_in_"):
        assert getattr(again, attr) == getattr(model, attr), attr
    for key in model.history_:
        assert np.array_equal(again.history_[key], model.history_[key])
    names = getattr(model, "feature_names_in_", None)
    assert (names is None) == (getattr(again, "feature_names_in_", None) is None)
    if names is not None:
        assert list(again.feature_names_in_) == list(names)
    expected = model.get_params()
    if callable(expected["callback"]):
        expected["callback"] = None                       # callables are not saved
    assert again.get_params() == expected
    assert again.inference_state_ == model.inference_state_
    design = getattr(model, "design_", None)
    if design is not None:
        assert again.design_.to_dict() == design.to_dict()
    # a loaded model saves to the same file and pickles
    path2 = save(again, tmp_path / "again.json")
    assert json.loads(path2.read_text()) == json.loads(path.read_text())
    assert np.array_equal(pickle.loads(pickle.dumps(again)).predict_proba(X),
                          model.predict_proba(X))


def test_spector_file_holds_the_published_mle(tmp_path):
    # Greene, Table 21.1 / Stata (tests/data/README.md), to the project's 1e-6 relative
    df = pd.read_csv(DATA / "spector.csv")
    model = LogisticRegression(tol=1e-12).fit(df[["GPA", "TUCE", "PSI"]], df.GRADE)
    doc = json.loads(save(model, tmp_path / "s.json").read_text())
    coef = doc["state"]["coef"]                  # rows GPA, TUCE, PSI, intercept
    np.testing.assert_allclose(coef, [2.82611297201, 0.0951576702557, 2.37868772835,
                                      -13.0213483201], rtol=1e-6)
    np.testing.assert_array_equal(load(tmp_path / "s.json").coef_[0], coef[:3])


def test_file_layout_follows_the_documented_schema(tmp_path):
    model, X = case_formula_strings_weights()
    doc = json.loads(save(model, tmp_path / "m.json").read_text())
    assert list(doc) == ["format", "format_version", "logitlab_version", "estimator", "state",
                         "design", "inference", "sha256"]
    assert doc["format"] == "logitlab-model" and doc["format_version"] == 1
    assert doc["logitlab_version"] == logitlab.__version__
    assert doc["estimator"]["class"] == "LogisticRegression"
    assert doc["sha256"] == canonical_sha(doc)
    state = doc["state"]
    assert state["classes"] == {"dtype": "|O", "values": ["No", "Yes"]}
    assert state["reference_index"] == 0
    lay = state["layout"]
    assert len(state["coef"]) == (lay["n_features"] + lay["fit_intercept"]) * len(
        lay["free_classes"])
    assert state["feature_names"] == doc["design"]["columns"] == model.design_.columns
    assert doc["design"]["unseen"] == "reference"
    assert doc["design"]["factors"]["C(Age, contr.treatment('Child'))"]["reference"] == "Child"
    assert isinstance(doc["inference"], dict)
    # class weights with integer keys survive as [key, value] pairs
    model, _ = case_int_labels_class_weight_int_keys()
    doc = json.loads(save(model, tmp_path / "w.json").read_text())
    assert doc["estimator"]["params"]["class_weight"] == {"__mapping__": [[7, 1.5], [-3, 1.0]]}
    assert doc["state"]["classes"] == {"dtype": np.dtype(np.int64).str, "values": [-3, 7]}


# ------------------------------------------------------------ damaged files
@pytest.fixture
def saved(tmp_path):
    model, X = case_formula_strings_weights()
    path = save(model, tmp_path / "model.json")
    return path, json.loads(path.read_text())


def expect_error(path, message, exc=ValueError):
    with pytest.raises(exc) as err:
        load(path)
    assert str(err.value) == message
    return err


def test_tampered_number_fails_the_checksum(saved):
    path, doc = saved
    doc["state"]["coef"][0] += 1e-12
    rewrite(path, doc, fix_checksum=False)
    expect_error(path, f"cannot load {str(path)!r}: the sha256 checksum does not match the "
                 "contents, so the file was modified or corrupted after it was written and "
                 "cannot be trusted.")


def test_tampered_text_fails_the_checksum(saved):
    path, _ = saved
    text = path.read_text()
    path.write_text(text.replace('"Yes"', '"Maybe"', 1))
    with pytest.raises(ValueError, match="checksum does not match"):
        load(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_file(saved, keep):
    path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError) as err:
        load(path)
    assert re.fullmatch(re.escape(f"cannot load {str(path)!r}: the file is not valid JSON (")
                        + r"[^()]+ at line \d+ column \d+" + re.escape(
                            "), so it is truncated or corrupted and cannot be trusted."),
                        str(err.value)), str(err.value)


def test_newer_format_version(saved):
    path, doc = saved
    from logitlab.persist.model_file import FORMAT_VERSION
    doc["format_version"] = FORMAT_VERSION + 1
    doc["logitlab_version"] = "9.0"
    rewrite(path, doc)
    expect_error(path, f"cannot load {str(path)!r}: it has model-file format version "
                 f"{FORMAT_VERSION + 1} (written by logitlab 9.0), but this logitlab "
                 f"({logitlab.__version__}) reads format versions up to {FORMAT_VERSION}; "
                 "upgrade logitlab to load it.")


@pytest.mark.parametrize("version", [0, "1", 1.0, None])
def test_invalid_format_version(saved, version):
    path, doc = saved
    doc["format_version"] = version
    rewrite(path, doc)
    expect_error(path, f"cannot load {str(path)!r}: its format_version {version!r} is not a "
                 "positive integer, so it is corrupted and cannot be trusted.")


def test_not_a_model_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"format": "sklearn", "format_version": 1}')
    expect_error(p, f"cannot load {str(p)!r}: it is not a logitlab model file (its 'format' is "
                 "'sklearn', expected 'logitlab-model').")
    p.write_text("[1, 2]")
    expect_error(p, f"cannot load {str(p)!r}: it is not a logitlab model file (its 'format' is "
                 "None, expected 'logitlab-model').")
    p.write_bytes(pickle.dumps(LogisticRegression()))
    with pytest.raises(ValueError, match=re.escape(f"cannot load {str(p)!r}: ")):
        load(p)
    p.write_text("")
    expect_error(p, f"cannot load {str(p)!r}: the file is empty.")
    p.write_text('{"format": NaN}')
    expect_error(p, f"cannot load {str(p)!r}: the JSON holds the non-standard number NaN, so it "
                 "is corrupted and cannot be trusted.")
    expect_error(tmp_path / "none.json", f"cannot load {str(tmp_path / 'none.json')!r}: no such "
                 "file.", FileNotFoundError)


def structural(path):
    return (f"cannot load {str(path)!r}: {{}}; the file is corrupted or was edited and cannot "
            "be trusted.")


@pytest.mark.parametrize("edit, what", [
    (lambda d: d["state"]["coef"].pop(),
     "state.coef has 8 values but the layout needs (n_features + fit_intercept) * "
     "len(free_classes) = (8 + 1) * 1 = 9"),
    (lambda d: d["state"]["coef"].__setitem__(2, {"__float__": "nan"}),
     "state.coef must hold finite numbers only"),
    (lambda d: d["state"]["coef"].__setitem__(2, "1.5"),
     "state.coef must hold finite numbers only"),
    (lambda d: d["state"]["layout"].__setitem__("n_features", 3),
     "state.coef has 9 values but the layout needs (n_features + fit_intercept) * "
     "len(free_classes) = (3 + 1) * 1 = 4"),
    (lambda d: d["state"]["layout"].__setitem__("free_classes", [0]),
     "a binary model's free_classes must be [1]"),
    (lambda d: d["state"]["classes"].__setitem__("values", ["No", "No"]),
     "state.classes has repeated labels"),
    (lambda d: d["state"]["classes"].__setitem__("dtype", "<M8[ns]"),
     "state.classes: dtype '<M8[ns]' is not allowed (bool, int, float, str only)"),
    (lambda d: d["state"]["classes"]["values"].append("Maybe"),
     "state.classes has 3 labels but the layout has n_classes=2"),
    (lambda d: d["state"].__setitem__("reference_index", 5),
     "state.reference_index must be an integer in [0, 2)"),
    (lambda d: d["state"].pop("fit"), "'state' lacks ['fit']"),
    (lambda d: d.pop("design"), "the key 'design' is missing"),
    (lambda d: d["estimator"]["params"].__setitem__("warp_speed", 9),
     "estimator.params has unknown parameters ['warp_speed']"),
    (lambda d: d["estimator"].__setitem__("class", "os.system"),
     "unknown estimator class 'os.system' for format version 1 (expected one of "
     "['LogisticRegression'])"),
    (lambda d: d["state"].__setitem__("feature_names", ["a"]),
     "state.feature_names must be null or a list of 8 strings"),
    (lambda d: d["design"]["columns"].pop(),
     "the design has 7 columns but the model 8 features"),
])
def test_structural_damage_with_a_valid_checksum(saved, edit, what):
    path, doc = saved
    edit(doc)
    rewrite(path, doc)
    expect_error(path, structural(path).format(what))


@pytest.mark.parametrize("rhs", [
    "{open(%r, 'w')}", "I(__import__('pathlib').Path(%r).touch())", "np.save(%r, Sex)"])
def test_a_formula_that_would_run_code_is_refused(saved, tmp_path, rhs):
    path, doc = saved
    target = str(tmp_path / "pwned")
    doc["design"]["rhs"] = "Class * Sex + " + (rhs % target)
    rewrite(path, doc)
    with pytest.raises(ValueError) as err:
        model = load(path)
        model.predict_proba(pd.DataFrame({"Class": ["1st"], "Sex": ["Male"], "Age": ["Adult"]}))
    assert str(err.value).startswith(f"cannot load {str(path)!r}: its formula design is invalid: "
                                      "the formula term")
    assert not Path(target).exists()


# ------------------------------------------------------------- atomic writes
def test_save_replaces_atomically_and_leaves_no_temp_files(tmp_path, monkeypatch):
    model, X = case_binary_numpy()
    path = save(model, tmp_path / "m.json")
    before = path.read_bytes()
    other, _ = case_float_labels()

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save(other, path)
    monkeypatch.undo()
    assert path.read_bytes() == before                       # old file intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]   # temp file removed
    save(other, path)
    assert np.array_equal(load(path).predict_proba(X), other.predict_proba(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_unsaveable_models_leave_the_old_file(tmp_path):
    model, X = case_binary_numpy()
    path = save(model, tmp_path / "m.json")
    before = path.read_bytes()
    bad, _ = case_binary_numpy()
    bad.solver_options = {"weird": object()}       # set after fitting: not JSON-safe
    with pytest.raises(TypeError) as err:
        save(bad, path)
    assert str(err.value) == ("parameter 'solver_options'['weird']: a object cannot be saved in "
                              "a model file (only numbers, strings, booleans, None, lists, dicts "
                              "and arrays can).")
    assert path.read_bytes() == before
    with pytest.raises(TypeError, match="save\\(\\) writes logitlab LogisticRegression, "
                       "OrderedLogisticRegression, ConditionalLogisticRegression and "
                       "MixedLogisticRegression models"):
        save(object(), tmp_path / "x.json")
    with pytest.raises(FileNotFoundError, match="the directory"):
        save(model, tmp_path / "no" / "such" / "m.json")
