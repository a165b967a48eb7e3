"""Profile-likelihood intervals in hard cases, and Firth's defaults (logistf's).

References, all independent of logitlab's output:

* ``tests/data/profile_bounds.json`` from ``tests/r/profile_bounds.R``: exact
  bounds by uniroot on offset-constrained ``glm.fit`` (maximum likelihood) and
  on an R Fisher-scoring maximization of Firth's penalized likelihood, for the
  designs in ``tests/data/profile/`` (near-collinear columns, quasi- and
  complete separation with bounds at ±Inf, weights and offsets) — compared to
  ``1e-6 · max(1, |bound|)``;
* R ``logistf``'s printed ``summary`` of the sex2 fit (penalized LR χ² and
  p-values, ``tests/data/README.md``), one unit of the last printed digit;
* constrained refits done here: statsmodels ``Logit`` with an offset (random hard
  designs), a numpy Newton on the multinomial likelihood and scipy BFGS on Firth's
  penalized likelihood, each judged by its gradient; at a bound the LR statistic
  must equal the χ²₁ quantile.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit

import logitlab
from logitlab import LogisticRegression
from logitlab.results import profile
from logitlab.inference import model_statistics

from refcheck import assert_printed, assert_rel, assert_stationary, load  # noqa: E402
from test_firth_profile import (design, firth_constrained_max, loglik,  # noqa: E402
                                penalized_loglik, table_beta)

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "profile_bounds.json").read_text())["designs"]
INTERCEPT = "(Intercept)"
#: per-design fit options (none needed: Firth's hat values come from triangular
#: solves, so even the near-collinear firth_collinear33 converges to the default tol)
FIT_OPTIONS: dict = {}


def number(v):
    return {"Inf": np.inf, "-Inf": -np.inf}.get(v, v) if isinstance(v, str) else float(v)


def fit_reference_design(name):
    """The design's model (warnings recorded) as R fitted it."""
    d = REFERENCE[name]
    df = pd.read_csv(DATA / d["file"])
    kw = {}
    if d["weights"]:
        kw["sample_weight"] = df[d["weights"]]
    if d["offset"]:
        kw["offset"] = df[d["offset"]]
    options = dict(FIT_OPTIONS.get(name, {}))
    if d["method"] == "firth":
        options["penalty"] = "firth"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = LogisticRegression(**options).fit(df[list(d["terms"])].astype(float), df[d["y"]], **kw)
    unexpected = [w for w in caught if not issubclass(w.category, logitlab.SeparationWarning)]
    assert not unexpected, [str(w.message) for w in unexpected]
    return m, d


def profile_quietly(m, **kw):
    """conf_int(method="profile") with every warning recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ci = m.conf_int(method="profile", **kw)
    return ci, caught


def compare_with_r(ci, d, what):
    """Every bound within 1e-6·max(1, |bound|) of R's; ±Inf exactly. Returns the worst."""
    worst = 0.0
    for term, (lo, hi) in d["bounds"].items():
        for got, ref in zip(ci.loc[term, ["ci_low", "ci_high"]], (number(lo), number(hi))):
            if np.isinf(ref):
                assert got == ref, f"{what} {term}: {got} where R's bound is {ref}"
                continue
            err = abs(got - ref) / max(1.0, abs(ref))
            worst = max(worst, err)
            assert err <= 1e-6, f"{what} {term}: {got!r} vs R {ref!r} (rel {err:.3g})"
    return worst


@pytest.mark.parametrize("name", list(REFERENCE))
def test_profile_bounds_match_exact_r_bounds(name):
    m, d = fit_reference_design(name)
    ci, caught = profile_quietly(m, level=d["level"])
    assert not caught, [str(w.message) for w in caught]      # no overflow, no failed refit
    assert list(ci.index) == list(d["bounds"])
    worst = compare_with_r(ci, d, name)
    refits = [n for pair in ci.attrs["refits"].values() for n in pair]
    print(f"{name}: max relative difference to R {worst:.3g}; refits per bound "
          f"max {max(refits)}, mean {np.mean(refits):.1f}")
    assert max(refits) <= profile.MAX_REFITS
    assert_rel(ci["or_ci_low"].replace(0.0, np.nan).dropna(),
               np.exp(ci["ci_low"]).replace(0.0, np.nan).dropna(), "OR bound = exp(bound)",
               rtol=1e-12)


