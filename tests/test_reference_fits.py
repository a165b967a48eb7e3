"""Unpenalized maximum-likelihood fits of ``logitlab.LogisticRegression`` against
independent references.

Every test compares a fit against one of

* a published table (Greene / Stata, Hosmer & Lemeshow, Venables & Ripley,
  R ``glm`` on the Titanic table) — the values and their provenance are in
  ``tests/data/README.md``;
* statsmodels (``Logit``, ``MNLogit``) fitted inside the test with a tight
  Newton tolerance;
* a property that must hold for the exact optimum (gradient zero at the
  optimum, weights 2 = duplicated row, weights 0 = removed row, ...).

The log-likelihood of a logitlab fit is ``-objective_ * sum(sample_weight)``
(the objective is the mean weighted negative log-likelihood), and the
residual deviance is ``2 * objective_ * sum(sample_weight)``.

No expected value in this file was copied from logitlab's own output.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit, log_expit, softmax

import logitlab
from logitlab import LogisticRegression

from refcheck import assert_printed, assert_sm_stationary, load  # noqa: E402

DATA = Path(__file__).parent / "data"

#: every solver of logitlab; all must reach the same unpenalized optimum
SOLVERS = ["newton", "lbfgs", "newton-cg", "trust-ncg", "cd", "gd"]

#: Gradient tolerance for comparisons with tables printed to 8-9 significant
#: digits. The default ``tol=1e-8`` bounds the max-norm of the *mean* gradient,
#: which bounds the coefficient error only by about tol / (smallest eigenvalue of
#: the mean Hessian): e.g. ~1.4e-9 on the Titanic intercept, more than one unit
#: in the 9th printed digit. So published tables are checked on a fit converged
#: to rounding level, and the default fit separately at the project's 1e-6
#: relative tolerance.
TIGHT = 1e-12


# ----------------------------------------------------------------- helpers


def max_rel(actual, expected) -> float:
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


def assert_rel(actual, expected, rtol, what):
    """Element-wise relative comparison; prints the largest relative difference."""
    diff = max_rel(actual, expected)
    print(f"{what}: max relative difference {diff:.3g} (rtol {rtol:g})")
    np.testing.assert_allclose(np.asarray(actual, dtype=float),
                               np.asarray(expected, dtype=float), rtol=rtol, atol=0,
                               err_msg=what)


def binary_loglik(X, y, coef, intercept, sample_weight=None, offset=None):
    """Weighted binary log-likelihood written out: sum s (y z - log(1 + e^z))."""
    z = np.asarray(X, dtype=float) @ np.ravel(coef) + intercept
    if offset is not None:
        z = z + offset
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    y = np.asarray(y, dtype=float)
    return float(np.sum(s * (y * log_expit(z) + (1 - y) * log_expit(-z))))


def fit_quietly(model, *args, **kwargs):
    """Fit and fail on any warning (a clean problem must give a clean fit)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return model.fit(*args, **kwargs)


def sm_logit(X, y, **kwargs):
    """statsmodels Logit with an intercept column, tight Newton."""
    exog = sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    res = sm.Logit(np.asarray(y, dtype=float), exog, **kwargs).fit(
        method="newton", tol=1e-12, maxiter=200, disp=0)
    assert_sm_stationary(res, "statsmodels Logit")
    return res


def sm_mnlogit(X, codes):
    """statsmodels MNLogit (reference = code 0) with an intercept, tight Newton.

    Returns (intercepts (K-1,), coefficients (K-1, d), llf)."""
    exog = sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    res = sm.MNLogit(np.asarray(codes), exog).fit(method="newton", tol=1e-12, maxiter=200,
                                                   disp=0)
    assert_sm_stationary(res, "statsmodels MNLogit")
    params = np.asarray(res.params)  # (1 + d, K - 1), intercept first
    return params[0], params[1:].T, float(res.llf)


def standardize(X):
    X = np.asarray(X, dtype=float)
    return (X - X.mean(axis=0)) / X.std(axis=0)


