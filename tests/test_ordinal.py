"""Ordinal logistic regression (proportional odds) against R's ``ordinal::clm`` and
``MASS::polr`` (tests/r/ordinal.R → tests/data/ordinal_r.json), and the cumulative
logit family's derivatives against finite differences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import logitlab
from logitlab.families import CumulativeLogit

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "ordinal_r.json").read_text())
RTOL = 1e-6


def housing():
    """MASS::housing with R's factor levels (the first level is the reference)."""
    df = pd.read_csv(DATA / "housing.csv")
    levels = {"Sat": ["Low", "Medium", "High"], "Infl": ["Low", "Medium", "High"],
              "Type": ["Tower", "Apartment", "Atrium", "Terrace"], "Cont": ["Low", "High"]}
    for col, lv in levels.items():
        df[col] = pd.Categorical(df[col], categories=lv, ordered=col == "Sat")
    return df


def wine():
    df = pd.read_csv(DATA / "wine.csv")
    df["temp"] = pd.Categorical(df["temp"], categories=["cold", "warm"])
    df["contact"] = pd.Categorical(df["contact"], categories=["no", "yes"])
    return df


def r_name(label: str) -> str:
    """Our term label as R writes it: ``Infl[T.Medium]`` → ``InflMedium``,
    ``temp[T.warm]:contact[T.yes]`` → ``tempwarm:contactyes``."""
    return label.replace("[T.", "").replace("]", "")


def check_against(model, ref, rtol=RTOL):
    params, bse = model.results_.params, model.results_.bse
    names = [r_name(t) for t in params.index]
    assert sorted(names) == sorted(ref["coef"])
    for label, name in zip(params.index, names):
        np.testing.assert_allclose(params[label], ref["coef"][name], rtol=rtol, atol=1e-9)
        np.testing.assert_allclose(bse[label], ref["se"][name], rtol=rtol)
    np.testing.assert_allclose(model.results_.llf, ref["loglik"], rtol=1e-10)
    np.testing.assert_allclose(model.results_.aic, ref["aic"], rtol=1e-10)
    # the whole covariance, in R's order (thresholds first)
    order = [names.index(n) for n in ref["vcov_names"]]
    V = model.results_.cov_params().to_numpy()[np.ix_(order, order)]
    np.testing.assert_allclose(V, np.array(ref["vcov"]), rtol=1e-5, atol=1e-12)


def test_housing_matches_clm_and_polr():
    """MASS §7.3: Sat ~ Infl + Type + Cont with frequency weights."""
    ref = REF["housing"]
    m = logitlab.fit("Sat ~ Infl + Type + Cont", housing(), family="ordinal",
                     sample_weight="Freq")
    check_against(m, ref)
    assert list(m.classes_) == ["Low", "Medium", "High"]
    assert np.all(np.diff(m.thresholds_) > 0)
    # polr's own optimum (refitted from clm's) is the same point
    for name, value in ref["polr_coef"].items():
        assert abs(value - ref["coef"][name]) < 1e-6


def test_housing_profile_intervals_match_clm():
    """Each bound is where the profile deviance 2(ℓ̂ − ℓ_p(b)) reaches χ²₁(0.95):
    checked by refitting with the coefficient fixed at the bound (an offset), to
    1e-7; clm's bounds, which interpolate its profile by a spline, agree to 1e-5."""
    from scipy.stats import chi2
    ref = REF["housing"]["profile_ci"]
    df = housing()
    m = logitlab.fit("Sat ~ Infl + Type + Cont", df, family="ordinal", sample_weight="Freq")
    ci = m.conf_int(method="profile")
    ours = {r_name(t): row for t, row in ci.iterrows()}
    for term, lo, hi in zip(ref["term"], ref["low"], ref["high"]):
        np.testing.assert_allclose(ours[term]["ci_low"], lo, rtol=1e-5)
        np.testing.assert_allclose(ours[term]["ci_high"], hi, rtol=1e-5)
    X = m.design_matrix(df)
    j = list(m.results_.params.index).index("Type[T.Atrium]")
    target = chi2.ppf(0.95, 1)
    for bound in ci.loc["Type[T.Atrium]", ["ci_low", "ci_high"]]:
        fixed = logitlab.OrderedLogisticRegression(levels=list(m.classes_)).fit(
            np.delete(X, j, axis=1), df["Sat"].astype(object).to_numpy(),
            sample_weight=df["Freq"].to_numpy(), offset=bound * X[:, j])
        deviance = 2 * (m.results_.llf - fixed.results_.llf)
        np.testing.assert_allclose(deviance, target, rtol=1e-7)


