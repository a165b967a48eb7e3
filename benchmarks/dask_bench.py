"""logitlab on Dask against dask-ml, and an out-of-core fit (issue 6). One command:

    python benchmarks/dask_bench.py                      # defaults (~10 min on 2 busy cores)
    python benchmarks/dask_bench.py --part 1 --rows 500000 --repeat 3
    python benchmarks/dask_bench.py --part 2 --ooc-workers 2 --ooc-rows 13000000

Part 1 — the same LocalCluster (2 worker processes x 1 thread, loopback), the same
persisted Dask array (``--rows`` x ``--features``, binary labels from a true logistic
model), fitted by

* logitlab (engine "dask", Newton): maximum likelihood, and L2 with alpha = 1 / (C n),
  the objective of dask-ml's ``C``;
* dask-ml ``LogisticRegression`` with its default solver (admm), lbfgs and newton.

For each: wall time (best of ``--repeat``), iterations, passes over the data (logitlab
counts them; for dask-ml, the number of tasks run, from the scheduler's task stream,
divided by the number of partitions, is shown instead), and the largest coefficient
difference to the in-memory logitlab Newton fit of the same objective.

Part 2 — out of core: a Parquet dataset of ``--ooc-rows`` rows (in float64 at least
``2 x`` the cluster's memory limit) on disk, fitted by logitlab with the partitions
streamed from disk each pass (``engine_options={"persist": False}``) on a LocalCluster
of ``--ooc-workers`` workers with ``--memory-limit`` each (a worker process with
logitlab, pandas and pyarrow imported takes ~270 MiB before any data, so limits
below ~450 MiB leave no room for a partition). Reports time, passes, the peak resident
memory of each worker process (sampled every 20 ms inside the workers) and the
difference to the in-memory fit of the same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from logitlab import LogisticRegression  # noqa: E402


def make_data(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    beta = rng.normal(scale=1.0 / np.sqrt(d), size=d)
    p = 1.0 / (1.0 + np.exp(-(X @ beta - 0.5)))
    y = (rng.random(n) < p).astype(np.int64)
    return X, y


def start_cluster(memory_limit=None, n_workers=2):
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           memory_limit=memory_limit or "auto")
    return cluster, Client(cluster)


def count_tasks(client, fit):
    from distributed import get_task_stream
    with get_task_stream(client) as ts:
        t0 = time.perf_counter()
        out = fit()
        elapsed = time.perf_counter() - t0
    return out, elapsed, len(ts.data)


def best_of(repeat, client, fit):
    best = None
    for _ in range(repeat):
        out, elapsed, tasks = count_tasks(client, fit)
        if best is None or elapsed < best[1]:
            best = (out, elapsed, tasks)
    return best


def _coef(model):
    return np.r_[np.ravel(model.coef_), np.ravel(model.intercept_)]


def part1(args, results):
    import dask.array as da
    from dask_ml.linear_model import LogisticRegression as DaskMLLR

    X, y = make_data(args.rows, args.features, args.seed)
    n = X.shape[0]
    cluster, client = start_cluster()
    warnings.filterwarnings("ignore", message="Sending large graph")
    try:
        chunk = -(-n // args.partitions)
        Xd = da.from_array(X, chunks=(chunk, X.shape[1])).persist()
        yd = da.from_array(y, chunks=(chunk,)).persist()
        alpha = 1.0 / (args.C * n)
        # the reference: the in-memory Newton fit (the Dask fit's algorithm; gradient
        # ~1e-17, closer to the optimum than the in-memory auto choice, newton-cg, at ~1e-13)
        mem = {"mle": LogisticRegression(solver="newton").fit(X, y),
               "l2": LogisticRegression(solver="newton", alpha=alpha).fit(X, y)}
        with warnings.catch_warnings():   # warm-up: imports and first tasks on the workers
            warnings.simplefilter("ignore")
            small_X, small_y = Xd[:1000].persist(), yd[:1000].persist()
            LogisticRegression().fit(small_X, small_y)
            DaskMLLR(solver="newton", max_iter=2).fit(small_X, small_y)
        rows = []
        for name, kw in [("mle", {}), ("l2", {"alpha": alpha})]:
            model, t, tasks = best_of(args.repeat, client,
                                      lambda kw=kw: LogisticRegression(**kw).fit(Xd, yd))
            rows.append({"tool": "logitlab", "objective": name, "solver": model.solver_,
                         "time_s": t, "iterations": int(model.n_iter_),
                         "passes": int(model.n_passes_), "tasks": tasks,
                         "max_coef_diff": float(np.max(np.abs(_coef(model) - _coef(mem[name]))))})
        for solver in ("admm", "lbfgs", "newton"):
            name = "mle" if solver == "newton" else "l2"   # dask-glm's newton ignores C
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model, t, tasks = best_of(args.repeat, client, lambda s=solver: DaskMLLR(
                    C=args.C, solver=s, max_iter=args.dask_ml_max_iter).fit(Xd, yd))
            rows.append({"tool": "dask-ml", "objective": name, "solver": solver,
                         "time_s": t, "iterations": None, "passes": None,
                         "tasks": tasks, "tasks_per_partition": tasks / args.partitions,
                         "max_coef_diff": float(np.max(np.abs(_coef(model) - _coef(mem[name]))))})
        results["part1"] = {"rows": n, "features": X.shape[1], "partitions": args.partitions,
                            "C": args.C, "fits": rows}
    finally:
        client.close()
        cluster.close()


def _start_rss_sampler(dask_worker, interval=0.02):
    """Runs inside a worker: a thread keeping the peak RSS of this process."""
    import psutil
    worker = dask_worker
    proc = psutil.Process()
    worker._logitlab_peak_rss = proc.memory_info().rss
    worker._logitlab_sampling = True

    def loop():
        while worker._logitlab_sampling:
            worker._logitlab_peak_rss = max(worker._logitlab_peak_rss, proc.memory_info().rss)
            time.sleep(interval)
    threading.Thread(target=loop, daemon=True).start()
    return worker._logitlab_peak_rss


def _stop_rss_sampler(dask_worker):
    dask_worker._logitlab_sampling = False
    return dask_worker._logitlab_peak_rss


def part2(args, results):
    from dask.utils import parse_bytes
    n, d = args.ooc_rows, args.features
    limit = parse_bytes(args.memory_limit)
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        X, y = make_data(n, d, args.seed + 1)
        step = args.ooc_partition_rows
        cols = [f"x{j}" for j in range(d)]
        for i, a in enumerate(range(0, n, step)):
            part = pd.DataFrame(X[a:a + step], columns=cols)
            part["y"] = y[a:a + step]
            part.to_parquet(Path(tmp) / f"part{i:04d}.parquet")
        data_bytes = X.nbytes + y.nbytes
        t0 = time.perf_counter()
        mem = LogisticRegression().fit(X, y)
        t_mem = time.perf_counter() - t0
        del X
        cluster, client = start_cluster(limit, args.ooc_workers)
        try:
            baseline = client.run(_start_rss_sampler)
            t0 = time.perf_counter()
            model = LogisticRegression(engine_options={"persist": False}).fit(
                os.path.join(tmp, "*.parquet"), "y")
            elapsed = time.perf_counter() - t0
            peaks = client.run(_stop_rss_sampler)
        finally:
            client.close()
            cluster.close()
    results["part2"] = {
        "rows": n, "features": d, "data_bytes_float64": data_bytes,
        "workers": args.ooc_workers, "worker_memory_limit": limit,
        "cluster_memory_limit": args.ooc_workers * limit,
        "data_over_cluster_limit": data_bytes / (args.ooc_workers * limit),
        "partitions": int(model.n_partitions_), "time_s": elapsed,
        "in_memory_time_s": t_mem, "iterations": int(model.n_iter_),
        "solver_passes": int(model.n_passes_),
        "worker_rss_at_start": sorted(baseline.values()),
        "worker_peak_rss": sorted(peaks.values()),
        "max_coef_diff_vs_in_memory": float(np.max(np.abs(_coef(model) - _coef(mem)))),
    }


def report(results):
    if "part1" in results:
        p = results["part1"]
        print(f"\nPart 1: {p['rows']:,} rows x {p['features']} features, {p['partitions']} "
              f"persisted partitions, 2 workers x 1 thread (C = {p['C']} for L2)")
        print(f"{'tool':<9} {'objective':<9} {'solver':<9} {'time s':>8} {'iter':>5} "
              f"{'passes':>6} {'tasks':>7} {'max|Δcoef| vs in-memory':>24}")
        for r in p["fits"]:
            it = "-" if r["iterations"] is None else r["iterations"]
            ps = "-" if r["passes"] is None else r["passes"]
            print(f"{r['tool']:<9} {r['objective']:<9} {r['solver']:<9} {r['time_s']:>8.2f} "
                  f"{it:>5} {ps:>6} {r['tasks']:>7} {r['max_coef_diff']:>24.2e}")
    if "part2" in results:
        p = results["part2"]
        mb = 1 << 20
        print(f"\nPart 2 (out of core): {p['rows']:,} rows x {p['features']} features = "
              f"{p['data_bytes_float64'] / mb:,.0f} MiB in float64, Parquet on disk; "
              f"{p['workers']} worker(s) limited to {p['worker_memory_limit'] / mb:,.0f} MiB each "
              f"(data = {p['data_over_cluster_limit']:.1f} x the cluster's limit), "
              f"{p['partitions']} partitions streamed each pass")
        print(f"  time {p['time_s']:.1f} s ({p['iterations']} Newton iterations, "
              f"{p['solver_passes']} solver passes; in memory on one core: "
              f"{p['in_memory_time_s']:.1f} s)")
        print(f"  worker peak RSS {', '.join(f'{v / mb:,.0f}' for v in p['worker_peak_rss'])} "
              f"MiB (at start {', '.join(f'{v / mb:,.0f}' for v in p['worker_rss_at_start'])})")
        print(f"  max |coef difference| vs the in-memory fit: "
              f"{p['max_coef_diff_vs_in_memory']:.2e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--dask-ml-max-iter", type=int, default=100)
    ap.add_argument("--ooc-rows", type=int, default=6_500_000)
    ap.add_argument("--ooc-partition-rows", type=int, default=50_000)
    ap.add_argument("--memory-limit", default="512MiB", help="per worker, part 2")
    ap.add_argument("--ooc-workers", type=int, default=1, help="workers in part 2")
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part", choices=["1", "2", "all"], default="all")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    results = {"args": vars(args)}
    if args.part in ("1", "all"):
        part1(args, results)
    if args.part in ("2", "all"):
        part2(args, results)
    report(results)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
