"""Marginal effects (``model.margins``) against independent references.

* statsmodels ``Logit`` / ``MNLogit`` ``get_margeff`` (at="overall"|"mean",
  methods dydx/eyex/dyex/eydx, dummy=, count=) on models without transforms:
  estimates and delta-method SEs to 1e-8 relative;
* formulas with transforms and interactions (``I(age**2)``, ``age:smoker``,
  ``np.log(lwt)``): finite differences of ``predict_proba`` on the raw data
  (estimates, 1e-6) and a delta method with a numerical Jacobian of those
  averages w.r.t. the coefficients (probabilities computed here from
  ``params`` and ``design_.transform``; SEs 1e-6);
* categorical contrasts, grids, rows, weights, log-scale contrasts: direct
  predictions;
* penalized fits, loaded models, bad input.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import special, stats

import logitlab
from logitlab.results.inference import InferenceUnavailable

DATA = "tests/data/"


@pytest.fixture(scope="module")
def birthwt():
    df = pd.read_csv(DATA + "birthwt.csv")
    df["smoker"] = df["smoke"].astype(bool)
    df["race_t"] = df["race"].map({1: "white", 2: "black", 3: "other"})
    return df


@pytest.fixture(scope="module")
def anes():
    df = pd.read_csv(DATA + "anes96.csv")
    df["rich"] = (df["income"] > 15).astype(float)
    return df


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def sm_fit(formula, df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.logit(formula, df).fit(disp=0, method="newton", tol=1e-13, maxiter=100)


# ------------------------------------------------------------ statsmodels
BINARY = "low ~ age + lwt + smoke + ht + ftv"
CASES = [(at, kind, dummy, count) for at in ("overall", "mean")
         for kind in ("dydx", "eyex", "dyex", "eydx")
         for dummy, count in ((False, False), (True, False), (False, True), (True, True))
         if kind == "dydx" or not (dummy or count)]   # statsmodels: dydx only for discrete


@pytest.mark.parametrize("at,kind,dummy,count", CASES)
def test_binary_formula_matches_statsmodels(birthwt, at, kind, dummy, count):
    model = logitlab.fit(BINARY, birthwt)
    ref = sm_fit(BINARY, birthwt).get_margeff(at=at, method=kind, dummy=dummy, count=count)
    ours = model.margins(birthwt, at=at, kind=kind, dummy=dummy, count=count)
    assert list(ours["term"]) == ["age", "lwt", "smoke", "ht", "ftv"]
    assert rel(ours["estimate"], ref.margeff) < 1e-8
    assert rel(ours["std_err"], ref.margeff_se) < 1e-8
    assert rel(ours["z"], ref.tvalues) < 1e-8
    assert rel(ours["p_value"], ref.pvalues) < 1e-7
    ci = ref.conf_int(alpha=0.05)
    assert rel(ours[["ci_low", "ci_high"]].to_numpy(), ci) < 1e-8
    if dummy:
        assert set(ours.loc[ours.term.isin(["smoke", "ht"]), "contrast"]) == {"1 - 0"}
    if count:      # age, lwt and ftv are non-negative integers
        assert set(ours.loc[ours.term.isin(["age", "lwt", "ftv"]), "contrast"]) == {"+1"}


@pytest.mark.parametrize("at", ["overall", "mean"])
@pytest.mark.parametrize("dummy", [False, True])
def test_binary_matrix_fit_matches_statsmodels(birthwt, at, dummy):
    cols = ["age", "lwt", "smoke", "ht"]
    X = birthwt[cols].to_numpy(dtype=float)
    model = logitlab.LogisticRegression().fit(X, birthwt["low"])
    ref = sm.Logit(birthwt["low"], sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-13)
    ref = ref.get_margeff(at=at, dummy=dummy)
    ours = model.margins(X, at=at, dummy=dummy)
    assert list(ours["term"]) == ["x0", "x1", "x2", "x3"]
    assert rel(ours["estimate"], ref.margeff) < 1e-8
    assert rel(ours["std_err"], ref.margeff_se) < 1e-8


@pytest.mark.parametrize("at", ["overall", "mean"])
@pytest.mark.parametrize("dummy", [False, True])
def test_multinomial_matches_statsmodels(anes, at, dummy):
    cols = ["logpopul", "TVnews", "selfLR", "age", "educ", "rich"]
    X, y = anes[cols], anes["PID"]
    model = logitlab.LogisticRegression().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-13,
                                                    maxiter=100)
    ref = ref.get_margeff(at=at, dummy=dummy)
    ours = model.margins(X, at=at, dummy=dummy)
    assert sorted(set(ours["class"])) == list(model.classes_)
    est = ours.pivot(index="term", columns="class", values="estimate").loc[cols]
    se = ours.pivot(index="term", columns="class", values="std_err").loc[cols]
    assert rel(est, ref.margeff) < 1e-8
    assert rel(se, ref.margeff_se) < 1e-8
    # the effects on the K probabilities sum to 0 (they sum to 1)
    assert np.max(np.abs(est.sum(axis=1))) < 1e-12


def test_robust_covariance_matches_statsmodels(birthwt):
    model = logitlab.fit(BINARY, birthwt, cov_type="HC0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = smf.logit(BINARY, birthwt).fit(disp=0, method="newton", tol=1e-13,
                                             cov_type="HC0")
    ours = model.margins(birthwt)
    assert rel(ours["std_err"], ref.get_margeff().margeff_se) < 1e-8


# ------------------------------------------------------ formulas: FD + delta
TRANSFORMED = "low ~ age + I(age**2) + age:smoker + race_t + np.log(lwt) + ht"


def five_point(f, h):
    """``f'(0)`` by the five-point stencil (error O(h⁴)) of ``f(shift)`` (arrays)."""
    return (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)


