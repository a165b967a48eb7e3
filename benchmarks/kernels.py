"""Per-row cost of the fused binary kernels' loss terms, against NumPy.

    python benchmarks/kernels.py [--rows 1048576] [--repeat 9]

One thread, 2^20 logits. Prints nanoseconds a row for

* NumPy: ``np.exp(-|z|)``, ``np.log1p``, and the whole per-row computation
  (loss, residual, curvature) in NumPy;
* logitlab: the SIMD ``exp`` and ``log1p`` of ``logitlab.core.vmath`` alone, and
  the per-row terms of the loss pass (``logitlab.core.fused._tile_terms`` over
  tiles of 256 rows), with unit weights and with a weight vector;

and the ratios. The per-row terms should cost little more than exp + log1p:
a loop LLVM cannot vectorize (session 7 found one: a conditional load of the
weights) shows up here as terms ÷ (exp + log1p) well above 1, long before it
is visible in the noise of the full benchmark (``run.py``).
"""

from __future__ import annotations

import argparse
import time

import numba as nb
import numpy as np

from logitlab.core import fused as _fused

from logitlab.core import vmath as _vmath
@nb.njit(nogil=True, boundscheck=False)
def _terms(Z, y, s):
    """``_tile_terms`` over all of ``Z``, tile by tile, as the loss pass runs it."""
    z, e, lt, rt, ht, bits = _fused._tile_buffers()
    total = 0.0
    for i0 in range(0, Z.shape[0], _fused.TILE):
        m = min(_fused.TILE, Z.shape[0] - i0)
        z[:m] = Z[i0:i0 + m]
        _fused._tile_terms(z, y, s, i0, m, e, bits, lt, rt, ht)
        total += lt[0] + rt[m - 1] + ht[m // 2]
    return total


@nb.njit(nogil=True, boundscheck=False)
def _vmath_alone(V, log1p):
    """logitlab's ``exp(-|v|)`` (``log1p=False``) or ``log1p(v)`` alone over
    ``V``, tile by tile."""
    z, e, lt, rt, ht, bits = _fused._tile_buffers()
    total = 0.0
    for i0 in range(0, V.shape[0], _fused.TILE):
        m = min(_fused.TILE, V.shape[0] - i0)
        if log1p:
            _vmath.log1p_unit(V[i0:i0 + m], e[:m])
        else:
            for k in range(m):
                lt[k] = -abs(V[i0 + k])
            _vmath.exp_nonpos(lt[:m], e[:m], bits[:m])
        total += e[0]
    return total


def _numpy_terms(z, y, s):
    e = np.exp(-np.abs(z))
    a = 1.0 / (1.0 + e)
    p = np.where(z >= 0, a, e * a)
    loss = s * (np.maximum(z, 0.0) + np.log1p(e) - y * z)
    return loss, s * (p - y), s * p * (1.0 - p)


def best_ns(fn, n_rows, repeat, *args):
    """Fastest of ``repeat`` calls (after one untimed call), in ns a row."""
    fn(*args)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times) / n_rows * 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    n = args.rows
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, n)
    y = (rng.random(n) < 0.4).astype(np.int8)
    weights = rng.uniform(0.5, 2.0, n)
    e = np.exp(-np.abs(z))
    rows = {
        "numpy exp": best_ns(lambda: np.exp(-np.abs(z)), n, args.repeat),
        "numpy log1p": best_ns(lambda: np.log1p(e), n, args.repeat),
        "numpy per-row terms": best_ns(_numpy_terms, n, args.repeat, z, y.astype(float), weights),
        "logitlab exp": best_ns(_vmath_alone, n, args.repeat, z, False),
        "logitlab log1p": best_ns(_vmath_alone, n, args.repeat, e, True),
        "logitlab terms, unit weights": best_ns(_terms, n, args.repeat, z, y, np.ones(1)),
        "logitlab terms, weight vector": best_ns(_terms, n, args.repeat, z, y, weights),
    }
    print(f"one thread, {n:,} rows (ns a row, fastest of {args.repeat})")
    for name, ns in rows.items():
        print(f"  {name:32s} {ns:6.2f}")
    parts = rows["logitlab exp"] + rows["logitlab log1p"]
    print(f"  terms (unit weights) / (exp + log1p)       {rows['logitlab terms, unit weights'] / parts:5.2f}"
          "   (well above 1: a loop is not vectorized)")
    print(f"  logitlab terms / numpy terms               "
          f"{rows['logitlab terms, weight vector'] / rows['numpy per-row terms']:5.2f}")


if __name__ == "__main__":
    main()
