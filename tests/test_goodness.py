"""Goodness of fit (``logitlab.results.goodness``, ``model.goodness_of_fit``) against
independent references.

* Hosmer–Lemeshow: R's ``ResourceSelection::hoslem.test`` (0.3-6) formula written out
  in ``tests/r/influence.R`` (ResourceSelection is not packaged in Debian), for g = 10,
  8, 5 on MASS::birthwt; and an independent implementation in this file (R's type-7
  quantile by hand, ``pandas.cut(include_lowest=True)``, group sums).
* le Cessie–van Houwelingen–Copas–Hosmer: ``rms::residuals.lrm(type = "gof")`` (rms
  6.5-0, Debian r-cran-rms) on the same model; and statsmodels WLS for its variance.
* Grouped Pearson and deviance χ²: R's glm fitted to the covariate patterns pooled by
  ``aggregate`` (its deviance, Σ Pearson residual², df.residual); R's grouped esoph fit
  (``cbind(ncases, ncontrols)``) whose deviance is the pattern deviance of the
  Bernoulli rows.

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
from scipy import special, stats

import logitlab
from logitlab import LogisticRegression
from logitlab.results import goodness

from refcheck import assert_rel, load

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "influence_r.json").read_text())
RTOL = 1e-8
FORMULA = "low ~ age + lwt + C(race) + smoke + ptl + ht + ui"


def _quiet_fit(formula, df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return logitlab.fit(formula, df, **kw)


@pytest.fixture(scope="module")
def birthwt():
    return _quiet_fit(FORMULA, load("birthwt.csv"))


def _quantile_type7(x, probs):
    """R's default quantile: x_(⌊h⌋) + (h − ⌊h⌋)(x_(⌊h⌋+1) − x_(⌊h⌋)), h = (n − 1) p."""
    x = np.sort(x)
    h = (x.size - 1) * np.asarray(probs)
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, x.size - 1)
    return x[lo] + (h - lo) * (x[hi] - x[lo])


def _hoslem_independent(y, p, g):
    breaks = np.unique(_quantile_type7(p, np.arange(g + 1) / g))
    groups = pd.cut(p, breaks, include_lowest=True, right=True)
    t = pd.DataFrame({"g": groups, "y": y, "p": p}).groupby("g", observed=False)
    o1, e1, n = t.y.sum().to_numpy(), t.p.sum().to_numpy(), t.size().to_numpy()
    stat = np.sum((o1 - e1) ** 2 / e1 + ((n - o1) - (n - e1)) ** 2 / (n - e1))
    return stat, o1, e1, n


@pytest.mark.parametrize("g", [10, 8, 5])
def test_hosmer_lemeshow_matches_r_and_an_independent_implementation(birthwt, g):
    test = goodness.hosmer_lemeshow(birthwt, g=g)
    ref = R["hoslem"][f"g{g}"]
    assert test.df == g - 2 == ref["df"]
    assert_rel(test.statistic, ref["statistic"], f"HL g={g}", RTOL)
    assert_rel(test.p_value, ref["p_value"], f"HL p g={g}", RTOL)
    table = test.table
    np.testing.assert_array_equal(table["n"], ref["n"])
    np.testing.assert_array_equal(table["observed_1"], ref["observed1"])
    np.testing.assert_array_equal(table["observed_0"], ref["observed0"])
    assert_rel(table["expected_1"], ref["expected1"], "HL expected 1", RTOL)
    assert_rel(table["expected_0"], ref["expected0"], "HL expected 0", RTOL)
    df = load("birthwt.csv")
    p = birthwt.predict_proba(df)[:, 1]
    stat, o1, e1, n = _hoslem_independent(df.low.to_numpy(), p, g)
    assert_rel(test.statistic, stat, "HL independent", 1e-12)
    np.testing.assert_array_equal(table["n"], n)
    assert_rel(table["expected_1"], e1, "HL independent expected", 1e-12)


def test_hosmer_lemeshow_ties_leave_fewer_groups_but_keep_g_minus_2_df():
    df = load("birthwt.csv")
    model = _quiet_fit("low ~ smoke + C(race) + ht", df)   # 11 distinct fitted values
    test = goodness.hosmer_lemeshow(model, g=10)
    ref = R["hoslem"]["ties"]
    p = model.predict_proba(df)[:, 1]
    stat, _, _, n = _hoslem_independent(df.low.to_numpy(), p, 10)
    assert test.details["groups"] == len(n) == len(ref["n"]) < 10
    assert test.df == 8 == ref["df"]
    np.testing.assert_array_equal(test.table["n"], ref["n"])
    assert_rel(test.statistic, ref["statistic"], "HL with ties (R)", RTOL)
    assert_rel(test.statistic, stat, "HL with ties", 1e-12)


def test_frequency_weights_equal_the_expanded_rows_for_le_cessie():
    df = load("birthwt.csv")
    w = 1 + np.arange(len(df)) % 3
    weighted = _quiet_fit(FORMULA, df, sample_weight=w)
    expanded = _quiet_fit(FORMULA, df.loc[df.index.repeat(w)].reset_index(drop=True))
    a = goodness.le_cessie_van_houwelingen(weighted)
    b = goodness.le_cessie_van_houwelingen(expanded)
    assert_rel(a.statistic, b.statistic, "le Cessie weights = expansion", 1e-8)
    assert_rel(a.details["sd"], b.details["sd"], "le Cessie sd", 1e-8)


