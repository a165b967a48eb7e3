"""Aliasing like R (``logitlab.fitstats``): R's glm rule — LINPACK dqrdc2's
limited pivoting with tolerance 1e-11 on ``√w X`` at R's first IRLS iteration,
intercept first — and the fits of nearly collinear designs that R keeps.

References, all independent of logitlab's own output:

* ``tests/data/aliasing_r.json`` from ``tests/r/aliasing.R``: R's aliased sets,
  coefficients and deviances on 103 designs (exact and near aliasing
  ``x1 + ε z`` for ε = 1e-2 … 1e-12, weights, a near-constant column, factor
  dummies duplicated or all present, columns of 1e6 and 1e-6, combinations),
  the rows in ``tests/data/aliasing_designs.csv``;
* for the designs ``[1, x1, x2, x1 + ε z]``: the exact reparametrization
  ``[1, x1, x2, xc - x1]`` (``xc - x1`` is exact in floating point), a
  well-conditioned fit (statsmodels, judged by its score) from which the
  coefficients follow in closed form;
* a transcription of dqrdc2 (the Fortran, with its norm downdating) applied
  to the design itself, for the claim that the rule can be read off R;
* numpy's QR of the whole matrix, for the TSQR over chunks.

Error model for the comparisons: a backward-stable fit of a design with
condition number κ is accurate to about κ·ε (R's QR and logitlab's QR steps
alike), so coefficients are compared to ``1e-8 |β_R| + 100 κ ε ‖β_R‖∞``; the
deviance computed from coefficients carries the rounding of the logits,
``≤ p ε Σ_k |x_k β_k|`` a row, so deviances are compared to ``1e-8`` relative
plus twice that bound.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import logitlab.solvers
from logitlab import LogisticRegression, lr_test
from logitlab.fitting import fitstats
from logitlab.backends import InMemoryData
from logitlab.inference import coef_table, model_statistics
from logitlab.core.layout import Layout


DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "aliasing_r.json").read_text())
ROWS = pd.read_csv(DATA / "aliasing_designs.csv")
DESIGNS = {d["id"]: d for d in REF["designs"]}
EPS = np.finfo(float).eps


def design(ref):
    """``(X DataFrame, y, w)`` of a stored design."""
    part = ROWS[ROWS.design == ref["id"]]
    X = pd.DataFrame({name: part[f"c{j + 1}"].to_numpy() for j, name in enumerate(ref["columns"])})
    return X, part.y.to_numpy(), part.w.to_numpy()


def fit_quietly(X, y, w=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(**kwargs).fit(X, y, sample_weight=w)


def coefficients(model, names) -> np.ndarray:
    table = coef_table(model)
    return np.array([table.loc[name, "coef"] for name in names])


def condition(X, w, names) -> float:
    """κ of the column-normalized ``√w [1, X_names]`` (rows of positive weight)."""
    keep = w > 0
    A = np.column_stack([np.ones(keep.sum())] + [X[n].to_numpy()[keep] for n in names[1:]])
    A = A * np.sqrt(w[keep])[:, None]
    return float(np.linalg.cond(A / np.linalg.norm(A, axis=0)))


def logit_rounding(X, w, names, beta) -> float:
    """Bound on the rounding of Σ w·nll from the logits' rounding (see the module
    docstring)."""
    keep = w > 0
    A = np.column_stack([np.ones(keep.sum())] + [X[n].to_numpy()[keep] for n in names[1:]])
    return float(len(names) * EPS * np.sum(w[keep] * (np.abs(A) @ np.abs(beta))))


# ------------------------------------------------------- against R, every design
@pytest.mark.parametrize("name", list(DESIGNS))
def test_aliased_set_coefficients_and_deviance_match_r(name):
    ref = DESIGNS[name]
    # the reference itself: R's first IRLS iteration (the rule logitlab uses)
    # decides as its last one (what glm reports) on every stored design
    assert ref["aliased"] == ref["aliased_first_iteration"]
    X, y, w = design(ref)
    m = fit_quietly(X, y, w)
    assert sorted(m.aliased_) == sorted(ref["aliased"]), f"{name}: aliased {m.aliased_}"
    names = list(ref["coefficients"])
    expected = np.array([float(ref["coefficients"][k]) for k in names])
    actual = coefficients(m, ["(Intercept)"] + names[1:])
    kappa = condition(X, w, names)
    tol = 1e-8 * np.abs(expected) + 100 * kappa * EPS * np.abs(expected).max()
    worst = float(np.max(np.abs(actual - expected) / tol))
    print(f"{name}: κ {kappa:.2g}, coefficients within {worst:.2g} of the tolerance")
    assert np.all(np.abs(actual - expected) <= tol), f"{name}: {actual} vs R {expected}"
    deviance = -2.0 * model_statistics(m)["log_likelihood"]
    r_deviance = float(ref["deviance"])
    slack = 1e-8 * r_deviance + 2 * (logit_rounding(X, w, names, actual)
                                     + logit_rounding(X, w, names, expected))
    print(f"{name}: deviance {deviance!r} vs R {r_deviance!r} (allowed {slack:.2g})")
    assert abs(deviance - r_deviance) <= slack


NEAR = [d for d in REF["designs"] if d["family"] in ("near", "weights") and not d["aliased"]]


@pytest.mark.parametrize("name", [d["id"] for d in NEAR])
def test_near_designs_match_the_exact_reparametrization(name):
    """``[1, x1, x2, xc]`` spans the same space as ``[1, x1, x2, xc - x1]``, which is
    well-conditioned: its fit gives the exact MLE, β_xc = γ_z and β_x1 = γ1 - γ_z."""
    ref = DESIGNS[name]
    X, y, w = design(ref)
    x1, x2, xc = X.x1.to_numpy(), X.x2.to_numpy(), X.xc.to_numpy()
    z = xc - x1
    assert np.array_equal(x1 + z, xc)              # the difference is exact
    unit = np.linalg.norm(z) / np.sqrt(z.size)
    D = np.column_stack([np.ones_like(x1), x1, x2, z / unit])
    exact = sm.GLM(y, D, family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-14, maxiter=100)
    score = D.T @ (w * (y - exact.fittedvalues))
    assert np.max(np.abs(score)) <= 1e-9 * np.sum(w), "the reference is not stationary"
    g = exact.params
    beta = np.array([g[0], g[1] - g[3] / unit, g[2], g[3] / unit])
    m = fit_quietly(X, y, w)
    ours = coefficients(m, ["(Intercept)", "x1", "x2", "xc"])
    names = ["(Intercept)", "x1", "x2", "xc"]
    kappa = condition(X, w, names)
    tol = 1e-8 * np.abs(beta) + 100 * kappa * EPS * np.abs(beta).max()
    r_coef = np.array([float(ref["coefficients"][k]) for k in names])
    ours_err = np.max(np.abs(ours - beta) / np.abs(beta))
    r_err = np.max(np.abs(r_coef - beta) / np.abs(beta))
    print(f"{name}: κ {kappa:.2g}; max relative error logitlab {ours_err:.2g}, R {r_err:.2g}")
    assert np.all(np.abs(ours - beta) <= tol)
    deviance = -2.0 * model_statistics(m)["log_likelihood"]
    assert abs(deviance - exact.deviance) <= 1e-8 * exact.deviance + 2 * logit_rounding(
        X, w, names, ours)


# -------------------------------------------------------------- the rule itself
def dqrdc2_moved(x, tol=1e-11) -> list:
    """LINPACK dqrdc2 as R ships it (src/appl/dqrdc2.f), transcribed: the
    columns it moves to the end (0-based, sorted)."""
    x = np.array(x, dtype=float)
    n, p = x.shape
    qraux = np.linalg.norm(x, axis=0)
    work1, work2 = qraux.copy(), qraux.copy()
    work2[work2 == 0] = 1.0
    jpvt = list(range(p))
    k = p                                          # Fortran's k - 1
    for l in range(min(n, p)):
        while not (l >= k or qraux[l] >= work2[l] * tol):
            for arr in (qraux, work1, work2):
                arr[l:] = np.r_[arr[l + 1:], arr[l]]
            x[:, l:] = np.column_stack([x[:, l + 1:], x[:, l]])
            jpvt[l:] = jpvt[l + 1:] + [jpvt[l]]
            k -= 1
        if l == n - 1:
            continue
        nrmxl = np.linalg.norm(x[l:, l])
        if nrmxl == 0:
            continue
        if x[l, l] != 0:
            nrmxl = np.copysign(nrmxl, x[l, l])
        x[l:, l] /= nrmxl
        x[l, l] += 1.0
        for j in range(l + 1, p):
            t = -(x[l:, l] @ x[l:, j]) / x[l, l]
            x[l:, j] += t * x[l:, l]
            if qraux[j] != 0:
                tt = max(1.0 - (abs(x[l, j]) / qraux[j]) ** 2, 0.0)
                if abs(tt) >= 1e-6:
                    qraux[j] *= np.sqrt(tt)
                else:
                    qraux[j] = np.linalg.norm(x[l + 1:, j])
                    work1[j] = qraux[j]
        qraux[l] = x[l, l]
        x[l, l] = -nrmxl
    rank = min(k, n)
    return sorted(jpvt[rank:])


def random_design(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([3, 5, 12, 60, 300]))
    x1, x2, z, u = rng.standard_normal((4, n))
    eps = 10.0 ** -rng.uniform(5, 13)
    cols = [np.ones(n), x1, x1 + eps * z, x2, 2 * x1 - x2 + eps * u,
            np.zeros(n) if seed % 7 == 0 else rng.standard_normal(n), 1e6 * x2, 3 + eps * u]
    order = rng.permutation(len(cols)) if seed % 2 else np.arange(len(cols))
    return np.column_stack([cols[i] for i in order]) * rng.uniform(0.1, 3, n)[:, None]


@pytest.mark.parametrize("seed", range(60))
def test_limited_pivoting_on_r_equals_dqrdc2_on_the_design(seed):
    A = random_design(seed)
    R = np.linalg.qr(A, mode="r")
    assert fitstats.limited_pivoting(R, A.shape[0]) == dqrdc2_moved(A)


def test_glm_start_weights_are_r_mustart_weights():
    """R's binomial mustart (w y + 1/2)/(w + 1) gives w μ(1-μ) for y = 0 and 1
    alike (computed here in exact rational arithmetic)."""
    from fractions import Fraction
    w = np.array([0.0, 1e-300, 0.3, 1.0, 7.0, 1e6, 1e300])
    for y in (0, 1):
        exact = []
        for wi in map(Fraction, w.tolist()):
            mu = (wi * y + Fraction(1, 2)) / (wi + 1)
            exact.append(float(wi * mu * (1 - mu)))
        np.testing.assert_allclose(fitstats.glm_start_weights(w), exact, rtol=4 * EPS)
    assert fitstats.glm_start_weights(np.ones(1))[0] == 3 / 16


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_tsqr_over_chunks_and_threads_equals_one_qr(fit_intercept):
    rng = np.random.default_rng(3)
    n, d = 40_000, 6
    X = rng.standard_normal((n, d)) * [1, 1e3, 1e-3, 1, 1, 1]
    s = rng.uniform(0, 4, n)
    s[::7] = 0.0
    data = InMemoryData(X, np.zeros(n), s, None, Layout(d, 2, (1,), fit_intercept), n_threads=2)
    R, n_obs = fitstats.glm_r_factor(data, fit_intercept)
    root = np.sqrt(fitstats.glm_start_weights(s))
    A = (np.column_stack([np.ones(n), X]) if fit_intercept else X) * root[:, None]
    direct = np.linalg.qr(A, mode="r")
    assert n_obs == np.count_nonzero(s > 0)
    np.testing.assert_allclose(np.abs(R), np.abs(direct), rtol=1e-10,
                               atol=1e-12 * np.abs(direct).max())


@pytest.mark.parametrize("seed", range(40))
def test_gram_screen_never_clears_a_design_the_rule_would_alias(seed):
    """Whenever the Gram screen certifies full rank, dqrdc2 (transcribed) on the
    same weighted design drops nothing; and well-conditioned designs are cleared."""
    A = random_design(seed)
    rng = np.random.default_rng(seed)
    keep = rng.permutation(A.shape[1])[: int(rng.integers(1, A.shape[1] + 1))]
    A = A[:, np.sort(keep)]
    if fitstats.certifies_full_rank(A.T @ A, A.shape[0]):
        assert dqrdc2_moved(A) == []
    Q = rng.standard_normal((200, 5))
    assert fitstats.certifies_full_rank(Q.T @ Q, 200)


def test_well_conditioned_designs_skip_the_qr(monkeypatch):
    """The QR is for designs the screen cannot clear; real data never reach it."""
    def no_qr(*args):
        raise AssertionError("the QR was run")
    monkeypatch.setattr(fitstats, "aliased_by_qr", no_qr)
    df = pd.read_csv(DATA / "birthwt.csv")
    m = fit_quietly(df[["age", "lwt", "smoke", "ht", "ui"]].astype(float), df.low)
    assert m.aliased_ == []


# ------------------------------------------------ multinomial, deferred, lr_test
MULTI = [d for d in REF["designs"] if d["family"] in ("factor", "combination", "scales")
         or d["id"].startswith("near_n300_s1")]


@pytest.mark.parametrize("name", [d["id"] for d in MULTI])
def test_multinomial_fit_aliases_the_design_as_the_binary_rule(name):
    """R's first-iteration weights do not depend on y, so the design's aliasing
    is the same for every class: a 3-class fit drops R's binary set."""
    ref = DESIGNS[name]
    X, y, w = design(ref)
    classes = (y + (X.iloc[:, 0].to_numpy() > np.median(X.iloc[:, 0]))).astype(int)
    assert len(np.unique(classes)) == 3
    m = fit_quietly(X, classes, w)
    assert sorted(m.aliased_) == sorted(ref["aliased"])