# ---------------------------------------------------------------- datasets
def spector():
    df = load("spector.csv")
    return df[["GPA", "TUCE", "PSI"]], df["GRADE"]


def birthwt_hl():
    """Hosmer & Lemeshow Table 2.2: low ~ age + lwt + race2 + race3 + ftv."""
    df = load("birthwt.csv")
    X = pd.DataFrame({
        "age": df["age"], "lwt": df["lwt"],
        "race2": (df["race"] == 2).astype(float), "race3": (df["race"] == 3).astype(float),
        "ftv": df["ftv"]})
    return X, df["low"]


def birthwt_mass():
    """Venables & Ripley, MASS §7.2: low ~ . (bwt excluded), race and ftv factors."""
    df = load("birthwt.csv")
    X = pd.DataFrame({
        "age": df["age"], "lwt": df["lwt"],
        "raceblack": (df["race"] == 2).astype(float),
        "raceother": (df["race"] == 3).astype(float),
        "smoke": df["smoke"].astype(float),
        "ptd": (df["ptl"] > 0).astype(float),
        "ht": df["ht"].astype(float), "ui": df["ui"].astype(float),
        "ftv1": (df["ftv"] == 1).astype(float),
        "ftv2+": (df["ftv"] >= 2).astype(float)})
    return X, df["low"]


def titanic():
    return load("titanic_table.csv")


def titanic_design(df, full: bool):
    """Dummy coding with references 1st / Female / Child (R's treatment contrasts)."""
    cols = {}
    if full:
        cols["Class2nd"] = (df["Class"] == "2nd").astype(float)
        cols["Class3rd"] = (df["Class"] == "3rd").astype(float)
        cols["ClassCrew"] = (df["Class"] == "Crew").astype(float)
        cols["SexMale"] = (df["Sex"] == "Male").astype(float)
    cols["AgeAdult"] = (df["Age"] == "Adult").astype(float)
    return pd.DataFrame(cols)


def iris():
    df = load("iris.csv")
    return df.iloc[:, :4], df["target"]


# ====================================================================== spector
SPECTOR_PUBLISHED = {  # Greene Table 21.1 / Stata 11
    "const": -13.0213483201, "GPA": 2.82611297201, "TUCE": 0.0951576702557,
    "PSI": 2.37868772835}
SPECTOR_LLF = -12.8896334653335
SPECTOR_LLNULL = -20.5917296966173


def test_spector_matches_greene_stata():
    X, y = spector()
    m = fit_quietly(LogisticRegression(), X, y)
    assert m.converged_ and m.grad_norm_ <= m.tol_
    got = np.r_[m.intercept_, m.coef_[0]]
    expected = [SPECTOR_PUBLISHED[k] for k in ("const", "GPA", "TUCE", "PSI")]
    assert_rel(got, expected, 1e-6, "spector coef vs Greene/Stata")
    assert_rel(-m.objective_ * len(y), SPECTOR_LLF, 1e-6, "spector llf vs Stata")
    # the objective is the log-likelihood written out at the fitted coefficients
    assert_rel(binary_loglik(X, y, m.coef_, m.intercept_[0]), SPECTOR_LLF, 1e-6,
               "spector llf recomputed from coef vs Stata")
    # null model: intercept only (a constant column without a separate intercept)
    m0 = fit_quietly(LogisticRegression(fit_intercept=False), np.ones((len(y), 1)), y)
    assert_rel(-m0.objective_ * len(y), SPECTOR_LLNULL, 1e-6, "spector null llf vs Stata")
    # AIC = 2k - 2 llf, published 33.779266930667
    assert_rel(2 * 4 + 2 * m.objective_ * len(y), 33.779266930667, 1e-6, "spector AIC")


def test_spector_matches_statsmodels():
    X, y = spector()
    ref = sm_logit(X, y)
    m = fit_quietly(LogisticRegression(), X, y)
    assert_rel(np.r_[m.intercept_, m.coef_[0]], ref.params, 1e-6,
               "spector coef vs statsmodels Logit")
    assert_rel(-m.objective_ * len(y), ref.llf, 1e-6, "spector llf vs statsmodels")
    # the classes and the probabilities follow the sklearn convention
    np.testing.assert_array_equal(m.classes_, [0.0, 1.0])
    np.testing.assert_allclose(m.predict_proba(X)[:, 1], ref.predict(), rtol=1e-6)


