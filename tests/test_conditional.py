"""Conditional logistic regression (``logitlab.families.conditional``) against
R's ``survival::clogit`` (``tests/r/clogit.R`` → ``tests/data/clogit_r.json``),
brute-force enumeration of subsets, an independent log-space recursion, closed
forms and finite differences."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from logitlab.core.exceptions import SeparationWarning
from logitlab.families.conditional_kernels import exact_stratum_log
from logitlab import ConditionalLogisticRegression
from logitlab.families.conditional import (ConditionalProblem, conditional_stats, expected_events,
                                           group_strata, inclusion_probabilities,
                                           row_scores, score_test, stratum_centered_lp,
                                           stratum_scores, within_stratum_probabilities)

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "clogit_r.json").read_text())
INFERT = pd.read_csv(DATA / "infert.csv")
STRATA = pd.read_csv(DATA / "clogit_strata.csv")
RTOL = 1e-10         # R is fitted to eps = 1e-12 (its Newton steps then agree to ~1e-14)


def _infert():
    return INFERT[["spontaneous", "induced"]].to_numpy(float), INFERT["case"].to_numpy(), \
        INFERT["stratum"].to_numpy()


def _strata(offset=False, weights=False):
    kw = {}
    if offset:
        kw["offset"] = STRATA["off"].to_numpy()
    if weights:
        kw["weights"] = STRATA["w"].to_numpy()
    return STRATA[["x1", "x2", "x3"]].to_numpy(float), STRATA["case"].to_numpy(), \
        STRATA["st"].to_numpy(), kw


CASES = {
    "infert_exact": ("exact", _infert, {}),
    "infert_breslow": ("breslow", _infert, {}),
    "infert_efron": ("efron", _infert, {}),
    "infert_approximate": ("approximate", _infert, {}),
    "strata_exact": ("exact", _strata, {}),
    "strata_breslow": ("breslow", _strata, {}),
    "strata_efron": ("efron", _strata, {}),
    "strata_exact_offset": ("exact", _strata, {"offset": True}),
    "strata_breslow_weighted_offset": ("breslow", _strata, {"offset": True, "weights": True}),
    "strata_efron_weighted_offset": ("efron", _strata, {"offset": True, "weights": True}),
}


def _data(key):
    method, loader, opts = CASES[key]
    if loader is _infert:
        X, y, s = _infert()
        return method, X, y, s, {}
    X, y, s, kw = _strata(**opts)
    return method, X, y, s, kw


def _values(d):
    return np.array(list(d.values()), dtype=float)


def fit_conditional(X, y, s, method="exact", offset=None, weights=None, max_iter=None):
    """The pipeline's fit (ConditionalLogisticRegression) on arrays."""
    return ConditionalLogisticRegression(method=method, max_iter=max_iter).fit(
        X, y, strata=s, sample_weight=weights, offset=offset)