@pytest.mark.parametrize("name", [d["id"] for d in REF["designs"][::4]])
def test_deferred_check_after_the_fit_matches_r(name, monkeypatch):
    """Large data: the fit runs first (newton-cg), the aliasing is read at its
    optimum or by the QR, and a refit drops the aliased columns."""
    monkeypatch.setattr(logitlab.solvers, "NEWTON_MAX_FLOPS", 0)
    monkeypatch.setattr(logitlab.solvers, "NEWTON_ANY_ROWS_SIZE", 0)
    ref = DESIGNS[name]
    X, y, w = design(ref)
    m = fit_quietly(X, y, w)
    assert m.solver_ == "newton-cg"
    assert sorted(m.aliased_) == sorted(ref["aliased"])


def test_lr_test_of_an_aliased_term_is_zero_on_zero_df():
    """R: anova(glm(y ~ x1 + x2), glm(y ~ x1 + x2 + xc)) with xc aliased prints
    Df 0, Deviance 0 and no p-value."""
    ref = DESIGNS["near_n300_s1_e0"]
    assert ref["aliased"] == ["xc"]
    X, y, w = design(ref)
    small, big = fit_quietly(X[["x1", "x2"]], y, w), fit_quietly(X, y, w)
    assert big.aliased_ == ["xc"]
    result = lr_test(small, big)
    assert result["df"] == 0 and result["statistic"] == 0.0 and np.isnan(result["p_value"])


