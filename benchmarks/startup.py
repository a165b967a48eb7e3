"""Start-up benchmark: whole-process times of fresh interpreters, side by side.

    python benchmarks/startup.py [--repeat 5] [--empty-cache]

Each command runs ``--repeat`` times in a new interpreter; the fastest and the
median wall times are printed with the ratio against its peer:

* ``import logitlab`` against ``import sklearn.linear_model``;
* ``logitlab --help``;
* a whole small job (import, data 2,000 × 10, unpenalized fit, summary) —
  logitlab against scikit-learn (fit only: it has no summary) and statsmodels
  (``Logit.fit`` + ``summary()``).

``--empty-cache`` points numba at a new empty cache folder for every logitlab run
(``NUMBA_CACHE_DIR``), so the times include compiling every kernel the job calls.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DATA = ("import numpy as np; rng = np.random.default_rng(0); X = rng.normal(size=(2000, 10)); "
        "y = (X @ np.linspace(-1, 1, 10) + rng.logistic(size=2000) > 0).astype(int)")
JOBS = {
    "import logitlab": ("import logitlab", "import sklearn.linear_model"),
    "import + fit 2000x10 + summary": (
        f"{DATA}; import logitlab; m = logitlab.LogisticRegression().fit(X, y); "
        "str(m.summary())",
        f"{DATA}; from sklearn.linear_model import LogisticRegression; "
        "LogisticRegression(C=1e12, solver='newton-cholesky').fit(X, y)"),
    "  vs statsmodels fit + summary": (
        None,
        f"{DATA}; import statsmodels.api as sm; "
        "str(sm.Logit(y, sm.add_constant(X)).fit(disp=0).summary())"),
}


def wall(argv, env, repeat):
    times = []
    for _ in range(repeat):
        run_env = dict(env)
        cache = None
        if run_env.pop("_EMPTY_CACHE", None):
            cache = tempfile.mkdtemp(prefix="numba-empty-")
            run_env["NUMBA_CACHE_DIR"] = cache
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, env=run_env, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--empty-cache", action="store_true")
    args = ap.parse_args()
    env = dict(os.environ)
    ours_env = {**env, "_EMPTY_CACHE": "1"} if args.empty_cache else env
    print(f"{'job':34s} {'logitlab min/med (s)':>22s} {'peer min/med (s)':>20s} {'ratio':>7s}")
    last = None
    for name, (ours, peer) in JOBS.items():
        mine = wall([sys.executable, "-c", ours], ours_env, args.repeat) if ours else last
        other = wall([sys.executable, "-c", peer], env, args.repeat)
        print(f"{name:34s} {mine[0]:10.3f} / {mine[1]:<9.3f} {other[0]:8.3f} / {other[1]:<9.3f}"
              f" {mine[0] / other[0]:7.2f}")
        last = mine
    cli = shutil.which("logitlab") or "logitlab"
    helptime = wall([cli, "--help"], env, args.repeat)
    print(f"{'logitlab --help':34s} {helptime[0]:10.3f} / {helptime[1]:<9.3f}")


if __name__ == "__main__":
    main()
