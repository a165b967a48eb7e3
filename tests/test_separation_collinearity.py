"""Separation detection (``logitlab.fitting.separation``, linear programming) and aliased
(collinear) columns (``logitlab.fitting.fitstats``), as reported by ``inference_state_``,
``aliased_``, the warnings and the summary.

References, all independent of logitlab's own output:

* the published results in ``tests/data/README.md`` (iris: limiting
  log-likelihood −5.949273 and the finite versicolor-vs-virginica fit; sex2:
  ``dia`` quasi-separated, statsmodels SE ≈ 57,640; Titanic R ``glm``);
* statsmodels fits computed in the tests (the non-finite MLE shows as a huge
  standard error; the fit of the reduced design for aliased columns);
* data built by hand whose separating column and direction are known, and
  properties checked with numpy (the log-likelihood increases without bound
  along the separating direction; one hyperplane separates setosa).
"""

from __future__ import annotations

import json
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import log_expit
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

import logitlab.solvers
from logitlab import CollinearityWarning, LogisticRegression, SeparationWarning
from logitlab.results.inference import coef_table, model_statistics, term_labels

from refcheck import assert_rel, load  # noqa: E402

DATA = Path(__file__).parent / "data"
INTERCEPT = "(Intercept)"

#: coef_table/summary of a separated fit overflow in exp(ci_high) (the Wald bounds of
#: a diverging coefficient): a spurious RuntimeWarning, which the project's pytest
#: configuration turns into an error. It is tested on its own in
#: test_tables_of_separated_fits_emit_no_runtime_warning; the tests marked with this
#: filter check everything else about those tables.
OVERFLOW_OK = pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")


# ----------------------------------------------------------------- helpers


def assert_printed(actual, printed, what):
    actual = float(actual)
    unit = float(Decimal(1).scaleb(Decimal(printed).as_tuple().exponent))
    print(f"{what}: {abs(actual - float(printed)) / unit:.3g} units of the last printed digit")
    assert abs(actual - float(printed)) <= unit, f"{what}: {actual!r} vs printed {printed}"


def fit_recording(X, y, **kwargs):
    """Fit and return (model, list of warning categories)."""
    fit_kwargs = {k: kwargs.pop(k) for k in ("sample_weight",) if k in kwargs}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = LogisticRegression(**kwargs).fit(X, y, **fit_kwargs)
    return m, [w.category for w in caught]