@pytest.mark.parametrize("K,weighted", [(2, False), (2, True), (3, True)])
def test_weight_ratio_histogram_bounds_the_true_spread(K, weighted):
    """The deferred screen's spread, from the summed histogram, bounds the true
    max/min of R's start weight over the information's weight (computed
    directly here in logs)."""
    from scipy import special
    rng = np.random.default_rng(K + 2 * weighted)
    n, d = 3000, 3
    X = rng.standard_normal((n, d))
    s = rng.uniform(0.1, 8, n) if weighted else np.broadcast_to(np.float64(1.0), (n,))
    free = (1,) if K == 2 else tuple(range(1, K))
    layout = Layout(d, K, free, True)
    W = rng.standard_normal((d + 1, len(free))) * 6
    data = InMemoryData(X, np.zeros(n, dtype=np.intp), np.asarray(s), None, layout)
    counts = data.reduce_chunks(fitstats._weight_ratio_histogram, W, data.family)
    used = np.flatnonzero(counts)
    bits = used[-1] + 1 - used[0] + (0 if K > 2 else fitstats._BINARY_SLACK)
    z = np.column_stack([np.zeros(n), np.column_stack([X, np.ones(n)]) @ W]) if K > 2 else \
        np.column_stack([X, np.ones(n)]) @ W[:, 0]
    if K > 2:
        total = special.logsumexp(z, axis=1)
        log_pq = (z[:, 1] - total) + (special.logsumexp(np.delete(z, 1, axis=1), axis=1) - total)
    else:
        log_pq = special.log_expit(z) + special.log_expit(-z)
    sv = np.asarray(s)
    log_ratio = np.log(fitstats.glm_start_weights(sv) / sv) - log_pq
    true_bits = (log_ratio.max() - log_ratio.min()) / np.log(2.0)
    assert true_bits <= bits
    # and not much looser: up to a bit at each end of the binning, and for binary the 2 bits of
    # slack plus the 2 by which |z| / ln 2 may understate the range
    assert bits <= true_bits + (2 if K > 2 else 6)
