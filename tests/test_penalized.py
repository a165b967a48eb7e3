"""Penalized fits (L2, L1, elastic net) of ``logitlab.LogisticRegression``
against scikit-learn and glum fitted in the test.

logitlab minimizes

    F(β, b) = (1/S) Σ s_i nll_i + alpha (l1_ratio ‖β‖₁ + (1 - l1_ratio)/2 ‖β‖²),

S = Σ s_i, intercepts unpenalized. glum's binomial objective is the same
(it normalizes the weights to sum to one and uses half the deviance, which is
the NLL for 0/1 outcomes); scikit-learn minimizes C Σ s_i nll_i + penalty, whose
minimizer is the same with alpha = 1 / (C S).

The objective is written out below (``objective_binary`` /
``objective_multinomial``) and evaluated at each tool's own coefficients, so
the comparison does not rely on any tool's report of its objective: if
logitlab reaches the optimum, F(logitlab) equals F(reference) up to the
references' convergence, and can never be noticeably larger.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import glum
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, log_expit, log_softmax
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from logitlab import LogisticRegression

DATA = Path(__file__).parent / "data"
RTOL = 1e-6


# ------------------------------------------------------------------ helpers
def objective_binary(X, y01, coef, intercept, alpha, l1_ratio, s=None):
    """F written out: weighted mean NLL plus the elastic net on the slopes."""
    X = np.asarray(X, dtype=float)
    coef = np.ravel(coef)
    y01 = np.asarray(y01, dtype=float)
    s = np.ones(len(y01)) if s is None else np.asarray(s, dtype=float)
    z = X @ coef + float(np.ravel(intercept)[0])
    nll = -(y01 * log_expit(z) + (1 - y01) * log_expit(-z))
    penalty = l1_ratio * np.abs(coef).sum() + (1 - l1_ratio) / 2 * coef @ coef
    return float(s @ nll / s.sum() + alpha * penalty)


def objective_multinomial(X, codes, B, intercepts, alpha, l1_ratio, s=None):
    """F for K classes in the symmetric parametrization: B (K, d), intercepts (K,)."""
    X = np.asarray(X, dtype=float)
    s = np.ones(len(codes)) if s is None else np.asarray(s, dtype=float)
    logp = log_softmax(X @ B.T + intercepts, axis=1)
    nll = -logp[np.arange(len(codes)), codes]
    penalty = l1_ratio * np.abs(B).sum() + (1 - l1_ratio) / 2 * np.sum(B * B)
    return float(s @ nll / s.sum() + alpha * penalty)


def assert_objective(value, reference, what, rtol=RTOL):
    diff = abs(value - reference) / abs(reference)
    print(f"{what}: objective {value!r} vs {reference!r}, relative difference {diff:.3g}")
    assert diff <= rtol, f"{what}: {value!r} vs {reference!r} (relative {diff:.3g})"


def standardize(X):
    X = np.asarray(X, dtype=float)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def sklearn_fit(X, y, alpha, l1_ratio=0.0, s=None, class_weight=None, solver=None,
                weight_sum=None):
    """scikit-learn with C = 1 / (alpha S) and a tight tolerance."""
    S = (len(y) if s is None else float(np.sum(s))) if weight_sum is None else weight_sum
    solver = solver or ("lbfgs" if l1_ratio == 0 else "saga")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning would void the reference
        return SkLogisticRegression(C=1.0 / (alpha * S), l1_ratio=l1_ratio, solver=solver,
                                    tol=1e-12, max_iter=100000, class_weight=class_weight
                                    ).fit(X, y, sample_weight=s)


def glum_fit(X, y01, alpha, l1_ratio=0.0, s=None):
    return glum.GeneralizedLinearRegressor(
        family="binomial", alpha=alpha, l1_ratio=l1_ratio, gradient_tol=1e-12,
        max_iter=1000, fit_intercept=True).fit(X, y01, sample_weight=s)


def fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return model.fit(*args, **kwargs)


# ----------------------------------------------------------------- datasets
def birthwt_mass():
    """MASS §7.2 design for low birth weight, standardized (10 columns)."""
    df = pd.read_csv(DATA / "birthwt.csv")
    X = np.column_stack([
        df["age"], df["lwt"], df["race"] == 2, df["race"] == 3, df["smoke"], df["ptl"] > 0,
        df["ht"], df["ui"], df["ftv"] == 1, df["ftv"] >= 2]).astype(float)
    return standardize(X), df["low"].to_numpy(dtype=float)


def birthwt_race():
    """Three classes: race ~ age + lwt + smoke (standardized)."""
    df = pd.read_csv(DATA / "birthwt.csv")
    return standardize(df[["age", "lwt", "smoke"]]), df["race"].to_numpy()


def sparse_binary():
    """Synthetic: 4 of 10 standard-normal features matter, the rest are noise."""
    rng = np.random.default_rng(12345)
    X = rng.standard_normal((400, 10))
    beta = np.r_[1.2, -0.9, 0.7, 0.5, np.zeros(6)]
    y = (rng.uniform(size=400) < expit(X @ beta - 0.3)).astype(float)
    return X, y


def sparse_multinomial():
    """Synthetic: 3 classes, 10 standard-normal features, 4 of them used."""
    rng = np.random.default_rng(2024)
    X = rng.standard_normal((400, 10))
    B = np.zeros((3, 10))
    B[0, :3] = [1.0, -1.0, 0.5]
    B[1, :3] = [-0.5, 1.0, 1.0]
    B[2, 3] = 1.0
    logits = X @ B.T
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    u = rng.uniform(size=400)
    y = (u[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    return X, y


# ======================================================================= L2
@pytest.mark.parametrize("alpha", [1e-3, 0.05, 1.0])
@pytest.mark.parametrize("solver", ["auto", "newton", "lbfgs", "newton-cg", "trust-ncg", "cd", "gd"])
def test_l2_binary_objective_matches_sklearn_and_glum(alpha, solver):
    X, y = birthwt_mass()
    tol = 1e-8 if solver == "gd" else None   # gd's default tol (1e-6) is looser
    m = fit_quietly(LogisticRegression(penalty="l2", alpha=alpha, solver=solver, tol=tol,
                                       max_iter=100000), X, y)
    assert m.converged_ and m.grad_norm_ <= m.tol_
    F_own = objective_binary(X, y, m.coef_, m.intercept_, alpha, 0.0)
    assert m.objective_ == pytest.approx(F_own, rel=1e-12)   # objective_ is F
    sk = sklearn_fit(X, y, alpha)
    gl = glum_fit(X, y, alpha)
    F_sk = objective_binary(X, y, sk.coef_, sk.intercept_, alpha, 0.0)
    F_gl = objective_binary(X, y, gl.coef_, gl.intercept_, alpha, 0.0)
    assert_objective(m.objective_, F_sk, f"L2 alpha={alpha} {solver} vs sklearn")
    assert_objective(m.objective_, F_gl, f"L2 alpha={alpha} {solver} vs glum")
    # strictly convex: the minimizer is unique, so the coefficients agree too
    np.testing.assert_allclose(m.coef_[0], sk.coef_[0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(m.coef_[0], gl.coef_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(m.intercept_, sk.intercept_, rtol=0, atol=1e-5)
    # the penalty does act: the slopes shrink relative to the unpenalized fit
    mle = fit_quietly(LogisticRegression(), X, y)
    assert np.linalg.norm(m.coef_) < np.linalg.norm(mle.coef_)


@pytest.mark.parametrize("dataset", ["birthwt_race", "sparse_multinomial"])
@pytest.mark.parametrize("alpha", [1e-3, 0.1])
def test_l2_multinomial_matches_sklearn_symmetric(dataset, alpha):
    X, y = {"birthwt_race": birthwt_race, "sparse_multinomial": sparse_multinomial}[dataset]()
    m = fit_quietly(LogisticRegression(penalty="l2", alpha=alpha), X, y)
    assert m.converged_
    sk = sklearn_fit(X, y, alpha)
    np.testing.assert_array_equal(m.classes_, sk.classes_)
    codes = np.searchsorted(m.classes_, y)
    F_own = objective_multinomial(X, codes, m.coef_, m.intercept_, alpha, 0.0)
    F_sk = objective_multinomial(X, codes, sk.coef_, sk.intercept_, alpha, 0.0)
    assert m.objective_ == pytest.approx(F_own, rel=1e-12)
    assert_objective(m.objective_, F_sk, f"L2 multinomial {dataset} alpha={alpha} vs sklearn")
    # symmetric parametrization: all K coefficient rows are estimated (and, with
    # an L2 penalty, sum to zero over the classes); the slopes are identifiable
    assert m.coef_.shape == sk.coef_.shape
    np.testing.assert_allclose(m.coef_.sum(axis=0), 0.0, atol=1e-7)
    np.testing.assert_allclose(m.coef_, sk.coef_, rtol=0, atol=1e-5)
    # unpenalized intercepts are identified only up to a common shift
    np.testing.assert_allclose(m.intercept_ - m.intercept_.mean(),
                               sk.intercept_ - sk.intercept_.mean(), rtol=0, atol=1e-5)
    # the reference view is the difference of rows
    np.testing.assert_allclose(m.coef_vs_reference_, sk.coef_[1:] - sk.coef_[0], atol=2e-5)
    np.testing.assert_allclose(m.predict_proba(X), sk.predict_proba(X), atol=1e-6)


def test_l2_sample_weights_match_sklearn_and_glum():
    X, y = birthwt_mass()
    s = np.random.default_rng(7).uniform(0.1, 4.0, size=len(y))
    alpha = 0.02
    m = fit_quietly(LogisticRegression(penalty="l2", alpha=alpha), X, y, sample_weight=s)
    sk = sklearn_fit(X, y, alpha, s=s)          # C = 1 / (alpha * sum(s))
    gl = glum_fit(X, y, alpha, s=s)
    F = lambda c, b: objective_binary(X, y, c, b, alpha, 0.0, s=s)  # noqa: E731
    assert m.objective_ == pytest.approx(F(m.coef_, m.intercept_), rel=1e-12)
    assert_objective(m.objective_, F(sk.coef_, sk.intercept_), "L2 weighted vs sklearn")
    assert_objective(m.objective_, F(gl.coef_, gl.intercept_), "L2 weighted vs glum")
    np.testing.assert_allclose(m.coef_[0], gl.coef_, atol=1e-5)
    # the weights matter (the comparison is not vacuous)
    m1 = fit_quietly(LogisticRegression(penalty="l2", alpha=alpha), X, y)
    assert np.max(np.abs(m1.coef_ - m.coef_)) > 1e-3


def test_l2_multinomial_sample_weights_match_sklearn():
    X, y = birthwt_race()
    s = np.random.default_rng(8).uniform(0.1, 4.0, size=len(y))
    alpha = 0.01
    m = fit_quietly(LogisticRegression(penalty="l2", alpha=alpha), X, y, sample_weight=s)
    sk = sklearn_fit(X, y, alpha, s=s)
    codes = np.searchsorted(m.classes_, y)
    F_sk = objective_multinomial(X, codes, sk.coef_, sk.intercept_, alpha, 0.0, s=s)
    assert_objective(m.objective_, F_sk, "L2 multinomial weighted vs sklearn")
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)


@pytest.mark.parametrize("class_weight", ["balanced", {0.0: 1.0, 1.0: 3.0}],
                         ids=["balanced", "dict"])
def test_l2_class_weight_binary_matches_sklearn(class_weight):
    X, y = birthwt_mass()
    n, alpha = len(y), 0.02
    # sklearn's semantics written out: "balanced" = n / (K * count of the class)
    if class_weight == "balanced":
        counts = np.array([np.sum(y == 0), np.sum(y == 1)])
        cw = n / (2 * counts)
    else:
        cw = np.array([1.0, 3.0])
    s = cw[y.astype(int)]
    m = fit_quietly(LogisticRegression(penalty="l2", alpha=alpha, class_weight=class_weight),
                    X, y)
    # class weights multiply the sample weights, so S = sum of the class weights
    sk = sklearn_fit(X, y, alpha, class_weight=class_weight, weight_sum=s.sum())
    F = lambda c, b: objective_binary(X, y, c, b, alpha, 0.0, s=s)  # noqa: E731
    assert m.objective_ == pytest.approx(F(m.coef_, m.intercept_), rel=1e-12)
    assert_objective(m.objective_, F(sk.coef_, sk.intercept_),
                     f"L2 class_weight={class_weight} vs sklearn")
    gl = glum_fit(X, y, alpha, s=s)
    assert_objective(m.objective_, F(gl.coef_, gl.intercept_),
                     f"L2 class_weight={class_weight} vs glum(sample_weight)")
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)
    # class weights and sample weights combine by multiplication
    u = np.random.default_rng(3).uniform(0.5, 2.0, size=n)
    mu = fit_quietly(LogisticRegression(penalty="l2", alpha=alpha, class_weight=class_weight),
                     X, y, sample_weight=u)
    gu = glum_fit(X, y, alpha, s=s * u)
    Fu = objective_binary(X, y, gu.coef_, gu.intercept_, alpha, 0.0, s=s * u)
    assert_objective(mu.objective_, Fu, "L2 class_weight x sample_weight vs glum")


def test_l2_class_weight_balanced_multinomial_matches_sklearn():
    X, y = birthwt_race()
    alpha = 0.01
    classes, codes = np.unique(y, return_inverse=True)
    cw = len(y) / (len(classes) * np.bincount(codes))
    s = cw[codes]
    m = fit_quietly(LogisticRegression(penalty="l2", alpha=alpha, class_weight="balanced"),
                    X, y)
    sk = sklearn_fit(X, y, alpha, class_weight="balanced", weight_sum=s.sum())
    F_sk = objective_multinomial(X, codes, sk.coef_, sk.intercept_, alpha, 0.0, s=s)
    F_own = objective_multinomial(X, codes, m.coef_, m.intercept_, alpha, 0.0, s=s)
    assert m.objective_ == pytest.approx(F_own, rel=1e-12)
    assert_objective(m.objective_, F_sk, "L2 multinomial balanced vs sklearn")
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)


# ============================================================ L1 / elastic net
def smooth_gradient_binary(X, y, coef, intercept, alpha, l1_ratio):
    """Gradient of the smooth part (mean NLL + L2 term) w.r.t. the slopes."""
    p = expit(X @ np.ravel(coef) + float(np.ravel(intercept)[0]))
    return X.T @ (p - y) / len(y) + alpha * (1 - l1_ratio) * np.ravel(coef)


@pytest.mark.parametrize("dataset", ["sparse_binary", "birthwt"])
@pytest.mark.parametrize("penalty, l1_ratio, alpha",
                         [("l1", 1.0, 0.05), ("elasticnet", 0.5, 0.05),
                          ("elasticnet", 0.2, 0.01)])
def test_l1_elasticnet_binary_matches_glum_and_sklearn_saga(dataset, penalty, l1_ratio, alpha):
    X, y = sparse_binary() if dataset == "sparse_binary" else birthwt_mass()
    kwargs = {"l1_ratio": l1_ratio} if penalty == "elasticnet" else {}
    m = fit_quietly(LogisticRegression(penalty=penalty, alpha=alpha, **kwargs), X, y)
    assert m.solver_ == "cd" and m.converged_
    gl = glum_fit(X, y, alpha, l1_ratio=l1_ratio)
    sk = sklearn_fit(X, y, alpha, l1_ratio=l1_ratio, solver="saga")
    F = lambda c, b: objective_binary(X, y, c, b, alpha, l1_ratio)  # noqa: E731
    F_ll = F(m.coef_, m.intercept_)
    assert m.objective_ == pytest.approx(F_ll, rel=1e-12)
    assert_objective(F_ll, F(gl.coef_, gl.intercept_), f"{penalty}({l1_ratio}) {dataset} vs glum")
    assert_objective(F_ll, F(sk.coef_, sk.intercept_),
                     f"{penalty}({l1_ratio}) {dataset} vs sklearn saga")
    np.testing.assert_allclose(m.coef_[0], gl.coef_, atol=1e-5)
    np.testing.assert_allclose(m.coef_[0], sk.coef_[0], atol=1e-5)


@pytest.mark.parametrize("penalty, l1_ratio", [("l1", 1.0), ("elasticnet", 0.5)])
def test_exact_zero_set_matches_glum_and_sklearn(penalty, l1_ratio):
    X, y = sparse_binary()
    alpha = 0.05
    l1 = alpha * l1_ratio
    gl = glum_fit(X, y, alpha, l1_ratio=l1_ratio)
    sk = sklearn_fit(X, y, alpha, l1_ratio=l1_ratio, solver="saga")
    zeros_gl = set(np.flatnonzero(gl.coef_ == 0.0))
    zeros_sk = set(np.flatnonzero(sk.coef_[0] == 0.0))
    # the zero set is clear-cut at the reference optimum: zero coefficients have
    # |smooth gradient| well inside [-l1, l1], the others are far from zero
    g = smooth_gradient_binary(X, y, gl.coef_, gl.intercept_, alpha, l1_ratio)
    zero = gl.coef_ == 0.0
    assert 2 <= zero.sum() <= 8
    assert np.all(np.abs(g[zero]) <= 0.8 * l1)
    assert np.all(np.abs(gl.coef_[~zero]) >= 0.02)
    assert zeros_gl == zeros_sk
    for solver in ("auto", "cd", "gd"):
        kwargs = {"l1_ratio": l1_ratio} if penalty == "elasticnet" else {}
        m = fit_quietly(LogisticRegression(penalty=penalty, alpha=alpha, solver=solver,
                                           max_iter=100000, **kwargs), X, y)
        zeros_ll = set(np.flatnonzero(m.coef_[0] == 0.0))   # exactly 0.0, not "small"
        print(f"{penalty} {solver}: zeros {sorted(zeros_ll)}, glum {sorted(zeros_gl)}")
        assert zeros_ll == zeros_gl, solver
        assert m.grad_norm_ <= m.tol_
        # KKT of the L1 problem recomputed from logitlab's coefficients:
        # nonzero β_j: g_j + l1 sign(β_j) = 0; zero β_j: |g_j| <= l1
        c = m.coef_[0]
        g_ll = smooth_gradient_binary(X, y, c, m.intercept_, alpha, l1_ratio)
        nz = c != 0.0
        assert np.max(np.abs(g_ll[nz] + l1 * np.sign(c[nz]))) <= 10 * m.tol_
        assert np.all(np.abs(g_ll[~nz]) <= l1)
        p = expit(X @ c + m.intercept_[0])
        assert abs(np.mean(p - y)) <= 10 * m.tol_       # unpenalized intercept


def test_l1_multinomial_zero_set_and_objective_match_sklearn_saga():
    X, y = sparse_multinomial()
    alpha = 0.05
    sk = sklearn_fit(X, y, alpha, l1_ratio=1.0, solver="saga")
    m = fit_quietly(LogisticRegression(penalty="l1", alpha=alpha), X, y)
    assert m.converged_
    codes = np.searchsorted(m.classes_, y)
    F_sk = objective_multinomial(X, codes, sk.coef_, sk.intercept_, alpha, 1.0)
    F_ll = objective_multinomial(X, codes, m.coef_, m.intercept_, alpha, 1.0)
    assert m.objective_ == pytest.approx(F_ll, rel=1e-12)
    assert_objective(F_ll, F_sk, "L1 multinomial vs sklearn saga")
    # clear-cut zero set at sklearn's optimum (K = 3 is odd, so the L1 solution
    # of the symmetric parametrization is unique)
    Z = X @ sk.coef_.T + sk.intercept_
    P = np.exp(log_softmax(Z, axis=1))
    G = (P - np.eye(3)[codes]).T @ X / len(y)        # (K, d)
    zero = sk.coef_ == 0.0
    assert 5 <= zero.sum() <= 25
    assert np.all(np.abs(G[zero]) <= 0.9 * alpha)
    assert np.all(np.abs(sk.coef_[~zero]) >= 0.01)
    np.testing.assert_array_equal(m.coef_ == 0.0, zero)
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)


@pytest.mark.parametrize("strong", [0.0, 0.5, 1.0])
def test_cd_working_set_rule_keeps_the_optimum(monkeypatch, strong):
    """However few coordinates the strong rule admits (0: all of them, the full
    Hessian; 1: only those at or past the L1 threshold), cd reaches glum's
    optimum; with the default rule its Hessians cover fewer columns than X has."""
    from logitlab.backends.memory import InMemoryData
    from logitlab.solvers import cd
    X, y = sparse_binary()
    alpha = 0.05
    monkeypatch.setattr(cd, "STRONG", strong)
    widths = []
    hess_rows = InMemoryData.hess_rows
    monkeypatch.setattr(InMemoryData, "hess_rows",
                        lambda self, rows, **kw: widths.append(len(rows))
                        or hess_rows(self, rows, **kw))
    m = fit_quietly(LogisticRegression(penalty="l1", alpha=alpha, solver="cd"), X, y)
    assert m.converged_ and m.grad_norm_ <= m.tol_
    gl = glum_fit(X, y, alpha, l1_ratio=1.0)
    np.testing.assert_array_equal(m.coef_[0] == 0.0, gl.coef_ == 0.0)
    np.testing.assert_allclose(m.coef_[0], gl.coef_, atol=1e-6)
    # the last Hessian formed (it may serve several outer steps) covers the
    # coordinates that must move at glum's optimum: the intercept and the nonzero
    # slopes; with a strong rule it leaves out most of the zero ones
    g = smooth_gradient_binary(X, y, gl.coef_, gl.intercept_, alpha, 1.0)
    zero = gl.coef_ == 0.0
    print(f"STRONG={strong}: working-set widths {widths}; |g|/l1 at zeros "
          f"{np.round(np.abs(g[zero]) / alpha, 3).tolist()}")
    assert widths[-1] >= 1 + np.sum(~zero)
    if strong == 0.0:
        assert set(widths) == {X.shape[1] + 1}             # every column, every step
    else:
        assert max(widths) < X.shape[1] + 1


@pytest.mark.parametrize("dataset", ["binary", "multinomial"])
@pytest.mark.parametrize("penalty, l1_ratio", [("l1", None), ("elasticnet", 0.5)])
def test_cd_and_gd_agree(dataset, penalty, l1_ratio):
    X, y = sparse_binary() if dataset == "binary" else sparse_multinomial()
    alpha = 0.03
    fits = {}
    for solver in ("cd", "gd"):
        fits[solver] = fit_quietly(LogisticRegression(
            penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, solver=solver, tol=1e-9,
            max_iter=200000), X, y)
        assert fits[solver].converged_ and fits[solver].grad_norm_ <= 1e-9
    cd, gd = fits["cd"], fits["gd"]
    print(f"cd vs gd {dataset} {penalty}: {cd.objective_!r} vs {gd.objective_!r}")
    assert cd.objective_ == pytest.approx(gd.objective_, rel=1e-10)
    np.testing.assert_array_equal(cd.coef_ == 0.0, gd.coef_ == 0.0)
    assert np.any(cd.coef_ == 0.0)
    np.testing.assert_allclose(cd.coef_, gd.coef_, atol=1e-6)
    np.testing.assert_allclose(cd.intercept_ - cd.intercept_.mean(),
                               gd.intercept_ - gd.intercept_.mean(), atol=1e-6)


# ========================================================= invalid settings
@pytest.mark.parametrize("solver", ["newton", "lbfgs", "newton-cg", "trust-ncg"])
@pytest.mark.parametrize("penalty, l1_ratio", [("l1", None), ("elasticnet", 0.5)])
def test_smooth_solvers_reject_l1(solver, penalty, l1_ratio):
    X, y = sparse_binary()
    model = LogisticRegression(penalty=penalty, alpha=0.1, l1_ratio=l1_ratio, solver=solver)
    with pytest.raises(ValueError, match=re.escape(f"solver={solver!r} does not support")):
        model.fit(X, y)
    # the message says what to use instead
    with pytest.raises(ValueError, match="'cd' or 'gd'"):
        model.fit(X, y)


@pytest.mark.parametrize("alpha", [-1e-3, -1.0, float("nan"), float("inf")])
def test_invalid_alpha_raises(alpha):
    X, y = sparse_binary()
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        LogisticRegression(penalty="l2", alpha=alpha).fit(X, y)


@pytest.mark.parametrize("l1_ratio", [-0.1, 1.5, 2])
def test_l1_ratio_outside_unit_interval_raises(l1_ratio):
    X, y = sparse_binary()
    with pytest.raises(ValueError, match=r"l1_ratio must be in \[0, 1\]"):
        LogisticRegression(penalty="elasticnet", alpha=0.1, l1_ratio=l1_ratio).fit(X, y)


def test_l1_ratio_contradicting_penalty_raises():
    X, y = sparse_binary()
    with pytest.raises(ValueError, match="only applies to penalty='elasticnet'"):
        LogisticRegression(penalty="l2", alpha=0.1, l1_ratio=0.5).fit(X, y)


@pytest.mark.parametrize("penalty", [None, "none"])
def test_penalty_none_with_positive_alpha_raises(penalty):
    X, y = sparse_binary()
    with pytest.raises(ValueError, match=r"penalty=None but alpha=0\.1"):
        LogisticRegression(penalty=penalty, alpha=0.1).fit(X, y)
    # alpha=0 with penalty=None is the plain MLE
    m = fit_quietly(LogisticRegression(penalty=penalty, alpha=0.0), X, y)
    assert m.converged_


def test_lbfgs_two_loop_equals_the_bfgs_inverse_hessian_update():
    """The two-loop recursion applies the matrix of the BFGS inverse update
    ``H⁺ = (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ`` from ``H₀ = γ I``
    (``γ = sᵀy / yᵀy`` of the newest pair), built here explicitly."""
    from logitlab.solvers.lbfgs import two_loop
    rng = np.random.default_rng(5)
    p = 7
    A = rng.normal(size=(p, p))
    A = A @ A.T + p * np.eye(p)                       # an SPD Hessian: sᵀy > 0
    pairs = []
    for _ in range(4):
        s = rng.normal(size=p)
        y = A @ s
        pairs.append((s, y, 1.0 / (s @ y)))
    s_new, y_new, _ = pairs[-1]
    H = (s_new @ y_new) / (y_new @ y_new) * np.eye(p)
    for s, y, rho in pairs:
        V = np.eye(p) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    g = rng.normal(size=p)
    np.testing.assert_allclose(two_loop(g, pairs), H @ g, rtol=1e-12)
    np.testing.assert_array_equal(two_loop(g, []), g)