@pytest.mark.parametrize("name", ["quasisep", "quasisep2", "complete"])
def test_infinite_bounds_found_by_the_search_alone(name):
    """Without the separation check's finding (as when it is skipped on a large
    design) the search itself must see the profile level off: ±Inf where R finds
    none, the same finite bounds elsewhere — or, where a constrained fit is itself
    separable and cannot converge (complete separation, z fixed far out), NaN with
    a warning naming the term, never a number."""
    m, d = fit_reference_design(name)
    assert m.inference_state_["infinite"]
    m.results_.inference.infinite = {}
    ci, caught = profile_quietly(m, level=d["level"])
    messages = [str(w.message) for w in caught]
    failed = {term for term in ci.index if ci.loc[term, ["ci_low", "ci_high"]].isna().any()}
    for term in failed:
        assert any(f"'{term}'" in msg and "NaN" in msg for msg in messages), (term, messages)
    assert len(messages) == len(failed)
    assert failed == ({"z"} if name == "complete" else set())
    ok = ci.drop(index=sorted(failed))
    compare_with_r(ok, {"bounds": {t: d["bounds"][t] for t in ok.index}}, name)
    searched = [(ci.attrs["refits"][t][k], ci.attrs["status"][t][k]) for t in ci.index
                for k in (0, 1)]
    assert all(n <= profile.MAX_REFITS for n, _ in searched)
    assert any(status == "infinite" and n > 0 for n, status in searched)


def test_refit_that_does_not_converge_is_nan_with_a_warning_naming_the_term(monkeypatch):
    """A refit allowed no iteration stays at its warm start, which is not the
    constrained maximum (its gradient says so): the bound must be NaN, never that
    start's value, and the warning names the term and the bound."""
    df = load("spector.csv")
    m = LogisticRegression().fit(df[["GPA", "TUCE", "PSI"]], df["GRADE"])
    monkeypatch.setattr(profile, "REFIT_MAX_ITER", 0)
    with pytest.warns(logitlab.ConvergenceWarning) as record:
        ci = m.conf_int(method="profile", terms=["GPA", "PSI"])
    assert ci[["ci_low", "ci_high"]].isna().all().all()
    messages = [str(w.message) for w in record]
    for term in ("GPA", "PSI"):
        for which in ("lower", "upper"):
            assert any(f"'{term}'" in msg and f"{which} bound is reported as NaN" in msg
                       for msg in messages), (term, which, messages)
    assert all(n <= profile.MAX_REFITS for pair in ci.attrs["refits"].values() for n in pair)


