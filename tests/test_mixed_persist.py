"""Model files of mixed-effects logits (format version 3, logitlab.persist.mixed_file).

References: the model before saving (a loaded model must predict, summarize and
explain identically, bit for bit, on new data, including stateful transforms
``scale(x)`` and categorical left sides), lme4's glmer (tests/data/glmer_r.json,
written by tests/r/glmer.R) for the numbers a loaded model reports, the SHA-256
and HMAC of the canonical JSON for tampering, and the version-1/2 layout of the
other models' files (unchanged).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import logitlab as ll
from logitlab.persist import model_file
from logitlab.persist.model_file import checksum

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "glmer_r.json").read_text())
# lme4's deviance function minimized by Newton steps from glmer's optimum (tests/r/glmer_polish.R)
POLISHED = json.loads((DATA / "glmer_polished.json").read_text())


def cbpp():
    df = pd.read_csv(DATA / "glmm_cbpp.csv")
    df["period"] = df["period"].astype(str)
    return df


def slopes():
    df = pd.read_csv(DATA / "glmm_slopes.csv")
    df["xc"] = np.where(df["x"] > 0, "hi", "lo")
    df["label"] = np.where(df["y"] == 1, "yes", "no")
    return df


def grouse():
    df = pd.read_csv(DATA / "glmm_grouseticks.csv")
    df["YEAR"] = df["YEAR"].astype(str)
    df["T"] = (df["TICKS"] > 0) * 1
    return df


@functools.cache
def fits():
    """The fitted models, by name (fitted once per test session)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # singular fits warn; not what is tested here
        s = slopes()
        return {
            "cbpp": ll.fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp()),
            "cbpp_agq9": ll.fit("cbind(incidence, size - incidence) ~ period + (1 | herd)",
                                cbpp(), n_agq=9),
            # a stateful transform in both parts, a categorical left side, an offset, labels
            "stateful": ll.fit("label ~ scale(x) + (1 + scale(x) | g) + (1 + xc | h)", s,
                               offset="off"),
            "slopes": ll.fit("y ~ x + (1 + x | g) + (1 | h)", s, offset="off"),
            "uncorrelated": ll.fit("y ~ x + (1 + x || g)", s, offset="off"),
            # nested grouping (the inner term BROOD:LOCATION), scale() in the fixed part
            "grouse": ll.fit("T ~ YEAR + scale(HEIGHT) + (1 | LOCATION/BROOD)", grouse()),
            # rows dropped for missing values: the count travels with the model
            "dropped": ll.fit("y ~ x + (1 | g)", s.assign(x=s["x"].mask(s.index % 97 == 0)),
                              missing="drop"),
        }


def new_slopes():
    """New rows: other x values (scale() must use the fitted mean and SD), shuffled."""
    df = slopes().sample(80, random_state=3).reset_index(drop=True)
    df["x"] = 2.5 * df["x"] + 1.0
    df["xc"] = np.where(df["x"] > 0.5, "hi", "lo")
    return df


def round_trip(name, tmp_path, **kwargs):
    model = fits()[name]
    path = ll.save(model, tmp_path / f"{name}.json", **kwargs)
    return model, ll.load(path, **{k: v for k, v in kwargs.items() if k == "key"}), path


# -------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", ["stateful", "slopes"])
@pytest.mark.parametrize("kind", ["conditional", "population", "marginal"])
def test_loaded_model_predicts_identically_on_new_data(name, kind, tmp_path):
    model, loaded, _ = round_trip(name, tmp_path)
    new = new_slopes()
    for method in ("predict_event_proba", "predict_proba", "predict"):
        a = getattr(model, method)(new, offset=new["off"], kind=kind)
        b = getattr(loaded, method)(new, offset=new["off"], kind=kind)
        assert np.array_equal(a, b), method
    if kind != "marginal":
        assert np.array_equal(model.decision_function(new, kind=kind),
                              loaded.decision_function(new, kind=kind))