@pytest.mark.parametrize("key", sorted(CASES))
def test_predictions_match_r(key):
    """predict(type = "lp", "risk", "expected") of R's fit at R's estimate."""
    method, X, y, s, kw = _data(key)
    ref = R[key]
    beta = _values(ref["coefficients"])
    lp = stratum_centered_lp(X, s, beta, offset=kw.get("offset"), weights=kw.get("weights"))
    np.testing.assert_allclose(lp, ref["lp"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.exp(lp), ref["risk"], rtol=1e-10)
    np.testing.assert_allclose(expected_events(X, y, s, beta, method=method, **kw), ref["expected"],
                               rtol=1e-10, atol=1e-14)


def test_score_test_function_matches_r():
    ref = R["strata_exact_offset"]
    X, y, s, kw = _strata(offset=True)
    problem = ConditionalProblem(X, y, s, **kw)
    np.testing.assert_allclose(score_test(problem), ref["score_test"], rtol=1e-10)


@pytest.mark.parametrize("method", ["breslow", "efron"])
def test_stratum_scores_give_rs_cluster_robust_vcov(method):
    """coxph's robust variance clustered on the stratum is V (Σ_s U_s U_sᵀ) V."""
    ref = R[f"strata_{method}_weighted_offset"]
    X, y, s, kw = _strata(offset=True, weights=True)
    beta, V = _values(ref["coefficients"]), np.array(ref["vcov"])
    U = stratum_scores(X, y, s, beta, method=method, **kw)
    assert U.shape == (10, 3)
    np.testing.assert_allclose(V @ U.T @ U @ V, np.array(ref["robust_vcov"]), rtol=1e-9)
    np.testing.assert_allclose(U.sum(axis=0), conditional_stats(X, y, s, beta, method=method, **kw)[1],
                               rtol=1e-12, atol=1e-12)


def test_within_stratum_probabilities_are_rs_expected_for_one_case_per_stratum():
    """infert is 1:2 matched: R's expected (Breslow hazard × risk) = softmax."""
    X, y, s = _infert()
    ref = R["infert_exact"]
    p = within_stratum_probabilities(X, s, _values(ref["coefficients"]))
    np.testing.assert_allclose(p, ref["expected"], rtol=1e-10)
    np.testing.assert_allclose(pd.Series(p).groupby(s).sum(), 1.0, rtol=1e-14)
    np.testing.assert_allclose(inclusion_probabilities(X, y, s, _values(ref["coefficients"])),
                               ref["expected"], rtol=1e-10)


# --- the exact likelihood against brute force ----------------------------------

def _brute_force(X, y, beta):
    """ℓ, ∇ℓ, ∇²ℓ of one stratum by enumerating all m-subsets: the gradient is
    Σ_cases x − E[Σ_S x], the Hessian −Cov[Σ_S x] under P(S) ∝ exp(Σ_S η)."""
    m = int(y.sum())
    subsets = list(itertools.combinations(range(len(y)), m))
    sums = np.array([X[list(c)].sum(axis=0) for c in subsets])
    logits = sums @ beta
    top = logits.max()
    p = np.exp(logits - top)
    log_den = top + np.log(p.sum())
    p /= p.sum()
    mean = p @ sums
    cov = (sums - mean).T @ ((sums - mean) * p[:, None])
    return X[y == 1].sum(axis=0) @ beta - log_den, X[y == 1].sum(axis=0) - mean, -cov


@pytest.mark.parametrize("cases", [(1, 4, 6), (0, 1, 2, 3, 5, 7), (2,), (0, 1, 2, 3, 4, 5, 6)])
def test_exact_equals_enumeration(cases):
    """n = 8 with m = 3, m = 6 and 7 (the complement, m > n/2) and m = 1."""
    rng = np.random.default_rng(len(cases))
    X = rng.normal(size=(8, 3)) + np.array([5.0, -2.0, 0.0])
    y = np.zeros(8, dtype=int)
    y[list(cases)] = 1
    beta = np.array([0.7, -1.2, 0.4])
    ll, g, H = conditional_stats(X, y, np.zeros(8), beta)
    ref = _brute_force(X, y, beta)
    np.testing.assert_allclose(ll, ref[0], rtol=1e-13)
    np.testing.assert_allclose(g, ref[1], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(H, ref[2], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("m", [1, 3, 4])
def test_log_space_recursion_equals_enumeration(m):
    """The fallback kernel on its own (the dispatcher uses it only for strata
    whose η spreads over ~700), complement included (sign = −1)."""
    rng = np.random.default_rng(m)
    X = rng.normal(size=(8, 2))
    X -= X.mean(axis=0)
    y = np.zeros(8, dtype=np.int64)
    y[rng.choice(8, m, replace=False)] = 1
    beta = np.array([0.9, -0.4])
    ref = _brute_force(X, y, beta)
    ia, ib = np.triu_indices(2)
    for sign in (1.0, -1.0):
        score, hpack = np.zeros(2), np.zeros(3)
        ll = exact_stratum_log(X @ beta, X, y, sign, m if sign > 0 else 8 - m, 2, ia.astype(np.int64),
                               ib.astype(np.int64), score, hpack)
        np.testing.assert_allclose(ll, ref[0], rtol=1e-13)
        np.testing.assert_allclose(score, ref[1], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(hpack, ref[2][ia, ib], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("cases", [(1, 4, 6), (0, 1, 2, 3, 5, 7), (2,)])
def test_inclusion_probabilities_equal_enumeration(cases):
    """P(row i is a case) = Σ_{S∋i} P(S), P(S) ∝ exp(Σ_S η) over the m-subsets."""
    rng = np.random.default_rng(10 + len(cases))
    X = rng.normal(size=(8, 2))
    y = np.zeros(8, dtype=int)
    y[list(cases)] = 1
    beta = np.array([1.3, -0.8])
    eta = X @ beta
    subsets = list(itertools.combinations(range(8), len(cases)))
    p = np.array([np.exp(eta[list(c)].sum()) for c in subsets])
    p /= p.sum()
    ref = np.array([sum(pc for pc, c in zip(p, subsets) if i in c) for i in range(8)])
    np.testing.assert_allclose(inclusion_probabilities(X, y, np.zeros(8), beta), ref, rtol=1e-12)


def test_inclusion_probabilities_of_a_large_stratum_sum_to_its_cases():
    rng = np.random.default_rng(8)
    n, m = 2000, 200
    X = rng.normal(size=(n, 2))
    y = np.zeros(n, dtype=int)
    y[:m] = 1
    s = np.r_[np.zeros(n - 10), np.ones(10)]                  # and one of 10 rows holding no case
    y[-10:] = 0
    # at β × 300, log B ≈ −10⁵: π carries an absolute error of ε·|log B| ≈ 1e-11
    for beta, rtol in ((np.array([0.5, -0.25]), 1e-12), (np.array([150.0, -75.0]), 1e-10)):
        pi = inclusion_probabilities(X, y, s, beta)
        assert np.all((pi >= 0) & (pi <= 1))
        np.testing.assert_allclose(pi[:-10].sum(), m, rtol=rtol)
        assert np.all(pi[-10:] == 0.0)


@pytest.mark.parametrize("method", ["exact", "breslow", "efron"])
def test_row_scores_are_the_derivatives_in_each_rows_offset(method):
    """∂ℓ/∂η_i = ∂ℓ/∂offset_i by central differences; rows add up to the
    stratum scores and the gradient."""
    rng = np.random.default_rng(4)
    X, y, s = _random_strata(rng, [12, 9, 30], [3, 6, 1])
    offset = 0.3 * rng.normal(size=y.size)
    weights = None if method == "exact" else rng.uniform(0.5, 2.0, size=y.size)
    beta = np.array([0.2, -0.5, 0.3])
    problem = ConditionalProblem(X, y, s, offset=offset, weights=weights, method=method)
    h = 1e-6
    fd = np.empty(y.size)
    for i in range(y.size):
        up, down = offset.copy(), offset.copy()
        up[i] += h
        down[i] -= h
        fd[i] = (conditional_stats(X, y, s, beta, up, method, grad=False, hess=False, weights=weights)[0]
                 - conditional_stats(X, y, s, beta, down, method, grad=False, hess=False,
                                     weights=weights)[0]) / (2 * h)
    np.testing.assert_allclose(problem.groups.unsort(problem.eta_gradient(beta)), fd, rtol=1e-6,
                               atol=1e-8)
    U = row_scores(X, y, s, beta, offset, method, weights=weights)
    np.testing.assert_allclose(pd.DataFrame(U).groupby(s).sum().to_numpy(),
                               problem.stratum_scores(beta), rtol=1e-10, atol=1e-10)


def _log_esp(eta, m):
    """log of the elementary symmetric polynomial e_m(exp η) by the plain
    log-space recursion (an implementation independent of the kernels')."""
    L = np.full(m + 1, -np.inf)
    L[0] = 0.0
    for e in eta:
        L[1:] = np.logaddexp(L[1:], L[:-1] + e)
    return L[m]


def test_exact_large_stratum_neither_overflows_nor_underflows():
    """2,000 rows and 200 cases: e_200 would overflow a double (≈ 10^282 at
    η = 0, far more when η is spread); checked against the log-space recursion
    for η scales from 1 to 300, and the gradient against its finite difference."""
    rng = np.random.default_rng(7)
    n, m = 2000, 200
    X = rng.normal(size=(n, 2))
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, m, replace=False)] = 1
    problem = ConditionalProblem(X, y, np.zeros(n))
    for scale, log_space in ((0.0, 0), (1.0, 0), (30.0, 0), (300.0, 1)):
        beta = scale * np.array([0.5, -0.25])
        ll, g, H = problem.stats(beta)
        eta = X @ beta
        np.testing.assert_allclose(ll, eta[y == 1].sum() - _log_esp(eta, m), rtol=1e-11)
        assert np.all(np.isfinite(g)) and np.all(np.isfinite(H))
        # η spread over ~1,000: the ratio recursion overflows, the log-space one takes over
        assert problem.log_space_strata == log_space
    beta = np.array([0.5, -0.25])
    h = 1e-5

    def ref_ll(b):
        eta = X @ b
        return eta[y == 1].sum() - _log_esp(eta, m)
    fd = np.array([(ref_ll(beta + h * e) - ref_ll(beta - h * e)) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(conditional_stats(X, y, np.zeros(n), beta)[1], fd, rtol=1e-6)


def _random_strata(rng, sizes, cases, d=3):
    s = np.repeat(np.arange(len(sizes)), sizes)
    X = rng.normal(size=(s.size, d)) + 10.0
    y = np.zeros(s.size, dtype=int)
    for k, (lo, m) in enumerate(zip(np.r_[0, np.cumsum(sizes)[:-1]], cases)):
        y[lo + rng.choice(sizes[k], m, replace=False)] = 1
    perm = rng.permutation(s.size)         # strata interleaved, not sorted
    return X[perm], y[perm], s[perm]


@pytest.mark.parametrize("method", ["exact", "breslow", "efron"])
def test_gradient_and_hessian_are_finite_differences(method):
    rng = np.random.default_rng(3)
    X, y, s = _random_strata(rng, [40, 25, 60, 9], [5, 20, 1, 4])   # 20 of 25: complement
    offset = 0.2 * rng.normal(size=y.size)
    weights = None if method == "exact" else rng.uniform(0.5, 2.0, size=y.size)
    problem = ConditionalProblem(X, y, s, offset=offset, weights=weights, method=method)
    beta = np.array([0.3, -0.6, 0.45])
    ll, g, H = problem.stats(beta)
    h = 1e-6
    g_fd = np.array([(problem.stats(beta + h * e)[0] - problem.stats(beta - h * e)[0]) / (2 * h)
                     for e in np.eye(3)])
    H_fd = np.array([(problem.stats(beta + h * e)[1] - problem.stats(beta - h * e)[1]) / (2 * h)
                     for e in np.eye(3)])
    np.testing.assert_allclose(g, g_fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=0)


def _tied_closed_form(X, y, s, beta, offset, w, efron):
    """Breslow/Efron log-likelihood written directly from their formulas."""
    eta = X @ beta + offset
    total = 0.0
    for k in np.unique(s):
        i = s == k
        c = i & (y == 1)
        m = c.sum()
        if m == 0:
            continue
        A, C = (w[i] * np.exp(eta[i])).sum(), (w[c] * np.exp(eta[c])).sum()
        terms = np.arange(m) / m if efron else np.zeros(1)
        total += (w[c] * eta[c]).sum() - w[c].sum() / terms.size * np.log(A - terms * C).sum()
    return total


@pytest.mark.parametrize("efron", [False, True])
def test_breslow_and_efron_equal_their_formulas(efron):
    rng = np.random.default_rng(5)
    X, y, s = _random_strata(rng, [12, 30, 7, 5], [3, 2, 7, 0])    # an all-case stratum is kept
    offset, w = rng.normal(size=y.size), rng.uniform(0.5, 3, size=y.size)
    beta = np.array([0.2, 0.1, -0.3])
    ll = conditional_stats(X, y, s, beta, offset, "efron" if efron else "breslow", weights=w)[0]
    np.testing.assert_allclose(ll, _tied_closed_form(X, y, s, beta, offset, w, efron), rtol=1e-13)


def test_uninformative_strata_contribute_nothing_to_the_exact_likelihood():
    rng = np.random.default_rng(11)
    X, y, s = _random_strata(rng, [20, 15], [4, 3])
    extra_X = rng.normal(size=(9, 3))
    extra_y = np.r_[np.zeros(5, int), np.ones(4, int)]       # stratum 7: no case; 8: only cases
    extra_s = np.r_[np.full(5, 7), np.full(4, 8)]
    beta = np.array([0.4, -0.2, 0.9])
    base = conditional_stats(X, y, s, beta)
    more = conditional_stats(np.vstack([X, extra_X]), np.r_[y, extra_y], np.r_[s, extra_s], beta)
    for a, b in zip(base, more):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14)
    U = stratum_scores(np.vstack([X, extra_X]), np.r_[y, extra_y], np.r_[s, extra_s], beta)
    assert U.shape == (4, 3) and np.all(U[2:] == 0.0)


def test_group_strata_orders_and_restores_rows():
    g = group_strata(np.array(["b", "a", "c", "a", "b", "b"]))
    np.testing.assert_array_equal(g.labels, ["a", "b", "c"])
    np.testing.assert_array_equal(g.bounds, [0, 2, 5, 6])
    np.testing.assert_array_equal(g.order, [1, 3, 0, 4, 5, 2])
    rows = np.arange(6.0) * 10
    np.testing.assert_array_equal(g.unsort(g.sort(rows)), rows)


def test_within_stratum_probabilities_are_a_softmax_in_caller_order():
    X = np.array([[0.0], [1.0], [2.0], [0.5], [-1.0]])
    s = np.array([1, 2, 1, 2, 1])
    p = within_stratum_probabilities(X, s, np.array([1.0]), offset=np.array([0, 0, 0, 0, 1.0]))
    e = np.exp([0.0, 1.0, 2.0, 0.5, 0.0])                  # η = x + offset
    one, two = e[[0, 2, 4]].sum(), e[[1, 3]].sum()
    np.testing.assert_allclose(p, e / np.array([one, two, one, two, one]), rtol=1e-14)


def test_separated_data_warn_that_coefficients_may_be_infinite():
    """x is larger for every case than for every control of its stratum: the
    conditional likelihood increases towards 0 as β → ∞ (no finite MLE; R's
    clogit runs out of iterations at x = 18, se 4139)."""
    s = np.repeat(np.arange(4), 5)
    x = np.tile(np.arange(5.0), 4)
    y = (x >= 3).astype(int)
    X = np.c_[x, np.sin(np.arange(20.0))]
    with pytest.warns(SeparationWarning, match="separated from the controls by them"):
        fit = fit_conditional(X, y, s)
    assert fit.coef_[0] > 10 and fit.results_.bse.iloc[0] > 1e3


def test_bad_input_is_refused_clearly():
    X, y, s = _infert()
    with pytest.raises(ValueError, match="weights are not defined for the exact"):
        ConditionalProblem(X, y, s, weights=np.ones(len(y)))
    with pytest.raises(ValueError, match="0 \\(control\\) or 1 \\(case\\)"):
        ConditionalProblem(X, y * 2, s)
    with pytest.raises(ValueError, match="missing"):
        ConditionalProblem(X, y, np.where(np.arange(len(y)) == 3, np.nan, s))
    with pytest.raises(ValueError, match="strata has 10 rows"):
        ConditionalProblem(X, y, s[:10])
    with pytest.raises(ValueError, match="method must be one of"):
        ConditionalProblem(X, y, s, method="exakt")
    with pytest.raises(ValueError, match="must be > 0"):
        ConditionalProblem(X, y, s, method="efron", weights=np.r_[0.0, np.ones(len(y) - 1)])
    with pytest.warns(UserWarning, match="constant within every stratum"):
        aliased = fit_conditional(np.c_[np.ones(len(y)), X], y, s)
    assert aliased.aliased_ == ["x0"]
    with pytest.raises(ValueError, match="X must be numeric"):
        ConditionalProblem(np.array([["a"], ["b"]]), np.array([1, 0]), np.array([1, 1]))
    with pytest.raises(ValueError, match="beta must have shape"):
        conditional_stats(X, y, s, np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="no stratum has both"):
            fit_conditional(X[:2], np.array([1, 0]), np.array([1, 2]))