def shifted(df, v, t):
    return df.assign(**{v: df[v] + t})


def fd_ame(model, df, v, h, kind="dydx", cls=1):
    """Independent finite difference of predict_proba on the raw data."""
    d = five_point(lambda t: model.predict_proba(shifted(df, v, t))[:, cls], h)
    p = model.predict_proba(df)[:, cls]
    x = df[v].to_numpy(dtype=float)
    per_row = {"dydx": d, "eyex": d * x / p, "dyex": d * x, "eydx": d / p}[kind]
    return per_row.mean()


def probs_from_params(model, X, beta):
    """P (n, K) from the table's coefficient vector (statsmodels' order)."""
    labels = model.results_.params.index
    columns, X = list(X.columns), X.to_numpy()
    if not isinstance(labels, pd.MultiIndex):
        lookup = dict(zip(labels, beta))
        z = lookup.get("(Intercept)", 0.0) + X @ np.array([lookup[c] for c in columns])
        return np.column_stack([1 - special.expit(z), special.expit(z)])
    Z = np.zeros((len(X), model.classes_.size))
    for k, c in enumerate(model.classes_):
        if c == model.reference_class_:
            continue
        lookup = {t: b for (cl, t), b in zip(labels, beta) if cl == c}
        Z[:, k] = lookup.get("(Intercept)", 0.0) + X @ np.array([lookup[t] for t in columns])
    return special.softmax(Z, axis=1)


def delta_se(model, statistic, X):
    """sqrt(J V Jᵀ) with J the numerical (five-point) Jacobian of ``statistic(beta)``;
    the step of a coefficient moves the logits by ~1e-3 on the design ``X``."""
    beta = model.results_.params.to_numpy()
    V = model.results_.cov_params().to_numpy()
    terms = [t[-1] if isinstance(t, tuple) else t for t in model.results_.params.index]
    J = np.empty(beta.size)
    for j in range(beta.size):
        scale = 1.0 if terms[j] == "(Intercept)" else max(1.0, np.abs(X[terms[j]]).max())
        J[j] = five_point(lambda t: np.array(statistic(beta + t * np.eye(beta.size)[j])),
                          1e-3 / scale)
    return float(np.sqrt(J @ V @ J))