@pytest.mark.parametrize("kind", ["conditional", "population", "marginal"])
def test_nested_grouping_predicts_identically(kind, tmp_path):
    model, loaded, _ = round_trip("grouse", tmp_path)
    df = grouse().sample(200, random_state=0)
    df["HEIGHT"] = df["HEIGHT"] + 10.0
    assert np.array_equal(loaded.predict_proba(df, kind=kind), model.predict_proba(df, kind=kind))
    assert [t.group for t in loaded.random_design_.terms] == ["BROOD:LOCATION", "LOCATION"]


def test_the_stateful_transform_keeps_its_fitted_state(tmp_path):
    """Reference: scale(x) of new data uses the fitting data's mean and SD (R's
    ``scale`` attributes), not the new data's."""
    _, loaded, _ = round_trip("stateful", tmp_path)
    s, new = slopes(), new_slopes()
    z = (new["x"] - s["x"].mean()) / s["x"].std(ddof=1)
    beta = loaded.fixed_effects_
    eta = loaded.decision_function(new, kind="population")
    np.testing.assert_allclose(eta, beta["(Intercept)"] + beta["scale(x)"] * z, rtol=1e-13)


@pytest.mark.parametrize("name", ["cbpp", "cbpp_agq9", "stateful", "slopes", "uncorrelated",
                                  "grouse", "dropped"])
def test_loaded_summary_text_and_document_are_the_original(name, tmp_path):
    model, loaded, _ = round_trip(name, tmp_path)
    assert loaded.results_.n_dropped == model.results_.n_dropped == (11 if name == "dropped"
                                                                     else 0)
    assert str(loaded.summary()) == str(model.summary())
    assert loaded.summary().to_dict() == model.summary().to_dict()
    assert loaded.summary(level=0.9).to_dict() == model.summary(level=0.9).to_dict()
    pd.testing.assert_frame_equal(loaded.varcorr(), model.varcorr())
    pd.testing.assert_frame_equal(loaded.conf_int(), model.conf_int())
    for group, frame in model.ranef().items():
        pd.testing.assert_frame_equal(loaded.ranef()[group], frame)
    assert np.array_equal(loaded.classes_, model.classes_)
    assert loaded.get_params() == model.get_params()


@pytest.mark.parametrize("name, ref", [("cbpp", "cbpp_laplace"), ("cbpp_agq9", "cbpp_agq9"),
                                       ("slopes", "slopes_corr")])
def test_loaded_model_reports_lme4s_numbers(name, ref, tmp_path):
    _, loaded, _ = round_trip(name, tmp_path)
    r = R[ref]
    doc = loaded.summary().to_dict()
    np.testing.assert_allclose(doc["log_likelihood"], r["logLik"], rtol=1e-6)
    np.testing.assert_allclose(doc["aic"], r["AIC"], rtol=1e-6)
    # fixed effects in lme4's order (our names: period[T.2] for R's period2)
    nt = len(doc["theta"])
    np.testing.assert_allclose([t["coef"] for t in doc["terms"]], POLISHED[ref]["pars"][nt:],
                               rtol=1e-6)
    np.testing.assert_allclose(list(doc["theta"].values()), POLISHED[ref]["pars"][:nt],
                               rtol=1e-5)
    assert doc["n_agq"] == r["nAGQ"] and doc["n_obs"] == r["nobs"]


def test_loaded_explanation_is_the_original(tmp_path):
    model, loaded, _ = round_trip("stateful", tmp_path)
    new = new_slopes()
    a, b = model.explain(new, 5, offset=new["off"]), loaded.explain(new, 5, offset=new["off"])
    pd.testing.assert_frame_equal(a.terms, b.terms)
    assert str(a) == str(b)


def test_save_with_string_labels(tmp_path):
    model = fits()["stateful"]
    path = ll.save(model, tmp_path / "m.json")
    doc = json.loads(path.read_text("utf-8"))
    assert doc["format_version"] == 3 and doc["estimator"]["class"] == "MixedLogisticRegression"
    assert doc["state"]["classes"] == {"dtype": "|O", "values": ["no", "yes"]}
    assert [t["lhs"] for t in doc["state"]["random_terms"]] == ["1 + scale(x)", "1 + xc"]
    loaded = ll.load(path)
    assert list(loaded.predict(new_slopes(), offset=new_slopes()["off"])) == \
        list(model.predict(new_slopes(), offset=new_slopes()["off"]))