def test_housing_predicted_probabilities_match_clm():
    ref = REF["housing"]
    df = housing()
    m = logitlab.fit("Sat ~ Infl + Type + Cont", df, family="ordinal", sample_weight="Freq")
    rows = df.iloc[ref["newdata_rows"]][["Infl", "Type", "Cont"]]
    P = m.predict_proba(rows)
    np.testing.assert_allclose(P, np.array(ref["prob"]), rtol=1e-7)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    # cumulative probabilities are the running sums; predict is the most probable level
    np.testing.assert_allclose(m.predict_cumulative_proba(rows), np.cumsum(P, axis=1)[:, :-1],
                               rtol=1e-12)
    assert list(m.predict(rows)) == list(m.classes_[np.argmax(P, axis=1)])


def test_wine_matches_clm():
    ref = REF["wine"]
    df = wine()
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal")
    check_against(m, ref)
    assert list(m.classes_) == [1, 2, 3, 4, 5]          # numeric labels: numeric order
    np.testing.assert_allclose(m.predict_proba(df), np.array(ref["prob"]), rtol=1e-7)


def test_weights_and_offset_match_clm():
    ref = REF["wine_weighted_offset"]
    df = wine()
    n = len(df)
    w = 1 + (np.arange(1, n + 1) % 3)
    o = 0.1 * df["judge"].to_numpy()
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal", sample_weight=w, offset=o)
    check_against(m, ref)


def test_interaction_matches_clm():
    m = logitlab.fit("rating ~ temp * contact", wine(), family="ordinal")
    check_against(m, REF["wine_interaction"])


def test_array_api_and_levels_order():
    """The estimator on arrays with text labels in an explicit order equals the
    formula fit; the order of ``levels`` decides the sign of the slopes."""
    df = wine()
    X = np.column_stack([(df["temp"] == "warm").to_numpy(float),
                         (df["contact"] == "yes").to_numpy(float)])
    names = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
    y = df["rating"].map(names).to_numpy()
    m = logitlab.OrderedLogisticRegression(levels=["one", "two", "three", "four", "five"]).fit(X, y)
    ref = REF["wine"]["coef"]
    np.testing.assert_allclose(m.coef_, [ref["tempwarm"], ref["contactyes"]], rtol=RTOL)
    np.testing.assert_allclose(m.thresholds_, [ref["1|2"], ref["2|3"], ref["3|4"], ref["4|5"]],
                               rtol=RTOL)
    assert list(m.results_.params.index[-4:]) == ["one|two", "two|three", "three|four",
                                                  "four|five"]
    # reversing the order negates the slopes and mirrors the thresholds
    r = logitlab.OrderedLogisticRegression(levels=["five", "four", "three", "two", "one"]).fit(X, y)
    np.testing.assert_allclose(r.coef_, -m.coef_, rtol=1e-8)
    np.testing.assert_allclose(r.thresholds_, -m.thresholds_[::-1], rtol=1e-8)


def test_l2_penalty_shrinks_slopes_only():
    """With ``alpha`` the objective is the mean NLL + alpha/2 ‖β‖²: its gradient at
    the solution is zero (checked by finite differences of the objective), the
    thresholds are not penalized."""
    df = wine()
    X = np.column_stack([(df["temp"] == "warm").to_numpy(float),
                         (df["contact"] == "yes").to_numpy(float)])
    y = df["rating"].to_numpy()
    alpha = 0.05
    m = logitlab.OrderedLogisticRegression(alpha=alpha).fit(X, y)
    fam = m.results_.family
    s = np.ones(len(y))
    codes = y - 1

    def objective(w):
        loss = fam.chunk_stats(X, codes, s, None, w[:, None], grad=False)[0] / len(y)
        return loss + 0.5 * alpha * np.sum(w[:2] ** 2)

    w = m.results_.coef
    h = 1e-6
    grad = [(objective(w + h * e) - objective(w - h * e)) / (2 * h) for e in np.eye(w.size)]
    np.testing.assert_allclose(grad, 0.0, atol=1e-7)
    unpen = logitlab.OrderedLogisticRegression().fit(X, y)
    assert np.all(np.abs(m.coef_) < np.abs(unpen.coef_))


