"""A read-only install imports and fits (the compiled kernels' cache falls back).

Numba decides where to cache a kernel by trying to write a file in each candidate
folder (``_CacheLocator.ensure_cache_path``). The child processes here make that
write fail for every folder outside an allowed one — exactly what a read-only
package folder and ``$HOME`` do to numba (root can write anywhere, so a real
``chmod`` does not test this under root) — and check that logitlab still
imports and fits, with the kernels cached in the per-user temporary folder
(:data:`logitlab.core.jit.FALLBACK_CACHE`) or, when that is unwritable too,
compiled in memory.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

CHILD = textwrap.dedent("""
    import os, sys, json
    import numba.core.caching as caching
    allowed = os.environ["ALLOWED"]
    original = caching._CacheLocator.ensure_cache_path
    def read_only_elsewhere(self):
        path = self.get_cache_path()
        if not allowed or not os.path.abspath(path).startswith(allowed):
            raise PermissionError(13, "read-only (simulated)", path)
        return original(self)
    caching._CacheLocator.ensure_cache_path = read_only_elsewhere
    import numpy as np
    import logitlab
    from logitlab.core import jit
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=400) > 0).astype(int)
    mle = logitlab.LogisticRegression().fit(X, y)
    l1 = logitlab.LogisticRegression(alpha=0.01, penalty="l1", solver="cd").fit(X, y)
    print(json.dumps({"coef": mle.coef_[0].tolist(), "l1": l1.coef_[0].tolist(),
                      "cache": jit.FALLBACK_CACHE}))
""")


def _run(tmp_path, allowed):
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "ALLOWED": allowed,
           "HOME": str(tmp_path / "home")}
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    import json
    return json.loads(out.stdout.strip().splitlines()[-1])


def _reference():
    import logitlab
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=400) > 0).astype(int)
    return (logitlab.LogisticRegression().fit(X, y).coef_[0],
            logitlab.LogisticRegression(alpha=0.01, penalty="l1", solver="cd").fit(X, y).coef_[0])


@pytest.mark.slow
def test_kernels_cache_in_the_temporary_folder_when_the_install_is_read_only(tmp_path):
    doc = _run(tmp_path, allowed=str(tmp_path / "tmp"))
    cache = Path(doc["cache"])
    assert cache.parent == tmp_path / "tmp"
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.nbi"))
    assert any(cache.rglob("*.nbi")), "no kernel was cached in the fallback folder"
    mle, l1 = _reference()
    np.testing.assert_allclose(doc["coef"], mle, rtol=1e-10)
    np.testing.assert_allclose(doc["l1"], l1, rtol=1e-8, atol=1e-12)


@pytest.mark.slow
def test_fits_compile_in_memory_when_nothing_is_writable(tmp_path):
    doc = _run(tmp_path, allowed="")
    assert not any(Path(doc["cache"]).rglob("*.nbi"))
    mle, _ = _reference()
    np.testing.assert_allclose(doc["coef"], mle, rtol=1e-10)
