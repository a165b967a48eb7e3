"""Firth's bias-reduced logistic regression (``penalty="firth"``) and
profile-likelihood confidence intervals (``conf_int(method="profile")``).

References, all independent of logitlab's own output:

* R ``logistf`` on the sex2 data (coefficients, penalized log-likelihood, LR
  test, 90% and 95% profile intervals) and brglm2's standard errors, printed
  in ``tests/data/README.md`` — compared within one unit in the last printed
  digit;
* numpy computations inside the tests: the Fisher information
  ``Xᵀ diag(p(1-p)) X``, the hat diagonal, Firth's modified score, the
  penalized log-likelihood ``ℓ + ½ log det I``;
* constrained refits done independently: statsmodels ``Logit`` with the
  profiled coefficient moved into an offset (maximum likelihood), and scipy
  BFGS on a numpy penalized likelihood (Firth) — at a profile bound the
  likelihood-ratio statistic must equal the χ²₁ quantile of the level.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from scipy.special import expit, log_expit

import logitlab
from logitlab import LogisticRegression
from logitlab.results.inference import coef_table, model_statistics

from refcheck import (assert_printed, assert_rel, assert_sm_stationary,  # noqa: E402
                      assert_stationary, load)

DATA = Path(__file__).parent / "data"
INTERCEPT = "(Intercept)"
SEX2_TERMS = ["age", "oc", "vic", "vicl", "vis", "dia"]


# ----------------------------------------------------------------- helpers


def design(X):
    """[1, X] as a float array, intercept first (logitlab's table order)."""
    X = np.asarray(X, dtype=float)
    return np.column_stack([np.ones(len(X)), X])


def table_beta(model):
    """Coefficients in table order (intercept first)."""
    return np.r_[model.intercept_, model.coef_.ravel()]


def fisher(Xd, beta):
    p = expit(Xd @ beta)
    return Xd.T @ (Xd * (p * (1 - p))[:, None])


def loglik(Xd, y, beta):
    z = Xd @ beta
    return float(np.sum(y * log_expit(z) + (1 - y) * log_expit(-z)))


def penalized_loglik(Xd, y, beta):
    sign, logdet = np.linalg.slogdet(fisher(Xd, beta))
    assert sign > 0
    return loglik(Xd, y, beta) + 0.5 * logdet


def hat_diagonal(Xd, beta):
    """h_i = diag(W^½ X (XᵀWX)⁻¹ XᵀW^½), by a QR of W^½ X."""
    p = expit(Xd @ beta)
    A = Xd * np.sqrt(p * (1 - p))[:, None]
    Q, _ = np.linalg.qr(A)
    return np.sum(Q ** 2, axis=1)


def modified_score(Xd, y, beta):
    p = expit(Xd @ beta)
    h = hat_diagonal(Xd, beta)
    return Xd.T @ (y - p + h * (0.5 - p))


def sex2():
    df = load("sex2.csv")
    return df[SEX2_TERMS].astype(float), df["case"].to_numpy(dtype=float)


def fit(X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return LogisticRegression(**kwargs).fit(X, y)


@pytest.fixture(scope="module")
def sex2_firth():
    X, y = sex2()
    return fit(X, y, penalty="firth")


# ----------------------------------------------------------------- sex2 Firth
LOGISTF = {  # coef, 90% profile CI (README, R logistf)
    INTERCEPT: ("0.12025405", ("-0.6673577", "0.9177303")),
    "age": ("-1.10598131", ("-1.8277045", "-0.4328451")),
    "oc": ("-0.06881673", ("-0.7986318", "0.6507581")),
    "vic": ("2.26887464", ("1.4248338", "3.2325326")),
    "vicl": ("-2.11140817", ("-3.0613215", "-1.2704704")),
    "vis": ("-0.78831694", ("-1.4743338", "-0.1137542")),
    "dia": ("3.09601166", ("1.0835108", "6.8752016")),
}


def test_sex2_firth_coefficients_match_logistf(sex2_firth):
    X, y = sex2()
    m = sex2_firth
    assert m.converged_ and m.solver_ == "firth"
    table = coef_table(m)
    assert list(table.index) == list(LOGISTF)
    # Independent exact solution: the root of Firth's modified score U*(β) = 0 (numpy
    # U*, scipy's hybrid root finder from β = 0, residual ~1e-14).
    root = optimize.root(lambda b: modified_score(design(X), y, b), np.zeros(7),
                         method="hybr", tol=1e-14)
    # judged by its residual: hybr may report "xtol too small" at a residual of 1e-14
    assert_stationary(modified_score(design(X), y, root.x), "scipy root of U*", atol=1e-10)
    assert_rel(table["coef"], root.x, "sex2 Firth coef vs scipy root of U*", rtol=1e-7)
    # logistf's printed coefficients carry logistf's own convergence error (its
    # default xconv/gconv are 1e-5): the exact root above differs from the printed
    # dia 3.09601166 by 1.7e-7 (17 units of the last digit), age by 2.1 units. So the
    # printed table is checked at the project's 1e-6 relative tolerance for R values.
    printed = np.array([float(v[0]) for v in LOGISTF.values()])
    assert_rel(root.x, printed, "exact Firth root vs logistf (sanity of the reference)")
    assert_rel(table["coef"], printed, "sex2 Firth coef vs logistf")
    assert model_statistics(m)["method"] == "firth"


def test_sex2_firth_standard_errors_are_inverse_fisher_information(sex2_firth):
    X, y = sex2()
    m = sex2_firth
    table = coef_table(m)
    # brglm2 / firthlogist (README)
    assert_printed(table.loc[["age", "dia"], "std_err"], ["0.4236601", "1.6750084"],
                   "sex2 Firth SE vs brglm2")
    # independent: invert Xᵀ diag(p(1-p)) X at logitlab's own estimate
    Xd = design(X)
    se = np.sqrt(np.diag(np.linalg.inv(fisher(Xd, table_beta(m)))))
    assert_rel(table["std_err"], se, "sex2 Firth SE vs numpy inverse Fisher information",
               rtol=1e-9)
    # and the Wald quantities follow from them
    assert_rel(table["z"], table_beta(m) / se, "sex2 Firth z = coef / se", rtol=1e-9)
    assert_rel(table["p_value"], 2 * stats.norm.sf(np.abs(table_beta(m) / se)),
               "sex2 Firth p-values", rtol=1e-8)
    # the summary says which covariance it reports
    notes = " ".join(m.summary().to_dict()["notes"])
    assert "inverse Fisher information" in notes


def test_sex2_firth_penalized_loglik_and_lr_test(sex2_firth):
    X, y = sex2()
    m = sex2_firth
    st = model_statistics(m)
    assert_printed(st["log_likelihood"], "-132.5394", "sex2 penalized log-likelihood (logistf)")
    # independent: ℓ(β) + ½ log det I(β) at logitlab's estimate
    assert_rel(st["log_likelihood"], penalized_loglik(design(X), y, table_beta(m)),
               "sex2 penalized loglik vs numpy", rtol=1e-10)
    assert_printed(st["lr_stat"], "49.09064", "sex2 penalized LR test (logistf)")
    assert st["lr_df"] == 6
    assert_rel(st["lr_p_value"], stats.chi2.sf(49.09064, 6), "sex2 LR p-value", rtol=1e-5)
    # logistf's null: intercept free, slopes 0, penalty of the full model's information
    Xd = design(X)
    res = optimize.minimize_scalar(lambda b0: -penalized_loglik(
        Xd, y, np.r_[b0, np.zeros(6)]), bracket=(-1.0, 1.0), tol=1e-12)
    assert_rel(st["null_log_likelihood"], -res.fun, "sex2 penalized null loglik vs scipy",
               rtol=1e-9)


def test_sex2_firth_90_profile_intervals_match_logistf(sex2_firth):
    ci = sex2_firth.conf_int(method="profile", level=0.90)
    assert list(ci.index) == list(LOGISTF)
    for term, (_, (lo, hi)) in LOGISTF.items():
        assert_printed(ci.loc[term, ["ci_low", "ci_high"]], [lo, hi],
                       f"sex2 90% profile CI {term} vs logistf")
    assert_rel(ci["or_ci_low"], np.exp(ci["ci_low"]), "OR bounds = exp(bounds)", rtol=1e-12)


def test_sex2_firth_95_profile_intervals_match_logistf(sex2_firth):
    ci = sex2_firth.conf_int(method="profile", level=0.95, terms=["age", "dia"])
    assert list(ci.index) == ["age", "dia"]
    assert_printed(ci.loc["age", ["ci_low", "ci_high"]], ["-1.9737884", "-0.30742514"],
                   "sex2 95% profile CI age vs logistf")
    assert_printed(ci.loc["dia", ["ci_low", "ci_high"]], ["0.7745682", "8.03029352"],
                   "sex2 95% profile CI dia vs logistf")


def firth_constrained_max(Xd, y, j, t, start):
    """max over β with β_j = t of ℓ(β) + ½ log det I(β) (full-model information,
    as logistf), by scipy BFGS with the modified score as gradient."""
    free = [k for k in range(Xd.shape[1]) if k != j]

    def full(b):
        beta = np.empty(Xd.shape[1])
        beta[free], beta[j] = b, t
        return beta

    res = optimize.minimize(lambda b: -penalized_loglik(Xd, y, full(b)), start[free],
                            jac=lambda b: -modified_score(Xd, y, full(b))[free],
                            method="BFGS", options={"gtol": 1e-9, "maxiter": 1000})
    assert_stationary(modified_score(Xd, y, full(res.x))[free], "Firth constrained max",
                      atol=1e-5)   # BFGS stops near 1e-7; the max is then off by g²/h < 1e-10
    return -res.fun


@pytest.mark.parametrize("term,level", [("age", 0.95), ("dia", 0.95), ("vis", 0.90)])
def test_firth_profile_bounds_by_independent_refits(sex2_firth, term, level):
    X, y = sex2()
    Xd = design(X)
    m = sex2_firth
    beta = table_beta(m)
    ell_hat = penalized_loglik(Xd, y, beta)
    j = 1 + SEX2_TERMS.index(term)
    ci = m.conf_int(method="profile", level=level, terms=[term])
    lo, hi = ci.loc[term, "ci_low"], ci.loc[term, "ci_high"]
    assert lo < beta[j] < hi
    crit = stats.chi2.ppf(level, 1)
    for t in (lo, hi):
        stat = 2 * (ell_hat - firth_constrained_max(Xd, y, j, t, beta))
        print(f"Firth {term} bound {t:.6f}: LR {stat:.9f} vs {crit:.9f}")
        assert stat == pytest.approx(crit, abs=1e-6)


# ----------------------------------------------------------------- modified score
@pytest.mark.parametrize("data", ["sex2", "spector", "separated"])
def test_firth_estimate_solves_modified_score(data, sex2_firth):
    if data == "sex2":
        X, y = sex2()
        m = sex2_firth
    elif data == "spector":
        df = load("spector.csv")
        X, y = df[["GPA", "TUCE", "PSI"]], df["GRADE"].to_numpy(dtype=float)
        m = fit(X, y, penalty="firth")
    else:
        X, y = separated_toy()
        m = fit(X, y, penalty="firth")
    Xd = design(X)
    beta = table_beta(m)
    u_star = modified_score(Xd, y, beta)
    plain = Xd.T @ (y - expit(Xd @ beta))
    print(f"{data}: max|U*| {np.max(np.abs(u_star)):.3g}, max|U| {np.max(np.abs(plain)):.3g}")
    assert np.max(np.abs(u_star)) < 1e-7
    # the check discriminates: the plain score is clearly not zero at the Firth estimate
    assert np.max(np.abs(plain)) > 1e-3


# ----------------------------------------------------------------- ML profile
def sm_constrained_llf(y, Xc, term, t, full):
    """statsmodels Logit on the other columns with offset x_term * t, started at
    the linear approximation of the profile path (plain Newton from 0 can diverge)."""
    b, C = full.params, full.cov_params()
    start = b.drop(term) + C[term].drop(term) / C.loc[term, term] * (t - b[term])
    res = sm.Logit(y, Xc.drop(columns=[term]), offset=Xc[term] * t).fit(
        method="newton", tol=1e-12, maxiter=100, disp=0, start_params=start.to_numpy())
    assert_sm_stationary(res, f"statsmodels constrained fit {term}={t:.6g}")
    return res.llf


def ml_dataset(name):
    if name == "spector":
        df = load("spector.csv")
        return df[["GPA", "TUCE", "PSI"]], df["GRADE"]
    df = load("birthwt.csv")
    X = pd.DataFrame({"age": df.age, "lwt": df.lwt, "race2": (df.race == 2),
                      "race3": (df.race == 3), "ftv": df.ftv}).astype(float)
    return X, df["low"]


@pytest.mark.parametrize("name", ["spector", "birthwt"])
@pytest.mark.parametrize("level", [0.95, 0.90])
def test_ml_profile_bounds_by_statsmodels_offset_refits(name, level):
    X, y = ml_dataset(name)
    m = fit(X, y)
    Xc = sm.add_constant(X).rename(columns={"const": INTERCEPT})
    full = sm.Logit(y, Xc).fit(method="newton", tol=1e-12, disp=0)
    ci = m.conf_int(method="profile", level=level)
    assert list(ci.index) == list(Xc.columns)
    crit = stats.chi2.ppf(level, 1)
    worst = 0.0
    for term in ci.index:
        lo, hi = ci.loc[term, "ci_low"], ci.loc[term, "ci_high"]
        assert lo < full.params[term] < hi
        for t in (lo, hi):
            stat = 2 * (full.llf - sm_constrained_llf(y, Xc, term, t, full))
            worst = max(worst, abs(stat - crit))
            assert stat == pytest.approx(crit, abs=1e-6), (term, t)
    print(f"{name} {level}: max |2Δℓ - χ²| at the profile bounds {worst:.3g}")
    assert_rel(ci["or_ci_high"], np.exp(ci["ci_high"]), "profile OR bound = exp", rtol=1e-12)


@pytest.mark.parametrize("cov_type", ["HC0", "HC1"])
def test_ml_profile_does_not_depend_on_cov_type(cov_type):
    """A profile interval is a likelihood quantity: a sandwich covariance changes the
    Wald intervals but not the profile ones (compared with statsmodels' refits above
    through the nonrobust fit)."""
    X, y = ml_dataset("spector")
    a = fit(X, y).conf_int(method="profile")
    b = fit(X, y, cov_type=cov_type).conf_int(method="profile")
    np.testing.assert_allclose(b[["ci_low", "ci_high"]], a[["ci_low", "ci_high"]],
                               rtol=0, atol=1e-8)


def test_ml_profile_is_asymmetric_on_small_samples():
    """Spector (n=32): the profile interval is far from Wald for the intercept, and
    both contain the estimate — so the large-sample test below is not vacuous."""
    X, y = ml_dataset("spector")
    m = fit(X, y)
    prof, wald = m.conf_int(method="profile"), m.conf_int(method="wald")
    se = coef_table(m)["std_err"]
    shift = (prof["ci_low"] - wald["ci_low"]).abs() / se
    assert shift[INTERCEPT] > 0.3


def test_ml_profile_approaches_wald_for_large_samples():
    rng = np.random.default_rng(20240601)
    n = 20000
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    y = (rng.uniform(size=n) < expit(0.3 + 0.8 * X.a - 0.5 * X.b + 0.2 * X.c)).astype(int)
    m = fit(X, y)
    prof, wald = m.conf_int(method="profile"), m.conf_int(method="wald")
    se = coef_table(m)["std_err"]
    rel = ((prof[["ci_low", "ci_high"]] - wald[["ci_low", "ci_high"]]).abs()
           .div(se, axis=0)).to_numpy()
    print(f"n=20000: max |profile - Wald| = {rel.max():.3g} standard errors")
    # the difference is O(n^-1/2) standard errors: ~0.01 here
    assert rel.max() < 0.03


def mn_loglik(Xd, codes, B):
    """Multinomial log-likelihood, reference class 0; B (p, K-1)."""
    Z = np.column_stack([np.zeros(len(Xd)), Xd @ B])
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(logp[np.arange(len(codes)), codes].sum())


def mn_grad(Xd, codes, B):
    Z = np.column_stack([np.zeros(len(Xd)), Xd @ B])
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    Y = np.eye(P.shape[1])[codes]
    return Xd.T @ (Y - P)[:, 1:]


def test_multinomial_ml_profile_by_scipy_refits():
    df = load("birthwt.csv")
    X = df[["age", "lwt", "smoke"]].astype(float)
    codes = df["race"].to_numpy() - 1
    m = fit(X, df["race"])
    Xd = design(X)
    ref = sm.MNLogit(codes, Xd).fit(method="newton", tol=1e-12, disp=0)
    B_hat = ref.params.reshape(4, 2) if isinstance(ref.params, np.ndarray) else ref.params.to_numpy()
    ll_hat = mn_loglik(Xd, codes, B_hat)
    ci = m.conf_int(method="profile", terms=[(3, "smoke"), (2, INTERCEPT)])
    crit = stats.chi2.ppf(0.95, 1)
    for (label, term), row in ci.iterrows():
        r, c = ["(Intercept)", "age", "lwt", "smoke"].index(term), label - 2
        assert row["ci_low"] < B_hat[r, c] < row["ci_high"]
        for t in (row["ci_low"], row["ci_high"]):
            mask = np.ones(B_hat.shape, dtype=bool)
            mask[r, c] = False

            def full(b, t=t, mask=mask):
                B = np.empty(B_hat.shape)
                B[mask], B[r, c] = b, t
                return B

            res = optimize.minimize(lambda b: -mn_loglik(Xd, codes, full(b)), B_hat[mask],
                                    jac=lambda b: -mn_grad(Xd, codes, full(b))[mask],
                                    method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
            assert_stationary(mn_grad(Xd, codes, full(res.x))[mask], "MNLogit constrained max",
                              atol=1e-4)   # lwt ~ 100: an error g²/h < 1e-12 in ℓ
            stat = 2 * (ll_hat + res.fun)
            assert stat == pytest.approx(crit, abs=1e-6), (label, term, t)


def test_profile_bad_input():
    X, y = ml_dataset("spector")
    m = fit(X, y)
    with pytest.raises(ValueError, match="unknown terms"):
        m.conf_int(method="profile", terms=["nope"])
    with pytest.raises(ValueError, match="method"):
        m.conf_int(method="bootstrap")


# ----------------------------------------------------------------- separation + Firth
def separated_toy():
    """x separates y completely: all y=1 have x > 0, all y=0 have x < 0."""
    rng = np.random.default_rng(7)
    x = np.r_[rng.uniform(-3, -0.2, 15), rng.uniform(0.2, 3, 15)]
    noise = rng.normal(size=30)
    y = np.r_[np.zeros(15), np.ones(15)]
    return pd.DataFrame({"x": x, "noise": noise}), y


def test_firth_on_separated_data_is_finite_with_finite_profile_interval():
    X, y = separated_toy()
    # the data are separated: plain ML warns and names x
    with pytest.warns(logitlab.SeparationWarning):
        ml = LogisticRegression().fit(X, y)
    assert ml.inference_state_["separated"]
    m = fit(X, y, penalty="firth")
    assert m.converged_ and not m.inference_state_["separated"]
    table = coef_table(m)
    assert np.all(np.isfinite(table[["coef", "std_err"]].to_numpy()))
    assert table.loc["x", "coef"] > 0
    # finite estimates: the penalized likelihood is maximal there (independent check)
    Xd = design(X)
    beta = table_beta(m)
    best = penalized_loglik(Xd, y, beta)
    for direction in np.eye(3):
        for step in (0.05, -0.05):
            assert penalized_loglik(Xd, y, beta + step * direction) < best
    ci = m.conf_int(method="profile", level=0.95)
    assert np.all(np.isfinite(ci[["ci_low", "ci_high"]].to_numpy()))
    assert ci.loc["x", "ci_low"] < table.loc["x", "coef"] < ci.loc["x", "ci_high"]
    # and those bounds are real profile bounds (independent refit)
    j = 1
    crit = stats.chi2.ppf(0.95, 1)
    for t in ci.loc["x", ["ci_low", "ci_high"]]:
        stat = 2 * (best - firth_constrained_max(Xd, y, j, t, beta))
        assert stat == pytest.approx(crit, abs=1e-6)


@pytest.mark.parametrize("kwargs", [{"alpha": 0.1}, {"alpha": 1e-6}, {"l1_ratio": 0.5}])
def test_firth_rejects_strength_or_mix(kwargs):
    X, y = sex2()
    with pytest.raises(ValueError, match="firth"):
        LogisticRegression(penalty="firth", **kwargs).fit(X, y)