@pytest.mark.parametrize("weights", [False, True])
def test_family_derivatives_against_finite_differences(weights):
    rng = np.random.default_rng(3)
    n, d, K = 150, 3, 5
    X = rng.normal(size=(n, d))
    y = rng.integers(0, K, n)
    s = rng.uniform(0.2, 3.0, n) if weights else np.ones(n)
    offset = 0.3 * rng.normal(size=n)
    fam = CumulativeLogit.create(d, K)
    w = np.r_[0.4 * rng.normal(size=d), np.sort(rng.normal(size=K - 1) * 1.5)]

    def loss(v):
        return fam.chunk_stats(X, y, s, offset, v[:, None], grad=False)[0]

    def grad(v):
        return fam.chunk_stats(X, y, s, offset, v[:, None])[1].ravel()

    f, g, H, curv = fam.chunk_stats(X, y, s, offset, w[:, None], hess=True, curvature=True)
    np.testing.assert_allclose(f, -np.sum(s * np.log(fam.probabilities(
        fam.linear_predictor(X, w[:, None], offset))[np.arange(n), y])), rtol=1e-12)
    h = 1e-6
    E = np.eye(w.size)
    g_fd = np.array([(loss(w + h * e) - loss(w - h * e)) / (2 * h) for e in E])
    H_fd = np.array([(grad(w + h * e) - grad(w - h * e)) / (2 * h) for e in E])
    np.testing.assert_allclose(g.ravel(), g_fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6)
    v = rng.normal(size=w.size)
    np.testing.assert_allclose(fam.chunk_hessp(X, curv, v[:, None]).ravel(), H @ v, rtol=1e-10)
    np.testing.assert_allclose(fam.chunk_hess_diag(X, curv).ravel(), np.diag(H), rtol=1e-10)
    rows = np.array([1, d, d + 2])
    np.testing.assert_allclose(fam.chunk_hess_rows(X, curv, rows), H[np.ix_(rows, rows)])
    B = fam.chunk_hessian_root(X, y, s, offset, w[:, None])
    np.testing.assert_allclose(B.T @ B, H, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fam.chunk_scores(X, y, s, offset, w[:, None]).sum(axis=0),
                               g.ravel(), rtol=1e-10, atol=1e-12)


def test_probabilities_in_the_tails():
    """Log-probabilities stay exact where the probabilities underflow: against
    the closed forms log σ(a) and log(σ(a) − σ(b)) in high precision."""
    import mpmath
    fam = CumulativeLogit.create(1, 4)
    Z = np.array([[-800.0, -799.0, 900.0], [30.0, 40.0, 50.0], [-5.0, 1e-9, 2e-9]])
    got = fam.log_probabilities(Z)
    mpmath.mp.dps = 1000                       # 1 − σ(900) ≈ e^{−900}
    sig = lambda t: 1 / (1 + mpmath.e ** (-mpmath.mpf(t)))    # noqa: E731
    for i, row in enumerate(Z):
        cum = [mpmath.mpf(0)] + [sig(t) for t in row] + [mpmath.mpf(1)]
        for k in range(4):
            want = float(mpmath.log(cum[k + 1] - cum[k]))
            np.testing.assert_allclose(got[i, k], want, rtol=1e-9)


def test_text_labels_need_an_order():
    X = np.arange(12.0)[:, None]
    y = np.array(["low", "medium", "high"] * 4)
    with pytest.raises(ValueError, match="order is not known"):
        logitlab.OrderedLogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match=r"not in levels: \['high'\]"):
        logitlab.OrderedLogisticRegression(levels=["low", "medium"]).fit(X, y)
    with pytest.raises(ValueError, match=r"levels \['top'\] have no rows"):
        logitlab.OrderedLogisticRegression(levels=["low", "medium", "high", "top"]).fit(X, y)
    df = pd.DataFrame({"x": X[:, 0], "y": pd.Categorical(y)})
    with pytest.raises(ValueError, match="unordered Categorical"):
        logitlab.fit("y ~ x", df, family="ordinal")


def test_options_that_do_not_apply_are_refused():
    X = np.arange(12.0)[:, None]
    y = np.array([1, 2, 3] * 4)
    with pytest.raises(ValueError, match="firth"):
        logitlab.OrderedLogisticRegression(penalty="firth").fit(X, y)
    with pytest.raises(ValueError, match="at least 3 ordered categories"):
        logitlab.OrderedLogisticRegression().fit(X, y % 2)
    with pytest.raises(ValueError, match="family must be"):
        logitlab.fit("y ~ x", pd.DataFrame({"x": X[:, 0], "y": y}), family="probit")
    m = logitlab.OrderedLogisticRegression().fit(X, y)
    with pytest.raises(NotImplementedError, match="ordinal"):
        m.influence()


