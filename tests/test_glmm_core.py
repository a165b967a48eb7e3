"""The numerical core of mixed-effects logistic regression against lme4::glmer.

References: tests/data/glmer_r.json, written by tests/r/glmer.R (lme4 1.1.31,
tight tolerances, tolPwrss = 1e-14) from the CSVs beside it, and
tests/data/glmer_polished.json (tests/r/glmer_polish.R: Newton steps on lme4's
deviance function from glmer's optimum, SEs from its Hessian at step 1e-3): the Laplace / AGQ
deviance function at given parameters (devFunOnly), the optima (logLik,
deviance, fixed effects, SEs, θ, VarCorr, ranef, condVar, fitted values), Z's
layout and θ's names; marginal probabilities by R's ``integrate``. Also closed
forms: a dense Cholesky, finite differences, the stationarity of PIRLS.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from logitlab.core.blockchol import BlockCholesky
from logitlab.data.formula import FormulaError
from logitlab.data.random_effects import BarTerm, expand_bars, random_effects_design, split_bars
from logitlab.families.glmm_agq import agq_deviance
from logitlab.families.glmm_gradient import laplace_gradient
from logitlab.families.glmm_laplace import GlmmProblem, joint_laplace_deviance, laplace_deviance
from logitlab.families.glmm_predict import conditional_probability, marginal_probability
from logitlab.families.glmm_structure import ThetaLayout
from logitlab.solvers.glmer import fit_glmm

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "glmer_r.json").read_text())
POLISHED = json.loads((DATA / "glmer_polished.json").read_text())
FITS = ["cbpp_laplace", "cbpp_agq9", "grouse_nested", "verbagg_crossed", "slopes_corr",
        "slopes_uncorr"]


def _frame(name: str):
    """(data, right-hand side, y proportions, weights, offset) of a reference fit."""
    if name.startswith("cbpp"):
        df = pd.read_csv(DATA / "glmm_cbpp.csv")
        df["period"] = df["period"].astype(str)
        return df, "period + (1 | herd)", df.incidence / df["size"], df["size"], None
    if name == "grouse_nested":
        df = pd.read_csv(DATA / "glmm_grouseticks.csv")
        df["YEAR"] = df["YEAR"].astype(str)
        return df, "YEAR + scale(HEIGHT) + (1 | LOCATION/BROOD)", (df.TICKS > 0) * 1.0, None, None
    if name == "verbagg_crossed":
        df = pd.read_csv(DATA / "glmm_verbagg.csv")
        # R's level order of item (a factor, not alphabetical): the last 24 columns of Z
        df["item"] = pd.Categorical(df["item"], categories=R[name]["Z_colnames"][-24:])
        return df, "Anger + Gender + btype + situ + (1 | id) + (1 | item)", df.y * 1.0, None, None
    df = pd.read_csv(DATA / "glmm_slopes.csv")
    rhs = "x + (1 + x | g) + (1 | h)" if name == "slopes_corr" else "x + (1 + x || g)"
    return df, rhs, df.y * 1.0, None, df.off


_CACHE: dict = {}


def problem_of(name: str):
    """(RandomEffectsDesign, GlmmProblem, data) of a reference fit (fresh warm starts)."""
    from formulaic import model_matrix

    df, rhs, y, w, off = _frame(name)
    red = random_effects_design(rhs, df)
    X = model_matrix(red.fixed, df).to_numpy(np.float64)
    layout = ThetaLayout(red.n_levels, red.n_columns)
    pb = GlmmProblem(X, red.Z, np.asarray(y, dtype=np.float64), layout,
                     weights=None if w is None else np.asarray(w, dtype=np.float64),
                     offset=None if off is None else np.asarray(off, dtype=np.float64))
    return red, pb, df


def fitted(name: str):
    if name not in _CACHE:
        red, pb, df = problem_of(name)
        _CACHE[name] = (red, pb, df, fit_glmm(pb, n_agq=R[name]["nAGQ"]))
    return _CACHE[name]


def rel(a, b):
    return np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
                  / np.maximum(np.abs(np.asarray(b, dtype=float)), 1e-300))


# ------------------------------------------------------------------ syntax
def test_split_bars_on_every_syntax():
    assert split_bars("x + (1 | g)") == ("x", [BarTerm("1", "g")])
    assert split_bars("(1 + x | g)") == ("1", [BarTerm("1 + x", "g")])
    assert split_bars("x + z + (x | g)") == ("x + z", [BarTerm("x", "g")])
    assert split_bars("0 + x + (0 + x | g)") == ("0 + x", [BarTerm("0 + x", "g")])
    assert split_bars("x + (1 + x || g)") == ("x", [BarTerm("1 + x", "g", True)])
    assert split_bars("x + (1 | s) + (1 | i)") == ("x", [BarTerm("1", "s"), BarTerm("1", "i")])
    assert split_bars("C(a) * x + (1 | a:b)") == ("C(a) * x", [BarTerm("1", "a:b")])
    assert split_bars("x + ((1 | g))") == ("x", [BarTerm("1", "g")])


def test_expand_bars_as_lme4():
    """expandDoubleVerts: one term per left-side term, intercept dropped from
    the others; expandSlash: a/b -> a, b:a (lme4 names the nested term b:a)."""
    assert expand_bars([BarTerm("1 + x", "g", True)]) == [BarTerm("1", "g"), BarTerm("0 + x", "g")]
    assert expand_bars([BarTerm("0 + x + z", "g", True)]) == [BarTerm("0 + x", "g"),
                                                              BarTerm("0 + z", "g")]
    assert expand_bars([BarTerm("1", "a/b")]) == [BarTerm("1", "a"), BarTerm("1", "b:a")]
    assert expand_bars([BarTerm("1", "a/b/c")]) == [BarTerm("1", "a"), BarTerm("1", "b:a"),
                                                    BarTerm("1", "c:b:a")]


def test_left_side_columns_and_interaction_levels():
    df = pd.DataFrame({"x": [0.5, 1.0, -1.0, 2.0, 0.0, 1.5], "a": list("ppqqpq"),
                       "b": [1, 2, 1, 2, 1, 1], "g": list("uvuvuv")})
    assert random_effects_design("(x | g)", df).terms[0].columns == ["(Intercept)", "x"]
    assert random_effects_design("(0 + x | g)", df).terms[0].columns == ["x"]
    red = random_effects_design("(1 | a:b)", df)
    # R: factor(a:b) has levels p:1 p:2 q:1 q:2 (a slowest), none unused here
    assert red.terms[0].levels == ["p:1", "p:2", "q:1", "q:2"]
    assert red.terms[0].codes.tolist() == [0, 1, 2, 3, 0, 2]
    df["g"] = list("uvvvuv")
    red = random_effects_design("(1 | a:g)", df)        # q:u never occurs: dropped
    assert red.terms[0].levels == ["p:u", "p:v", "q:v"]


@pytest.mark.parametrize("name", ["cbpp_laplace", "grouse_nested", "verbagg_crossed",
                                  "slopes_corr", "slopes_uncorr"])
def test_Z_and_theta_layout_match_lme4(name):
    red, pb, _ = problem_of(name)
    r = R[name]
    assert list(red.Z.shape) == r["Z_dim"]
    assert red.Z_colnames == r["Z_colnames"]
    assert red.theta_names == list(np.atleast_1d(r["theta_names"]))
    lower = np.array([float(v) for v in np.atleast_1d(r["lower"])])      # "-Inf" in JSON
    np.testing.assert_array_equal(pb.layout.bounds_lower, lower)
    if r["Z_triplets"] is not None:
        tr = r["Z_triplets"]
        Zr = sp.csc_matrix((tr["x"], (tr["i"], tr["j"])), shape=red.Z.shape)
        assert abs(red.Z - Zr).max() < 1e-12


def test_grouping_factor_order_matches_lme4():
    assert [t.group for t in problem_of("grouse_nested")[0].terms] == R["grouse_nested"]["flist"]
    assert [t.group for t in problem_of("verbagg_crossed")[0].terms] == R["verbagg_crossed"]["flist"]
    assert [t.n_levels for t in problem_of("grouse_nested")[0].terms] == R["grouse_nested"]["n_levels"]


# --------------------------------------------------------------- bad input
def _df():
    return pd.DataFrame({"x": np.arange(6.0), "g": list("aabbcc"), "one": ["k"] * 6})


@pytest.mark.parametrize("rhs, match", [
    ("x + (1 | )", "must read"), ("x + ( | g)", "must read"), ("x + (1 | g | h)", "must read"),
    ("x | g", "outside a random-effects term"), ("x + + (1 | g)", "empty term"),
    ("x", "no random-effects term"), ("x + (1 | nothere)", "'nothere' is not a column"),
    ("x + (1 | g/)", "empty part"), ("x + (1 | g:)", "empty name"),
])
def test_bad_syntax_is_a_clear_error(rhs, match):
    with pytest.raises(FormulaError, match=match):
        random_effects_design(rhs, _df())


def test_one_level_and_missing_grouping_values_are_named():
    with pytest.raises(ValueError, match="'one'.*1 level"):
        random_effects_design("x + (1 | one)", _df())
    df = _df()
    df.loc[3, "g"] = np.nan
    with pytest.raises(ValueError, match="grouping column 'g' has a missing value in row 3"):
        random_effects_design("x + (1 | g)", df)


def test_agq_needs_one_scalar_term():
    _, pb, _ = problem_of("slopes_uncorr")
    with pytest.raises(ValueError, match="single scalar random-effects term"):
        fit_glmm(pb, n_agq=5)


# ------------------------------------------------------ block Cholesky
def test_block_cholesky_against_dense():
    rng = np.random.default_rng(3)
    m, k, r = 7, 2, 5
    B = rng.normal(size=(m * k + r, m * k + r))
    A = B @ B.T + np.eye(m * k + r) * 3
    for j in range(m):                                # block-diagonal leading part
        for i in range(m):
            if i != j:
                A[i * k:(i + 1) * k, j * k:(j + 1) * k] = 0
    D = np.stack([A[j * k:(j + 1) * k, j * k:(j + 1) * k] for j in range(m)])
    for A21 in (A[m * k:, :m * k], sp.csr_matrix(A[m * k:, :m * k])):
        f = BlockCholesky(D, A21, A[m * k:, m * k:])
        assert abs(f.logdet() - np.linalg.slogdet(A)[1]) < 1e-12
        assert abs(f.logdet(m * k + 2) - np.linalg.slogdet(A[:m * k + 2, :m * k + 2])[1]) < 1e-12
        b = rng.normal(size=(m * k + r, 3))
        np.testing.assert_allclose(f.solve(b), np.linalg.solve(A, b), rtol=1e-12, atol=1e-13)
        Ainv = np.linalg.inv(A)
        blocks = f.inverse_diagonal_blocks([k, 1], [m, r])
        np.testing.assert_allclose(blocks[0][3], Ainv[6:8, 6:8], rtol=1e-12)
        np.testing.assert_allclose(blocks[1][:, 0, 0], np.diag(Ainv)[m * k:], rtol=1e-12)


# ------------------------------------------------- deviance functions vs R
@pytest.mark.parametrize("name", FITS)
def test_deviance_function_matches_glmer_devfun(name):
    """At R's optimum and at two perturbed (θ, β): lme4's devFunOnly deviance."""
    _, pb, _ = problem_of(name)
    nt = pb.layout.n_theta
    for point in R[name]["devfun"]:
        pars = np.array(point["pars"])
        dev = agq_deviance(pb, pars[:nt], pars[nt:], R[name]["nAGQ"])[0]
        assert rel(dev, point["value"]) < 5e-9, (dev, point["value"])   # R: PIRLS from a cold start
    point = POLISHED[name]
    dev = agq_deviance(pb, np.array(point["pars"][:nt]), np.array(point["pars"][nt:]),
                       R[name]["nAGQ"])[0]
    assert rel(dev, point["deviance"]) < 5e-10


@pytest.mark.parametrize("name", ["cbpp_laplace", "grouse_nested", "verbagg_crossed",
                                  "slopes_corr"])
def test_stage1_deviance_matches_glmer_nagq0(name):
    _, pb, _ = problem_of(name)
    for point in R[name]["stage1"]["devfun"]:
        dev = joint_laplace_deviance(pb, np.atleast_1d(point["theta"])).deviance
        assert rel(dev, point["value"]) < 5e-9, (dev, point["value"])   # R: PIRLS from a cold start


@pytest.mark.parametrize("name", ["cbpp_laplace", "grouse_nested", "slopes_corr", "slopes_uncorr"])
def test_laplace_gradient_against_finite_differences(name):
    _, pb, _ = problem_of(name)
    nt = pb.layout.n_theta
    x = np.array(R[name]["devfun"][2]["pars"])
    pb.warm_u = laplace_deviance(pb, x[:nt], x[nt:]).u
    g = laplace_gradient(pb, x[:nt], x[nt:])
    h = 1e-5
    fd = np.array([(laplace_deviance(pb, (x + e)[:nt], (x + e)[nt:]).deviance
                    - laplace_deviance(pb, (x - e)[:nt], (x - e)[nt:]).deviance) / (2 * h)
                   for e in np.eye(len(x)) * h])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * np.max(np.abs(fd)))


@pytest.mark.parametrize("name", ["grouse_nested", "slopes_corr"])
def test_pirls_mode_is_stationary(name):
    """∂pd/∂u = 0 at û: Λᵀ Zᵀ m (y − μ) = u, with Z and Λ_θ formed as sparse matrices."""
    red, pb, _ = problem_of(name)
    nt = pb.layout.n_theta
    x = np.array(R[name]["devfun"][1]["pars"])
    st = laplace_deviance(pb, x[:nt], x[nt:])
    M = red.Z @ pb.layout.Lambda(x[:nt])
    g = M.T @ (pb.weights * (pb.y - st.mu)) - st.u
    assert np.max(np.abs(g)) < 1e-9
    np.testing.assert_allclose(st.b, pb.layout.Lambda(x[:nt]) @ st.u, rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------ fits vs R
@pytest.mark.parametrize("name", FITS)
def test_fit_matches_glmer(name):
    red, pb, _, fit = fitted(name)
    r = R[name]
    assert fit.converged and not fit.singular and not fit.messages
    assert rel(fit.loglik, r["logLik"]) < 1e-6
    assert rel(fit.deviance, r["minus2logLik"]) < 1e-6
    assert rel(fit.conditional_deviance, r["deviance"]) < 1e-6      # R's deviance()
    assert rel(fit.aic, r["AIC"]) < 1e-6 and rel(fit.bic, r["BIC"]) < 1e-6
    assert fit.df == r["df"] and fit.nobs == r["nobs"]
    polished = POLISHED[name]
    nt = len(fit.theta)
    np.testing.assert_allclose(fit.theta, polished["pars"][:nt], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.beta, polished["pars"][nt:], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.se, polished["se"], rtol=1e-4)
    assert rel(fit.deviance, polished["deviance"]) < 5e-10
    if name != "verbagg_crossed":       # glmer's own optimum (VerbAgg: see the test below)
        np.testing.assert_allclose(fit.beta, list(r["fixef"].values()), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(fit.se, r["se"], rtol=1e-4)
    np.testing.assert_allclose(fit.theta, np.atleast_1d(r["theta"]), rtol=1e-4, atol=1e-6)
    sds = np.concatenate([np.atleast_1d(v["sd"]) for v in r["varcorr"]])
    ours = np.concatenate([vc.sd for vc in fit.varcorr])
    np.testing.assert_allclose(ours, sds, rtol=1e-4)
    for v, vc in zip(r["varcorr"], fit.varcorr):
        if v.get("corr") is not None and vc.corr.shape[0] > 1:
            np.testing.assert_allclose(vc.corr, v["corr"], rtol=1e-4)


def test_glmer_verbagg_optimum_is_one_newton_step_short_of_ours():
    """glmer's bobyqa stops on VerbAgg with its own gradient at 1.2e-3: one Newton
    step with lme4's gradient and Hessian (``fit@optinfo$derivs``) from its
    optimum lands on ours; our deviance is the lower."""
    _, _, _, fit = fitted("verbagg_crossed")
    r = R["verbagg_crossed"]
    assert np.max(np.abs(r["gradient"])) > 1e-4
    x = np.array(r["devfun"][0]["pars"])
    newton = x - np.linalg.solve(np.array(r["hessian"]), np.array(r["gradient"]))
    np.testing.assert_allclose(np.concatenate([fit.theta, fit.beta]), newton, rtol=0, atol=1e-6)
    assert fit.deviance < r["minus2logLik"]


@pytest.mark.parametrize("name", ["cbpp_laplace", "cbpp_agq9", "grouse_nested", "slopes_corr",
                                  "slopes_uncorr"])
def test_ranef_and_condvar_match_glmer(name):
    red, pb, _, fit = fitted(name)
    r = R[name]["ranef"]
    index = {}
    for t, term in enumerate(red.terms):
        for a, col in enumerate(term.columns):
            index[(term.group, col)] = (t, a)
    for group, col, level, value, sd in zip(r["group"], r["term"], r["level"], r["value"],
                                            r["condsd"]):
        t, a = index[(group, col)]
        j = red.terms[t].levels.index(level)
        assert abs(fit.ranef[t][j, a] - value) < 1e-4 * max(1.0, abs(value))
        assert abs(np.sqrt(fit.condvar[t][j, a, a]) - sd) < 1e-4 * sd


@pytest.mark.parametrize("name", FITS)
def test_conditional_and_marginal_predictions(name):
    red, pb, df, fit = fitted(name)
    r = R[name]
    rows = np.array(r["fitted_rows"]) - 1
    p = conditional_probability(pb.X[rows], fit.beta, red.transform(df.iloc[rows]), fit.b,
                                pb.offset[rows])
    # (VerbAgg: glmer's optimum is 3e-5 short of the optimum, see above)
    np.testing.assert_allclose(p, r["fitted"], rtol=2e-4 if name == "verbagg_crossed" else 1e-5)
    # marginal: R's own parameters through our integral (R: integrate, rel.tol 1e-12)
    rows = np.array(r["marginal_rows"]) - 1
    nt = pb.layout.n_theta
    beta_r = np.array(list(r["fixef"].values()))
    covs = pb.layout.covariances(np.atleast_1d(r["theta"]))
    pm = marginal_probability(pb.X[rows], beta_r, red.term_matrices(df.iloc[rows]), covs,
                              pb.offset[rows])
    np.testing.assert_allclose(pm, r["marginal"], rtol=1e-10)
    assert nt == len(np.atleast_1d(r["theta"]))


def test_new_levels_get_zero_random_effects():
    red, pb, df, fit = fitted("cbpp_laplace")
    new = df.iloc[:2].copy()
    new["herd"] = [999, 1]
    Zn = red.transform(new)
    assert Zn[0].nnz == 0 and Zn[1].toarray().ravel().tolist() == red.Z[0].toarray().ravel().tolist()


def test_singular_fit_is_detected():
    """Identical groups: every group's score is 0 at the fixed-effect MLE, so the
    derivative of the marginal log-likelihood in σ² at 0 is −Σ_j I_j / 2 < 0 and
    the maximum is at θ = 0."""
    y = np.tile([0, 1, 1, 0, 1, 0, 0, 1, 1, 1], 8).astype(float)
    x = np.tile(np.linspace(-1, 1, 10), 8)
    g = np.repeat(np.arange(8), 10)
    df = pd.DataFrame({"x": x, "g": g})
    red = random_effects_design("x + (1 | g)", df)
    X = np.column_stack([np.ones_like(x), x])
    pb = GlmmProblem(X, red.Z, y, ThetaLayout(red.n_levels, red.n_columns))
    fit = fit_glmm(pb)
    assert fit.singular and fit.theta[0] < 1e-6 and fit.converged
    # the fixed effects are then those of the plain logistic regression
    from scipy.optimize import minimize

    def nll(b):
        eta = X @ b
        return np.sum(np.logaddexp(0, eta) - y * eta)
    glm = minimize(nll, np.zeros(2), method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(fit.beta, glm, rtol=1e-6, atol=1e-8)