# ===================================================================== birthwt
HL_COEF = ["1.2953657", "-0.023822974", "-0.014244611", "1.0038978", "0.43310843",
           "-0.049308318"]  # Intercept, age, lwt, race2, race3, ftv
HL_LLF = "-111.286453"
HL_LLNULL = "-117.335998"

MASS_COEF = ["0.82301899", "-0.037234294", "-0.015653009", "1.1924132", "0.7406849",
             "0.75552839", "1.3437634", "1.9131659", "0.68019548", "-0.43637968",
             "0.17900853"]  # (Intercept) age lwt raceblack raceother smoke ptd ht ui ftv1 ftv2+
MASS_DEVIANCE = "195.4755"


def test_birthwt_hosmer_lemeshow_table_2_2():
    X, y = birthwt_hl()
    m = fit_quietly(LogisticRegression(tol=TIGHT), X, y)
    assert m.converged_
    assert_printed(np.r_[m.intercept_, m.coef_[0]], HL_COEF, "H&L Table 2.2 coef")
    default = fit_quietly(LogisticRegression(), X, y)
    assert_rel(np.r_[default.intercept_, default.coef_[0]], [float(v) for v in HL_COEF], 1e-6,
               "H&L Table 2.2 coef, default tol")
    llf = -m.objective_ * len(y)
    assert_printed(llf, [HL_LLF], "H&L llf")
    # intercept-only model (X with zero columns is rejected by the input checks,
    # so the null model is a constant column without a separate intercept)
    m0 = fit_quietly(LogisticRegression(fit_intercept=False, tol=TIGHT),
                     np.ones((len(y), 1)), y)
    llnull = -m0.objective_ * len(y)
    assert_printed(llnull, [HL_LLNULL], "H&L null llf")
    # the closed form of the null model: intercept = log-odds of the base rate
    assert m0.coef_[0, 0] == pytest.approx(np.log(y.mean() / (1 - y.mean())), rel=1e-12)
    # printed -2 log L = 222.573 and the likelihood-ratio chi2 12.0991
    assert_printed(-2 * llf, ["222.573"], "H&L -2 log L")
    assert_printed(2 * (llf - llnull), ["12.0991"], "H&L LR chi2")
    # odds ratio of race2, printed 2.729
    assert_printed(np.exp(m.coef_[0, 2]), ["2.729"], "H&L OR(race2)")


def test_birthwt_mass_section_7_2():
    X, y = birthwt_mass()
    m = fit_quietly(LogisticRegression(tol=TIGHT), X, y)
    assert m.converged_
    assert_printed(np.r_[m.intercept_, m.coef_[0]], MASS_COEF, "MASS 7.2 coef")
    default = fit_quietly(LogisticRegression(), X, y)
    assert_rel(np.r_[default.intercept_, default.coef_[0]], [float(v) for v in MASS_COEF],
               1e-6, "MASS 7.2 coef, default tol")
    assert_printed(2 * len(y) * default.objective_, [MASS_DEVIANCE],
                   "MASS residual deviance, default tol")
    deviance = 2 * len(y) * m.objective_
    assert_printed(deviance, [MASS_DEVIANCE], "MASS residual deviance")
    assert_printed(deviance + 2 * 11, ["217.4755"], "MASS AIC")
    assert list(m.feature_names_in_) == list(X.columns)


# ===================================================================== titanic
TITANIC_AGE = {"coef": ["0.091807549", "-0.87970874"], "llf": "-1374.948064"}
TITANIC_FULL = {"coef": ["3.10538", "-1.018095", "-1.777762", "-0.857676", "-2.420060",
                         "-1.061542"], "llf": "-1105.030553"}


@pytest.mark.parametrize("full, published", [(False, TITANIC_AGE), (True, TITANIC_FULL)],
                         ids=["Survived~Age", "Survived~Class+Sex+Age"])