@pytest.mark.parametrize("kind", ["dydx", "eyex"])
def test_transforms_and_interactions_against_finite_differences(birthwt, kind):
    model = logitlab.fit(TRANSFORMED, birthwt)
    ours = model.margins(birthwt, variables=["age", "lwt"], kind=kind).set_index("term")
    design = model.design_
    for v, h in (("age", 1e-2), ("lwt", 1e-1)):
        assert rel(ours.loc[v, "estimate"], fd_ame(model, birthwt, v, h, kind)) < 1e-6
        Xs = {t: design.transform(shifted(birthwt, v, t)) for t in (-2 * h, -h, 0, h, 2 * h)}
        x = birthwt[v].to_numpy(dtype=float)

        def ame(beta):
            d = five_point(lambda t: probs_from_params(model, Xs[t], beta)[:, 1], h)
            p = probs_from_params(model, Xs[0], beta)[:, 1]
            return (d if kind == "dydx" else d * x / p).mean()
        assert rel(ours.loc[v, "std_err"], delta_se(model, ame, Xs[0])) < 1e-6


def test_interaction_moves_the_variable_everywhere(birthwt):
    """The effect of age is not the effect through the column ``age`` alone."""
    model = logitlab.fit(TRANSFORMED, birthwt)
    got = model.margins(birthwt, variables="age")["estimate"].iloc[0]
    p = model.predict_proba(birthwt)[:, 1]
    one_column = np.mean(p * (1 - p)) * model.results_.params["age"]
    assert abs(got - one_column) > 1e-3
    assert rel(got, fd_ame(model, birthwt, "age", 1e-2)) < 1e-6


def test_multinomial_formula_against_finite_differences(birthwt):
    model = logitlab.fit("race ~ age + I(age**2) + smoker + np.log(lwt) + age:ht", birthwt)
    ours = model.margins(birthwt, variables=["age", "lwt"])
    design = model.design_
    for v, h in (("age", 1e-2), ("lwt", 1e-1)):
        Xs = {t: design.transform(shifted(birthwt, v, t)) for t in (-2 * h, -h, h, 2 * h)}
        for k, c in enumerate(model.classes_):
            row = ours[(ours.term == v) & (ours["class"] == c)].iloc[0]
            assert rel(row["estimate"], fd_ame(model, birthwt, v, h, cls=k)) < 1e-6

            def ame(beta, k=k):
                return five_point(lambda t: probs_from_params(model, Xs[t], beta)[:, k],
                                  h).mean()
            assert rel(row["std_err"], delta_se(model, ame, Xs[h])) < 1e-6


# ------------------------------------------------------- discrete changes
def test_categorical_contrasts_are_direct_predictions(birthwt):
    model = logitlab.fit(TRANSFORMED, birthwt)
    ours = model.margins(birthwt, variables=["race_t", "smoker"])
    assert model.design_.references["race_t"] == "black"
    assert list(ours["contrast"]) == ["other - black", "white - black", "True - False"]
    design = model.design_

    for i, (v, lev, ref) in enumerate([("race_t", "other", "black"),
                                       ("race_t", "white", "black"), ("smoker", True, False)]):
        hi, lo = birthwt.assign(**{v: lev}), birthwt.assign(**{v: ref})
        direct = (model.predict_proba(hi)[:, 1] - model.predict_proba(lo)[:, 1]).mean()
        assert rel(ours["estimate"].iloc[i], direct) < 1e-12
        Xh, Xl = design.transform(hi), design.transform(lo)

        def contrast(beta):
            return (probs_from_params(model, Xh, beta)[:, 1]
                    - probs_from_params(model, Xl, beta)[:, 1]).mean()
        assert rel(ours["std_err"].iloc[i],
                   delta_se(model, contrast, design.transform(birthwt))) < 1e-6