def test_aliased_column_is_dropped_as_clm_does():
    """A column equal to another is aliased (held at 0, reported), the rest of
    the fit is that without it."""
    df = wine()
    df["warm"] = (df["temp"] == "warm").astype(float)
    df["warm2"] = df["warm"]
    with pytest.warns(logitlab.CollinearityWarning, match="warm2"):
        m = logitlab.fit("rating ~ warm + warm2 + contact", df, family="ordinal")
    assert m.aliased_ == ["warm2"]
    ref = REF["wine"]["coef"]
    np.testing.assert_allclose(m.results_.params["warm"], ref["tempwarm"], rtol=RTOL)


def test_predictions_with_intervals_match_the_delta_method():
    """``get_prediction``'s standard errors equal the delta method with a
    finite-difference Jacobian of the probabilities (and of the cumulative
    logits); the intervals are those of the logit scale, transformed."""
    from scipy import special, stats
    df = wine()
    m = logitlab.fit("rating ~ temp * contact", df, family="ordinal")
    rows = df.iloc[[0, 20, 40, 60]]
    table = m.get_prediction(rows, level=0.9)
    fam, w0 = m.results_.family, m.results_.coef
    V = m.results_.cov_params().to_numpy()
    X = m.design_matrix(rows)

    def jacobian(f):
        return np.array([(f(w0 + 1e-6 * e) - f(w0 - 1e-6 * e)) / 2e-6
                         for e in np.eye(w0.size)]).T

    def probs(w):
        return fam.probabilities(fam.linear_predictor(X, w)).ravel()

    J = jacobian(probs)
    se = np.sqrt(np.einsum("ij,jk,ik->i", J, V, J))
    np.testing.assert_allclose(table["prob"], probs(w0), rtol=1e-12)
    np.testing.assert_allclose(table["prob_se"], se, rtol=1e-6)
    p = probs(w0)
    q = stats.norm.ppf(0.95)
    half = q * se / (p * (1 - p))
    np.testing.assert_allclose(table["prob_ci_low"], special.expit(special.logit(p) - half),
                               rtol=1e-6)
    np.testing.assert_allclose(table["prob_ci_high"], special.expit(special.logit(p) + half),
                               rtol=1e-6)
    Jc = jacobian(lambda w: fam.linear_predictor(X, w).ravel())
    cse = np.sqrt(np.einsum("ij,jk,ik->i", Jc, V, Jc)).reshape(4, 4)
    np.testing.assert_allclose(table["cum_logit_se"].to_numpy().reshape(4, 5)[:, :4], cse,
                               rtol=1e-6)


def test_model_file_round_trip(tmp_path):
    """An ordinal model saved and loaded predicts bit-identically, keeps its
    summary and is a format-version-2 file; binary models stay version 1."""
    df = wine()
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal")
    path = logitlab.save(m, tmp_path / "ordinal.json")
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 2
    assert doc["estimator"]["class"] == "OrderedLogisticRegression"
    loaded = logitlab.load(path)
    assert type(loaded).__name__ == "OrderedLogisticRegression"
    np.testing.assert_array_equal(loaded.predict_proba(df), m.predict_proba(df))
    assert loaded.summary().to_dict()["terms"] == m.summary().to_dict()["terms"]
    kinds = [t["kind"] for t in loaded.summary().to_dict()["terms"]]
    assert kinds == ["coef"] * 2 + ["threshold"] * 4
    # thresholds that are not increasing are refused at load
    doc["state"]["coef"][-1], doc["state"]["coef"][-2] = doc["state"]["coef"][-2], \
        doc["state"]["coef"][-1]
    del doc["sha256"]
    from logitlab.persist.model_file import checksum
    doc["sha256"] = checksum(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="thresholds must be increasing"):
        logitlab.load(bad)


