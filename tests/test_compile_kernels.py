"""``logitlab compile`` (:func:`logitlab.compile_kernels`) compiles and caches
the kernels of the common fits ahead of time: in a copy of the package with
an empty cache, after it, a new process fitting large designs of every common
kind finds each compiled kernel in the cache (numba's own count of cache
misses is zero), where without it the same fits compile them.

Reference: numba's dispatcher statistics (``stats.cache_misses``), which count
the signatures a process had to compile because the cache did not hold them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import logitlab

FITS = """
import sys, warnings, numpy as np, logitlab as ll
from numba.core.dispatcher import Dispatcher
rng = np.random.default_rng(5)
n = 120_000
X = rng.standard_normal((n, 12))
y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
warnings.simplefilter("ignore")
ll.LogisticRegression().fit(X, y).summary()
ll.LogisticRegression(alpha=1e-3).fit(X.astype(np.float32), y)
ll.LogisticRegression(penalty="l1", alpha=1e-3).fit(X, y)
ll.LogisticRegression().fit(X, np.argmax(X[:, :3] + rng.gumbel(size=(n, 3)), axis=1)).summary()
misses = sorted(f"{name}.{attr}" for name, mod in list(sys.modules.items())
                if name.startswith("logitlab") for attr, obj in vars(mod).items()
                if isinstance(obj, Dispatcher) and sum(obj.stats.cache_misses.values()))
print(" ".join(misses) or "none")
"""


def _package_copy(tmp_path) -> dict:
    """A copy of the package without its caches, and the environment that imports it."""
    source = Path(logitlab.__file__).parent
    shutil.copytree(source, tmp_path / "logitlab", ignore=shutil.ignore_patterns("__pycache__"))
    return {**os.environ, "PYTHONPATH": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "nc")}


def _run(env, *args, code=None):
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "logitlab.cli", *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.slow
def test_after_compiling_a_new_process_compiles_nothing(tmp_path):
    env = _package_copy(tmp_path)
    assert _run(env, code=FITS).strip() != "none"        # an empty cache: the fits compile
    shutil.rmtree(tmp_path / "logitlab")
    shutil.rmtree(tmp_path / "nc", ignore_errors=True)        # the empty cache again
    env = _package_copy(tmp_path)
    printed = _run(env, "compile")
    assert "conditional" in printed and str(tmp_path) in printed   # the copy's own cache
    assert _run(env, code=FITS).strip() == "none"
