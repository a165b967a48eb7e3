#!/usr/bin/env python
"""Mixed-effects logistic regression: logitlab's glmer core against lme4::glmer.

    python benchmarks/glmer_bench.py [--repeat N] [--only verbagg|slope] [--no-api]

Two data sets, each fitted by both tools in the same run (Laplace, nAGQ = 1):

* ``verbagg``: lme4's VerbAgg (tests/data/glmm_verbagg.csv, 7,584 rows), crossed
  random intercepts ``r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)``
  (316 subjects × 24 items);
* ``slope``: simulated, 100,000 rows in 1,000 groups, ``y ~ x + (1 + x | g)``
  (correlated random intercept and slope; fixed seed).

R: ``Rscript benchmarks/glmer_bench.R`` reads the same CSV (the factors get the
same level order as in Python) and times ``glmer(formula, family = binomial,
control = glmerControl())`` — lme4's defaults — inside R (``system.time``
around the fit only: R's start-up, loading lme4 and reading the CSV are not timed).

logitlab: the time of what the call costs from the formula and the data frame —
the random-effects design (``random_effects_design``), the fixed-effects model
matrix, the :class:`GlmmProblem` and ``fit_glmm`` (as ``tests/test_glmm_core.py``
builds it) — after an untimed warm-up fit on 2,000 simulated rows (imports,
caches). With the user-facing ``logitlab.fit`` available, it is timed too (column
``logitlab.fit``; ``--no-api`` skips it).

``--repeat N``: N fits per tool, the fastest is reported. Printed: seconds,
ratio logitlab ÷ glmer, the logLik of each and their relative difference
(which is higher: lme4's optimizer stops earlier than logitlab's), the largest
differences of the fixed effects and θ. Results (with the machine and the load
average) go to ``benchmarks/results/glmer_<timestamp>.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DATA = ROOT / "tests" / "data"
R_SCRIPT = ROOT / "benchmarks" / "glmer_bench.R"
RESULTS = ROOT / "benchmarks" / "results"


# --------------------------------------------------------------------- data
def verbagg():
    """(name, data frame, R formula, y (n,), factor levels) of VerbAgg, crossed."""
    df = pd.read_csv(DATA / "glmm_verbagg.csv")
    ref = json.loads((DATA / "glmer_r.json").read_text())["verbagg_crossed"]
    levels = {"item": ref["Z_colnames"][-24:],          # R's level order of VerbAgg$item
              "id": [str(v) for v in sorted(df["id"].unique())],
              "Gender": ["F", "M"], "btype": ["curse", "scold", "shout"],
              "situ": ["other", "self"], "r2": ["N", "Y"]}
    df["id"] = df["id"].astype(str)
    for col, lev in levels.items():
        df[col] = pd.Categorical(df[col], categories=lev)
    y = (df["r2"] == "Y").to_numpy(np.float64)
    return ("verbagg", df, "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", y,
            levels)


def simulated_slope(n: int = 100_000, groups: int = 1_000, seed: int = 20261203):
    """(name, data frame, formula, y, factor levels): x ~ N(0, 1), each row in a
    uniformly drawn group; b_j = T z_j, T = [[0.8, 0], [0.2, 0.4]] (SDs 0.8 and
    0.45, correlation 0.45); η = −0.5 + 0.6 x + b_j0 + b_j1 x; y ~ Bernoulli(logistic(η))."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    x = rng.normal(size=n)
    b = rng.normal(size=(groups, 2)) @ np.array([[0.8, 0.0], [0.2, 0.4]]).T
    eta = -0.5 + 0.6 * x + b[g, 0] + b[g, 1] * x
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    names = np.array([f"g{j:04d}" for j in range(groups)])
    levels = {"g": [str(v) for v in names[np.unique(g)]]}
    df = pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(names[g], categories=levels["g"])})
    return "slope", df, "y ~ x + (1 + x | g)", y.astype(np.float64), levels


# ----------------------------------------------------------------- logitlab
def build_and_fit(df, formula: str, y):
    """The problem from the formula's right-hand side and the frame, and its fit."""
    from formulaic import model_matrix

    from logitlab.data.random_effects import random_effects_design
    from logitlab.families.glmm_laplace import GlmmProblem
    from logitlab.families.glmm_structure import ThetaLayout
    from logitlab.solvers.glmer import fit_glmm

    red = random_effects_design(formula.split("~", 1)[1], df)
    X = model_matrix(red.fixed, df).to_numpy(np.float64)
    pb = GlmmProblem(X, red.Z, y, ThetaLayout(red.n_levels, red.n_columns))
    return fit_glmm(pb)


def api_fit(df, formula: str, y):
    import logitlab
    return logitlab.fit(formula, df)


def has_api() -> bool:
    try:
        from logitlab.estimators.mixed import MixedLogisticRegression  # noqa: F401
    except ImportError:
        return False
    return True