def test_tests_per_term_match_clm():
    """drop1 / type-II LR tests and the LR test of nested fits, against clm's
    drop1 and anova; the Wald test of one coefficient is its z²."""
    df = wine()
    ref = REF["wine"]
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal")
    table = m.anova(type=2, test="LR")
    for term, lrt in zip(ref["drop1"]["term"], ref["drop1"]["lrt"]):
        np.testing.assert_allclose(table.loc[term, "LR Chisq"], lrt, rtol=1e-7)
    small = logitlab.fit("rating ~ temp", df, family="ordinal")
    lr = m.lr_test(small)
    np.testing.assert_allclose(lr["statistic"], ref["lr_vs_temp_only"]["lrt"], rtol=1e-7)
    assert lr["df"] == ref["lr_vs_temp_only"]["df"]
    np.testing.assert_allclose(lr["p_value"], ref["lr_vs_temp_only"]["p"], rtol=1e-6)
    z = m.results_.zvalues["contact[T.yes]"]
    np.testing.assert_allclose(m.wald_test(terms=["contact"])["statistic"], z ** 2, rtol=1e-12)
    inter = logitlab.fit("rating ~ temp * contact", df, family="ordinal").drop1()
    d1 = REF["wine_interaction"]["drop1"]
    np.testing.assert_allclose(inter.loc["temp:contact", "LRT"], d1["lrt"], rtol=1e-7)
    np.testing.assert_allclose(inter.loc["temp:contact", "aic"], d1["aic"], rtol=1e-10)


