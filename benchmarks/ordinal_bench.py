#!/usr/bin/env python
"""Ordinal logistic regression (proportional odds): logitlab vs statsmodels vs R.

    PYTHONPATH=src python benchmarks/ordinal_bench.py [--n 1000000] [--d 10] [--levels 5]
                                                     [--tools logitlab,statsmodels,R]

One data set from a latent logistic model (``y* = xᵀβ + ε``, cut at K − 1
points; seed 0), fitted by maximum likelihood with standard errors by each tool:

* logitlab: ``OrderedLogisticRegression().fit`` (Newton, gradient max-norm
  1e-10), then ``results_.bse`` (the information is computed at the optimum);
* statsmodels: ``OrderedModel(y, X, distr="logit").fit(method="bfgs")`` and its
  ``bse`` (statsmodels' default optimizer; its Hessian is numerical);
* R: ``ordinal::clm`` (Newton with analytic derivatives, its default
  ``gradTol = 1e-6``) and ``vcov``, timed inside R (``system.time``) on the same
  data written to a CSV (the reading is not timed).

Reported: wall time of fit + standard errors, the log-likelihood reached (all
tools maximize the same likelihood; a lower value means a tool stopped early),
the largest coefficient difference from logitlab, and the ratio logitlab ÷ tool
(below 1: logitlab is faster). Single-threaded BLAS for all.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))


def make_data(n: int, d: int, K: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    beta = rng.normal(scale=0.5, size=d)
    latent = X @ beta + rng.logistic(size=n)
    cuts = np.quantile(latent, np.linspace(0, 1, K + 1)[1:-1])
    y = np.searchsorted(cuts, latent) + 1               # levels 1..K
    return X, y


def run_logitlab(X, y):
    from logitlab import OrderedLogisticRegression
    t = time.perf_counter()
    m = OrderedLogisticRegression().fit(X, y)
    se = m.results_.bse.to_numpy()
    elapsed = time.perf_counter() - t
    return elapsed, m.results_.llf, np.r_[m.coef_, m.thresholds_], se, m.converged_


def run_statsmodels(X, y):
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    t = time.perf_counter()
    res = OrderedModel(y, X, distr="logit").fit(method="bfgs", disp=False, maxiter=1000)
    se = np.asarray(res.bse)
    elapsed = time.perf_counter() - t
    params = np.asarray(res.params)
    d = X.shape[1]
    # statsmodels: the first threshold, then log-increments of the others
    th = np.cumsum(np.r_[params[d], np.exp(params[d + 1:])])
    return elapsed, float(res.llf), np.r_[params[:d], th], se, bool(res.mle_retvals["converged"])


def run_r(X, y):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.csv")
        np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.17g",
                   header=",".join(["y"] + [f"x{j}" for j in range(X.shape[1])]), comments="")
        script = f"""
suppressPackageStartupMessages(library(ordinal))
d <- read.csv("{path}"); d$y <- factor(d$y, ordered = TRUE)
tm <- system.time({{ f <- clm(y ~ ., data = d); v <- vcov(f) }})[["elapsed"]]
cat(tm, format(as.numeric(logLik(f)), digits = 17), f$convergence$code, "\\n")
cat(c(coef(f)[-(1:(nlevels(d$y) - 1))], coef(f)[1:(nlevels(d$y) - 1)]), "\\n")
"""
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True,
                             timeout=3600)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        first, second = out.stdout.strip().splitlines()[-2:]
        tm, ll, code = first.split()
        return float(tm), float(ll), np.array(second.split(), dtype=float), None, code == "0"


TOOLS = {"logitlab": run_logitlab, "statsmodels": run_statsmodels, "R": run_r}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=10)
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--tools", default="logitlab,statsmodels,R")
    args = parser.parse_args()
    X, y = make_data(args.n, args.d, args.levels)
    warm = make_data(2000, args.d, args.levels)       # imports and one-time set-up, untimed
    for name in args.tools.split(","):
        if name != "R":
            TOOLS[name](*warm)
    print(f"ordinal: n = {args.n:,}, d = {args.d}, K = {args.levels} levels")
    results = {}
    for name in args.tools.split(","):
        results[name] = TOOLS[name](X, y)
        t, ll, coef, _, ok = results[name]
        print(f"  {name:<12} {t:9.2f} s   logLik {ll:.6f}   converged {ok}", flush=True)
    if "logitlab" not in results:
        return
    t0, ll0, c0 = results["logitlab"][:3]
    print("\nratio logitlab ÷ tool (below 1: logitlab is faster):")
    for name, (t, ll, coef, _, _) in results.items():
        if name != "logitlab":
            print(f"  {name:<12} {t0 / t:6.3f}   ΔlogLik {ll - ll0:+.2e}   "
                  f"max |Δcoef| {np.max(np.abs(coef - c0)):.1e}")


if __name__ == "__main__":
    main()