def timed(fn, repeat: int, *args):
    """(fastest wall seconds, that call's CPU seconds, all wall seconds, the last
    result) of ``repeat`` calls."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(times), cpus[int(np.argmin(times))], times, out


def warm_up(api: bool) -> None:
    _, df, formula, y, _ = simulated_slope(n=2_000, groups=40, seed=1)
    build_and_fit(df, formula, y)
    if api:
        api_fit(df, formula, y)


# ----------------------------------------------------------------------- R
def run_glmer(df, formula: str, levels: dict, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        csv, spec, out = (os.path.join(tmp, f) for f in ("d.csv", "spec.json", "out.json"))
        frame = df.copy()
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].astype(str)
        frame.to_csv(csv, index=False, float_format="%.17g")
        Path(spec).write_text(json.dumps({"csv": csv, "formula": formula, "factors": levels,
                                          "repeat": repeat}))
        proc = subprocess.run(["Rscript", str(R_SCRIPT), spec, out], capture_output=True,
                              text=True, timeout=7200)
        if proc.returncode != 0:
            raise RuntimeError(f"Rscript failed:\n{proc.stderr}")
        return json.loads(Path(out).read_text())


# -------------------------------------------------------------------- main
def compare(name, df, formula, y, levels, repeat: int, api: bool) -> dict:
    print(f"{name}: {len(df):,} rows, {formula}", flush=True)
    r = run_glmer(df, formula, levels, repeat)
    print(f"  glmer          {r['time']:8.2f} s (CPU {r['cpu']:.2f} s)   "
          f"logLik {r['logLik']:.10f}", flush=True)
    t_core, cpu_core, times_core, fit = timed(build_and_fit, repeat, df, formula, y)
    print(f"  logitlab core  {t_core:8.2f} s (CPU {cpu_core:.2f} s)   logLik {fit.loglik:.10f}"
          f"   converged {fit.converged}", flush=True)
    row = {"data": name, "rows": len(df), "formula": formula,
           "glmer": r, "logitlab": {"time": t_core, "cpu": cpu_core, "times": times_core,
                                    "logLik": fit.loglik,
                                    "fixef": fit.beta.tolist(), "theta": fit.theta.tolist(),
                                    "converged": fit.converged, "messages": fit.messages,
                                    "n_evaluations": fit.n_evaluations,
                                    "n_iterations": list(fit.n_iterations)}}
    if api:
        t_api, cpu_api, times_api, model = timed(api_fit, repeat, df, formula, y)
        row["logitlab_fit"] = {"time": t_api, "cpu": cpu_api, "times": times_api,
                               "logLik": float(getattr(model, "loglik_", np.nan))}
        print(f"  logitlab.fit   {t_api:8.2f} s", flush=True)
    row["ratio"] = t_core / r["time"]
    row["cpu_ratio"] = cpu_core / r["cpu"]
    row["loglik_rel_diff"] = (fit.loglik - r["logLik"]) / abs(r["logLik"])
    row["fixef_max_abs_diff"] = float(np.max(np.abs(fit.beta - np.array(list(r["fixef"].values())))))
    row["theta_max_abs_diff"] = float(np.max(np.abs(fit.theta - np.array(list(r["theta"].values())))))
    return row


def machine() -> dict:
    import scipy

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {"platform": platform.platform(), "python": sys.version.split()[0],
            "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
            "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(), "git_commit": commit}


def print_table(rows) -> None:
    print("\n| data | glmer (s) | logitlab (s) | ratio | CPU ratio | logLik glmer "
          "| logLik logitlab | rel. diff | higher | max|Δβ| | max|Δθ| |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        r, ll = row["glmer"], row["logitlab"]
        higher = "logitlab" if ll["logLik"] > r["logLik"] else "glmer"
        print(f"| {row['data']} | {r['time']:.2f} | {ll['time']:.2f} | {row['ratio']:.3f} "
              f"| {row['cpu_ratio']:.3f} "
              f"| {r['logLik']:.6f} | {ll['logLik']:.6f} | {abs(row['loglik_rel_diff']):.1e} "
              f"| {higher} | {row['fixef_max_abs_diff']:.1e} | {row['theta_max_abs_diff']:.1e} |")
    for row in rows:
        if "logitlab_fit" in row:
            print(f"{row['data']}: logitlab.fit {row['logitlab_fit']['time']:.2f} s "
                  f"(ratio {row['logitlab_fit']['time'] / row['glmer']['time']:.3f})")
        if row["glmer"]["messages"]:
            print(f"{row['data']}: glmer: {'; '.join(row['glmer']['messages'])}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeat", type=int, default=1, help="fits per tool; the fastest counts")
    parser.add_argument("--only", choices=["verbagg", "slope"], default=None)
    parser.add_argument("--no-api", action="store_true", help="skip timing logitlab.fit")
    args = parser.parse_args()
    api = not args.no_api and has_api()
    warm_up(api)
    sets = [verbagg, simulated_slope]
    if args.only:
        sets = [verbagg if args.only == "verbagg" else simulated_slope]
    info = machine()
    rows = [compare(*make(), repeat=args.repeat, api=api) for make in sets]
    print_table(rows)
    info["loadavg_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"glmer_{stamp}.json"
    path.write_text(json.dumps({"machine": info, "repeat": args.repeat, "rows": rows},
                               indent=1, default=str))
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