def test_log_scale_contrasts_and_counts(birthwt):
    model = logitlab.fit("low ~ age + ftv + smoke", birthwt)
    ours = model.margins(birthwt, kind="eydx", dummy=True, count=True).set_index("term")
    p = lambda df: model.predict_proba(df)[:, 1]   # noqa: E731
    smoke = np.mean(np.log(p(birthwt.assign(smoke=1))) - np.log(p(birthwt.assign(smoke=0))))
    assert rel(ours.loc["smoke", "estimate"], smoke) < 1e-12
    ftv = np.mean((np.log(p(birthwt.assign(ftv=birthwt.ftv + 1)))
                   - np.log(p(birthwt.assign(ftv=birthwt.ftv - 1)))) / 2)
    assert rel(ours.loc["ftv", "estimate"], ftv) < 1e-12
    assert ours.loc["ftv", "contrast"] == "+1"


def test_at_mean_grid_and_rows(birthwt):
    model = logitlab.fit(TRANSFORMED, birthwt)
    typical = pd.DataFrame({"age": [birthwt.age.mean()], "smoker": [False],
                            "race_t": ["white"], "lwt": [birthwt.lwt.mean()],
                            "ht": [birthwt.ht.mean()]})
    mean = model.margins(birthwt, at="mean", variables=["age", "race_t"])
    assert rel(mean["estimate"].iloc[0], fd_ame(model, typical, "age", 1e-2)) < 1e-6
    direct = (model.predict_proba(typical.assign(race_t="other"))[:, 1]
              - model.predict_proba(typical.assign(race_t="black"))[:, 1])[0]
    assert rel(mean["estimate"].iloc[1], direct) < 1e-12

    grid = model.margins(birthwt, at={"age": [20, 30], "smoker": [False, True]},
                         variables="age")
    assert list(grid[["age", "smoker"]].itertuples(index=False, name=None)) == \
        [(20.0, False), (20.0, True), (30.0, False), (30.0, True)]
    for _, row in grid.iterrows():
        point = typical.assign(age=row["age"], smoker=row["smoker"])
        assert rel(row["estimate"], fd_ame(model, point, "age", 1e-2)) < 1e-6

    rows = birthwt.iloc[[3, 7, 11]]
    per_row = model.margins(birthwt, at=rows, variables="lwt")
    assert list(per_row["row"]) == [3, 7, 11]
    for i, r in enumerate(rows.index):
        assert rel(per_row["estimate"].iloc[i],
                   fd_ame(model, rows.loc[[r]], "lwt", 1e-1)) < 1e-6


def test_weights_and_offset(birthwt):
    model = logitlab.fit("low ~ age + lwt", birthwt)
    w = np.linspace(0.5, 2.0, len(birthwt))
    got = model.margins(birthwt, variables="age", weights=w)["estimate"].iloc[0]
    d = five_point(lambda t: model.predict_proba(shifted(birthwt, "age", t))[:, 1], 1e-2)
    assert rel(got, np.average(d, weights=w)) < 1e-6
    off = np.full(len(birthwt), 0.3)
    got = model.margins(birthwt, variables="age", offset=off)["estimate"].iloc[0]
    p = model.predict_proba(birthwt, offset=off)[:, 1]
    assert rel(got, np.mean(p * (1 - p)) * model.results_.params["age"]) < 1e-8


def test_level_sets_the_interval(birthwt):
    model = logitlab.fit("low ~ age + lwt", birthwt)
    t = model.margins(birthwt, level=0.9)
    q = stats.norm.ppf(0.95)
    assert rel(t["ci_high"] - t["estimate"], q * t["std_err"]) < 1e-12


# --------------------------------------------------- penalized, persisted
def test_penalized_fit_needs_se_false(birthwt):
    model = logitlab.fit("low ~ age + lwt", birthwt, alpha=0.01)
    with pytest.raises(InferenceUnavailable, match="se=False"):
        model.margins(birthwt)
    t = model.margins(birthwt, se=False)
    assert t["std_err"].isna().all() and t["p_value"].isna().all()
    assert rel(t["estimate"].iloc[0], fd_ame(model, birthwt, "age", 1e-2)) < 1e-6


