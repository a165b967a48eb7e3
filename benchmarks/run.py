#!/usr/bin/env python
"""Benchmark logitlab against scikit-learn, glum and statsmodels (issue 5).

    python benchmarks/run.py [--shape dense1|...|wide|classes|infer1..infer4|vsparse|issue5|issue20|all]
                             [--scale 0.1] [--repeat 1]

Every tool minimizes the same objective, mean log loss + lambda/2 ||beta||^2 with
lambda = 1/n and the intercept unpenalized; this script recomputes each tool's
objective and gradient from the coefficients it returns (NumPy, float64, blocked), so
"converged" is checked, not trusted. Each fit runs in its own subprocess (clean peak
RSS). See benchmarks/README.md for what is measured and the caveats.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_softmax

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = {  # the four shapes of issue 5 (n is multiplied by --scale)
    "dense1": dict(n=1_000_000, d=50, K=2, sparse=False),
    "dense2": dict(n=100_000, d=500, K=2, sparse=False),
    "multi": dict(n=200_000, d=50, K=10, sparse=False),
    "sparse": dict(n=200_000, d=100_000, K=2, sparse=True, nnz_row=50),
    # issue 20's shapes: which logitlab solvers (ll) and peers (sk, glum) run on each
    "wide": dict(n=20_000, d=2_000, K=2, sparse=False, f32=False, scale_d=True,
                 ll=["auto", "newton", "newton-cg", "trust-ncg", "lbfgs"],
                 sk=["lbfgs", "newton-cholesky", "newton-cg"], glum=["lbfgs", "irls-cd"]),
    "classes": dict(n=100_000, d=100, K=30, sparse=False, f32=False,
                    ll=["auto", "newton-cg", "trust-ncg", "lbfgs"],
                    sk=["lbfgs", "newton-cholesky", "saga"], glum=[]),
    "infer1": dict(n=200_000, d=100, K=2, sparse=False, inference_only=True),
    "infer2": dict(n=1_000_000, d=20, K=2, sparse=False, inference_only=True),
    # narrow designs, where statsmodels' n·p² per step is small against its n·p reads
    "infer3": dict(n=2_000_000, d=5, K=2, sparse=False, inference_only=True),
    "infer4": dict(n=300_000, d=10, K=2, sparse=False, inference_only=True),
    "vsparse": dict(n=500_000, d=1_000_000, K=2, sparse=True, nnz_row=31,
                    ll=["auto", "newton-cg", "trust-ncg"], sk=["newton-cg", "lbfgs"], glum=[],
                    # issue 20: peak memory over the data <= 100 MB; logitlab's fits are
                    # run once more under tracemalloc (not timed) to measure it
                    mem_target_mb=100, trace_memory=["logitlab"]),
}
GROUPS = {"all": list(SHAPES), "issue5": ["dense1", "dense2", "multi", "sparse"],
          "issue20": ["wide", "classes", "infer1", "infer2", "infer3", "infer4", "vsparse"],
          "inference": ["infer1", "infer2", "infer3", "infer4"]}
RHO = 0.5            # AR(1) correlation of neighbouring features
TARGET_AUC = 0.8     # population AUC of the true model
GAP_TOL = 1e-9       # converged: relative objective gap to the best fit <= GAP_TOL
BLOCK_BYTES = 32 << 20


# --------------------------------------------------------------------------- data
def population_auc(score, p):
    """AUC of ``score`` when row i is positive with probability p[i] (expected over y)."""
    o = np.argsort(score, kind="stable")
    pos = p[o]
    neg = 1.0 - pos
    neg_below = np.cumsum(neg) - neg
    return float(np.dot(pos, neg_below) / (pos.sum() * neg.sum()))


def true_auc(eta):
    """Population AUC of the true model: binary, or mean one-vs-rest for K classes."""
    if eta.ndim == 1:
        p = expit(eta)
        return population_auc(p, p)
    P = np.exp(log_softmax(eta, axis=1))
    return float(np.mean([population_auc(P[:, k], P[:, k]) for k in range(P.shape[1])]))


def calibrate_scale(eta0, offset, target=TARGET_AUC):
    """Scale s such that the true model offset + s*eta0 has population AUC ``target``."""
    lo, hi = 1e-3, 1e3
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if true_auc(offset + mid * eta0) < target else (lo, mid)
    return float(np.sqrt(lo * hi))


def ar1_features(rng, n, d, rho=RHO):
    """(n, d) float32 standard-normal features, corr(x_j, x_k) = rho^|j-k|, by the
    recursion x_j = rho x_{j-1} + sqrt(1-rho^2) e_j on blocks of rows (no d x d
    Cholesky). float32 so that the float64 copy holds exactly the same numbers."""
    X = np.empty((n, d), dtype=np.float32)
    m = max(1, BLOCK_BYTES // (8 * d))
    s = np.sqrt(1.0 - rho * rho)
    for a in range(0, n, m):
        E = rng.standard_normal((d, min(m, n - a)))
        for j in range(1, d):
            E[j] *= s
            E[j] += rho * E[j - 1]
        X[a:a + E.shape[1]] = E.T
    return X


def tfidf_features(rng, n, d, nnz_row):
    """CSR (n, d) tf-idf-like matrix: Zipf-distributed word ids, ~nnz_row distinct words
    per row, tf = 1 + log(count), smooth idf, rows L2-normalized (positive values)."""
    p = 1.0 / (np.arange(d) + 10.0) ** 1.05
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    lengths = 1 + rng.poisson(1.045 * nnz_row - 1, size=n)   # some words repeat
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    words = np.minimum(np.searchsorted(cdf, rng.random(indptr[-1])), d - 1).astype(np.int32)
    X = sp.csr_matrix((np.ones(words.size), words, indptr), shape=(n, d))
    X.sum_duplicates()                                       # data = counts
    df = np.bincount(X.indices, minlength=d)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    X.data = (1.0 + np.log(X.data)) * idf[X.indices]
    norms = np.sqrt(np.add.reduceat(X.data ** 2, X.indptr[:-1]))
    X.data /= np.repeat(norms, np.diff(X.indptr))
    return X


def make_data(name, scale, seed):
    """Features, labels from the true logistic model, and its AUC."""
    spec = SHAPES[name]
    n, d, K = max(2000, int(round(spec["n"] * scale))), spec["d"], spec["K"]
    if spec.get("scale_d"):            # wide: n and d both by sqrt(scale), n/d kept
        n = max(200, int(round(spec["n"] * scale ** 0.5)))
        d = max(20, int(round(d * scale ** 0.5)))
    rng = np.random.default_rng([seed, list(SHAPES).index(name)])
    if spec["sparse"]:
        X32, X = None, tfidf_features(rng, n, d, spec["nnz_row"])
    else:
        X32 = ar1_features(rng, n, d)
        X = X32.astype(np.float64)
    B = rng.standard_normal((d, K) if K > 2 else d)
    offset = rng.normal(0.0, 0.5, K) if K > 2 else -1.0      # binary base rate ~0.3
    eta0 = X @ B
    sub = rng.choice(n, size=min(n, 200_000), replace=False)
    s = calibrate_scale(eta0[sub], offset)
    eta = offset + s * eta0
    if K == 2:
        y = (rng.random(n) < expit(eta)).astype(np.int64)
    else:
        cum = np.cumsum(np.exp(log_softmax(eta, axis=1)), axis=1)
        y = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), K - 1).astype(np.int64)
    from sklearn.metrics import roc_auc_score
    if K == 2:
        sample_auc = roc_auc_score(y, eta)
    else:
        sample_auc = roc_auc_score(y[sub], np.exp(log_softmax(eta[sub], axis=1)), multi_class="ovr")
    info = dict(n=n, d=d, K=K, sparse=spec["sparse"], scale_of_beta=s,
                population_auc=true_auc(eta[sub]), sample_auc=float(sample_auc),
                class_freq=np.bincount(y, minlength=K).tolist())
    if spec["sparse"]:
        info["nnz_per_row"] = X.nnz / n
    return X, X32, y, info


def streaming_read_time(X, repeats=7):
    """Fastest of X @ v and X.sum(): the time of one streaming read of X (min of repeats)."""
    v = np.ones(X.shape[1], dtype=X.dtype)
    def best(f):
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return min(ts)
    t_mv = best(lambda: X @ v)
    if sp.issparse(X):                 # X.sum() would skip the column indices
        return t_mv, dict(matvec=t_mv)
    t_sum = best(lambda: X.sum())
    return min(t_mv, t_sum), dict(matvec=t_mv, sum=t_sum)


# ---------------------------------------------------------------- objective check
def objective_and_gradient(X, y, coef, intercept, lam, K):
    """Mean log loss + lam/2 ||coef||^2 (intercept unpenalized) and its gradient, in
    float64, over blocks of rows. Binary: coef (d,), intercept scalar. Multinomial:
    coef (K, d), intercept (K,), the symmetric softmax (as scikit-learn)."""
    n, d = X.shape
    m = max(1, BLOCK_BYTES // (8 * max(d if not sp.issparse(X) else 50, K)))
    loss, gc_, g = 0.0, np.zeros(K if K > 2 else 1), np.zeros_like(coef, dtype=np.float64)
    for a in range(0, n, m):
        Xb, yb = X[a:a + m], y[a:a + m]
        if K == 2:
            z = Xb @ coef + intercept
            loss += float(np.sum(np.logaddexp(0.0, z) - yb * z))
            r = expit(z) - yb
            g += Xb.T @ r
            gc_ += r.sum()
        else:
            Z = Xb @ coef.T + intercept
            L = log_softmax(Z, axis=1)
            rows = np.arange(len(yb))
            loss -= float(L[rows, yb].sum())
            R = np.exp(L)
            R[rows, yb] -= 1.0
            g += np.asarray(Xb.T @ R).T
            gc_ += R.sum(axis=0)
    f = loss / n + 0.5 * lam * float(np.sum(coef * coef))
    grad = np.concatenate([(g / n + lam * coef).ravel(), gc_ / n])
    return f, float(np.max(np.abs(grad)))


# ------------------------------------------------------------------------- plan
def fit_plan(name, args):
    """(tool, solver, dtype, note) for every fit of a shape; skips what is not sensible."""
    spec = SHAPES[name]
    if "ll" in spec:
        return custom_plan(spec, args)
    plan, skipped = [], []
    if spec.get("inference_only"):
        return plan, skipped
    ll_solvers = ["auto", "newton", "newton-cg", "trust-ncg", "lbfgs"]
    for dtype in (["float64"] if spec["sparse"] else ["float64", "float32"]):
        for s in ll_solvers:
            if spec["sparse"] and s == "newton":
                skipped.append(("logitlab", s, "forms the d x d Hessian (d = 1e5: 80 GB)"))
                continue
            plan.append(("logitlab", s, dtype))
    for s in ["lbfgs", "newton-cholesky", "newton-cg", "saga"]:
        if spec["sparse"] and s == "newton-cholesky":
            skipped.append(("sklearn", s, "forms the d x d Hessian (d = 1e5: 80 GB)"))
            continue
        plan.append(("sklearn", s, "float64"))
    for s in ["irls-cd", "lbfgs"]:
        if spec["K"] > 2:
            skipped.append(("glum", s, "glum has no multinomial family"))
        elif spec["sparse"] and s == "irls-cd":
            skipped.append(("glum", s, "forms the d x d Hessian (d = 1e5: 80 GB)"))
        else:
            plan.append(("glum", s, "float64"))
    return only(plan, args), skipped


def only(plan, args):
    """The fits of ``plan`` that ``--only`` selects."""
    if args.only:
        plan = [p for p in plan if any(o in f"{p[0]}:{p[1]}:{p[2]}" for o in args.only.split(","))]
    return plan


def custom_plan(spec, args):
    """Plan of a shape that names its solvers (issue 20's shapes): float64 only."""
    plan = [("logitlab", s, "float64") for s in spec["ll"]]
    plan += [("sklearn", s, "float64") for s in spec["sk"]]
    plan += [("glum", s, "float64") for s in spec["glum"]]
    skipped = []
    if spec["K"] > 2:
        skipped.append(("glum", "*", "glum has no multinomial family"))
    if spec["sparse"]:
        skipped += [(t, s, f"forms the d x d Hessian (d = {spec['d']:,})") for t, s in
                    [("logitlab", "newton"), ("sklearn", "newton-cholesky"), ("glum", "irls-cd")]]
    return only(plan, args), skipped


# ----------------------------------------------------------------------- worker
def _rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _make_estimator(tool, solver, lam, n, K, args):
    if tool == "logitlab":
        import logitlab as ll
        if solver == "mle":
            return ll.LogisticRegression()
        return ll.LogisticRegression(penalty="l2", alpha=lam, solver=solver)
    if tool == "sklearn":
        from sklearn.linear_model import LogisticRegression
        max_iter = args["saga_max_iter"] if solver == "saga" else 10_000
        return LogisticRegression(C=1.0 / (lam * n), solver=solver, tol=1e-10,
                                  max_iter=max_iter, random_state=0)
    if tool == "glum":
        from glum import GeneralizedLinearRegressor
        return GeneralizedLinearRegressor(
            family="binomial", alpha=lam, l1_ratio=0.0, solver=solver, gradient_tol=1e-10,
            max_iter=10_000 if solver == "lbfgs" else 100)
    raise ValueError(tool)


def _fit_once(tool, solver, X, y, lam, K, args):
    """Fit; return (coef, intercept, n_iter, extra) in the layout objective_and_gradient takes."""
    n = X.shape[0]
    if tool == "statsmodels":
        import statsmodels.api as sm
        res = sm.Logit(y, X).fit(method="newton", maxiter=100, tol=1e-10, disp=0)
        bse = np.asarray(res.bse)                       # covariance -> standard errors
        params = np.asarray(res.params)
        return params[1:], params[0], res.mle_retvals["iterations"], {
            "std_err": bse.tolist(), "converged_reported": bool(res.mle_retvals["converged"])}
    est = _make_estimator(tool, solver, lam, n, K, args)
    est.fit(X, y)
    extra = {}
    if tool == "logitlab":
        extra = dict(solver_used=est.solver_, n_passes_reported=int(est.n_passes_),
                     converged_reported=bool(est.converged_))
        if solver == "mle":
            t = time.perf_counter()
            frame = est.summary().to_frame()
            extra["summary_time"] = time.perf_counter() - t
            extra["std_err"] = frame["std_err"].to_numpy(dtype=float).tolist()
    n_iter = int(np.max(est.n_iter_))
    coef, icpt = np.asarray(est.coef_, dtype=np.float64), np.asarray(est.intercept_, dtype=np.float64)
    if K == 2:
        coef, icpt = coef.ravel(), float(icpt.ravel()[0])
    return coef, icpt, n_iter, extra


def warmup_rows(n):
    """Rows of the untimed warm-up fit: a quarter of the data (at least 2,000).

    Big enough to reach the code paths of the timed fit (float32 arithmetic needs 2**20
    entries, the sampled preconditioner 10 p² / 128 rows: dense2's 100,000 × 500 gets it
    from 19,600 rows on, and its first tenth would take the column blocks), so no timed
    fit pays for compiling or loading them; the same slice for every tool.
    """
    return min(n, max(2000, n // 4))


def _traced_peak_mb(fit):
    """Peak of the memory allocated (and traced: NumPy, SciPy and Python objects)
    during ``fit()``, in MB: the peak over the data already in memory."""
    import tracemalloc
    gc.collect()
    tracemalloc.start()
    try:
        fit()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def worker(spec_json):
    """Run one fit configuration in this (fresh) process; print one JSON line."""
    spec = json.loads(spec_json)
    tool, solver, dtype, K, lam = spec["tool"], spec["solver"], spec["dtype"], spec["K"], spec["lam"]
    import logitlab  # noqa: F401  (imports before the memory baseline)
    if tool == "sklearn":
        import sklearn.linear_model  # noqa: F401
    elif tool == "glum":
        import glum  # noqa: F401
    elif tool == "statsmodels":
        import statsmodels.api  # noqa: F401
    ddir = spec["data_dir"]
    y = np.load(os.path.join(ddir, "y.npy"))
    if os.path.exists(os.path.join(ddir, "X.npz")):
        X = sp.load_npz(os.path.join(ddir, "X.npz")).tocsr()
    else:
        X = np.load(os.path.join(ddir, "X32.npy" if dtype == "float32" else "X64.npy"))
    if tool == "statsmodels":                             # design with the constant (not timed)
        X = np.column_stack([np.ones(X.shape[0]), X])
    caught = []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        if spec["warmup"]:                                # imports, JIT, caches: not timed
            m = warmup_rows(X.shape[0])
            try:
                _fit_once(tool, solver, X[:m], y[:m], lam, K, spec)
            except Exception:
                pass
        del w[:]
        gc.collect()
        base_kb = _rss_kb("VmRSS")
        resettable = _reset_peak_rss()
        times = []
        for _ in range(spec["repeat"]):
            t = time.perf_counter()
            coef, icpt, n_iter, extra = _fit_once(tool, solver, X, y, lam, K, spec)
            times.append(time.perf_counter() - t)
        peak_kb = _rss_kb("VmHWM")
        if spec.get("trace"):                             # allocations during one more fit
            extra["traced_peak_mb"] = _traced_peak_mb(
                lambda: _fit_once(tool, solver, X, y, lam, K, spec))
        caught = [f"{x.category.__name__}: {str(x.message)[:160]}" for x in w]
    np.savez(spec["out"], coef=coef, intercept=np.asarray(icpt))
    if not resettable:                                     # fall back to the lifetime peak
        import resource
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(time=min(times), times=times, n_iter=n_iter,
                          peak_mb=(peak_kb - base_kb) / 1024, data_rss_mb=base_kb / 1024,
                          peak_method="VmHWM-reset" if resettable else "ru_maxrss (lifetime)",
                          warnings=sorted(set(caught))[:3], **extra)))


def other_load(seconds=0.5):
    """Cores kept busy by other processes over ``seconds`` (from /proc/stat; we are idle)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]                          # total, idle + iowait
    try:
        t0, i0 = snap()
        time.sleep(seconds)
        t1, i1 = snap()
    except OSError:
        return float("nan")
    return (os.cpu_count() or 1) * (1.0 - (i1 - i0) / max(1, t1 - t0))


def wait_for_quiet(args):
    """Wait (up to --wait-quiet seconds) until other processes use < 0.2 cores."""
    deadline = time.monotonic() + args.wait_quiet
    busy = other_load()
    while busy > 0.2 and time.monotonic() < deadline:
        busy = other_load(2.0)
    return busy


def run_worker(tool, solver, dtype, K, lam, ddir, args, trace=False):
    """One fit configuration in a fresh process; ``trace``: also measure the
    traced peak memory of one more (untimed) fit."""
    busy = wait_for_quiet(args)
    out = os.path.join(ddir, f"coef-{tool}-{solver}-{dtype}.npz")
    spec = dict(tool=tool, solver=solver, dtype=dtype, K=K, lam=lam, data_dir=ddir, out=out,
                repeat=args.repeat, warmup=not args.no_warmup, saga_max_iter=args.saga_max_iter,
                trace=trace)
    row = dict(tool=tool, solver=solver, dtype=dtype, busy_before=busy)
    try:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                              capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {**row, "status": f"timeout after {args.timeout:.0f} s"}
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {**row, "status": f"error: {err[:200]}"}
    row.update(json.loads(proc.stdout.strip().splitlines()[-1]), status="ok")
    with np.load(out) as f:
        row["coef"], row["intercept"] = f["coef"], f["intercept"]
    return row


# ------------------------------------------------------------------- evaluation
def evaluate(rows, X, y, lam, K, t_pass):
    """Objective, max|gradient|, gap to the best, passes, converged: in place."""
    for r in rows:
        if r["status"] != "ok":
            continue
        icpt = r["intercept"] if K > 2 else float(r["intercept"])
        r["objective"], r["max_grad"] = objective_and_gradient(X, y, r.pop("coef"), icpt, lam, K)
        r.pop("intercept")
        r["passes"] = r["time"] / t_pass
    ok = [r for r in rows if r["status"] == "ok" and np.isfinite(r["objective"])]
    best = min((r["objective"] for r in ok), default=np.nan)
    for r in ok:
        r["rel_gap"] = max(0.0, (r["objective"] - best) / abs(best))
        r["converged"] = bool(r["rel_gap"] <= GAP_TOL)
    for r in rows:
        r.pop("coef", None), r.pop("intercept", None)
    return best


def fmt_row(r):
    label = f"{r['tool']} {r['solver']}" + (" f32" if r["dtype"] == "float32" else "")
    if r.get("solver_used") and r["solver"] == "auto":
        label += f" ({r['solver_used']})"
    if r["status"] != "ok":
        return f"  {label:<30} {r['status']}"
    kp = r.get("n_passes_reported")
    return (f"  {label:<30} {r['time']:8.2f} {r['passes']:8.1f} {kp if kp is not None else '-':>7} "
            f"{r['n_iter']:6d} "
            f"{r['peak_mb']:8.0f} {r['objective']:.12f} {r['rel_gap']:9.1e} "
            f"{r['max_grad']:9.1e}  {'yes' if r['converged'] else 'NO'}"
            + ("  (machine busy)" if r.get("busy_before", 0) > 0.2 else ""))


HEADER = (f"  {'tool solver':<30} {'time s':>8} {'passes':>8} {'kpasses':>7} {'iters':>6} {'peak MB':>8} "
          f"{'objective':<14} {'rel gap':>9} {'max|grad|':>9}  conv")


def ratios(name, rows):
    """Lines comparing logitlab with the fastest converged peer."""
    conv = [r for r in rows if r.get("converged")]
    peers = sorted((r for r in conv if r["tool"] != "logitlab"), key=lambda r: r["time"])
    mine = sorted((r for r in conv if r["tool"] == "logitlab"), key=lambda r: r["time"])
    auto = {r["dtype"]: r for r in rows if r["tool"] == "logitlab" and r["solver"] == "auto"}
    out, summary = [], dict(shape=name)
    if not rows:
        return out, summary
    if not peers:
        out.append(f"  {name}: no peer converged")
    a64 = auto.get("float64")
    if peers:
        p = peers[0]
        summary.update(fastest_peer=f"{p['tool']} {p['solver']}", peer_time=p["time"])
        out.append(f"  fastest converged peer: {p['tool']} {p['solver']} {p['time']:.2f} s "
                   f"({p['passes']:.0f} passes)")
        if a64 and a64["status"] == "ok":
            tag = "" if a64["converged"] else f"  [NOT converged: gap {a64['rel_gap']:.1e}]"
            summary.update(auto_ratio=a64["time"] / p["time"], auto_converged=a64["converged"])
            out.append(f"  logitlab auto (f64) / fastest peer = {a64['time']:.2f}/{p['time']:.2f} "
                       f"= {a64['time'] / p['time']:.2f}x, {a64['passes']:.0f} passes "
                       f"({a64.get('n_passes_reported')} kernel passes){tag}")
        if mine:
            m = mine[0]
            summary.update(best_logitlab=f"{m['solver']} {m['dtype']}", best_ratio=m["time"] / p["time"])
            out.append(f"  best converged logitlab ({m['solver']} {m['dtype']}) / fastest peer = "
                       f"{m['time'] / p['time']:.2f}x")
        else:
            out.append("  no logitlab fit converged")
    out += memory_lines(name, a64, summary)
    a32 = auto.get("float32")
    if a64 and a32 and a64["status"] == a32["status"] == "ok":
        summary["f32_over_f64"] = a32["time"] / a64["time"]
        out.append(f"  logitlab auto f32 / f64 time = {a32['time'] / a64['time']:.2f}x "
                   f"(f32 gap {a32['rel_gap']:.1e})")
    return out, summary


def memory_lines(name, auto, summary):
    """Peak memory over the data of logitlab auto against the shape's target
    (``mem_target_mb``): traced allocations during a fit (tracemalloc) and the
    peak RSS over the RSS before the timed fits (data, imports, warm-up)."""
    target = SHAPES[name].get("mem_target_mb")
    if target is None or not auto or auto["status"] != "ok":
        return []
    traced = auto.get("traced_peak_mb")
    summary.update(mem_target_mb=target, traced_peak_mb=traced, rss_peak_mb=auto["peak_mb"])
    shown = traced if traced is not None else auto["peak_mb"]
    return ["  logitlab auto peak memory over the data: "
            + (f"{traced:.0f} MB traced (tracemalloc), " if traced is not None else "")
            + f"{auto['peak_mb']:.0f} MB RSS (VmHWM over the RSS before the fit); target <= "
            f"{target} MB: {'met' if shown <= target else 'NOT met'}"]


# -------------------------------------------------------------------- inference
def inference_comparison(X, y, ddir, t_pass, args):
    """Unpenalized fit + standard errors: logitlab vs statsmodels (dense1, infer1, infer2)."""
    rows = [run_worker("logitlab", "mle", "float64", 2, 0.0, ddir, args),
            run_worker("statsmodels", "newton", "float64", 2, 0.0, ddir, args)]
    evaluate(rows, X, y, 0.0, 2, t_pass)
    print("\n  unpenalized MLE + standard errors (time includes the standard errors)")
    for r in rows:
        if r["status"] == "ok" and r["tool"] == "logitlab":
            r["fit_time"] = r["time"]
            r["time"] += r["summary_time"]          # fit + summary(), both timed
            r["passes"] = r["time"] / t_pass
        print(fmt_row(r) if r["status"] == "ok" else f"  {r['tool']}: {r['status']}")
    if all(r["status"] == "ok" for r in rows):
        se_l, se_s = np.array(rows[0].pop("std_err")), np.array(rows[1].pop("std_err"))
        rel = float(np.max(np.abs(se_l - se_s) / se_s))
        ratio = rows[0]["time"] / rows[1]["time"]
        print(f"  logitlab (fit {rows[0]['fit_time']:.2f} s + summary {rows[0]['summary_time']:.2f} s)"
              f" / statsmodels (fit + bse) = {ratio:.2f}x; max relative SE difference {rel:.1e}")
        return dict(rows=rows, ratio=ratio, max_rel_se_diff=rel)
    return dict(rows=rows)


# ------------------------------------------------------------------------- main
def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    vers = {}
    for mod in ["numpy", "scipy", "sklearn", "glum", "statsmodels", "logitlab"]:
        try:
            vers[mod] = __import__(mod).__version__
        except Exception:
            vers[mod] = None
    try:
        from threadpoolctl import threadpool_info
        blas = [f"{t['internal_api']} {t.get('version')} x{t['num_threads']}" for t in threadpool_info()]
    except ImportError:
        blas = []
    def git(*a):
        try:
            return subprocess.run(["git", "-C", HERE, *a], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    return dict(cpu=cpu, cores=os.cpu_count(), mem_gib=round(mem, 1), python=platform.python_version(),
                platform=platform.platform(), versions=vers, threadpools=blas,
                git_commit=git("rev-parse", "--short", "HEAD"),
                src_modified=bool(git("status", "--porcelain", "--", os.path.join(HERE, "..", "src"))))


def save_data(ddir, X, X32, y):
    """Write the shape's data for the workers, and flush it to disk: otherwise
    the kernel writes the dirty pages back (hundreds of MB) while the first
    workers run, which slowed the first fit of every shape by 15–25 %."""
    np.save(os.path.join(ddir, "y.npy"), y)
    if sp.issparse(X):
        sp.save_npz(os.path.join(ddir, "X.npz"), X, compressed=False)
    else:
        np.save(os.path.join(ddir, "X64.npy"), X)
        np.save(os.path.join(ddir, "X32.npy"), X32)
    if hasattr(os, "sync"):
        os.sync()


def bench_shape(name, args, tmp):
    t0 = time.perf_counter()
    X, X32, y, info = make_data(name, args.scale, args.seed)
    print(f"\n=== {name}: n={info['n']:,} d={info['d']:,} K={info['K']}"
          + (f" nnz/row={info['nnz_per_row']:.1f}" if info["sparse"] else "")
          + f"  true-model AUC: population {info['population_auc']:.3f}, sample {info['sample_auc']:.3f}"
          + f"  class counts {info['class_freq']}  (data in {time.perf_counter() - t0:.1f} s)")
    ddir = os.path.join(tmp, name)
    os.makedirs(ddir)
    save_data(ddir, X, X32, y)
    t_pass, reads = streaming_read_time(X)
    info["pass_time"], info["reads"] = t_pass, reads
    print(f"  one streaming read of X (float64): {t_pass * 1e3:.1f} ms ("
          + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in reads.items()) + "); "
          f"X is {(X.data.nbytes + X.indices.nbytes if sp.issparse(X) else X.nbytes) / 2**20:.0f} MB")
    lam = 1.0 / info["n"]
    plan, skipped = fit_plan(name, args)
    rows = []
    for tool, solver, dtype in plan:
        rows.append(run_worker(tool, solver, dtype, info["K"], lam, ddir, args,
                               trace=tool in SHAPES[name].get("trace_memory", ())))
        r = rows[-1]
        status = f"{r['time']:.2f} s" if r["status"] == "ok" else r["status"]
        print(f"  ... {tool} {solver} {dtype}: " + status
              + f" (other load before: {r['busy_before']:.2f} cores)", flush=True)
    best = evaluate(rows, X, y, lam, info["K"], t_pass)
    print(HEADER if rows else "  (inference only)")
    for r in rows:
        print(fmt_row(r))
    for tool, solver, why in skipped:
        print(f"  {tool + ' ' + solver:<30} skipped: {why}")
    lines, summary = ratios(name, rows)
    print("\n".join(lines))
    result = dict(info=info, lam=lam, best_objective=best, rows=rows, skipped=skipped, summary=summary)
    if (name == "dense1" or SHAPES[name].get("inference_only")) and not args.no_inference:
        result["inference"] = inference_comparison(X, y, ddir, t_pass, args)
        summary["inference_ratio"] = result["inference"].get("ratio")
    shutil.rmtree(ddir, ignore_errors=True)
    return result


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="issue5",
                    help="a shape (" + ", ".join(SHAPES) + "), a group (" + ", ".join(GROUPS)
                    + "), or a comma list; default issue5 (the four shapes of issue 5)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies n (default 1.0)")
    ap.add_argument("--repeat", type=int, default=1, help="fits per configuration; the minimum time is kept")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per fit (its subprocess is killed)")
    ap.add_argument("--saga-max-iter", type=int, default=100, help="epochs cap for sklearn saga")
    ap.add_argument("--only", default="", help="comma list of substrings of 'tool:solver:dtype' to run")
    ap.add_argument("--no-warmup", action="store_true",
                    help="do not fit a quarter of the rows first in each worker")
    ap.add_argument("--no-inference", action="store_true", help="skip the statsmodels comparison")
    ap.add_argument("--wait-quiet", type=float, default=60.0,
                    help="before each fit wait up to this many seconds for other processes to go idle")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker)
    names = [m for nm in args.shape.split(",") for m in GROUPS.get(nm, [nm])]
    for nm in names:
        if nm not in SHAPES:
            sys.exit(f"unknown shape {nm!r}; choose from {', '.join(SHAPES)}, or a group: "
                     f"{', '.join(GROUPS)}")
    machine = machine_info()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['mem_gib']} GiB; "
          f"{machine['versions']}; logitlab at {machine['git_commit']}"
          f"{' + uncommitted src changes' if machine['src_modified'] else ''}; "
          f"scale={args.scale} repeat={args.repeat}")
    tmp = tempfile.mkdtemp(prefix="logitlab-bench-")
    results = dict(machine=machine, args=vars(args), gap_tol=GAP_TOL, shapes={},
                   started=datetime.datetime.now().isoformat(timespec="seconds"))
    try:
        for nm in names:
            results["shapes"][nm] = bench_shape(nm, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n=== summary (converged = relative objective gap <= 1e-9)")
    def x(v):
        return "-" if v is None else f"{v:.2f}x"
    for nm, res in results["shapes"].items():
        s = res["summary"]
        print(f"  {nm:<7} fastest peer {s.get('fastest_peer', '-')} "
              f"{s.get('peer_time', float('nan')):.2f} s; "
              f"logitlab auto/peer {x(s.get('auto_ratio'))}"
              f"{'' if s.get('auto_converged', True) else ' (NOT converged)'}; "
              f"best logitlab/peer {x(s.get('best_ratio'))}; auto f32/f64 {x(s.get('f32_over_f64'))}"
              + (f"; MLE+SE vs statsmodels {x(s['inference_ratio'])}" if s.get("inference_ratio") else "")
              + (f"; auto peak over the data {s['traced_peak_mb']:.0f} MB traced / "
                 f"{s['rss_peak_mb']:.0f} MB RSS (target <= {s['mem_target_mb']} MB)"
                 if s.get("traced_peak_mb") is not None else ""))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