def test_le_cessie_van_houwelingen_matches_rms(birthwt):
    test = goodness.le_cessie_van_houwelingen(birthwt)
    ref = R["lecessie"]
    assert_rel(birthwt.results_.params.to_numpy(), ref["coef"], "lrm coef", 1e-10)
    assert test.df is None
    assert_rel(test.statistic, ref["z"], "le Cessie z", 1e-8)
    assert_rel(test.p_value, ref["p_value"], "le Cessie p", 1e-8)
    for key in ("sse", "expected", "sd"):
        assert_rel(test.details[key], ref[key], f"le Cessie {key}", 1e-8)
    # the variance as a weighted least-squares residual sum of squares (statsmodels)
    df = load("birthwt.csv")
    p = birthwt.predict_proba(df)[:, 1]
    X = sm.add_constant(birthwt.design_matrix(df))
    v = p * (1 - p)
    wls = sm.WLS(1 - 2 * p, X, weights=v).fit()
    assert_rel(test.details["sd"], np.sqrt(np.sum(v * wls.resid ** 2)), "sd by WLS", 1e-10)


def test_pattern_chisq_matches_r_pooled_fit():
    model = _quiet_fit("low ~ smoke + C(race) + ht", load("birthwt.csv"))
    result = model.goodness_of_fit()
    ref = R["patterns"]
    assert result["pearson"].details["patterns"] == ref["n_patterns"]
    assert result["pearson"].df == result["deviance"].df == ref["df"]
    assert_rel(result["pearson"].statistic, ref["pearson"], "pattern Pearson", RTOL)
    assert_rel(result["deviance"].statistic, ref["deviance"], "pattern deviance", RTOL)
    assert_rel(result["deviance"].p_value, stats.chi2.sf(ref["deviance"], ref["df"]),
               "pattern deviance p", RTOL)


def test_pattern_deviance_of_bernoulli_rows_is_r_s_grouped_deviance():
    es = load("influence_esoph.csv")
    long = pd.concat([es.assign(y=1, n=es.ncases), es.assign(y=0, n=es.ncontrols)])
    model = _quiet_fit("y ~ C(agegp) + C(alcgp) + tobgp", long[long.n > 0], sample_weight="n")
    result = goodness.pattern_chisq(model)
    ref = R["esoph"]
    assert result["deviance"].df == ref["df_residual"]
    assert_rel(result["deviance"].statistic, ref["deviance_total"], "esoph deviance", RTOL)
    assert_rel(result["pearson"].statistic, np.sum(np.square(ref["pearson"])),
               "esoph Pearson", RTOL)
    # the same on the grouped rows given as proportions with trials
    trials = (es.ncases + es.ncontrols).to_numpy(float)
    grouped = goodness.pattern_chisq(model, es, es.ncases / trials, sample_weight=trials)
    assert_rel(grouped["deviance"].statistic, ref["deviance_total"], "esoph grouped", RTOL)


def test_sparse_patterns_warn(birthwt):
    with pytest.warns(goodness.SparsePatternsWarning, match="hardly repeat"):
        result = birthwt.goodness_of_fit()
    # 0/1 rows: the pattern deviance is the model's deviance (only 7 patterns repeat)
    assert result["deviance"].details["patterns"] < 189
    df = load("birthwt.csv")
    p = birthwt.predict_proba(df)[:, 1]
    assert result["deviance"].statistic <= -2 * np.sum(
        special.xlogy(df.low, p) + special.xlogy(1 - df.low, 1 - p)) + 1e-9


def test_to_dict_is_json_safe(birthwt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = {k: v.to_dict() for k, v in birthwt.goodness_of_fit().items()}
    text = json.dumps(out)
    back = json.loads(text)
    assert back["hosmer_lemeshow"]["df"] == 8.0
    assert len(back["hosmer_lemeshow"]["table"]) == 10


def test_bad_input(birthwt):
    with pytest.raises(ValueError, match="g must be an integer >= 3"):
        birthwt.goodness_of_fit(g=2)
    with pytest.raises(ValueError, match="g must be an integer >= 3"):
        goodness.hosmer_lemeshow(birthwt, g=4.5)
    iris = load("iris.csv")
    multi = LogisticRegression(alpha=0.01).fit(iris.drop(columns="target"), iris.target)
    with pytest.raises(ValueError, match="for binary models"):
        goodness.hosmer_lemeshow(multi, iris.drop(columns="target"), iris.target)
    const = _quiet_fit("low ~ 1", load("birthwt.csv"))
    with pytest.raises(ValueError, match="same fitted probability"):
        goodness.hosmer_lemeshow(const)


def test_no_more_patterns_than_coefficients():
    df = load("birthwt.csv")
    model = _quiet_fit("low ~ smoke", df)          # 2 patterns, 2 coefficients
    with pytest.raises(ValueError, match="2 covariate patterns for 2 coefficients"):
        goodness.pattern_chisq(model)
    result = model.goodness_of_fit(g=3)
    assert result["pearson"] is None and result["deviance"] is None
    # d = 1 - 2p is a function of smoke: in the span of the design, the test has no variance
    lc = result["le_cessie_van_houwelingen"]
    assert np.isnan(lc.statistic) and np.isnan(lc.p_value) and lc.details["sd"] == 0.0


def test_le_cessie_by_hand_with_one_covariate():
    df = load("birthwt.csv")
    model = _quiet_fit("low ~ age", df)
    p = model.predict_proba(df)[:, 1]
    y = df.low.to_numpy()
    v = p * (1 - p)
    X = sm.add_constant(df[["age"]].to_numpy(float))
    wls = sm.WLS(1 - 2 * p, X, weights=v).fit()
    z = (np.sum((y - p) ** 2) - v.sum()) / np.sqrt(np.sum(v * wls.resid ** 2))
    assert_rel(goodness.le_cessie_van_houwelingen(model).statistic, z, "le Cessie by hand",
               1e-8)