def test_loaded_model_gives_the_same_table(birthwt, tmp_path):
    model = logitlab.fit(TRANSFORMED, birthwt)
    path = logitlab.save(model, tmp_path / "m.logitlab")
    loaded = logitlab.load(path)
    pd.testing.assert_frame_equal(model.margins(birthwt), loaded.margins(birthwt))


# ------------------------------------------------------------ bad input
def test_bad_input_gives_clear_errors(birthwt):
    model = logitlab.fit("low ~ age + C(race)", birthwt)
    with pytest.raises(ValueError, match=r"unknown variable 'agee'.*variables are"):
        model.margins(birthwt, variables=["agee"])
    with pytest.raises(ValueError, match=r"lack the column 'race'"):
        model.margins(birthwt[["age", "low"]])
    with pytest.raises(ValueError, match=r"at names unknown variable 'weight'"):
        model.margins(birthwt, at={"weight": [1]})
    with pytest.raises(ValueError, match=r"at must be 'overall', 'mean'"):
        model.margins(birthwt, at="median")
    with pytest.raises(ValueError, match=r"kind must be one of"):
        model.margins(birthwt, kind="elasticity")
    with pytest.raises(ValueError, match=r"level must be a number between 0 and 1"):
        model.margins(birthwt, level=95)
    with pytest.raises(ValueError, match=r"levels not seen when fitting"):
        model.margins(birthwt, at={"race": [7]})
    with pytest.raises(ValueError, match=r"weights must be"):
        model.margins(birthwt, weights=[1.0, 2.0])
    matrix = logitlab.LogisticRegression().fit(birthwt[["age", "lwt"]], birthwt["low"])
    with pytest.raises(ValueError, match=r"lack the column 'lwt'"):
        matrix.margins(birthwt[["age"]])
    with pytest.raises(ValueError, match=r"2 columns"):
        matrix.margins(np.ones((3, 5)))


def test_dask_data_average_per_partition(birthwt):
    """On Dask the average is the per-partition sums added up: the same table
    as on the computed frame (a closed identity, to rounding)."""
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(birthwt, npartitions=3)
    model = logitlab.fit(TRANSFORMED, birthwt)
    for kw in ({}, {"kind": "eyex", "variables": ["age", "lwt"]}):
        got, ref = model.margins(ddf, **kw), model.margins(birthwt, **kw)
        assert list(got["contrast"]) == list(ref["contrast"])
        assert rel(got[["estimate", "std_err"]].to_numpy(),
                   ref[["estimate", "std_err"]].to_numpy()) < 1e-10
    counts = logitlab.fit("low ~ age + ftv + smoke", birthwt)
    got = counts.margins(ddf, dummy=True, count=True)
    ref = counts.margins(birthwt, dummy=True, count=True)
    assert list(got["term"]) == ["age", "smoke", "ftv"]       # the data's column order
    assert list(got["contrast"]) == list(ref["contrast"]) == ["+1", "1 - 0", "+1"]
    assert rel(got["std_err"], ref["std_err"]) < 1e-10
    cols = ["age", "lwt", "smoke"]
    matrix = logitlab.LogisticRegression().fit(birthwt[cols], birthwt["low"])
    assert rel(matrix.margins(dd.from_pandas(birthwt[cols], npartitions=2))["estimate"],
               matrix.margins(birthwt[cols])["estimate"]) < 1e-10
    with pytest.raises(ValueError, match=r"at='overall'.*compute the rows into memory"):
        model.margins(ddf, at="mean")
    with pytest.raises(ValueError, match=r"lack the column 'race_t'"):
        model.margins(ddf[["age", "lwt", "smoker", "ht"]])


# ------------------------------------------------------------------ CLI
def cli(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "logitlab.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("formula,at", [("low ~ age + I(age**2) + C(race) + smoke", "overall"),
                                        ("race ~ age + np.log(lwt) + smoke", "mean")])