def test_titanic_frequency_weights(full, published):
    df = titanic()
    X, y, freq = titanic_design(df, full), df["Survived"], df["Freq"].to_numpy(float)
    assert freq.sum() == 2201
    m = fit_quietly(LogisticRegression(tol=TIGHT), X, y, sample_weight=freq)
    np.testing.assert_array_equal(m.classes_, ["No", "Yes"])
    assert_printed(np.r_[m.intercept_, m.coef_[0]], published["coef"], "Titanic coef")
    assert_printed(-m.objective_ * freq.sum(), [published["llf"]], "Titanic llf")
    default = fit_quietly(LogisticRegression(), X, y, sample_weight=freq)
    assert_rel(np.r_[default.intercept_, default.coef_[0]],
               [float(v) for v in published["coef"]], 1e-6, "Titanic coef, default tol")
    assert_printed(-default.objective_ * freq.sum(), [published["llf"]],
                   "Titanic llf, default tol")
    if not full:
        # Survived ~ Age is saturated (a 2x2 table): the MLE has a closed form,
        # intercept = log odds of survival of children, Adult = log odds ratio
        t = df.groupby(["Age", "Survived"])["Freq"].sum()
        child = np.log(t["Child", "Yes"] / t["Child", "No"])
        adult = np.log(t["Adult", "Yes"] / t["Adult", "No"])
        assert_rel([m.intercept_[0], m.coef_[0, 0]], [child, adult - child], 1e-10,
                   "Titanic Survived~Age vs closed form")

    # frequency weights = the 2,201 expanded rows
    rows = np.repeat(np.arange(len(df)), freq.astype(int))
    Xe, ye = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
    assert len(ye) == 2201
    me = fit_quietly(LogisticRegression(tol=TIGHT), Xe, ye)
    np.testing.assert_allclose(np.r_[me.intercept_, me.coef_[0]],
                               np.r_[m.intercept_, m.coef_[0]], rtol=1e-7, atol=1e-9)
    assert me.objective_ == pytest.approx(m.objective_, rel=1e-10)
    # and statsmodels on the expanded rows
    ref = sm_logit(Xe, (ye == "Yes").astype(float))
    assert_rel(np.r_[m.intercept_, m.coef_[0]], ref.params, 1e-6,
               "Titanic coef vs statsmodels (expanded rows)")
    assert_rel(-m.objective_ * freq.sum(), ref.llf, 1e-6, "Titanic llf vs statsmodels")


# ======================================================================== iris
IRIS_BINARY = ["-42.637804", "-2.4652202", "-6.680887", "9.4293852", "18.286137"]
IRIS_BINARY_LLF = "-5.949273"


def test_iris_versicolor_vs_virginica_finite_mle():
    X, y = iris()
    keep = y > 0
    Xb, yb = X[keep], y[keep]
    m = fit_quietly(LogisticRegression(tol=TIGHT), Xb, yb)
    np.testing.assert_array_equal(m.classes_, [1, 2])
    default = fit_quietly(LogisticRegression(), Xb, yb)
    assert_rel(np.r_[default.intercept_, default.coef_[0]], [float(v) for v in IRIS_BINARY],
               1e-6, "iris binary coef, default tol")
    assert_printed(np.r_[m.intercept_, m.coef_[0]], IRIS_BINARY, "iris binary coef")
    assert_printed(-m.objective_ * len(yb), [IRIS_BINARY_LLF], "iris binary llf")
    ref = sm_logit(Xb, (yb == 2).astype(float))
    assert_rel(np.r_[m.intercept_, m.coef_[0]], ref.params, 1e-6,
               "iris binary coef vs statsmodels")
    assert_rel(-m.objective_ * len(yb), ref.llf, 1e-6, "iris binary llf vs statsmodels")