def test_array_fit_round_trip(tmp_path):
    s = slopes()
    model = ll.MixedLogisticRegression().fit(s[["x"]], s["y"], groups=s["g"])
    loaded = ll.load(ll.save(model, tmp_path / "arrays.json"))
    new = new_slopes()
    assert list(loaded.feature_names_in_) == ["x"]
    X = new[["x"]].to_numpy()
    assert np.array_equal(loaded.predict_event_proba(new[["x"]], groups=new["g"]),
                          model.predict_event_proba(new[["x"]], groups=new["g"]))
    model2 = ll.MixedLogisticRegression().fit(s[["x"]].to_numpy(), s["y"], groups=s["g"])
    loaded2 = ll.load(ll.save(model2, tmp_path / "numpy.json"))
    assert list(loaded2.feature_names_in_) == ["x0"]
    assert np.array_equal(loaded2.predict_proba(X, groups=new["g"]),
                          model2.predict_proba(X, groups=new["g"]))


def test_unseen_levels_after_loading(tmp_path):
    _, loaded, _ = round_trip("slopes", tmp_path)
    new = new_slopes().head(3).assign(g="g_new")
    with pytest.raises(ValueError, match="'g' has level 'g_new' not seen in fitting"):
        loaded.predict_proba(new)
    loaded.set_params(new_levels="population")
    p = loaded.predict_event_proba(new, kind="conditional")
    # the new level's random effect is 0: x β + b_h only
    beta, b_h = loaded.fixed_effects_, loaded.ranef()["h"]["(Intercept)"]
    eta = beta["(Intercept)"] + beta["x"] * new["x"] + b_h.loc[new["h"]].to_numpy()
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-eta)), rtol=1e-14)


def test_profile_intervals_need_the_data(tmp_path):
    _, loaded, _ = round_trip("cbpp", tmp_path)
    with pytest.raises(ValueError, match="loaded from a model file, which holds no data"):
        loaded.conf_int(method="profile")


# --------------------------------------------------------------- trust
def edited(doc, path, rehash=True):
    if rehash:
        doc["sha256"] = checksum({k: v for k, v in doc.items() if k != "sha256"})
    path.write_text(json.dumps(doc), "utf-8")
    return path


