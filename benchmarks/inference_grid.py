#!/usr/bin/env python
"""Maximum likelihood with standard errors on a grid of dense binary shapes:
logitlab against statsmodels, in one process.

    python benchmarks/inference_grid.py [--shapes 100000x5,1000000x10,...] [--seed 2]

For each n × d: correlated standard-normal columns, a logistic model with a
moderate signal; logitlab ``LogisticRegression().fit(X, y)`` + ``summary()``
against statsmodels ``Logit(y, [1, X]).fit(method="newton", tol=1e-10)`` +
``bse`` (the design with its constant built before the clock starts), each the
best of two after an untimed warm-up fit of logitlab on a quarter of the
rows. Prints both times, the ratio, logitlab's solver and passes, and the
largest relative difference of the standard errors.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

DEFAULT = ("100000x5,100000x10,100000x20,300000x5,300000x10,300000x20,1000000x3,"
           "1000000x5,1000000x10,1000000x20,3000000x5,200000x100")


def make(n, d, seed):
    rng = np.random.default_rng([seed, n, d])
    X = rng.standard_normal((n, d))
    if d > 1:
        X[:, 1::3] += 0.5 * X[:, ::3][:, :X[:, 1::3].shape[1]]
    beta = rng.standard_normal(d) * (1.5 / np.sqrt(d))
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta - 0.5)))).astype(float)
    return X, y


def best_of(k, fn):
    out = None
    for _ in range(k):
        t = time.perf_counter()
        value = fn()
        spent = time.perf_counter() - t
        if out is None or spent < out[0]:
            out = (spent, value)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default=DEFAULT, help="comma list of NxD")
    ap.add_argument("--seed", type=int, default=2)
    args = ap.parse_args()
    import statsmodels.api as sm

    import logitlab as ll
    warnings.simplefilter("ignore")
    print(f"{'shape':>14} {'logitlab':>9} {'statsmodels':>11} {'ratio':>6}  solver (passes)  SE diff")
    for spec in args.shapes.split(","):
        n, d = map(int, spec.lower().split("x"))
        X, y = make(n, d, args.seed)
        ll.LogisticRegression().fit(X[: n // 4], y[: n // 4]).summary()

        def ours():
            m = ll.LogisticRegression().fit(X, y)
            return m, m.summary().to_frame()["std_err"].to_numpy(float)
        Xc = sm.add_constant(X, prepend=False)     # logitlab's order: the intercept last

        def theirs():
            return np.asarray(sm.Logit(y, Xc).fit(method="newton", maxiter=100, tol=1e-10,
                                                  disp=0).bse)
        t_ll, (m, se_ll) = best_of(2, ours)
        t_sm, se_sm = best_of(2, theirs)
        order = np.r_[d, np.arange(d)]               # the summary lists the intercept first
        diff = float(np.max(np.abs(se_ll - se_sm[order]) / se_sm[order]))
        print(f"{spec:>14} {t_ll * 1e3:7.1f}ms {t_sm * 1e3:9.1f}ms {t_ll / t_sm:6.3f}  "
              f"{m.solver_} ({m.n_passes_:.1f})  {diff:.1e}", flush=True)


if __name__ == "__main__":
    main()