def test_iris_three_classes_separated_warns_and_llf_tends_to_binary():
    X, y = iris()
    with pytest.warns((logitlab.SeparationWarning, logitlab.ConvergenceWarning)):
        m = LogisticRegression().fit(X, y)
    llf = -m.objective_ * len(y)
    # Setosa is separated: the supremum of the multinomial log-likelihood is the
    # versicolor-vs-virginica binary log-likelihood (published -5.949273, and
    # statsmodels here), reached only as the setosa coefficients diverge; the
    # multinomial log-likelihood can approach it but never exceed it.
    keep = y > 0
    sup = sm_logit(X[keep], (y[keep] == 2).astype(float)).llf
    assert float(IRIS_BINARY_LLF) == pytest.approx(sup, abs=1e-6)
    print(f"iris 3-class llf {llf!r}, supremum {sup!r}, gap {sup - llf:.3g}")
    assert llf <= sup + 1e-8
    assert llf >= sup - 1e-3
    # and the log-likelihood matches the probabilities the model predicts
    logp = np.log(np.clip(m.predict_proba(X), 1e-300, None))
    assert np.sum(logp[np.arange(len(y)), y]) == pytest.approx(llf, rel=1e-6)


# ================================================================= multinomial
def birthwt_race():
    """A non-separable multinomial problem: race (1/2/3) ~ age + lwt + smoke."""
    df = load("birthwt.csv")
    return df[["age", "lwt", "smoke"]].astype(float), df["race"]


def test_multinomial_matches_statsmodels_mnlogit():
    X, y = birthwt_race()
    codes = y.map({1: 0, 2: 1, 3: 2})
    b_ref, B_ref, llf_ref = sm_mnlogit(X, codes)
    m = fit_quietly(LogisticRegression(), X, y)
    np.testing.assert_array_equal(m.classes_, [1, 2, 3])
    assert m.reference_class_ == 1
    np.testing.assert_array_equal(m.other_classes_, [2, 3])
    assert m.coef_.shape == (3, 3) and m.intercept_.shape == (3,)
    assert m.coef_vs_reference_.shape == (2, 3)
    assert_rel(m.intercept_vs_reference_, b_ref, 1e-6, "MNLogit intercepts")
    assert_rel(m.coef_vs_reference_, B_ref, 1e-6, "MNLogit coef")
    assert_rel(-m.objective_ * len(y), llf_ref, 1e-6, "MNLogit llf")


@pytest.mark.parametrize("reference", [2, 3])
def test_multinomial_reference_class(reference):
    X, y = birthwt_race()
    # statsmodels always uses the smallest code as the reference: recode so that
    # ``reference`` gets code 0 and the other classes keep their order
    others = [c for c in (1, 2, 3) if c != reference]
    codes = y.map({reference: 0, others[0]: 1, others[1]: 2})
    b_ref, B_ref, llf_ref = sm_mnlogit(X, codes)
    m = fit_quietly(LogisticRegression(reference_class=reference), X, y)
    assert m.reference_class_ == reference
    np.testing.assert_array_equal(m.other_classes_, others)
    assert_rel(m.intercept_vs_reference_, b_ref, 1e-6, f"MNLogit ref={reference} intercepts")
    assert_rel(m.coef_vs_reference_, B_ref, 1e-6, f"MNLogit ref={reference} coef")
    assert_rel(-m.objective_ * len(y), llf_ref, 1e-6, f"MNLogit ref={reference} llf")


@pytest.mark.parametrize("reference", [None, "white"])
def test_multinomial_string_labels(reference):
    X, y_num = birthwt_race()
    y = y_num.map({1: "white", 2: "black", 3: "other"}).to_numpy(dtype=object)
    m = fit_quietly(LogisticRegression(reference_class=reference), X, y)
    np.testing.assert_array_equal(m.classes_, ["black", "other", "white"])
    ref_label = "black" if reference is None else reference
    assert m.reference_class_ == ref_label
    others = [c for c in ("black", "other", "white") if c != ref_label]
    np.testing.assert_array_equal(m.other_classes_, others)
    codes = pd.Series(y).map({ref_label: 0, others[0]: 1, others[1]: 2})
    b_ref, B_ref, llf_ref = sm_mnlogit(X, codes)
    assert_rel(m.intercept_vs_reference_, b_ref, 1e-6, f"MNLogit strings ref={ref_label}")
    assert_rel(m.coef_vs_reference_, B_ref, 1e-6, f"MNLogit strings ref={ref_label} coef")
    assert_rel(-m.objective_ * len(y), llf_ref, 1e-6, "MNLogit strings llf")
    assert set(m.predict(X)) <= set(m.classes_)


