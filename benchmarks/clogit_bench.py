#!/usr/bin/env python
"""Exact conditional logit: logitlab against statsmodels and R's survival::clogit.

    python benchmarks/clogit_bench.py [--config large|moderate|both] [--timeout 120]

Configurations (data drawn once with NumPy, seed 2026, η = Xβ with
β = (0.5, −0.3, 0.2, 0.1, 0), cases drawn within each stratum with probability
∝ exp(η) without replacement):

* ``large``: 20 strata of 2,000 rows with 200 cases each, d = 5 (40,000 rows);
* ``moderate``: 200 strata of 20 rows with 4 cases each, d = 5 (4,000 rows).

Timed, one run each, wall clock:

* logitlab ``ConditionalLogisticRegression(method="exact").fit(X, y, strata=...)``
  and its standard errors, in this process, after a warm-up fit on a small
  problem (numba compiles once; the compile time is printed separately);
* statsmodels ``ConditionalLogit(y, X, groups=strata).fit()`` (its default
  BFGS) in a subprocess killed after ``--timeout`` seconds ("did not finish");
  its denominator is a memoised Python recursion n_s calls deep, so the
  subprocess raises Python's recursion limit to 100,000 first (at the default
  1,000 it stops at once with RecursionError on 2,000-row strata);
* R ``clogit(case ~ X1 + ... + X5 + strata(st), method = "exact")`` via Rscript,
  timed inside R with ``system.time`` (elapsed), also under ``--timeout``.

Prints each time, the coefficients' largest difference from logitlab's, and
the ratio logitlab ÷ tool (below 1: logitlab is faster). Results:
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

CONFIGS = {"large": (20, 2000, 200), "moderate": (200, 20, 4)}
BETA = np.array([0.5, -0.3, 0.2, 0.1, 0.0])

STATSMODELS = """
import json, sys, time
import numpy as np
from statsmodels.discrete.conditional_models import ConditionalLogit
sys.setrecursionlimit(100_000)   # its denominator recursion is n_s calls deep
data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
X, y, st = data[:, :5], data[:, 5], data[:, 6]
t = time.perf_counter()
res = ConditionalLogit(y, X, groups=st).fit(disp=0)
print(json.dumps({"seconds": time.perf_counter() - t, "coef": res.params.tolist()}))
"""

R_SCRIPT = """
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- read.csv(commandArgs(TRUE)[1])
tm <- system.time(f <- clogit(case ~ X1 + X2 + X3 + X4 + X5 + strata(st), d, method = "exact"))
cat(toJSON(list(seconds = unname(tm["elapsed"]), coef = unname(coef(f)), iter = f$iter),
           digits = NA, auto_unbox = TRUE))
"""


def make_data(n_strata: int, rows: int, cases: int, seed: int = 2026):
    """X (N, 5) standard normal, y (N,) with ``cases`` per stratum, strata (N,)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_strata * rows, BETA.size))
    strata = np.repeat(np.arange(n_strata), rows)
    y = np.zeros(n_strata * rows, dtype=int)
    for s in range(n_strata):
        lo = s * rows
        p = np.exp(X[lo:lo + rows] @ BETA)
        y[lo + rng.choice(rows, cases, replace=False, p=p / p.sum())] = 1
    return X, y, strata


def write_csv(path, X, y, strata):
    header = ",".join([f"X{j + 1}" for j in range(X.shape[1])] + ["case", "st"])
    np.savetxt(path, np.column_stack([X, y, strata]), delimiter=",", header=header,
               comments="", fmt="%.17g")


def run_external(command, timeout):
    """``(result dict or None, note)`` of a command printing one JSON line."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"did not finish in {timeout:.0f} s"
    except FileNotFoundError as err:
        return None, f"not run ({err})"
    if done.returncode != 0:
        return None, "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:200]
    return json.loads(done.stdout.strip().splitlines()[-1]), ""


def fit_logitlab(X, y, strata):
    from logitlab import ConditionalLogisticRegression
    model = ConditionalLogisticRegression(method="exact").fit(X, y, strata=strata)
    model.results_.bse                         # the standard errors, as the others report
    return model


def bench(name, timeout):
    S, n, m = CONFIGS[name]
    X, y, strata = make_data(S, n, m)
    t = time.perf_counter()
    fit = fit_logitlab(X, y, strata)
    ours = time.perf_counter() - t
    print(f"\n{name}: {S} strata x {n} rows, {m} cases each, d = {X.shape[1]} "
          f"({X.shape[0]:,} rows)")
    print(f"  logitlab    {ours:9.3f} s  ({fit.n_iter_} Newton steps; loglik "
          f"{fit.results_.llf:.6f})")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clogit_bench.csv")
        write_csv(path, X, y, strata)
        others = {"statsmodels": [sys.executable, "-c", STATSMODELS, path],
                  "R clogit": ["Rscript", "-e", R_SCRIPT, path]}
        for label, command in others.items():
            result, note = run_external(command, timeout)
            if result is None:
                print(f"  {label:11s} {note}")
                continue
            diff = np.max(np.abs(np.asarray(result["coef"]) - fit.coef_))
            print(f"  {label:11s} {result['seconds']:9.3f} s   ratio logitlab ÷ {label}: "
                  f"{ours / result['seconds']:.3f}   (max |Δcoef| vs logitlab {diff:.1e})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--config", choices=["large", "moderate", "both"], default="both")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    t = time.perf_counter()
    fit_logitlab(*make_data(3, 12, 3))          # compiles (or loads) the kernels
    print(f"numba compile / cache load: {time.perf_counter() - t:.2f} s")
    for name in (["moderate", "large"] if args.config == "both" else [args.config]):
        bench(name, args.timeout)


if __name__ == "__main__":
    main()
