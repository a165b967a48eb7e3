"""Compile the kernels ahead of the first real fit: ``logitlab compile``.

The compiled kernels (numba) compile on their first call and are cached on
disk (see the README: next to the package, in the user's cache or in a
per-user temporary folder), so only the first large fit after an install
waits for the compiler — for a few seconds per kind of fit. :func:`compile_kernels`
runs one small fit of each common kind, each just large enough to take the
compiled path, so that a container image or a shared install can do that
work once, at build time: binary, multinomial, ordinal and conditional
models; dense float64 and float32 and sparse (CSR) designs; unit and varied
weights and offsets; maximum likelihood with standard errors, L2 and L1
penalties, Firth's correction; exact and truncated Newton with each
preconditioner. A kind of fit not in this list compiles what it adds on its
first call, as before.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

#: rows × columns of the designs: enough entries (COMPILED_MIN_ENTRIES = 2¹⁸ per
#: row block, 2²⁰ for float32 arithmetic) to take the compiled paths
_ROWS = 40_000


def _cases():
    """``(label, thunk)`` for each kind of fit (each a small fit on random data)."""
    import scipy.sparse as sp

    from .conditional import ConditionalLogisticRegression
    from .logistic import LogisticRegression
    from .ordinal import OrderedLogisticRegression

    rng = np.random.default_rng(0)
    n = _ROWS

    def design(d, dtype=np.float64):
        return rng.standard_normal((n, d)).astype(dtype)

    def binary(X):
        z = np.asarray(X[:, :3] @ np.array([0.8, -0.5, 0.3])).ravel()
        return (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)

    narrow, medium = design(8), design(60)
    wide = rng.standard_normal((1_500, 400))
    # float32 arithmetic from 2²⁰ entries on: exact Newton's passes (narrow) and truncated
    # Newton's (60 columns) in that mode
    narrow32 = rng.standard_normal((140_000, 8)).astype(np.float32)
    y_narrow32 = (rng.random(140_000) < 1 / (1 + np.exp(-narrow32[:, 0]))).astype(int)
    medium32 = design(60, np.float32)
    csr = sp.random(n, 2_000, density=0.01, format="csr", random_state=1, dtype=np.float64)
    y_narrow, y_medium, y_csr = binary(narrow), binary(medium), binary(csr)
    y_wide = (rng.random(1_500) < 0.4).astype(int)
    classes = np.argmax(medium[:, :3] + rng.gumbel(size=(n, 3)), axis=1)
    weights, offset = rng.uniform(0.5, 2.0, n), rng.normal(0, 0.3, n)
    strata = np.repeat(np.arange(n // 5), 5)
    cases = (np.arange(n) % 5 == 0).astype(int)          # one case per stratum of five

    def logistic(X, y, **kw):
        fit_kw = {k: kw.pop(k) for k in ("sample_weight", "offset") if k in kw}
        return lambda: LogisticRegression(**kw).fit(X, y, **fit_kw)

    return [
        ("binary, few columns, standard errors", lambda: logistic(narrow, y_narrow)().summary()),
        ("binary, weights and offsets", logistic(narrow, y_narrow, sample_weight=weights,
                                                 offset=offset)),
        ("binary, float32", logistic(narrow32, y_narrow32, alpha=1e-4)),
        ("binary, 60 columns, standard errors", lambda: logistic(medium, y_medium)().summary()),
        ("binary, 60 columns, L2, float32", logistic(medium32, y_medium, alpha=1e-4)),
        ("binary, wide, L2", logistic(wide, y_wide, alpha=1e-3)),
        ("binary, L1", logistic(medium, y_medium, penalty="l1", alpha=1e-3)),
        ("binary, Firth", logistic(narrow, y_narrow, penalty="firth")),
        ("binary, sparse, L2", logistic(csr, y_csr, alpha=1e-4)),
        ("binary, sparse, L1", logistic(csr, y_csr, penalty="l1", alpha=1e-3)),
        ("multinomial, standard errors", lambda: logistic(medium, classes)().summary()),
        ("multinomial, L2, float32", logistic(medium32, classes, alpha=1e-4)),
        ("multinomial, sparse, L2", logistic(csr, classes, alpha=1e-4)),
        ("ordinal", lambda: OrderedLogisticRegression().fit(narrow, classes).summary()),
        ("conditional", lambda: ConditionalLogisticRegression().fit(
            narrow, cases, strata=strata).summary()),
    ]


def compile_kernels(verbose: bool = False) -> list:
    """Compile (and cache) the kernels of the common kinds of fit (module
    docstring) by running one small fit of each. Returns ``[(kind, seconds),
    ...]``; ``verbose`` prints each as it finishes. A second call, or a new
    process once the cache is written, takes a fraction of the time."""
    done = []
    for label, run in _cases():
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # random designs: what a fit says is moot
            run()
        done.append((label, time.perf_counter() - t))
        if verbose:
            print(f"{label}: {done[-1][1]:.1f} s", flush=True)
    return done