def fit_clean(X, y, **kwargs):
    fit_kwargs = {k: kwargs.pop(k) for k in ("sample_weight",) if k in kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return LogisticRegression(**kwargs).fit(X, y, **fit_kwargs)


def sm_logit(y, X, **kwargs):
    Xc = sm.add_constant(X, has_constant="add").rename(columns={"const": INTERCEPT})
    return sm.Logit(np.asarray(y, dtype=float), Xc).fit(method="newton", tol=1e-12,
                                                          maxiter=100, disp=0, **kwargs)


def infinite_terms(model):
    """{label: sign} of the terms the separation check marks infinite."""
    labels = term_labels(model)
    return {labels[int(k)]: v for k, v in model.inference_state_["infinite"].items()}


# ----------------------------------------------------------------- iris
@pytest.fixture(scope="module")
def iris_fit():
    df = load("iris.csv")
    X, y = df.iloc[:, :4], df["target"]
    m, cats = fit_recording(X, y)
    return df, m, cats


def test_iris_setosa_is_separated_in_the_data(iris_fit):
    """The reference fact itself: one hyperplane (petal length 2.5) separates setosa."""
    df, _, _ = iris_fit
    petal = df["petal length (cm)"]
    assert petal[df.target == 0].max() < 2.5 < petal[df.target > 0].min()


def test_iris_multinomial_separation_detected(iris_fit):
    df, m, cats = iris_fit
    assert SeparationWarning in cats
    state = m.inference_state_
    assert state["separated"] is True
    inf = infinite_terms(m)
    assert inf, "no term marked infinite"
    # setosa (the reference, class 0) is separated from both other classes: the terms
    # going to infinity are in the class-1 and class-2 vectors against it
    assert {label for label, _ in inf} == {1, 2}


def test_iris_log_likelihood_tends_to_binary_fit(iris_fit):
    df, m, _ = iris_fit
    st = model_statistics(m)
    assert_printed(st["log_likelihood"], "-5.949273", "iris limiting log-likelihood (README)")
    # the limit is the versicolor-vs-virginica binary fit (statsmodels, finite MLE)
    sub = df[df.target > 0]
    ref = sm_logit((sub.target == 2), sub.iloc[:, :4])
    assert_rel(st["log_likelihood"], ref.llf, "iris llf vs statsmodels binary 1-vs-2 fit")
    # and the finite contrast (virginica - versicolor) converges to that fit (README)
    contrast = np.r_[m.intercept_[2] - m.intercept_[1], m.coef_[2] - m.coef_[1]]
    readme = ["-42.637804", "-2.4652202", "-6.680887", "9.4293852", "18.286137"]
    for value, printed in zip(contrast, readme):
        assert_printed(value, printed, "iris class-2 minus class-1 coefficient vs README")
    assert_rel(contrast, ref.params, "iris contrast vs statsmodels binary fit")


@OVERFLOW_OK
def test_iris_summary_marks_infinite_terms(iris_fit):
    _, m, _ = iris_fit
    s = m.summary()
    j = s.to_dict()
    strict = json.loads(s.to_json(), parse_constant=lambda c: pytest.fail(f"token {c}"))
    assert strict == json.loads(json.dumps(j))
    inf = infinite_terms(m)
    marked = {(t["class"], t["name"]): t for t in j["terms"]}
    for key, sign in inf.items():
        term = marked[key]
        assert term["infinite"] == {1: "+inf", -1: "-inf", 0: "either sign"}[sign]
        assert term["coef"] is None and term["std_err"] is None and term["p_value"] is None
    assert any("separated" in note for note in j["notes"])
    text = str(s)
    assert "Inf" in text and "separated" in text
    html = s._repr_html_()
    assert "separated" in html


# ----------------------------------------------------------------- sex2
@OVERFLOW_OK
def test_sex2_dia_quasi_separated():
    df = load("sex2.csv")
    terms = ["age", "oc", "vic", "vicl", "vis", "dia"]
    X, y = df[terms].astype(float), df["case"]
    # the data: every woman with dia = 1 is a case (quasi-complete separation)
    assert (y[df.dia == 1] == 1).all() and (y[df.dia == 0] == 0).any()
    m, cats = fit_recording(X, y)
    assert SeparationWarning in cats
    assert m.inference_state_["separated"] is True
    assert infinite_terms(m) == {"dia": 1}
    # statsmodels: the (non-existent) MLE shows as a huge standard error on dia only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.Logit(y.astype(float), sm.add_constant(X)).fit(disp=0, maxiter=100)
    print(f"statsmodels sex2: dia {ref.params['dia']:.3f} (SE {ref.bse['dia']:.0f})")
    assert ref.bse["dia"] > 1e3
    assert ref.bse.drop("dia").max() < 1.0
    # the other terms are finite: their limit is the fit on the dia = 0 rows without dia
    sub = df[df.dia == 0]
    lim = sm_logit(sub.case, sub[terms[:-1]].astype(float))
    table = coef_table(m)
    assert_rel(table.loc[[INTERCEPT] + terms[:-1], "coef"], lim.params,
               "sex2 finite coefficients vs statsmodels fit on dia == 0 rows")
    assert_rel(table.loc[[INTERCEPT] + terms[:-1], "std_err"], lim.bse,
               "sex2 finite SEs vs statsmodels fit on dia == 0 rows")
    j = m.summary().to_dict()
    by_name = {t["name"]: t for t in j["terms"]}
    assert by_name["dia"]["infinite"] == "+inf" and by_name["dia"]["coef"] is None
    for name in [INTERCEPT] + terms[:-1]:
        assert by_name[name]["infinite"] is None and np.isfinite(by_name[name]["coef"])
        assert np.isfinite(by_name[name]["std_err"])


# ----------------------------------------------------------------- not separated
@pytest.mark.parametrize("name", ["spector", "birthwt", "birthwt_race"])
def test_real_data_not_separated(name):
    if name == "spector":
        df = load("spector.csv")
        X, y = df[["GPA", "TUCE", "PSI"]], df["GRADE"]
    else:
        df = load("birthwt.csv")
        X = df[["age", "lwt", "smoke", "ht", "ui"]].astype(float)
        y = df["low"] if name == "birthwt" else df["race"]
    m = fit_clean(X, y)          # any warning is an error
    state = m.inference_state_
    assert state["separated"] is False and state["infinite"] == {}
    j = m.summary().to_dict()
    assert all(t["infinite"] is None for t in j["terms"])
    assert not any("separated" in note for note in j["notes"])
    # statsmodels finds finite estimates with ordinary SEs on the same data
    ref = (sm_logit(y, X) if name != "birthwt_race" else
           sm.MNLogit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0))
    assert np.max(np.asarray(ref.bse)) < 10


