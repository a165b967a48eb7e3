"""Residuals, leverage and influence (``logitlab.results.influence``, ``model.residuals``,
``model.influence``) against independent references.

Every expected value is one of

* R 4.2 (``residuals.glm`` of every type, ``rstandard`` both types, ``rstudent``,
  ``hatvalues``, ``cooks.distance``, ``dfbeta``, ``dfbetas``, ``influence.measures``'
  infmat and ``is.inf``), written by ``tests/r/influence.R`` into
  ``tests/data/influence_r.json`` for three binomial glms: MASS::birthwt with a
  factor; prior weights, an offset and a factor (plus an aliased column on our side,
  which R's glm drops); the grouped esoph data (``cbind(ncases, ncontrols)``). Compared
  at 1e-8 relative (both sides are exact: R refits from its own tight estimate);
* statsmodels ``GLM(...).get_influence()`` and its residuals, fitted in the test;
* closed forms (hat values sum to k; multinomial residuals from the class indicators
  and statsmodels ``MNLogit``'s probabilities; the deviance residuals' squares sum to
  the deviance).

No expected value in this file was copied from logitlab's own output.
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
from logitlab import LogisticRegression
from logitlab.results import influence as infl

from refcheck import assert_rel, load

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "influence_r.json").read_text())
RTOL = 1e-8

RESIDUALS = {"response": "response", "pearson": "pearson", "deviance": "deviance",
             "working": "working", "standardized_deviance": "std_deviance",
             "standardized_pearson": "std_pearson", "studentized": "rstudent"}
MEASURES = {"hat": "hat", "cooks_d": "cooks", "residual": "deviance", "pearson": "pearson",
            "std_deviance": "std_deviance", "std_pearson": "std_pearson",
            "studentized": "rstudent", "sigma": "sigma", "dffit": "dffit",
            "cov_ratio": "cov_ratio"}


def _quiet_fit(formula, df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return logitlab.fit(formula, df, **kw)


@pytest.fixture(scope="module")
def birthwt():
    return _quiet_fit("low ~ age + lwt + C(race) + smoke + ptl + ht + ui", load("birthwt.csv"))


@pytest.fixture(scope="module")
def weighted():
    df = load("birthwt.csv")
    df["w"] = R["weighted"]["w"]
    df["off"] = R["weighted"]["offset"]
    df["lwt2"] = 2 * df["lwt"]            # aliased: R's glm reports NA and drops it
    model = _quiet_fit("low ~ age + lwt + lwt2 + C(race) + smoke + ht", df, sample_weight="w",
                       offset="off")
    assert model.aliased_ == ["lwt2"]
    return model


@pytest.fixture(scope="module")
def esoph():
    """The grouped esoph fit: our fit on the Bernoulli expansion (the same MLE and
    information), diagnosed on the grouped rows: y = proportion, weights = trials."""
    es = load("influence_esoph.csv")
    long = pd.concat([es.assign(y=1, n=es.ncases), es.assign(y=0, n=es.ncontrols)])
    model = _quiet_fit("y ~ C(agegp) + C(alcgp) + tobgp", long[long.n > 0], sample_weight="n")
    trials = (es.ncases + es.ncontrols).to_numpy(float)
    return model, es, (es.ncases / trials).to_numpy(), trials


def _cases(birthwt, weighted, esoph):
    model, es, prop, trials = esoph
    return {"birthwt": (birthwt, {}), "weighted": (weighted, {}),
            "esoph": (model, {"X": es, "y": prop, "sample_weight": trials})}


@pytest.mark.parametrize("case", ["birthwt", "weighted", "esoph"])
def test_coefficients_are_r_s(case, birthwt, weighted, esoph):
    model, _ = _cases(birthwt, weighted, esoph)[case]
    assert_rel(model.results_.params.to_numpy(), R[case]["coef"], f"{case} coef", RTOL)


@pytest.mark.parametrize("case", ["birthwt", "weighted", "esoph"])
@pytest.mark.parametrize("kind", list(RESIDUALS))
def test_residuals_match_r(case, kind, birthwt, weighted, esoph):
    model, rows = _cases(birthwt, weighted, esoph)[case]
    got = model.residuals(type=kind, **rows)
    assert got.shape == (len(R[case]["hat"]),)
    assert_rel(got, R[case][RESIDUALS[kind]], f"{case} {kind}", RTOL)


@pytest.mark.parametrize("case", ["birthwt", "weighted", "esoph"])
def test_influence_measures_match_r(case, birthwt, weighted, esoph):
    model, rows = _cases(birthwt, weighted, esoph)[case]
    table = model.influence(**rows)
    ref = R[case]
    for col, key in MEASURES.items():
        assert_rel(table[col], ref[key], f"{case} {col}", RTOL)
    names = infl.coefficient_names(model)
    assert names[0] == "(Intercept)" and len(names) == len(ref["names"])
    assert_rel(table[[f"dfbeta_{t}" for t in names]], ref["dfbeta"], f"{case} dfbeta", RTOL)
    assert_rel(table[[f"dfbetas_{t}" for t in names]], ref["dfbetas"], f"{case} dfbetas", RTOL)
    flags = table[[f"inf_dfbetas_{t}" for t in names]
                  + ["inf_dffit", "inf_cov_ratio", "inf_cooks_d", "inf_hat"]].to_numpy()
    expected = np.array(ref["is_inf"], dtype=bool)
    assert expected.any()                  # the rules are exercised
    np.testing.assert_array_equal(flags, expected)
    np.testing.assert_array_equal(table["influential"], expected.any(axis=1))


def test_hat_values_sum_to_the_number_of_coefficients(birthwt, weighted):
    for model in (birthwt, weighted):
        k = len(infl.coefficient_names(model))
        assert abs(infl.hat_values(model).sum() - k) < 1e-10


def test_against_statsmodels_glm(birthwt):
    df = load("birthwt.csv")
    X = sm.add_constant(pd.get_dummies(df.race.astype("category"), prefix="race",
                                       drop_first=True, dtype=float)
                        .join(df[["age", "lwt", "smoke", "ptl", "ht", "ui"]]))
    res = sm.GLM(df.low, X, family=sm.families.Binomial()).fit(tol=1e-14, maxiter=100)
    inf = res.get_influence()
    assert_rel(birthwt.residuals(type="deviance"), res.resid_deviance, "sm deviance", 1e-7)
    assert_rel(birthwt.residuals(type="pearson"), res.resid_pearson, "sm pearson", 1e-7)
    assert_rel(birthwt.residuals(type="working"), res.resid_working, "sm working", 1e-7)
    assert_rel(birthwt.residuals(type="response"), res.resid_response, "sm response", 1e-7)
    assert_rel(birthwt.residuals(type="standardized_pearson"), inf.resid_studentized,
               "sm studentized pearson", 1e-7)
    table = birthwt.influence()
    assert_rel(table["hat"], inf.hat_matrix_diag, "sm hat", 1e-7)
    assert_rel(table["cooks_d"], inf.cooks_distance[0], "sm cooks", 1e-7)


def test_new_rows_equal_the_training_rows(birthwt):
    df = load("birthwt.csv")
    for kind in ("deviance", "studentized"):
        np.testing.assert_allclose(birthwt.residuals(df, df.low, type=kind),
                                   birthwt.residuals(type=kind), rtol=1e-13)
    pd.testing.assert_frame_equal(birthwt.influence(df, df.low), birthwt.influence())


def test_a_loaded_model_needs_the_rows(birthwt, tmp_path):
    df = load("birthwt.csv")
    path = tmp_path / "m.logitlab"
    logitlab.save(birthwt, path)
    loaded = logitlab.load(path)
    with pytest.raises(ValueError, match="pass the rows to diagnose, X and y"):
        loaded.residuals()
    with pytest.raises(ValueError, match="training rows"):
        loaded.influence()
    assert_rel(loaded.residuals(df, df.low, type="pearson"), R["birthwt"]["pearson"],
               "loaded pearson", RTOL)
    assert_rel(loaded.influence(df, df.low)["cooks_d"], R["birthwt"]["cooks"], "loaded cooks",
               RTOL)


def test_multinomial_residuals():
    df = load("anes96.csv")
    X = df[["logpopul", "selfLR", "age", "educ", "income"]]
    y = df["PID"].to_numpy()
    model = LogisticRegression().fit(X, y)
    ref = sm.MNLogit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, maxiter=100,
                                                 disp=0)
    P = np.asarray(ref.predict(sm.add_constant(X)))
    Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
    resp = model.residuals(type="response")
    assert resp.shape == (len(y), 7)
    np.testing.assert_allclose(resp, Y - P, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.residuals(type="pearson"),
                               (Y - P) / np.sqrt(P * (1 - P)), rtol=1e-7)
    dev = model.residuals(type="deviance")
    assert dev.shape == (len(y),)
    assert_rel(np.sum(dev ** 2), -2 * ref.llf, "multinomial deviance", 1e-9)
    with pytest.raises(ValueError, match="binary models only"):
        model.residuals(type="studentized")


def test_bad_input(birthwt):
    df = load("birthwt.csv")
    with pytest.raises(ValueError, match="type must be one of"):
        birthwt.residuals(type="partial")
    with pytest.raises(ValueError, match="give both X and y"):
        birthwt.residuals(df)
    with pytest.raises(ValueError, match="sample_weight and offset go with X and y"):
        birthwt.residuals(sample_weight=np.ones(189))
    with pytest.raises(ValueError, match=r"y holds 2.0 in row 0"):
        birthwt.residuals(df, np.full(189, 2.0))
    with pytest.raises(ValueError, match="one outcome per row"):
        birthwt.residuals(df, df.low[:10])
    with pytest.raises(ValueError, match="y is missing in row 3"):
        birthwt.residuals(df, df.low.where(df.index != 3))
    with pytest.raises(ValueError, match="not one of the model's classes"):
        birthwt.residuals(df, np.where(df.low == 1, "yes", "no"))


def test_string_labels_and_proportions():
    df = load("birthwt.csv").assign(outcome=lambda d: np.where(d.low == 1, "low", "normal"))
    model = _quiet_fit("outcome ~ age + lwt + C(race) + smoke + ptl + ht + ui", df)
    # classes_ = ["low", "normal"]: P(normal) is modelled, so the residuals flip sign
    assert list(model.classes_) == ["low", "normal"]
    assert_rel(-model.residuals(type="deviance"), R["birthwt"]["deviance"], "string labels",
               RTOL)
    assert_rel(-model.residuals(df, 1.0 - df.low, type="pearson"), R["birthwt"]["pearson"],
               "proportions of classes_[1]", RTOL)


# ------------------------------------------------------------------ the report
def test_diagnostics_plot_shows_r_s_values(birthwt):
    from logitlab.report.diagnostics import diagnostics_plot
    fig = diagnostics_plot(birthwt)
    artists = {a.get_gid(): a for ax in fig.axes for a in ax.get_children() if a.get_gid()}
    ref = R["birthwt"]
    resid = artists["residuals"].get_offsets()
    assert_rel(resid[:, 0], ref["fitted"], "plotted fitted", RTOL)
    assert_rel(resid[:, 1], ref["deviance"], "plotted deviance residuals", RTOL)
    lev = artists["leverage"].get_offsets()
    assert_rel(lev[:, 0], ref["hat"], "plotted leverage", RTOL)
    assert_rel(lev[:, 1], ref["std_pearson"], "plotted std Pearson", RTOL)
    k = len(ref["coef"])
    for level in ("0.5", "1"):
        lines = [a for ax in fig.axes for a in ax.get_lines() if a.get_gid() == f"cooks:{level}"]
        assert len(lines) == 2
        for line in lines:
            h, r = line.get_xdata(), line.get_ydata()
            # on the contour, Cook's distance r² h / (k (1 - h)) is the level
            np.testing.assert_allclose(r ** 2 * h / (k * (1 - h)), float(level), rtol=1e-12)


def _section(page: str, sid: str) -> str:
    start = page.index(f"<section id='{sid}'>")
    return page[start:page.index("</section>", start)]


@pytest.mark.slow
def test_report_diagnostics_section(birthwt):
    import re
    from logitlab.report.html import render_report
    df = load("birthwt.csv")
    page = render_report(birthwt, df, in_sample=True)
    assert "<a href='#diagnostics'>Diagnostics</a>" in page
    section = _section(page, "diagnostics")
    assert "id='fig-diagnostics'" in section
    value = {m[0]: float(m[1]) for m in
             re.findall(r"data-key='(hl_statistic|hl_p_value|lc_statistic)' "
                        r"data-value='([^']+)'", section)}
    assert_rel(value["hl_statistic"], R["hoslem"]["g10"]["statistic"], "report HL", RTOL)
    assert_rel(value["hl_p_value"], R["hoslem"]["g10"]["p_value"], "report HL p", RTOL)
    assert_rel(value["lc_statistic"], R["lecessie"]["z"], "report le Cessie", 1e-8)
    expected = [float(v) for v in R["hoslem"]["g10"]["expected1"]]
    shown = [float(v) for v in re.findall(r"data-key='expected_1' data-value='([^']+)'", section)]
    assert_rel(shown, expected, "report HL table", RTOL)
    # the influential rows are R's, largest Cook's distance first
    flagged = np.flatnonzero(np.array(R["birthwt"]["is_inf"]).any(axis=1))
    cooks = np.asarray(R["birthwt"]["cooks"])
    order = flagged[np.argsort(-cooks[flagged], kind="stable")]
    listed = [int(v) for v in re.findall(r"data-row='(\d+)'", section)]
    assert listed == order[:12].tolist()


@pytest.mark.slow
def test_report_has_no_diagnostics_for_multinomial_or_penalized_models():
    from logitlab.report.html import render_report
    iris = load("iris.csv")
    multi = LogisticRegression(alpha=0.01).fit(iris.drop(columns="target"), iris.target)
    assert "id='diagnostics'" not in render_report(multi, iris, y="target")
    df = load("birthwt.csv")
    penalized = _quiet_fit("low ~ age + lwt", df, alpha=0.05)
    assert "id='diagnostics'" not in render_report(penalized, df)


# ------------------------------------------------------------------ Dask
def test_dask_rows_give_r_s_values_lazily(weighted):
    dd = pytest.importorskip("dask.dataframe")
    import dask
    df = load("birthwt.csv")
    df["w"] = R["weighted"]["w"]
    df["off"] = R["weighted"]["offset"]
    df["lwt2"] = 2 * df["lwt"]
    ddf = dd.from_pandas(df, npartitions=4)
    ref = R["weighted"]
    with dask.config.set(scheduler="synchronous"):
        for kind in ("deviance", "pearson", "studentized", "standardized_pearson"):
            lazy = weighted.residuals(ddf, "low", type=kind, sample_weight="w", offset="off")
            assert isinstance(lazy, dd.Series)
            assert_rel(lazy.compute(), ref[RESIDUALS[kind]], f"dask {kind}", RTOL)
        lazy = weighted.influence(ddf, "low", sample_weight="w", offset="off")
        assert isinstance(lazy, dd.DataFrame)
        table = lazy.compute()
    for col, key in MEASURES.items():
        assert_rel(table[col], ref[key], f"dask {col}", RTOL)
    names = infl.coefficient_names(weighted)
    assert_rel(table[[f"dfbetas_{t}" for t in names]], ref["dfbetas"], "dask dfbetas", RTOL)
    np.testing.assert_array_equal(table["influential"], np.array(ref["is_inf"]).any(axis=1))


def test_dask_goodness_of_fit_matches_r(birthwt):
    dd = pytest.importorskip("dask.dataframe")
    import dask
    ddf = dd.from_pandas(load("birthwt.csv"), npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        result = birthwt.goodness_of_fit(ddf, "low", g=8)
    assert set(result) == {"hosmer_lemeshow", "le_cessie_van_houwelingen"}
    hl = result["hosmer_lemeshow"]
    assert_rel(hl.statistic, R["hoslem"]["g8"]["statistic"], "dask HL", RTOL)
    assert_rel(hl.table["expected_1"], R["hoslem"]["g8"]["expected1"], "dask HL table", RTOL)
    assert_rel(result["le_cessie_van_houwelingen"].statistic, R["lecessie"]["z"],
               "dask le Cessie", 1e-8)


def test_dask_bad_input(birthwt):
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(load("birthwt.csv"), npartitions=2)
    with pytest.raises(ValueError, match="give y, the name of the outcome column"):
        birthwt.residuals(ddf)
    with pytest.raises(ValueError, match="no column 'weight'"):
        birthwt.influence(ddf, "low", sample_weight="weight")
    with pytest.raises(TypeError, match="give y as a column name"):
        birthwt.residuals(ddf, np.zeros(189))


def test_a_dask_fit_diagnoses_dask_rows(client):
    dd = pytest.importorskip("dask.dataframe")
    df = load("birthwt.csv")
    ddf = dd.from_pandas(df, npartitions=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = logitlab.fit("low ~ age + lwt + C(race) + smoke + ptl + ht + ui", ddf)
    assert model.engine_ == "dask"
    with pytest.raises(ValueError, match="fitted on Dask"):
        model.residuals()
    assert_rel(model.residuals(ddf, "low", type="studentized").compute(),
               R["birthwt"]["rstudent"], "dask fit rstudent", 1e-7)
    assert_rel(model.influence(ddf, "low")["cooks_d"].compute(), R["birthwt"]["cooks"],
               "dask fit cooks", 1e-7)


# ------------------------------------------------------------------ exact properties
def test_zero_weight_rows_are_as_if_dropped():
    """R drops zero-weight rows from influence(): the other rows' measures are those of
    the fit without them (the same estimate, the same information)."""
    df = load("birthwt.csv")
    w = np.where(np.arange(len(df)) % 7 == 0, 0.0, 1.0)
    with_zeros = _quiet_fit("low ~ age + lwt + C(race) + smoke", df, sample_weight=w)
    dropped = _quiet_fit("low ~ age + lwt + C(race) + smoke", df[w > 0])
    a = with_zeros.influence()
    b = dropped.influence()
    kept = a[w > 0].reset_index(drop=True)
    numeric = [c for c in b.columns if b[c].dtype != bool]
    np.testing.assert_allclose(kept[numeric].to_numpy(), b[numeric].to_numpy(), rtol=1e-8,
                               atol=1e-12)
    np.testing.assert_array_equal(kept["influential"], b["influential"])
    zero = a[w == 0]
    assert (zero["hat"] == 0).all() and (zero["pearson"] == 0).all()
    assert (zero["residual"] == 0).all() and (zero["cooks_d"] == 0).all()


def test_leverage_uses_the_information_whatever_the_covariance(birthwt):
    df = load("birthwt.csv")
    robust = _quiet_fit("low ~ age + lwt + C(race) + smoke + ptl + ht + ui", df, cov_type="HC0")
    assert_rel(robust.influence()["hat"], R["birthwt"]["hat"], "HC0 fit hat", RTOL)
    assert_rel(robust.influence()["dfbetas_age"], np.array(R["birthwt"]["dfbetas"])[:, 1],
               "HC0 fit dfbetas", RTOL)


def test_sparse_design_equals_dense():
    import scipy.sparse as sp
    df = load("birthwt.csv")
    X = df[["age", "lwt", "smoke", "ptl", "ht", "ui"]].to_numpy(float)
    dense = LogisticRegression().fit(X, df.low)
    sparse = LogisticRegression().fit(sp.csr_matrix(X), df.low)
    np.testing.assert_allclose(sparse.influence().to_numpy(float), dense.influence().to_numpy(float),
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(sparse.residuals(sp.csr_matrix(X), df.low, type="studentized"),
                               dense.residuals(type="studentized"), rtol=1e-8)


def _one_step_by_hand(model, X, y, rows, P):
    """Leverage, one-step Δ = (I − J_i)⁻¹ u_i (a Newton step from β̂ without row i: the
    rest's score is −u_i) and Cook's ΔᵀIΔ/k, row by row with explicit matrices."""
    state = model.results_.inference
    info = np.asarray(state.information)
    V = np.linalg.inv(info)
    k = info.shape[0]
    classes = model.classes_
    free = list(model.results_.layout.free_classes)
    C = len(free)
    Xa = np.hstack([np.asarray(X, float), np.ones((len(X), 1))])
    out = []
    for i in rows:
        M = np.zeros((C, k))
        for pos, e in enumerate(state.estimated):
            j, c = divmod(int(e), C)
            M[c, pos] = Xa[i, j]
        p = P[i, free]
        Wi = np.diag(p) - np.outer(p, p)
        J = M.T @ Wi @ M
        u = M.T @ ((y[i] == classes[free]).astype(float) - p)
        delta = np.linalg.solve(info - J, u)
        root = np.linalg.cholesky(Wi)
        hat = np.trace(root.T @ M @ V @ M.T @ root)
        out.append((hat, delta, delta @ info @ delta / k))
    return out


def test_multinomial_influence_one_step_by_hand():
    df = load("anes96.csv")
    X = df[["logpopul", "selfLR", "age", "educ", "income"]]
    y = df["PID"].to_numpy()
    model = LogisticRegression().fit(X, y)
    table = model.influence()
    k = len(model.results_.inference.estimated)
    assert abs(table["hat"].sum() - k) < 1e-9          # the hat matrix's trace
    np.testing.assert_allclose(infl.hat_values(model), table["hat"], rtol=1e-13)
    labels = [c for c in table.columns if c.startswith("dfbeta_")]
    assert len(labels) == k and labels[0] == f"dfbeta_{model.classes_[1]}:(Intercept)"
    # the by-hand Δ is in the internal (estimated) order: map it to display order
    est = [int(e) for e in model.results_.inference.estimated]
    disp = [int(i) for i in logitlab.results.inference.display_order(model) if int(i) in est]
    to_display = [est.index(i) for i in disp]
    for i, (hat, delta, cooks) in zip(range(0, 944, 47), _one_step_by_hand(
            model, X, y, range(0, 944, 47), model.predict_proba(X))):
        assert_rel(table["hat"].iloc[i], hat, f"hat row {i}", 1e-9)
        assert_rel(table["cooks_d"].iloc[i], cooks, f"cooks row {i}", 1e-8)
        assert_rel(table[labels].iloc[i].to_numpy(), delta[to_display], f"dfbeta row {i}", 1e-7)


def test_the_one_step_cook_is_r_s_for_two_classes(birthwt):
    """The multinomial definition (ΔᵀIΔ/k with the one-step Δ), applied by hand to the
    binary fit, is R's cooks.distance.glm."""
    df = load("birthwt.csv")
    X = birthwt.design_matrix(df)
    y = df.low.to_numpy()
    rows = range(0, 189, 9)
    for i, (hat, _, cooks) in zip(rows, _one_step_by_hand(
            birthwt, X, y, rows, birthwt.predict_proba(df))):
        assert_rel(hat, R["birthwt"]["hat"][i], f"binary hat {i}", 1e-9)
        assert_rel(cooks, R["birthwt"]["cooks"][i], f"binary cooks {i}", 1e-8)


# ------------------------------------------------------------------ the CLI
def _cli(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "logitlab.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_diagnostics_json_is_r_s(weighted, tmp_path):
    df = load("birthwt.csv")
    df["w"] = R["weighted"]["w"]
    df["off"] = R["weighted"]["offset"]
    df["lwt2"] = 2 * df["lwt"]
    data = tmp_path / "bw.csv"
    df.to_csv(data, index=False)
    logitlab.save(weighted, tmp_path / "m.json")
    out = _cli("diagnostics", tmp_path / "m.json", data, "--weights", "w", "--offset", "off",
               "--json", "--out", tmp_path / "infl.csv")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    ref = R["weighted"]
    records = pd.DataFrame(doc["influence"])
    assert doc["n_rows"] == 189 and records["row"].tolist() == list(range(189))
    for col, key in MEASURES.items():
        assert_rel(records[col], ref[key], f"cli {col}", RTOL)
    np.testing.assert_array_equal(records["influential"], np.array(ref["is_inf"]).any(axis=1))
    assert doc["n_influential"] == int(np.array(ref["is_inf"]).any(axis=1).sum())
    written = pd.read_csv(tmp_path / "infl.csv")
    assert_rel(written["cooks_d"], ref["cooks"], "cli --out cooks", 1e-12)
    assert set(doc["goodness_of_fit"]) == {"hosmer_lemeshow", "le_cessie_van_houwelingen",
                                           "pearson", "deviance"}
    assert doc["goodness_of_fit"]["le_cessie_van_houwelingen"]["df"] is None


@pytest.mark.slow
def test_cli_diagnostics_text_and_errors(birthwt, tmp_path):
    logitlab.save(birthwt, tmp_path / "m.json")
    data = DATA / "birthwt.csv"
    out = _cli("diagnostics", tmp_path / "m.json", data)
    assert out.returncode == 0, out.stderr
    assert "Hosmer-Lemeshow" in out.stdout and "10.3983" in out.stdout
    n_flagged = int(np.array(R["birthwt"]["is_inf"]).any(axis=1).sum())
    assert f"Influential rows (influence.measures): {n_flagged} of 189" in out.stdout
    bad = _cli("diagnostics", tmp_path / "m.json", data, "--target", "nope")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: --target column 'nope' is not in the data")
    assert "Traceback" not in bad.stderr


def test_a_data_frame_s_index_labels_the_rows(birthwt):
    df = load("birthwt.csv")
    df.index = [f"id{i}" for i in range(len(df))]
    table = birthwt.influence(df, df.low)
    assert table.index.tolist() == df.index.tolist()
    assert_rel(table.loc["id5", "cooks_d"], R["birthwt"]["cooks"][5], "by label", RTOL)


def test_dask_multinomial_residuals_are_statsmodels():
    dd = pytest.importorskip("dask.dataframe")
    import dask
    df = load("anes96.csv")
    cols = ["logpopul", "selfLR", "age", "educ", "income"]
    model = LogisticRegression().fit(df[cols], df["PID"])
    ref = sm.MNLogit(df["PID"].to_numpy(), sm.add_constant(df[cols])).fit(
        method="newton", tol=1e-12, maxiter=100, disp=0)
    P = np.asarray(ref.predict(sm.add_constant(df[cols])))
    Y = (df["PID"].to_numpy()[:, None] == model.classes_[None, :]).astype(float)
    with dask.config.set(scheduler="synchronous"):
        lazy = model.residuals(dd.from_pandas(df, npartitions=3), "PID", type="response")
        assert isinstance(lazy, dd.DataFrame)
        got = lazy.compute()
    assert list(got.columns) == list(model.classes_)
    np.testing.assert_allclose(got.to_numpy(), Y - P, rtol=0, atol=1e-9)


def test_penalized_fits_have_residuals_but_no_leverage():
    from logitlab.results.inference import InferenceUnavailable
    df = load("birthwt.csv")
    model = _quiet_fit("low ~ age + lwt + smoke", df, alpha=0.05)
    p = model.predict_proba(df)[:, 1]
    np.testing.assert_allclose(model.residuals(type="response"), df.low - p, rtol=1e-13)
    with pytest.raises(InferenceUnavailable, match="penalized fit"):
        model.residuals(type="studentized")
    with pytest.raises(InferenceUnavailable, match="penalized fit"):
        model.influence()