def test_checksum_is_sha256_of_canonical_json_and_detects_corruption(tmp_path):
    _, _, path = round_trip("cbpp", tmp_path)
    doc = json.loads(path.read_text("utf-8"))
    body = {k: v for k, v in doc.items() if k != "sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False).encode("utf-8")
    assert hashlib.sha256(canonical).hexdigest() == doc["sha256"]
    doc["state"]["beta"][0] += 1e-9
    with pytest.raises(ValueError, match="the sha256 checksum does not match the contents"):
        ll.load(edited(doc, tmp_path / "e.json", rehash=False))


def test_signed_mixed_file_refuses_an_edit_without_the_key(tmp_path):
    _, loaded, path = round_trip("cbpp", tmp_path, key=b"secret")
    assert loaded.loglik_ == fits()["cbpp"].loglik_
    doc = json.loads(path.read_text("utf-8"))
    doc["state"]["theta"][0] *= 2
    with pytest.raises(ValueError, match="signature does not match"):
        ll.load(edited(doc, tmp_path / "e.json"), key=b"secret")


def _doc(tmp_path, name="stateful"):
    return json.loads(ll.save(fits()[name], tmp_path / "base.json").read_text("utf-8"))


def _edit(name, change):
    def apply(doc):
        change(doc)
        return doc
    return pytest.param(apply, id=name)


def _set(path, value):
    def change(doc):
        obj = doc
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = value
    return change


MALFORMED = [
    (_set(["state", "beta"], [0.1]), "state.beta must be a list of 2 finite numbers"),
    (_set(["state", "theta", 0], -1.0), "the diagonal elements"),
    (_set(["state", "theta"], [1.0, 0.2]), "state.theta must be a list of 6"),
    (_set(["state", "b", 3], "x"), "state.b must be a list of"),
    (lambda d: d["state"].pop("condvar"), "'state' lacks ['condvar']"),
    (_set(["state", "condvar"], [[1.0]]), "one entry per random-effects term"),
    (_set(["state", "fixed_names"], ["(Intercept)", "x"]), "state.fixed_names must be"),
    (_set(["state", "classes", "values"], ["a", "b", "c"]), "two labels"),
    (_set(["state", "response"], "y"), "is not the response of the formula"),
    (_set(["state", "fit", "aic"], 1.0), "loglik, aic and bic must be"),
    (_set(["state", "fit", "singular"], False), "singular does not match theta"),
    (_set(["state", "fit", "residual_quantiles"], [3, 2, 1, 0, -1]), "must be increasing"),
    (_set(["state", "fit", "df"], 3), "state.fit.df must be the number of parameters"),
    (_set(["state", "random_terms", 0, "levels", 1], "g01"), "levels must be at least 2 "
                                                             "distinct"),
    (_set(["state", "random_terms", 0, "group"], "h"), "joined by ':' into its group"),
    (_set(["state", "random_terms", 1, "columns"], ["(Intercept)", "xc[T.hi]"]),
     "encodes the columns ['(Intercept)', 'xc[T.lo]'], not the stored"),
    (_set(["state", "random_terms", 0, "lhs_design", "rhs"], "__import__('os').getcwd()"),
     "random_terms[0].lhs_design is invalid"),
    (lambda d: d["state"]["random_terms"].reverse(), "not in lme4's order"),
    (_set(["state", "formula"], "label ~ scale(x) + (1 | g) + (1 + xc | h)"),
     "are not the random-effects terms of the formula"),
    (_set(["design", "rhs"], "x"), "design is invalid"),
    (_set(["estimator", "params", "n_agq"], 0), "n_agq must be an integer from 1"),
    (_set(["estimator", "params", "penalty"], "l2"), "unknown parameters ['penalty']"),
    (_set(["format_version"], 2), "unknown estimator class 'MixedLogisticRegression' for "
                                  "format version 2"),
]


@pytest.mark.parametrize("change, message", MALFORMED,
                         ids=[m[:40] for _, m in MALFORMED])
def test_malformed_fields_are_refused_with_a_clear_message(change, message, tmp_path):
    doc = _doc(tmp_path)
    change(doc)
    with pytest.raises(ValueError) as err:
        ll.load(edited(doc, tmp_path / "bad.json"))
    text = str(err.value)
    assert message in text, text
    assert text.startswith(f"cannot load '{tmp_path / 'bad.json'}': ")
    assert text.endswith("the file is corrupted or was edited and cannot be trusted.")


def test_a_version_2_reader_asks_to_upgrade(tmp_path, monkeypatch):
    _, _, path = round_trip("cbpp", tmp_path)
    monkeypatch.setattr(model_file, "FORMAT_VERSION", 2)
    with pytest.raises(ValueError, match="it has model-file format version 3 .* reads format "
                                         "versions up to 2; upgrade logitlab to load it"):
        ll.load(path)


def test_other_models_keep_their_format_versions(tmp_path):
    """Binary and multinomial files stay version 1, ordinal and conditional version 2,
    with the keys they had (format version 3 adds only the mixed estimator class)."""
    bw = pd.read_csv(DATA / "birthwt.csv")
    binary = ll.fit("low ~ age + lwt + C(race) + smoke", bw)
    hs = pd.read_csv(DATA / "housing.csv")
    hs["Sat"] = pd.Categorical(hs["Sat"], ["Low", "Medium", "High"], ordered=True)
    ordinal = ll.fit("Sat ~ Infl + Type + Cont", hs, family="ordinal", sample_weight="Freq")
    for model, version in ((binary, 1), (ordinal, 2)):
        doc = json.loads(ll.save(model, tmp_path / "m.json").read_text("utf-8"))
        assert doc["format_version"] == version
        assert sorted(doc) == ["design", "estimator", "format", "format_version", "inference",
                               "logitlab_version", "sha256", "state"]
        assert sorted(doc["state"]) == ["classes", "coef", "feature_names", "fit", "layout",
                                        "reference_index"]
        assert np.array_equal(ll.load(tmp_path / "m.json").predict_proba(hs if version == 2
                                                                         else bw),
                              model.predict_proba(hs if version == 2 else bw))