# ----------------------------------------------------------------- toy data
def toy_complete(sign=1.0):
    """x > 0 exactly for y = 1 (sign=+1) or for y = 0 (sign=-1); noise overlaps."""
    rng = np.random.default_rng(11)
    x = np.r_[rng.uniform(-3, -0.3, 20), rng.uniform(0.3, 3, 20)]
    y = np.r_[np.zeros(20), np.ones(20)]
    X = pd.DataFrame({"noise": rng.normal(size=40), "x": sign * x})
    return X, y


def toy_quasi(sign=1.0):
    """d = 1 only in cases (quasi-separation: d = 0 has both classes)."""
    rng = np.random.default_rng(12)
    d = np.r_[np.zeros(40), np.ones(8)]
    y = np.r_[np.tile([0.0, 1.0], 20), np.ones(8)]
    X = pd.DataFrame({"d": d if sign > 0 else 1 - d, "noise": rng.normal(size=48)})
    return X, y


def toy_combination():
    """Neither column separates alone; their sum does."""
    rng = np.random.default_rng(13)
    a = rng.uniform(-2, 2, 60)
    b = rng.uniform(-2, 2, 60)
    keep = np.abs(a + b) > 0.2
    a, b = a[keep], b[keep]
    y = (a + b > 0).astype(float)
    return pd.DataFrame({"a": a, "b": b}), y


def loglik_along(X, y, beta, direction, t):
    Xd = np.column_stack([np.asarray(X, dtype=float), np.ones(len(X))])
    z = Xd @ (beta + t * direction)
    return float(np.sum(y * log_expit(z) + (1 - y) * log_expit(-z)))


@OVERFLOW_OK
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_toy_complete_separation(sign):
    X, y = toy_complete(sign)
    assert (np.sign(X.x) == np.where(y == 1, sign, -sign)).all()   # the construction
    m, cats = fit_recording(X, y)
    assert SeparationWarning in cats
    assert m.inference_state_["separated"] is True
    inf = infinite_terms(m)
    assert inf["x"] == int(sign)
    assert all(v == 0 for k, v in inf.items() if k != "x")   # x is the only driver
    # property: along the separating direction the log-likelihood rises to 0
    direction = np.array([0.0, sign, 0.0])
    values = [loglik_along(X, y, np.zeros(3), direction, t) for t in (1, 10, 100)]
    assert values[0] < values[1] < values[2] < 0 and values[2] > -1e-6
    # statsmodels also flags this data (perfect prediction)
    with pytest.warns(PerfectSeparationWarning):
        sm.Logit(y, sm.add_constant(X)).fit(disp=0, maxiter=50, warn_convergence=False)
    j = m.summary().to_dict()
    x_term = [t for t in j["terms"] if t["name"] == "x"][0]
    assert x_term["infinite"] == ("+inf" if sign > 0 else "-inf") and x_term["coef"] is None


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_toy_quasi_separation(sign):
    X, y = toy_quasi(sign)
    m, cats = fit_recording(X, y)
    assert SeparationWarning in cats
    assert m.inference_state_["separated"] is True
    # sign +1: d = 1 rows are all cases, so β_d → +∞. sign -1 (d' = 1 - d): the
    # d' = 0 rows are all cases, so the intercept → +∞ and β_d' → -∞ to compensate
    expected = {"d": 1} if sign > 0 else {"d": -1, INTERCEPT: 1}
    assert infinite_terms(m) == expected
    # statsmodels: the MLE of d is not finite, its SE explodes; noise stays finite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, maxiter=100)
    assert ref.bse["d"] > 1e3 and ref.bse["noise"] < 10
    assert np.sign(ref.params["d"]) == sign


