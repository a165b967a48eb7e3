#!/usr/bin/env python
"""Unpenalized fits on separated real data: logitlab against statsmodels.

    python benchmarks/separation_bench.py [--repeat 5]

Two datasets whose maximum-likelihood estimate does not exist, so logitlab's
separation check runs after the fit and names the infinite terms:

* ``anes96`` (statsmodels, 944 rows, 7 classes):
  ``logitlab.fit("PID ~ logpopul + selfLR + age + C(educ) + income", anes96)``
  against statsmodels ``smf.mnlogit(...).fit()`` + ``.bse``;
* ``breast cancer`` (scikit-learn, 569 rows, 30 columns, completely separated):
  ``LogisticRegression().fit(X, y)`` against ``sm.Logit(y, add_constant(X)).fit()`` + ``.bse``.

Prints the fastest of ``--repeat`` runs (wall clock, one process, after a warm-up
run): logitlab's whole fit, the part of it spent in the separation check, the
statsmodels fit, and logitlab ÷ statsmodels. statsmodels' own convergence
warnings (it does not converge on separated data) are counted, not shown.
"""

from __future__ import annotations

import argparse
import time
import warnings


def _timed_check():
    """Wrap logitlab's separation check to accumulate its time."""
    import logitlab.estimator as estimator
    spent = {"t": 0.0}
    original = estimator.detect_separation

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["t"] += time.perf_counter() - t

    estimator.detect_separation = timed
    return spent


def _best(fn, repeat):
    """(fastest seconds, last result) of ``repeat`` calls after a warm-up."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn()
        times, out = [], None
        for _ in range(repeat):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
    return min(times), out


def cases():
    import pandas as pd
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from sklearn.datasets import load_breast_cancer

    import logitlab

    anes = sm.datasets.anes96.load_pandas().data
    formula = "PID ~ logpopul + selfLR + age + C(educ) + income"
    X, y = load_breast_cancer(return_X_y=True)
    Xc = sm.add_constant(X)

    def sm_anes():
        res = smf.mnlogit(formula, anes).fit(disp=0)
        return res.bse

    def sm_breast():
        res = sm.Logit(y, Xc).fit(disp=0)
        return res.bse

    return [
        ("anes96 (944 x 10, 7 classes)", lambda: logitlab.fit(formula, anes), sm_anes),
        ("breast cancer (569 x 30)", lambda: logitlab.LogisticRegression().fit(X, y), sm_breast),
    ], pd


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    spent = _timed_check()
    rows, _ = cases()
    print(f"{'data':32s} {'logitlab s':>10s} {'(check s)':>10s} {'statsmodels s':>14s} "
          f"{'ratio':>7s}  infinite terms")
    for name, ours, theirs in rows:
        times = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours()
            for _ in range(args.repeat):
                spent["t"] = 0.0
                t = time.perf_counter()
                model = ours()
                times.append((time.perf_counter() - t, spent["t"]))
        fit_s, check_s = min(times)
        sm_s, _ = _best(theirs, args.repeat)
        infinite = len(model.inference_state_["infinite"])
        print(f"{name:32s} {fit_s:10.3f} {check_s:10.4f} {sm_s:14.3f} {fit_s / sm_s:7.2f}  "
              f"{infinite}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