# ----------------------------------------------------------------- random hard designs
def hard_design(seed):
    """Near-collinear columns (ε from 1e-2 to 1e-4) on 33 to 120 rows, sometimes a
    third column close to a combination of two."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([33, 60, 80, 120]))
    eps = float(rng.choice([1e-2, 1e-3, 1e-4]))
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    X = pd.DataFrame({"x1": x1, "x2": x2, "xc": x1 + eps * rng.normal(size=n)})
    if seed % 3 == 0:
        X["xd"] = x1 - x2 + 10 * eps * rng.normal(size=n)
    y = (rng.uniform(size=n) < expit(0.3 + x1 - 0.7 * x2)).astype(float)
    return X, y


def sm_profile_llf(y, Xc, term, t, full):
    """statsmodels Logit on the other columns with x_term·t as offset, from the
    linear approximation of the profile path; judged by its score."""
    b, C = full.params, full.cov_params()
    start = b.drop(term) + C[term].drop(term) / C.loc[term, term] * (t - b[term])
    model = sm.Logit(y, Xc.drop(columns=[term]), offset=Xc[term] * t)
    with np.errstate(over="ignore"):      # statsmodels' 1 / (1 + exp(-z)) at large |z|
        res = model.fit(method="newton", tol=1e-12, maxiter=200, disp=0,
                        start_params=start.to_numpy())
    assert_stationary(model.score(res.params), f"statsmodels refit {term}={t:.6g}", atol=1e-6)
    return res.llf


# statsmodels flags tol=1e-12 as not reached; its fits are judged by their score instead
@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
@pytest.mark.parametrize("seed", range(24))
def test_random_hard_designs_give_true_bounds_and_no_scipy_error(seed):
    """No exception (the old search raised scipy's "f(a) and f(b) must have
    different signs"), at most MAX_REFITS refits a bound, and every bound a root:
    2 (ℓ̂ - ℓ_p(bound)) = χ²₁(0.95) by statsmodels' own refit."""
    X, y = hard_design(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = LogisticRegression().fit(X, y)
        ci = m.conf_int(method="profile")
    assert not caught, [str(w.message) for w in caught]
    assert not m.inference_state_["separated"]
    assert ci[["ci_low", "ci_high"]].notna().all().all()
    assert all(n <= profile.MAX_REFITS for pair in ci.attrs["refits"].values() for n in pair)
    Xc = sm.add_constant(X).rename(columns={"const": INTERCEPT})
    full = sm.Logit(y, Xc).fit(method="newton", tol=1e-12, maxiter=200, disp=0)
    assert_stationary(full.model.score(full.params), "statsmodels full fit", atol=1e-6)
    crit = stats.chi2.ppf(0.95, 1)
    worst = 0.0
    for term in ci.index:
        lo, hi = ci.loc[term, ["ci_low", "ci_high"]]
        assert lo < full.params[term] < hi
        for t in (lo, hi):
            stat = 2 * (full.llf - sm_profile_llf(y, Xc, term, t, full))
            worst = max(worst, abs(stat - crit))
            assert stat == pytest.approx(crit, abs=1e-6), (term, t)
    print(f"seed {seed} (n={len(y)}): max |2Δℓ - χ²| at the bounds {worst:.3g}")


# ----------------------------------------------------------------- multinomial
def mn_parts(Xd, codes, B):
    """Multinomial log-likelihood (reference class 0), gradient (p, K-1) and the
    Hessian of -ℓ over vec(B) in row-major (p, K-1) order."""
    Z = np.column_stack([np.zeros(len(Xd)), Xd @ B])
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    P = np.exp(logp)[:, 1:]
    Y = np.eye(B.shape[1] + 1)[codes][:, 1:]
    ll = float(logp[np.arange(len(codes)), codes].sum())
    grad = Xd.T @ (Y - P)
    p, k = B.shape
    H = np.zeros((p, k, p, k))
    for a in range(k):
        for b in range(k):
            w = P[:, a] * ((a == b) - P[:, b])
            H[:, a, :, b] = Xd.T @ (Xd * w[:, None])
    return ll, grad, H.reshape(p * k, p * k)


def mn_constrained_max(Xd, codes, B0, V, r, c, t):
    """max ℓ over B with B[r, c] = t: Newton with step halving (numpy), from the
    linear approximation of the profile path (V: covariance of vec(B))."""
    p, k = B0.shape
    j = r * k + c
    mask = np.ones(p * k, dtype=bool)
    mask[j] = False
    b = B0.ravel() + V[:, j] / V[j, j] * (t - B0.ravel()[j])
    b[j] = t
    ll, g, H = mn_parts(Xd, codes, b.reshape(p, k))
    for _ in range(100):
        if np.max(np.abs(g.ravel()[mask])) < 1e-9:
            break
        step = np.zeros(p * k)
        step[mask] = np.linalg.solve(H[np.ix_(mask, mask)], g.ravel()[mask])
        s = 1.0
        while True:
            new = mn_parts(Xd, codes, (b + s * step).reshape(p, k))
            if new[0] >= ll - 1e-12 * abs(ll) or s < 1e-10:
                break
            s /= 2
        b = b + s * step
        ll, g, H = new
    assert_stationary(g.ravel()[mask], "multinomial constrained max", atol=1e-7)
    return ll


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_multinomial_near_collinear_profile_by_numpy_refits():
    df = load("birthwt.csv")
    rng = np.random.default_rng(11)
    X = pd.DataFrame({"age": df.age.astype(float), "smoke": df.smoke.astype(float)})
    X["agec"] = X["age"] + 1e-3 * rng.normal(size=len(X))
    codes = df["race"].to_numpy() - 1
    m = LogisticRegression().fit(X, df["race"])
    terms = [(2, "age"), (3, "agec"), (3, "smoke")]
    ci, caught = profile_quietly(m, terms=terms)
    assert not caught, [str(w.message) for w in caught]
    assert all(n <= profile.MAX_REFITS for pair in ci.attrs["refits"].values() for n in pair)
    Xd = design(X)
    ref = sm.MNLogit(codes, Xd).fit(method="newton", tol=1e-12, maxiter=200, disp=0)
    B_hat = np.asarray(ref.params).reshape(4, 2)
    ll_hat, g_hat, H_hat = mn_parts(Xd, codes, B_hat)
    assert_stationary(g_hat, "MNLogit full fit", atol=1e-6)
    V = np.linalg.inv(H_hat)
    crit = stats.chi2.ppf(0.95, 1)
    names = [INTERCEPT, "age", "smoke", "agec"]
    for (label, term), row in ci.iterrows():
        r, c = names.index(term), label - 2
        assert row["ci_low"] < B_hat[r, c] < row["ci_high"]
        for t in (row["ci_low"], row["ci_high"]):
            stat = 2 * (ll_hat - mn_constrained_max(Xd, codes, B_hat, V, r, c, t))
            assert stat == pytest.approx(crit, abs=1e-6), (label, term, t)
    # the collinear pair really is hard: its interval is ~100 times the regular one
    assert ci.loc[(2, "age"), "ci_high"] - ci.loc[(2, "age"), "ci_low"] > 20


# ----------------------------------------------------------------- Firth's defaults
#: R logistf's summary of the sex2 fit (alpha = 0.1), as printed in the reference
#: page of biostatUtil's logistfPrint (tests/data/README.md): penalized LR χ² and p
LOGISTF_TESTS = {
    INTERCEPT: ("0.06286298", "8.020268e-01"), "age": ("7.50773092", "6.143472e-03"),
    "oc": ("0.02467044", "8.751911e-01"), "vic": ("22.93139022", "1.678877e-06"),
    "vicl": ("19.10407252", "1.237805e-05"), "vis": ("3.69740975", "5.449701e-02"),
    "dia": ("7.89693139", "4.951873e-03"),
}
LOGISTF_95 = {"age": ("-1.9737884", "-0.30742514"), "dia": ("0.7745682", "8.03029352")}


@pytest.fixture(scope="module")
def sex2_firth():
    df = load("sex2.csv")
    X = df.drop(columns="case").astype(float)
    return LogisticRegression(penalty="firth").fit(X, df["case"]), X, df["case"].to_numpy(float)


def test_firth_summary_defaults_to_profile_intervals_and_penalized_lr_tests(sex2_firth):
    m, X, y = sex2_firth
    s = m.summary()
    assert s.header["ci_method"] == "profile" and s.header["p_method"] == "lr"
    table = s.to_frame()
    for term, (chisq, p) in LOGISTF_TESTS.items():
        assert_printed(table.loc[term, "lr_chi2"], chisq,
                       f"sex2 penalized LR χ² {term} (logistf)")
        assert_printed(table.loc[term, "p_value"], p, f"sex2 penalized LR p {term} (logistf)")
    for term, bounds in LOGISTF_95.items():
        assert_printed(table.loc[term, ["ci_low", "ci_high"]], list(bounds),
                       f"sex2 95% profile CI {term} (logistf)")
    # the unpenalized log-likelihood next to the penalized one (numpy, at the estimate)
    Xd, beta = design(X), table_beta(m)
    assert_rel(s.header["unpenalized_log_likelihood"], loglik(Xd, y, beta),
               "sex2 unpenalized loglik vs numpy", rtol=1e-10)
    assert_rel(s.header["log_likelihood"], penalized_loglik(Xd, y, beta),
               "sex2 penalized loglik vs numpy", rtol=1e-10)
    assert "unpenalized" in str(s)


@pytest.mark.parametrize("term", ["vis", "dia", INTERCEPT])
def test_firth_penalized_lr_statistic_by_independent_refit(sex2_firth, term):
    """2 [ℓ*(β̂) - max_{β_j = 0} ℓ*(β)], the restricted fit keeping the full model's
    penalty: scipy BFGS on a numpy penalized likelihood (judged by its gradient)."""
    m, X, y = sex2_firth
    Xd, beta = design(X), table_beta(m)
    j = [INTERCEPT, *X.columns].index(term)
    stat = 2 * (penalized_loglik(Xd, y, beta) - firth_constrained_max(Xd, y, j, 0.0, beta))
    got = profile.lr_tests(m, terms=[term])
    assert got.loc[term, "lr_stat"] == pytest.approx(stat, abs=1e-7)
    assert got.loc[term, "p_value"] == pytest.approx(stats.chi2.sf(stat, 1), rel=1e-6)


def test_firth_wald_on_request(sex2_firth):
    m, X, y = sex2_firth
    s = m.summary(ci="wald")
    assert s.header["ci_method"] == "wald" and s.header["p_method"] == "wald"
    table = s.to_frame()
    se = table["std_err"]
    z = stats.norm.ppf(0.975)
    assert_rel(table["ci_high"], table["coef"] + z * se, "Wald bound = coef + z se", rtol=1e-12)
    assert_rel(table["p_value"], 2 * stats.norm.sf(np.abs(table["coef"] / se)),
               "Wald p-value", rtol=1e-10)
    assert table["lr_chi2"].isna().all()
    # conf_int's default follows the summary's
    assert_rel(m.conf_int()["ci_low"], m.conf_int(method="profile")["ci_low"],
               "Firth conf_int default = profile", rtol=1e-12)
    ml = LogisticRegression().fit(X[["age", "oc"]], y)
    assert ml.summary().header["ci_method"] == "wald" and ml.summary().header["p_method"] == "wald"


def test_loaded_firth_model_summarizes_with_wald_and_says_why(sex2_firth, tmp_path):
    """A model file carries no training rows, so no profile refits: the default
    falls back to Wald (the same numbers as the fitted model's Wald summary) with a
    note; asking for profile intervals is a clear error."""
    m, X, y = sex2_firth
    logitlab.save(m, tmp_path / "firth.json")
    loaded = logitlab.load(tmp_path / "firth.json")
    s = loaded.summary()
    assert s.header["ci_method"] == "wald" and s.header["p_method"] == "wald"
    assert_rel(s.to_frame()["ci_low"], m.summary(ci="wald").to_frame()["ci_low"],
               "loaded Firth Wald bounds", rtol=1e-12)
    assert any("training rows" in n for n in s.notes)
    with pytest.raises(ValueError, match="refit"):
        loaded.summary(ci="profile")


def run_cli(*args):
    out = subprocess.run([sys.executable, "-m", "logitlab.cli", *map(str, args)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_cli_json_firth_defaults_and_wald_on_request():
    formula = "case ~ age + oc + vic + vicl + vis + dia"
    doc = run_cli("fit", DATA / "sex2.csv", "--formula", formula, "--penalty", "firth", "--json")
    assert doc["ci_method"] == "profile" and doc["p_method"] == "lr"
    terms = {t["name"]: t for t in doc["terms"]}
    for term, (chisq, p) in LOGISTF_TESTS.items():
        assert_printed(terms[term]["lr_chi2"], chisq, f"CLI penalized LR χ² {term} (logistf)")
        assert_printed(terms[term]["p_value"], p, f"CLI penalized LR p {term} (logistf)")
    assert_printed([terms["dia"]["ci_low"], terms["dia"]["ci_high"]], list(LOGISTF_95["dia"]),
                   "CLI 95% profile CI dia (logistf)")
    assert_printed(doc["log_likelihood"], "-132.5394", "CLI penalized loglik (logistf)")
    assert doc["unpenalized_log_likelihood"] < doc["log_likelihood"]
    wald = run_cli("fit", DATA / "sex2.csv", "--formula", formula, "--penalty", "firth",
                   "--ci", "wald", "--json")
    assert wald["ci_method"] == "wald" and wald["p_method"] == "wald"
    age = next(t for t in wald["terms"] if t["name"] == "age")
    assert age["lr_chi2"] is None
    assert age["p_value"] == pytest.approx(2 * stats.norm.sf(abs(age["z"])), rel=1e-10)


@pytest.mark.slow
def test_report_shows_firth_profile_intervals_and_lr_tests(sex2_firth):
    from logitlab.report import render_report
    m, X, y = sex2_firth
    page = render_report(m, pd.concat([X, pd.Series(y, name="case")], axis=1), y="case")
    assert "95% profile intervals" in page and "χ² (LR)" in page
    values = [float(v) for v in re.findall(r"data-key='lr_chi2' data-value='([^']+)'", page)]
    expected = [float(c) for c, _ in LOGISTF_TESTS.values()]
    assert_rel(values, expected, "report penalized LR χ² vs logistf", rtol=1e-6)


def test_separated_term_keeps_its_one_sided_profile_interval():
    m, d = fit_reference_design("quasisep")
    doc = m.summary(ci="profile").to_dict()
    s = next(t for t in doc["terms"] if t["name"] == "s")
    assert s["infinite"] == "+inf" and s["std_err"] is None and s["p_value"] is None
    assert s["ci_high"] is None                      # +Inf: JSON has no infinity
    assert s["ci_low"] == pytest.approx(number(d["bounds"]["s"][0]), rel=1e-6)
    assert any("one-sided" in n for n in doc["notes"])
    assert model_statistics(m)["unpenalized_log_likelihood"] == doc["log_likelihood"]