@pytest.mark.parametrize("data", ["iris", "sex2", "toy"])
def test_tables_of_separated_fits_emit_no_runtime_warning(data):
    """Infinite odds-ratio bounds are expected for a separated fit: computing them
    must not emit numpy's 'overflow encountered in exp' RuntimeWarning."""
    if data == "iris":
        df = load("iris.csv")
        X, y = df.iloc[:, :4], df["target"]
    elif data == "sex2":
        df = load("sex2.csv")
        X, y = df[["age", "oc", "vic", "vicl", "vis", "dia"]].astype(float), df["case"]
    else:
        X, y = toy_complete(1.0)
    m, _ = fit_recording(X, y)
    assert m.inference_state_["separated"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        coef_table(m)
        m.summary().to_json()


def test_toy_flipped_labels_flip_sign():
    X, y = toy_complete(1.0)
    a, _ = fit_recording(X, y)
    b, _ = fit_recording(X, 1 - y)
    assert infinite_terms(a)["x"] == 1 and infinite_terms(b)["x"] == -1


def test_toy_separation_by_a_combination():
    X, y = toy_combination()
    # neither column alone separates
    for col in ("a", "b"):
        assert X[col][y == 1].min() < X[col][y == 0].max()
    m, cats = fit_recording(X, y)
    assert SeparationWarning in cats
    assert infinite_terms(m).get("a") == 1 and infinite_terms(m).get("b") == 1
    values = [loglik_along(X, y, np.zeros(3), np.array([1.0, 1.0, 0.0]), t)
              for t in (1, 10, 100)]
    assert values[0] < values[1] < values[2] < 0


def test_toy_overlapping_data_not_separated():
    X, y = toy_complete(1.0)
    y = y.copy()
    y[[0, 39]] = 1 - y[[0, 39]]        # one point of each class on the wrong side
    m = fit_clean(X, y)
    assert m.inference_state_["separated"] is False


# ----------------------------------------------------------------- aliased
def titanic_full_dummies():
    df = load("titanic_table.csv")
    X = pd.get_dummies(df.Class).astype(float)            # 1st, 2nd, 3rd, Crew: all four
    X["Male"] = (df.Sex == "Male").astype(float)
    X["Adult"] = (df.Age == "Adult").astype(float)
    return X, (df.Survived == "Yes").astype(int), df.Freq.to_numpy(dtype=float)


def test_titanic_full_set_of_dummies_aliased():
    X, y, freq = titanic_full_dummies()
    with pytest.warns(CollinearityWarning, match="Crew"):
        m = LogisticRegression().fit(X, y, sample_weight=freq)
    assert m.aliased_ == ["Crew"]            # the later of the collinear columns
    reduced = X.drop(columns=["Crew"])
    ref = sm.GLM(y, sm.add_constant(reduced).rename(columns={"const": INTERCEPT}),
                 family=sm.families.Binomial(), freq_weights=freq).fit(tol=1e-14)
    table = coef_table(m)
    est = table[~table["aliased"]]
    assert list(est.index) == list(ref.params.index)
    assert_rel(est["coef"], ref.params, "titanic aliased: coef vs statsmodels reduced GLM")
    assert_rel(est["std_err"], ref.bse, "titanic aliased: SE vs statsmodels reduced GLM")
    assert table.loc["Crew", "aliased"] and np.isnan(table.loc["Crew", "coef"])
    st = model_statistics(m)
    assert st["n_params"] == 6
    assert_rel(st["log_likelihood"], ref.llf, "titanic aliased: llf vs statsmodels")
    assert_rel(st["aic"], ref.aic, "titanic aliased: AIC vs statsmodels")
    # the same model as the R glm table with 1st as reference: identical predictions
    r_design = X.drop(columns=["1st"])
    r_fit = fit_clean(r_design, y, sample_weight=freq)
    np.testing.assert_allclose(m.predict_proba(X), r_fit.predict_proba(r_design), rtol=1e-9)
    assert_rel(model_statistics(r_fit)["log_likelihood"], st["log_likelihood"],
               "titanic: llf equal under the two parametrizations", rtol=1e-12)
    # summary
    j = m.summary().to_dict()
    crew = [t for t in j["terms"] if t["name"] == "Crew"][0]
    assert crew["aliased"] is True and crew["coef"] is None and crew["std_err"] is None
    assert any("liased" in note for note in j["notes"])
    assert "(aliased)" in str(m.summary())
    assert "aliased" in m.summary()._repr_html_()


@pytest.fixture(params=["eager", "deferred"])
def alias_check(request, monkeypatch):
    """'eager': aliasing from the Hessian at the start (small data, newton);
    'deferred': as for large data, from the information at the optimum of a
    newton-cg fit, then a refit without the aliased columns."""
    if request.param == "deferred":
        monkeypatch.setattr(logitlab.solvers, "NEWTON_MAX_FLOPS", 0)
        monkeypatch.setattr(logitlab.solvers, "NEWTON_ANY_ROWS_SIZE", 0)
    return request.param


@pytest.mark.parametrize("kind", ["duplicate", "combination", "constant"])
def test_aliased_column_dropped_and_rest_equals_reduced_fit(kind, alias_check):
    df = load("birthwt.csv")
    X = df[["age", "lwt", "smoke"]].astype(float)
    if kind == "duplicate":
        X["age_again"] = X["age"]
        dropped = "age_again"
    elif kind == "combination":
        X["combo"] = 2.0 * X["age"] - 0.5 * X["lwt"]
        dropped = "combo"
    else:
        X["five"] = 5.0                      # aliased with the intercept
        dropped = "five"
    y = df["low"]
    with pytest.warns(CollinearityWarning):
        m = LogisticRegression().fit(X, y)
    assert m.aliased_ == [dropped]
    assert m.solver_ == ("newton" if alias_check == "eager" else "newton-cg")
    reduced = X.drop(columns=[dropped])
    ref = sm_logit(y, reduced)
    table = coef_table(m)
    est = table[~table["aliased"]]
    assert list(est.index) == list(ref.params.index)
    for col, sm_col in [("coef", ref.params), ("std_err", ref.bse), ("p_value", ref.pvalues)]:
        assert_rel(est[col], sm_col, f"{kind}: {col} vs statsmodels reduced fit")
    assert table.loc[dropped, "aliased"]
    red = fit_clean(reduced, y)
    np.testing.assert_allclose(m.predict_proba(X), red.predict_proba(reduced), rtol=1e-10)
    assert_rel(model_statistics(m)["aic"], ref.aic, f"{kind}: AIC counts estimated terms only")
    j = m.summary().to_dict()
    term = [t for t in j["terms"] if t["name"] == dropped][0]
    assert term["aliased"] is True and term["coef"] is None


def test_later_column_is_the_one_dropped():
    """R's glm keeps the first of collinear columns: with combo first, lwt goes."""
    df = load("birthwt.csv")
    X = pd.DataFrame({"combo": 2.0 * df.age - 0.5 * df.lwt, "age": df.age.astype(float),
                      "lwt": df.lwt.astype(float)})
    y = df["low"]
    with pytest.warns(CollinearityWarning, match="lwt"):
        m = LogisticRegression().fit(X, y)
    assert m.aliased_ == ["lwt"]
    ref = sm_logit(y, X[["combo", "age"]])
    est = coef_table(m).drop(index="lwt")
    assert_rel(est["coef"], ref.params, "combo first: coef vs statsmodels")
    assert_rel(est["std_err"], ref.bse, "combo first: SE vs statsmodels")


def test_multinomial_aliased_column(alias_check):
    df = load("birthwt.csv")
    X = df[["age", "lwt", "smoke"]].astype(float)
    X["smoke_again"] = X["smoke"]
    with pytest.warns(CollinearityWarning):
        m = LogisticRegression().fit(X, df["race"])
    assert m.aliased_ == ["smoke_again"]
    ref = sm.MNLogit(df["race"], sm.add_constant(X.drop(columns=["smoke_again"]))).fit(
        method="newton", tol=1e-12, disp=0)
    table = coef_table(m)
    est = table[~table["aliased"]]
    assert_rel(est["std_err"], ref.bse.T.to_numpy().ravel(), "multinomial aliased: SE vs MNLogit")
    assert_rel(est["coef"], ref.params.T.to_numpy().ravel(), "multinomial aliased: coef vs MNLogit")
    aliased_rows = table[table["aliased"]]
    assert list(aliased_rows.index) == [(2, "smoke_again"), (3, "smoke_again")]
    j = m.summary().to_dict()
    flagged = [(t["class"], t["name"]) for t in j["terms"] if t["aliased"]]
    assert flagged == [(2, "smoke_again"), (3, "smoke_again")]


def test_aliased_and_separation_together():
    """The separation LP ignores aliased columns: a duplicate of the separating
    column is aliased, the original is the named infinite term."""
    X, y = toy_complete(1.0)
    X["x_again"] = X["x"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = LogisticRegression().fit(X, y)
    cats = [w.category for w in caught]
    assert CollinearityWarning in cats and SeparationWarning in cats
    assert m.aliased_ == ["x_again"]
    inf = infinite_terms(m)
    assert inf["x"] == 1 and "x_again" not in inf


@pytest.mark.parametrize("steep", [0.5, 60.0])
def test_saturated_row_count_from_kept_curvature_equals_the_direct_count(steep):
    """The no-pass shortcut (every row's p(1-p) above the threshold) and the
    logits pass agree with a NumPy count of rows whose observed class has
    fitted probability within 1e-10 of 1."""
    from scipy import special

    from logitlab.backends.memory import InMemoryData
    from logitlab.fitting.diagnostics import saturated_rows
    from logitlab.core.layout import Layout
    from logitlab.solvers.objective import Objective

    rng = np.random.default_rng(11)
    n, d = 2000, 3
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + rng.normal(size=n) / steep > 0).astype(float)
    layout = Layout(d, 2, (1,), True)
    obj = Objective(InMemoryData(X, y, np.ones(n), None, layout))
    w = np.r_[steep * np.array([1.0, 0.0, 0.0]), 0.0]
    W = layout.matrix(w)
    obj.smooth(w, curvature=True)
    floor = obj.data.curvature_floor(W)
    p = special.expit(X @ w[:d] + w[d])
    assert floor == pytest.approx(np.min(p * (1 - p)), rel=1e-9)
    shortcut = saturated_rows(obj, W)
    z = X @ w[:d] + w[d]
    expected = int(np.sum(np.where(y == 1, -special.log_expit(z), -special.log_expit(-z)) < 1e-10))
    obj.data._curvature_at = None           # force the logits pass
    assert shortcut == saturated_rows(obj, W) == expected
    assert (expected == 0) == (steep < 1)