@pytest.mark.slow
def test_cli_fits_an_ordinal_model(tmp_path):
    """``logitlab fit --family ordinal --levels ... --json``: the clm estimates,
    thresholds as terms of kind "threshold"; the saved model predicts."""
    import subprocess
    import sys
    out = tmp_path / "m.json"
    run = subprocess.run([sys.executable, "-m", "logitlab.cli", "fit", str(DATA / "housing.csv"),
                          "-f", "Sat ~ Infl + Type + Cont", "--weights", "Freq",
                          "--family", "ordinal", "--levels", "Low,Medium,High", "--json",
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["model"] == "ordinal" and doc["classes"] == ["Low", "Medium", "High"]
    ref = REF["housing"]
    # the CSV's text predictors are coded against their first sorted level (not R's
    # factor order), so compare what the coding does not change: ℓ, AIC, thresholds' count
    np.testing.assert_allclose(doc["log_likelihood"], ref["loglik"], rtol=1e-10)
    np.testing.assert_allclose(doc["aic"], ref["aic"], rtol=1e-10)
    thresholds = [t for t in doc["terms"] if t["kind"] == "threshold"]
    assert [t["name"] for t in thresholds] == ["Low|Medium", "Medium|High"]
    pred = subprocess.run([sys.executable, "-m", "logitlab.cli", "predict", str(out),
                           str(DATA / "housing.csv"), "--ci", "0.9"], capture_output=True,
                          text=True, timeout=300)
    assert pred.returncode == 0, pred.stderr
    table = pd.read_csv(__import__("io").StringIO(pred.stdout))
    model = logitlab.load(out)
    raw = pd.read_csv(DATA / "housing.csv")
    np.testing.assert_allclose(table[["prob_Low", "prob_Medium", "prob_High"]],
                               model.predict_proba(raw), rtol=1e-12)
    np.testing.assert_allclose(table["cum_logit_Low|Medium"], model.cumulative_logits(raw)[:, 0],
                               rtol=1e-12)
    np.testing.assert_allclose(table["prob_High_se"],
                               model.get_prediction(raw, level=0.9).xs("High", level="class")
                               ["prob_se"], rtol=1e-12)
    expl = subprocess.run([sys.executable, "-m", "logitlab.cli", "explain", str(out),
                           str(DATA / "housing.csv"), "--row", "7", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert expl.returncode == 0, expl.stderr
    steps = json.loads(expl.stdout)
    assert steps["row"] == 7
    np.testing.assert_allclose(list(steps["probabilities"].values()),
                               model.predict_proba(raw.iloc[[7]])[0], rtol=1e-13)
    bad = subprocess.run([sys.executable, "-m", "logitlab.cli", "fit", str(DATA / "housing.csv"),
                          "-f", "Sat ~ Infl", "--family", "ordinal"], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode != 0 and "--levels" in bad.stderr and "Traceback" not in bad.stderr


def test_partial_proportional_odds_matches_clm_nominal():
    """``nominal=["contact"]``: contact's effect differs by cut; clm's
    ``nominal = ~ contact`` reports the same coefficients with the opposite sign
    (``ν = −γ``), the same thresholds, SEs and log-likelihood."""
    ref = REF["wine_nominal_contact"]
    df = wine()
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal", nominal=["contact"])
    params, bse = m.results_.params, m.results_.bse
    for cut in ["1|2", "2|3", "3|4", "4|5"]:
        np.testing.assert_allclose(params[cut], ref["coef"][f"{cut}.(Intercept)"], rtol=RTOL)
        np.testing.assert_allclose(params[f"{cut}.contact[T.yes]"],
                                   -ref["coef"][f"{cut}.contactyes"], rtol=RTOL)
        np.testing.assert_allclose(bse[f"{cut}.contact[T.yes]"], ref["se"][f"{cut}.contactyes"],
                                   rtol=RTOL)
    np.testing.assert_allclose(params["temp[T.warm]"], ref["coef"]["tempwarm"], rtol=RTOL)
    assert "contact[T.yes]" not in params.index          # its shared slope is not estimated
    np.testing.assert_allclose(m.results_.llf, ref["loglik"], rtol=1e-10)
    np.testing.assert_allclose(m.results_.aic, ref["aic"], rtol=1e-10)
    kinds = {t["name"]: t["kind"] for t in m.summary().to_dict()["terms"]}
    assert kinds["1|2.contact[T.yes]"] == "nominal" and kinds["1|2"] == "threshold"
    assert m.nominal_coef_.shape == (1, 4)


def test_partial_proportional_odds_predictions_and_derivatives():
    """A nominal model's predictions with intervals against the finite-difference
    delta method, and its family derivatives against finite differences."""
    df = wine()
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal", nominal=["contact"])
    rows = df.iloc[[0, 30, 50]]
    table = m.get_prediction(rows)
    fam, w0 = m.results_.family, m.results_.coef
    V = np.zeros((w0.size, w0.size))
    est = m.results_.inference.estimated
    V[np.ix_(est, est)] = m.results_.cov_params().to_numpy()
    X = m.design_matrix(rows)

    def probs(w):
        return fam.probabilities(fam.linear_predictor(X, w)).ravel()

    J = np.array([(probs(w0 + 1e-6 * e) - probs(w0 - 1e-6 * e)) / 2e-6
                  for e in np.eye(w0.size)]).T
    np.testing.assert_allclose(table["prob_se"], np.sqrt(np.einsum("ij,jk,ik->i", J, V, J)),
                               rtol=1e-6)
    np.testing.assert_allclose(table["prob"].to_numpy().reshape(3, 5), m.predict_proba(rows),
                               rtol=1e-12)
    Xa = m.design_matrix(df)
    y = df["rating"].to_numpy() - 1
    s = np.linspace(0.5, 2.0, y.size)

    def grad(v):
        return fam.chunk_stats(Xa, y, s, None, v[:, None])[1].ravel()

    f, g, H, curv = fam.chunk_stats(Xa, y, s, None, w0[:, None], hess=True, curvature=True)
    H_fd = np.array([(grad(w0 + 1e-6 * e) - grad(w0 - 1e-6 * e)) / 2e-6
                     for e in np.eye(w0.size)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6)
    v = np.linspace(-1, 1, w0.size)
    np.testing.assert_allclose(fam.chunk_hessp(Xa, curv, v[:, None]).ravel(), H @ v, rtol=1e-10)
    np.testing.assert_allclose(fam.chunk_hess_diag(Xa, curv).ravel(), np.diag(H), rtol=1e-10)
    B = fam.chunk_hessian_root(Xa, y, s, None, w0[:, None])
    np.testing.assert_allclose(B.T @ B, H, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("case", ["housing", "wine", "sim"])
def test_nominal_test_matches_clm(case):
    """LR tests of proportional odds per term: against clm refits with each term
    nominal (tight, 1e-6), and on wine against nominal_test itself."""
    if case == "housing":
        m = logitlab.fit("Sat ~ Infl + Type + Cont", housing(), family="ordinal",
                         sample_weight="Freq")
        names = {"Infl": "Infl", "Type": "Type", "Cont": "Cont"}
    elif case == "wine":
        m = logitlab.fit("rating ~ temp + contact", wine(), family="ordinal")
        names = {"temp": "temp", "contact": "contact"}
    else:
        m = logitlab.fit("y ~ x1 + x2 + C(g)", pd.read_csv(DATA / "ordinal_sim.csv"),
                         family="ordinal")
        names = {"x1": "x1", "x2": "x2", "C(g)": "g"}
    table = m.nominal_test()
    tight = REF[case]["nominal_tight"]
    for ours, theirs in names.items():
        np.testing.assert_allclose(table.loc[ours, "lrt"], tight[theirs]["lrt"], rtol=1e-6,
                                   atol=1e-9)
        assert table.loc[ours, "df"] == tight[theirs]["df"]
        np.testing.assert_allclose(table.loc[ours, "loglik"], tight[theirs]["loglik"], rtol=1e-10)
    if case == "wine":
        nt = REF["wine"]["nominal_test"]
        np.testing.assert_allclose(table.loc[nt["term"], "lrt"], nt["lrt"], rtol=1e-5)
        np.testing.assert_allclose(table.loc[nt["term"], "p_value"], nt["p"], rtol=1e-5)


@pytest.mark.parametrize("case", ["housing", "sim"])
def test_brant_test_matches_its_definition_in_r(case):
    """Brant's omnibus and per-term Wald statistics against the definition
    computed with R's glm (tests/r/ordinal.R)."""
    if case == "housing":
        m = logitlab.fit("Sat ~ Infl + Type + Cont", housing(), family="ordinal",
                         sample_weight="Freq")
        names = {"omnibus": "omnibus", "Infl": "Infl", "Type": "Type", "Cont": "Cont"}
    else:
        m = logitlab.fit("y ~ x1 + x2 + C(g)", pd.read_csv(DATA / "ordinal_sim.csv"),
                         family="ordinal")
        names = {"omnibus": "omnibus", "x1": "x1", "x2": "x2", "C(g)": "g"}
    table = m.brant_test()
    ref = REF[case]["brant"]
    for ours, theirs in names.items():
        np.testing.assert_allclose(table.loc[ours, "statistic"], ref[theirs]["statistic"],
                                   rtol=1e-7)
        assert table.loc[ours, "df"] == ref[theirs]["df"]
        np.testing.assert_allclose(table.loc[ours, "p_value"], ref[theirs]["p"], rtol=1e-6)


def test_brant_test_says_when_a_split_is_separated():
    m = logitlab.fit("rating ~ temp + contact", wine(), family="ordinal")
    with pytest.raises(ValueError, match="nominal_test"):
        m.brant_test()


def test_partial_proportional_odds_model_file_round_trip(tmp_path):
    df = wine()
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal", nominal=["contact"])
    loaded = logitlab.load(logitlab.save(m, tmp_path / "ppo.json"))
    np.testing.assert_array_equal(loaded.predict_proba(df), m.predict_proba(df))
    pd.testing.assert_series_equal(loaded.results_.bse, m.results_.bse)


@pytest.mark.parametrize("nominal", [None, ["contact"]])
def test_explain_walks_from_contributions_to_probabilities(nominal):
    """explain: the contributions add up to η = decision_function, the cumulative
    logits are cumulative_logits, the probabilities predict_proba, the decision predict."""
    df = wine()
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal", nominal=nominal)
    one = m.explain(df, 40)
    assert one.eta == pytest.approx(m.decision_function(df.iloc[[40]])[0], abs=1e-15)
    np.testing.assert_allclose(one.cuts["cum_logit"], m.cumulative_logits(df.iloc[[40]])[0],
                               rtol=1e-14)
    np.testing.assert_allclose(one.probabilities, m.predict_proba(df.iloc[[40]])[0], rtol=1e-13)
    assert one.decision == m.predict(df.iloc[[40]])[0]
    assert "P(y ≤ k)" in str(one) and "<table>" in one._repr_html_()
    frame = m.explain(df)
    np.testing.assert_allclose(frame["contribution"].sum(axis=1), frame[("eta", "")],
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(frame["probability"].to_numpy(), m.predict_proba(df), rtol=1e-13)
    assert list(frame[("predicted", "")]) == list(m.predict(df))


@pytest.mark.parametrize("kind", ["dydx", "eyex"])
@pytest.mark.parametrize("nominal", [None, ["C(g)"]])
def test_margins_against_finite_differences(kind, nominal):
    """Average marginal effects on every level's probability: the estimates
    against central differences of the average predicted probabilities (numeric
    x1) and the exact discrete change (factor g), the standard errors against
    the delta method with a finite-difference Jacobian over the coefficients."""
    sim = pd.read_csv(DATA / "ordinal_sim.csv")
    m = logitlab.fit("y ~ x1 + x2 + C(g)", sim, family="ordinal", nominal=nominal)
    table = m.margins(sim, kind=kind)
    fam, w0 = m.results_.family, m.results_.coef.copy()
    est = m.results_.inference.estimated
    V = np.zeros((w0.size, w0.size))
    V[np.ix_(est, est)] = m.results_.cov_params().to_numpy()

    def probs(frame, w):
        return fam.probabilities(fam.linear_predictor(m.design_matrix(frame), w))

    def ame_x1(w, h=1e-5):
        d = (probs(sim.assign(x1=sim.x1 + h), w) - probs(sim.assign(x1=sim.x1 - h), w)) / (2 * h)
        if kind == "eyex":
            d = d * sim.x1.to_numpy()[:, None] / probs(sim, w)
        return d.mean(axis=0)

    def change_g(w):
        hi, lo = probs(sim.assign(g="c"), w), probs(sim.assign(g="a"), w)
        # eyex: discrete changes on the log scale (statsmodels' convention)
        return (np.log(hi) - np.log(lo) if kind == "eyex" else hi - lo).mean(axis=0)

    for term, contrast, f in [("x1", None, ame_x1), ("g", "c - a", change_g)]:
        rows = table[(table.term == term) & ((table.contrast == contrast) if contrast else True)]
        np.testing.assert_allclose(rows["estimate"], f(w0), rtol=1e-6, atol=1e-10)
        J = np.array([(f(w0 + 1e-5 * e) - f(w0 - 1e-5 * e)) / 2e-5 for e in np.eye(w0.size)]).T
        np.testing.assert_allclose(rows["std_err"], np.sqrt(np.einsum("ij,jk,ik->i", J, V, J)),
                                   rtol=1e-4)
    assert list(table["class"].unique()) == [1, 2, 3, 4]


def test_margins_refuse_rows_where_nominal_cuts_cross():
    """With x2 nominal the fitted cuts cross at one training row (a property of
    partial proportional-odds models, as in clm): its level probabilities are not
    all positive, and margins and predictions say so instead of averaging NaN."""
    sim = pd.read_csv(DATA / "ordinal_sim.csv")
    m = logitlab.fit("y ~ x1 + x2 + C(g)", sim, family="ordinal", nominal=["x2"])
    with pytest.raises(ValueError, match="cross at 1 of the rows evaluated"):
        m.margins(sim)
    with pytest.raises(ValueError, match="cross at 1 of the rows evaluated.*predicted probabil"):
        m.predict_proba(sim)


def test_compiled_and_numpy_row_loops_agree():
    """Chunks of at least COMPILED_MIN_ENTRIES entries go through the compiled row
    loop; it gives the NumPy path's loss, gradient and Hessian (rounding only)."""
    from logitlab.core.design import COMPILED_MIN_ENTRIES
    rng = np.random.default_rng(7)
    d, K = 4, 5
    n = COMPILED_MIN_ENTRIES // d + 10
    X = rng.normal(size=(n, d))
    y = rng.integers(0, K, n)
    s = rng.uniform(0.5, 2.0, n)
    offset = 0.2 * rng.normal(size=n)
    fam = CumulativeLogit.create(d, K)
    W = np.r_[0.3 * rng.normal(size=d), [-1.5, -0.2, 0.4, 1.9]][:, None]
    big = fam.chunk_stats(X, y, s, offset, W, hess=True, curvature=True)
    halves = [fam.chunk_stats(X[sl], y[sl], s[sl], offset[sl], W, hess=True)
              for sl in (slice(0, 100), slice(100, 200))]       # small chunks: NumPy
    small = fam.chunk_stats(X[:200], y[:200], s[:200], offset[:200], W, hess=True)
    np.testing.assert_allclose(small[0], halves[0][0] + halves[1][0], rtol=1e-12)
    from logitlab.families.ordinal import row_terms
    a, b = fam._bounds(X, y, offset, W)
    t = row_terms(a, b)
    np.testing.assert_allclose(big[0], -np.sum(s * t.log_p), rtol=1e-12)
    ref_grad = fam.chunk_scores(X, y, s, offset, W).sum(axis=0)
    np.testing.assert_allclose(big[1].ravel(), ref_grad, rtol=1e-10, atol=1e-8)
    numpy_curv = fam.curvature_of(X, y, s, offset, W)
    np.testing.assert_allclose(big[2], fam._hessian(X, numpy_curv), rtol=1e-10, atol=1e-8)
    assert big[3].c.shape == (n,)


@pytest.mark.slow
def test_report_covers_an_ordinal_model():
    """The HTML report of an ordinal fit: the thresholds in the coefficient table,
    no thresholds in the odds-ratio plot, and the example row's level
    probabilities (in the page's data-value attributes) equal predict_proba."""
    import re
    from logitlab.report.html import render_report
    df = wine()
    m = logitlab.fit("rating ~ temp + contact", df, family="ordinal")
    page = render_report(m, df, y="rating", example_row=3)
    assert "4|5" in page and "Ordinal logistic regression" in page
    levels = page.split("id='explanation-levels'", 1)[1].split("</table>", 1)[0]
    shown = [float(v) for v in re.findall(r"data-key='probability' data-value='([^']+)'", levels)]
    np.testing.assert_allclose(shown, m.predict_proba(df.iloc[[3]])[0], rtol=1e-12)