@pytest.mark.slow
def test_cli_json_matches_the_python_api(birthwt, tmp_path, formula, at):
    import json
    raw = pd.read_csv(DATA + "birthwt.csv")
    path = logitlab.save(logitlab.fit(formula, raw), tmp_path / "m.json")
    out = cli("margins", path, DATA + "birthwt.csv", "--at", at, "--variables", "age,smoke",
              "--level", "0.9", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    model = logitlab.load(path)
    ref = model.margins(raw, variables=["age", "smoke"], at=at, level=0.9)
    assert doc["formula"] == formula and doc["at"] == at and doc["level"] == 0.9
    assert doc["n_rows"] == len(raw) and doc["classes"] == list(model.classes_)
    got = pd.DataFrame(doc["effects"])
    assert list(got.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-15)
    # and the model as fitted in Python, too
    direct = logitlab.fit(formula, raw).margins(raw, variables=["age", "smoke"], at=at,
                                                level=0.9)
    assert rel(got["estimate"], direct["estimate"]) < 1e-8


@pytest.mark.slow
def test_cli_errors_are_one_line(birthwt, tmp_path):
    path = logitlab.save(logitlab.fit("low ~ age", birthwt, alpha=0.1), tmp_path / "m.json")
    out = cli("margins", path, DATA + "birthwt.csv")
    assert out.returncode == 2 and "--no-se" in out.stderr and "Traceback" not in out.stderr
    out = cli("margins", path, DATA + "birthwt.csv", "--variables", "weight")
    assert out.returncode == 2 and "unknown variable 'weight'" in out.stderr
    out = cli("margins", path, DATA + "birthwt.csv", "--no-se", "--json")
    assert out.returncode == 0
    import json
    effect = json.loads(out.stdout)["effects"][0]
    assert effect["std_err"] is None and effect["estimate"] == pytest.approx(
        logitlab.load(path).margins(birthwt, se=False)["estimate"].iloc[0], rel=1e-15)


# --------------------------------------------------------------- report
@pytest.mark.slow
def test_report_section_shows_the_table_and_plot(birthwt):
    import re

    from logitlab.report import render_report
    from logitlab.report.margins import margins_plot
    raw = pd.read_csv(DATA + "birthwt.csv")
    formula = "low ~ age + lwt + C(race) + smoke"
    page = render_report(None, raw, formula=formula)
    section = re.search(r"<section id='margins'>.*?</section>", page, re.S).group(0)
    assert "<a href='#margins'>" in page and "id='fig-margins'" in section
    ref = logitlab.fit(formula, raw).margins(raw)     # fitted independently of the page
    shown = [float(v) for v in re.findall(r"data-key='estimate' data-value='([^']+)'", section)]
    assert rel(shown, ref["estimate"]) < 1e-12
    shown = [float(v) for v in re.findall(r"data-key='ci_high' data-value='([^']+)'", section)]
    assert rel(shown, ref["ci_high"]) < 1e-12
    assert "race" in section and "2 - 1" in section

    fig = margins_plot(ref)
    ax = fig.axes[0]
    dots = next(a for a in ax.get_lines() if a.get_gid() == "effect")
    assert rel(dots.get_xdata(), ref["estimate"]) < 1e-15
    bars = next(c for c in ax.collections if c.get_gid() == "interval")
    segments = np.array([s[:, 0] for s in bars.get_segments()])
    assert rel(segments, ref[["ci_low", "ci_high"]].to_numpy()) < 1e-15


def test_report_section_weights_multinomial_and_penalized(birthwt):
    from logitlab.report.margins import margins_plot, margins_section
    model = logitlab.fit("race ~ age + smoke", birthwt)
    w = np.linspace(1, 3, len(birthwt))
    html_ = margins_section(model, birthwt, 0.9, sample_weight=w)
    assert "(weighted)" in html_ and "90% interval" in html_
    ref = model.margins(birthwt, weights=w, level=0.9)
    import re
    shown = [float(v) for v in re.findall(r"data-key='estimate' data-value='([^']+)'", html_)]
    assert rel(shown, ref["estimate"]) < 1e-12
    assert len(margins_plot(ref).axes) == 3       # one panel per class
    penalized = logitlab.fit("low ~ age", birthwt, alpha=0.1)
    note = margins_section(penalized, birthwt)
    assert "not available" in note and "penalized" in note


def test_spline_boundaries_and_aliased_columns(birthwt):
    """bs() cannot be evaluated beyond its boundary knots: the rows at the data's
    extremes get one-sided differences. Reference: five-point central
    differences inside, the one-sided fourth-order formula at the boundary."""
    df = birthwt.assign(age2=birthwt["age"] * 2)
    with pytest.warns(UserWarning, match="age2 is a linear combination"):
        model = logitlab.fit("low ~ age + age2 + bs(lwt, df=4)", df)
    assert model.aliased_ == ["age2"]
    got = model.margins(df).set_index("term")
    h = 1e-2
    lwt = df["lwt"].to_numpy(dtype=float)
    f = lambda rows, t: model.predict_proba(shifted(df.loc[rows], "lwt", t))[:, 1]  # noqa: E731
    d = np.empty(len(df))
    inside = (lwt - 2 * h >= lwt.min()) & (lwt + 2 * h <= lwt.max())
    d[inside] = five_point(lambda t: f(df.index[inside], t), h)
    for rows, s in ((df.index[lwt - 2 * h < lwt.min()], h), (df.index[lwt + 2 * h > lwt.max()], -h)):
        pos = df.index.get_indexer(rows)
        d[pos] = (-25 * f(rows, 0) + 48 * f(rows, s) - 36 * f(rows, 2 * s) + 16 * f(rows, 3 * s)
                  - 3 * f(rows, 4 * s)) / (12 * s)
    assert (~inside).sum() >= 2
    assert rel(got.loc["lwt", "estimate"], d.mean()) < 1e-6
    # an aliased column's coefficient is held at 0: its variable has no effect
    assert got.loc["age2", "estimate"] == 0 and got.loc["age2", "std_err"] == 0


def test_per_row_standard_errors_and_multinomial_counts(birthwt):
    """Grid points and given rows (one effect per row) have their own delta-method
    SEs: against the numerical Jacobian of the finite-difference effect."""
    model = logitlab.fit(TRANSFORMED, birthwt)
    rows = birthwt.iloc[[5, 40]]
    got = model.margins(birthwt, at=rows, variables="age")
    h = 1e-2
    for i in range(len(rows)):
        one = rows.iloc[[i]]
        Xs = {t: model.design_.transform(shifted(one, "age", t)) for t in (-2 * h, -h, h, 2 * h)}

        def effect(beta):
            return five_point(lambda t: probs_from_params(model, Xs[t], beta)[:, 1], h)[0]
        assert rel(got["std_err"].iloc[i], delta_se(model, effect, Xs[h])) < 1e-6
    grid = model.margins(birthwt, at={"race_t": ["other", "white"]}, variables="smoker")
    typical = pd.DataFrame({"age": [birthwt.age.mean()], "smoker": [False], "race_t": ["white"],
                            "lwt": [birthwt.lwt.mean()], "ht": [birthwt.ht.mean()]})
    for i, race in enumerate(["other", "white"]):
        point = typical.assign(race_t=race)
        Xh = model.design_.transform(point.assign(smoker=True))
        Xl = model.design_.transform(point.assign(smoker=False))

        def change(beta):
            return (probs_from_params(model, Xh, beta) - probs_from_params(model, Xl, beta))[0, 1]
        assert rel(grid["estimate"].iloc[i], change(model.results_.params.to_numpy())) < 1e-12
        assert rel(grid["std_err"].iloc[i], delta_se(model, change, Xh)) < 1e-6
    multi = logitlab.fit("race ~ age + ftv + smoke", birthwt)
    got = multi.margins(birthwt, dummy=True, count=True, variables=["ftv", "smoke"])
    P = multi.predict_proba
    ftv = (P(shifted(birthwt, "ftv", 1)) - P(shifted(birthwt, "ftv", -1))).mean(axis=0) / 2
    smoke = (P(birthwt.assign(smoke=1)) - P(birthwt.assign(smoke=0))).mean(axis=0)
    assert rel(got["estimate"].to_numpy(), np.r_[ftv, smoke]) < 1e-12
