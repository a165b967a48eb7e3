#!/usr/bin/env python
"""Cross-validated penalty choice: logitlab vs scikit-learn vs glum (issue 7).

    PYTHONPATH=src python benchmarks/cv_bench.py [--scale 1.0] [--repeat 1] [--alphas 20]

Every tool gets the same 5 folds (KFold, n divisible by 5, so every training
fold has n_train rows) and the same alpha grid (logitlab's: from alpha_max down,
log-spaced), converted to each tool's convention:

* logitlab and glum: mean weighted log loss + alpha (l1_ratio |b|_1 + (1 - l1_ratio)/2 |b|^2)
  (glum: deviance / (2 sum w) is the same mean log loss; checked below on one fit);
* scikit-learn: C = 1 / (alpha * n_train) on each training fold.

Reported: wall time of the whole fit (CV over the grid plus the refit), the
chosen alpha (and its position in the grid), and the ratio logitlab ÷ tool
(below 1: logitlab is faster).
Tolerances are each tool's defaults (logitlab: gradient max-norm 1e-10 (newton /
cd); scikit-learn: tol=1e-4; glum: its default gradient tolerance), so logitlab
solves every fit to a much tighter accuracy. logitlab also refits the whole path
on all rows (coefs_path_, for plots); scikit-learn and glum refit at the chosen
alpha only. Single-threaded (n_jobs=1) for all. scikit-learn runs ``saga`` on
L1 / elastic net and also ``liblinear`` on pure L1. ``--l1-solvers gd`` also
times logitlab with ``solver="gd"`` (proximal gradient, its default tolerance
1e-6) besides ``auto`` (= ``cd``, tolerance 1e-10); ``--tools`` picks tools.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.model_selection import KFold

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from logitlab import LogisticRegression  # noqa: E402
from logitlab.estimators.cv import LogisticRegressionCV, alpha_grid, alpha_max, default_eps  # noqa: E402

CASES = {   # name: n, d, penalty, l1_ratio, share of true non-zero coefficients
    "l2 n=5000 d=20": (5_000, 20, "l2", 0.0, 1.0),
    "l2 n=50000 d=100": (50_000, 100, "l2", 0.0, 1.0),
    "l1 n=5000 d=50": (5_000, 50, "l1", 1.0, 0.2),
    "l1 n=20000 d=200": (20_000, 200, "l1", 1.0, 0.1),
    "enet(0.5) n=20000 d=200": (20_000, 200, "elasticnet", 0.5, 0.1),
    # the L1 / elastic-net path shapes of issue 20: 20 true nonzeros out of 1,000
    "l1 n=2000 d=1000": (2_000, 1_000, "l1", 1.0, 20),
    "enet(0.5) n=2000 d=1000": (2_000, 1_000, "elasticnet", 0.5, 20),
    "l1 n=50000 d=1000": (50_000, 1_000, "l1", 1.0, 20),
    "enet(0.5) n=50000 d=1000": (50_000, 1_000, "elasticnet", 0.5, 20),
}
#: the tools timed (``--tools``)
TOOLS = ("logitlab", "sklearn", "glum")
K = 5


def make_data(n, d, share, seed=0):
    """AR(1)-correlated Gaussian features (rho 0.5), a sparse-ish true model:
    each coefficient nonzero with probability ``share`` (< 1), or exactly
    ``share`` nonzero coefficients at random positions (an integer >= 1)."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, d):
        X[:, j] = 0.5 * X[:, j - 1] + np.sqrt(0.75) * Z[:, j]
    beta = rng.normal(size=d)
    if share >= 1 and float(share).is_integer():
        mask = np.zeros(d, dtype=bool)
        mask[rng.choice(d, size=int(share), replace=False)] = True
    else:
        mask = rng.uniform(size=d) < share
    beta = beta * mask * 0.5
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ beta - 0.5)))).astype(int)
    return X, y


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def sklearn_cv(alphas, folds, n_train, ratio, solver):
    """scikit-learn's LogisticRegressionCV on logitlab's grid (C = 1 / (alpha n_train))."""
    from sklearn.linear_model import LogisticRegressionCV as SKCV
    Cs = 1.0 / (alphas * n_train)
    options = dict(l1_ratios=(ratio,), use_legacy_attributes=False)

    def fit(X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = SKCV(Cs=Cs, cv=folds, solver=solver, scoring="neg_log_loss", n_jobs=1,
                       random_state=0, **options).fit(X, y)
        j = int(np.argmin(np.abs(Cs - np.ravel(ref.C_)[0])))
        return alphas[j], j
    return fit


def run_case(name, n, d, penalty, ratio, share, n_alphas, repeat, extra_solvers=(),
             tools=TOOLS):
    X, y = make_data(n, d, share)
    folds = list(KFold(K, shuffle=True, random_state=0).split(X))
    n_train = n - n // K
    s = np.ones(n)
    codes = y.astype(np.intp)
    alphas = alpha_grid(alpha_max(X, codes, s, 2, True, ratio), n_alphas,
                        default_eps(X.shape, ratio))
    rows = {}
    l1_ratio = ratio if penalty == "elasticnet" else None

    def ours(solver="auto"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = LogisticRegressionCV(penalty=penalty, l1_ratio=l1_ratio, alphas=alphas,
                                     cv=folds, solver=solver).fit(X, y)
        return m.alpha_, m.best_index_
    if "logitlab" in tools:
        for solver in ("auto", *(extra_solvers if penalty != "l2" else ())):
            t, (a, j) = timed(lambda solver=solver: ours(solver), repeat)
            rows["logitlab" if solver == "auto" else f"logitlab ({solver})"] = (t, a, j)
    if "sklearn" in tools:
        solvers = ["lbfgs"] if penalty == "l2" else ["saga"] + (["liblinear"]
                                                                if penalty == "l1" else [])
        for solver in solvers:
            fit = sklearn_cv(alphas, folds, n_train, ratio, solver)
            t, (a, j) = timed(lambda fit=fit: fit(X, y), repeat)
            rows[f"sklearn ({solver})"] = (t, a, j)
    if "glum" in tools:
        from glum import GeneralizedLinearRegressorCV

        def gl():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = GeneralizedLinearRegressorCV(family="binomial", alphas=alphas,
                                                 l1_ratio=[ratio], cv=folds, n_jobs=1).fit(X, y)
            return g.alpha_, int(np.argmin(np.abs(alphas - g.alpha_)))
        t, (a, j) = timed(gl, repeat)
        rows["glum"] = (t, a, j)

    print(f"\n{name}: {n_alphas} alphas x {K} folds" + convention_check(X, y, penalty, ratio,
                                                                       rows, tools))
    base = rows["logitlab"][0] if "logitlab" in rows else np.nan
    print(f"  {'tool':<22}{'time (s)':>10}{'logitlab/tool':>15}{'alpha chosen':>16}{'index':>7}")
    for tool, (t, a, j) in rows.items():
        print(f"  {tool:<22}{t:>10.3f}{base / t:>15.2f}{a:>16.6g}{j:>7}")
    return rows


def convention_check(X, y, penalty, ratio, rows, tools):
    """One fit at logitlab's chosen alpha, logitlab vs glum (tight): the two
    objectives are the same when the coefficients agree."""
    if "logitlab" not in rows or "glum" not in tools:
        return ""
    from glum import GeneralizedLinearRegressor
    a = rows["logitlab"][1]
    ours_fit = LogisticRegression(penalty="elasticnet", l1_ratio=ratio, alpha=a).fit(X, y) \
        if 0 < ratio < 1 else LogisticRegression(penalty=penalty, alpha=a).fit(X, y)
    glum_fit = GeneralizedLinearRegressor(family="binomial", alpha=a, l1_ratio=ratio,
                                          gradient_tol=1e-10).fit(X, y)
    diff = float(np.max(np.abs(ours_fit.coef_[0] - glum_fit.coef_)))
    return f"; logitlab vs glum coef at alpha_: max |diff| = {diff:.1e}"


def warm_up(extra_solvers):
    """Every tool and penalty once on 500 rows, untimed and unprinted: imports,
    caches and numba's compiled kernels are loaded before the first timed case
    (without it the first case's logitlab time included ~1 s of loading)."""
    with contextlib.redirect_stdout(io.StringIO()):
        for penalty, ratio in (("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.5)):
            run_case("warm-up", 500, 5, penalty, ratio, 0.5, 3, 1, extra_solvers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every n by this")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--alphas", type=int, default=20, help="grid size")
    parser.add_argument("--case", default="all",
                        help="'all' or comma-separated case names: " + "; ".join(CASES))
    parser.add_argument("--tools", default=",".join(TOOLS),
                        help="comma-separated subset of " + ",".join(TOOLS))
    parser.add_argument("--l1-solvers", default="",
                        help="extra logitlab solvers timed on the L1/elastic-net cases "
                             "(comma-separated; '' for none)")
    args = parser.parse_args()
    import glum
    import sklearn
    print(f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
          f"{sklearn.__version__}, glum {glum.__version__}, {os.cpu_count()} cpus")
    warm_up([s for s in args.l1_solvers.split(",") if s])
    for name, (n, d, penalty, ratio, share) in CASES.items():
        if args.case == "all" or name in args.case.split(","):
            n = int(round(n * args.scale / K)) * K
            run_case(name.replace(f"n={CASES[name][0]}", f"n={n}"), n, d, penalty, ratio,
                     share, args.alphas, args.repeat,
                     [s for s in args.l1_solvers.split(",") if s], args.tools.split(","))


if __name__ == "__main__":
    main()