# ============================================================ solvers agree
def mean_gradient_binary(X, y01, coef, intercept, s=None):
    """Gradient of the mean weighted NLL, intercept last: X1ᵀ s (p - y) / S."""
    X1 = np.column_stack([X, np.ones(len(y01))])
    s = np.ones(len(y01)) if s is None else s
    p = expit(X1[:, :-1] @ np.ravel(coef) + intercept)
    return X1.T @ (s * (p - y01)) / s.sum()


def mean_gradient_multinomial(X, codes, intercepts, B, ref):
    """Gradient of the mean multinomial NLL w.r.t. the non-reference classes'
    coefficients (the reference class's logit fixed at 0)."""
    K = B.shape[0]
    Z = np.asarray(X) @ B.T + intercepts
    P = softmax(Z, axis=1)
    Y = np.eye(K)[codes]
    X1 = np.column_stack([X, np.ones(len(codes))])
    G = X1.T @ (P - Y) / len(codes)
    return np.delete(G, ref, axis=1)


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_reaches_the_binary_optimum(solver):
    X, y = birthwt_mass()
    Xs = standardize(X)
    ref = sm_logit(Xs, y)
    tol = 1e-8
    m = fit_quietly(LogisticRegression(solver=solver, tol=tol, max_iter=100000), Xs, y)
    assert m.solver_ == solver
    assert m.converged_ and m.grad_norm_ <= tol
    # KKT recomputed independently from the returned coefficients
    g = mean_gradient_binary(Xs, y.to_numpy(float), m.coef_, m.intercept_[0])
    assert np.max(np.abs(g)) <= 2 * tol
    assert m.grad_norm_ == pytest.approx(np.max(np.abs(g)), rel=1e-3, abs=1e-12)
    # the optimum: |Δβ| <= ||H⁻¹|| tol; H's smallest eigenvalue is > 0.01 here
    np.testing.assert_allclose(np.r_[m.coef_[0], m.intercept_], np.r_[ref.params[1:], ref.params[0]],
                               rtol=0, atol=1e-5)
    assert_rel(-m.objective_ * len(y), ref.llf, 1e-9, f"{solver} binary llf vs statsmodels")
    assert m.history_["objective"].shape == (m.n_iter_ + 1,)
    assert m.history_["objective"][-1] == m.objective_


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_reaches_the_multinomial_optimum(solver):
    X, y = birthwt_race()
    Xs = standardize(X)
    codes = y.map({1: 0, 2: 1, 3: 2}).to_numpy()
    b_ref, B_ref, llf_ref = sm_mnlogit(Xs, codes)
    tol = 1e-8
    m = fit_quietly(LogisticRegression(solver=solver, tol=tol, max_iter=100000), Xs, y)
    assert m.solver_ == solver
    assert m.converged_ and m.grad_norm_ <= tol
    g = mean_gradient_multinomial(Xs, codes, m.intercept_, m.coef_, ref=0)
    assert np.max(np.abs(g)) <= 2 * tol
    np.testing.assert_allclose(m.coef_vs_reference_, B_ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(m.intercept_vs_reference_, b_ref, rtol=0, atol=1e-5)
    assert_rel(-m.objective_ * len(y), llf_ref, 1e-9, f"{solver} multinomial llf vs statsmodels")


# ============================================================ sample weights
def _coefs(m):
    return np.r_[np.ravel(m.coef_), np.ravel(m.intercept_)]


@pytest.mark.parametrize("dataset", ["binary", "multinomial"])
def test_weight_two_equals_duplicated_row_and_zero_equals_removed_row(dataset):
    X, y = birthwt_hl() if dataset == "binary" else birthwt_race()
    X, y = X.to_numpy(float), y.to_numpy()
    rows = np.array([0, 5, 17, 40, 41, 120])
    n = len(y)

    w2 = np.ones(n)
    w2[rows] = 2.0
    m_w = fit_quietly(LogisticRegression(tol=1e-10), X, y, sample_weight=w2)
    dup = np.r_[np.arange(n), rows]
    m_dup = fit_quietly(LogisticRegression(tol=1e-10), X[dup], y[dup])
    np.testing.assert_allclose(_coefs(m_w), _coefs(m_dup), rtol=1e-7, atol=1e-9)
    assert m_w.objective_ == pytest.approx(m_dup.objective_, rel=1e-12)

    w0 = np.ones(n)
    w0[rows] = 0.0
    m_0 = fit_quietly(LogisticRegression(tol=1e-10), X, y, sample_weight=w0)
    keep = np.setdiff1d(np.arange(n), rows)
    m_rm = fit_quietly(LogisticRegression(tol=1e-10), X[keep], y[keep])
    np.testing.assert_allclose(_coefs(m_0), _coefs(m_rm), rtol=1e-7, atol=1e-9)
    assert m_0.objective_ == pytest.approx(m_rm.objective_, rel=1e-12)
    # and the weighting does change the fit (the comparison is not vacuous)
    m_1 = fit_quietly(LogisticRegression(tol=1e-10), X, y)
    assert np.max(np.abs(_coefs(m_1) - _coefs(m_0))) > 1e-3


def test_non_integer_weights_match_statsmodels_glm_freq_weights():
    X, y = birthwt_hl()
    s = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    exog = sm.add_constant(X.to_numpy(float))
    ref = sm.GLM(y.to_numpy(float), exog, family=sm.families.Binomial(),
                 freq_weights=s).fit(method="newton", tol=1e-12, maxiter=200, disp=0)
    m = fit_quietly(LogisticRegression(), X, y, sample_weight=s)
    assert_rel(np.r_[m.intercept_, m.coef_[0]], ref.params, 1e-6, "weighted coef vs GLM")
    assert_rel(-m.objective_ * s.sum(), ref.llf, 1e-6, "weighted llf vs GLM")


# ==================================================================== offsets
def test_offset_matches_statsmodels_logit_offset():
    X, y = birthwt_hl()
    df = load("birthwt.csv")
    offset = 0.5 * df["smoke"].to_numpy(float) - 0.01 * (df["age"].to_numpy(float) - 23)
    ref = sm_logit(X, y, offset=offset)
    m = fit_quietly(LogisticRegression(), X, y, offset=offset)
    assert_rel(np.r_[m.intercept_, m.coef_[0]], ref.params, 1e-6, "offset coef vs statsmodels")
    assert_rel(-m.objective_ * len(y), ref.llf, 1e-6, "offset llf vs statsmodels")
    # the fitted probabilities include the offset only when it is passed again
    np.testing.assert_allclose(m.predict_proba(X, offset=offset)[:, 1],
                               ref.predict(which="mean"), rtol=1e-6)
    # the fit without the offset is different (the offset was used)
    m0 = fit_quietly(LogisticRegression(), X, y)
    assert abs(m0.intercept_[0] - m.intercept_[0]) > 1e-2


def test_multinomial_constant_offset_shifts_the_intercepts():
    # property: a per-class constant offset c_k is absorbed by the intercepts,
    # intercept_vs_reference_ -> intercept_vs_reference_ - (c_k - c_ref), the
    # slopes and the likelihood unchanged
    X, y = birthwt_race()
    c = np.array([0.3, -0.7, 1.1])
    off = np.tile(c, (len(y), 1))
    m = fit_quietly(LogisticRegression(tol=1e-10), X, y)
    mo = fit_quietly(LogisticRegression(tol=1e-10), X, y, offset=off)
    np.testing.assert_allclose(mo.coef_vs_reference_, m.coef_vs_reference_, rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(mo.intercept_vs_reference_,
                               m.intercept_vs_reference_ - (c[1:] - c[0]), rtol=1e-6,
                               atol=1e-8)
    assert mo.objective_ == pytest.approx(m.objective_, rel=1e-10)
