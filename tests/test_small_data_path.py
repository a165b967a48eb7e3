"""The NumPy/BLAS path for small chunks: the same sums as the compiled kernels.

Below ``logitlab.core.design.COMPILED_MIN_ENTRIES`` stored entries a chunk's
statistics come from NumPy; from there on from the numba kernels. Both paths are
computed here on the same chunks (the threshold moved by monkeypatching) and must
agree to rounding; a whole fit must give the same coefficients; and creating an
estimator in a fresh process must not import numba (it loads with the first kernel).
"""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import logitlab
from logitlab.core import design
from logitlab.families import logit_family

import logitlab.families.multinomial as multinomial_module
import logitlab.data.validation as validation_module


def _force(monkeypatch, compiled: bool):
    value = 0 if compiled else 1 << 62
    for module in (design, multinomial_module, validation_module):
        monkeypatch.setattr(module, "COMPILED_MIN_ENTRIES", value)


def _data(seed, n=300, d=6, K=2, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if sparse:
        X[rng.random(X.shape) < 0.6] = 0.0
        X = sp.csr_matrix(X)
    y = rng.integers(0, K, n)
    s = rng.uniform(0.5, 2.0, n)
    return X, y, s


@pytest.mark.parametrize("K, sparse", [(2, False), (2, True), (3, False), (4, True)])
def test_chunk_statistics_agree_between_paths(monkeypatch, K, sparse):
    X, y, s = _data(K + 10 * sparse, K=K, sparse=sparse)
    family = logit_family(X.shape[1], K, fit_intercept=True)
    rng = np.random.default_rng(1)
    W = rng.normal(scale=0.3, size=(family.layout.n_rows, family.layout.n_cols))
    V = rng.normal(size=W.shape)
    codes = y.astype(np.int8) if K == 2 else y
    results = {}
    for compiled in (False, True):
        _force(monkeypatch, compiled)
        loss, g, H, curv = family.chunk_stats(X, codes, s, None, W, grad=True, hess=True,
                                              curvature=True)
        hv = family.chunk_hessp(X, curv, V)
        diag = family.chunk_hess_diag(X, curv)
        results[compiled] = (loss, g, H, hv, diag)
    for a, b in zip(results[False], results[True]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # and the Hessian-vector product is the Hessian times the vector
    np.testing.assert_allclose(results[False][3].ravel(), results[False][2] @ V.ravel(),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kw", [{}, {"alpha": 0.01}, {"alpha": 0.01, "penalty": "l1",
                                                      "solver": "cd"}])
def test_whole_fit_is_the_same_on_both_paths(monkeypatch, kw):
    X, y, s = _data(5, n=800, d=5)
    fits = []
    for compiled in (False, True):
        _force(monkeypatch, compiled)
        fits.append(logitlab.LogisticRegression(**kw).fit(X, y, sample_weight=s))
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(fits[0].intercept_, fits[1].intercept_, rtol=1e-9, atol=1e-11)


def test_importing_and_a_summary_do_not_load_numba():
    code = ("import sys, numpy as np, logitlab\n"
            "m = logitlab.LogisticRegression()\n"
            "print('numba' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_small_fit_and_summary_do_not_load_sklearn_scipy_stats_or_pandas():
    """The whole small job (ndarray fit + printed summary) in a fresh process leaves
    scikit-learn, scipy.stats and pandas (with pyarrow) unloaded; its p-values are
    scipy.stats' (checked in the same process after the job) and its estimator still
    clones in scikit-learn."""
    code = (
        "import sys, numpy as np, logitlab\n"
        "rng = np.random.default_rng(0); X = rng.normal(size=(500, 3))\n"
        "y = (X @ np.array([1.0, -0.5, 0.2]) + rng.logistic(size=500) > 0).astype(int)\n"
        "m = logitlab.LogisticRegression().fit(X, y); s = str(m.summary())\n"
        "print(sorted(k for k in ('sklearn', 'scipy.stats', 'pandas', 'pyarrow')\n"
        "             if k in sys.modules))\n"
        "from scipy import stats; t = m.summary().to_frame()\n"
        "ref = 2 * stats.norm.sf(np.abs(t['coef'] / t['std_err']))\n"
        "print(float(np.max(np.abs(ref - t['p_value']))))\n"
        "from sklearn.base import clone, is_classifier\n"
        "c = clone(m); print(is_classifier(c), c.get_params() == m.get_params())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded, err, cloned = out.stdout.strip().splitlines()
    assert loaded == "[]"
    assert float(err) <= 1e-15
    assert cloned == "True True"


@pytest.mark.parametrize("d, dtype", [(50, np.float64), (7, np.float64), (333, np.float64),
                                      (50, np.float32), (1001, np.float32)])
def test_blocks_of_a_large_design_run_the_compiled_kernels(d, dtype):
    """The in-memory backend's row blocks (2 MiB of X) hold at least
    COMPILED_MIN_ENTRIES entries, so a large design runs compiled in every
    block (a block of 5,242 × 50 = 262,100 float64 entries, just under 2¹⁸, ran
    the multinomial softmax through NumPy)."""
    from logitlab.backends.memory import _BLOCK_BYTES, block_slices
    n = 3 * _BLOCK_BYTES // (d * np.dtype(dtype).itemsize) + 17
    blocks = block_slices(n, d * np.dtype(dtype).itemsize)
    assert sum(sl.stop - sl.start for sl in blocks) == n
    full = [sl for sl in blocks if sl.stop != n]
    assert full and all((sl.stop - sl.start) * d >= design.COMPILED_MIN_ENTRIES
                        for sl in full)


@pytest.mark.parametrize("d, dtype, sparse", [(1, np.float64, False), (3, np.float64, False),
                                              (3, np.float32, False), (7, np.float32, False),
                                              (40, np.float64, True)])
def test_narrow_rows_get_blocks_long_enough_for_the_compiled_kernels(d, dtype, sparse):
    """Blocks of the in-memory backend are capped in rows, but never below the
    rows that hold COMPILED_MIN_ENTRIES entries: 2,000,000 × 3 float64 rows (and
    CSR with two stored entries a row) run compiled in every block, not on
    NumPy's path (65,536 rows × 3 columns = 196,608 entries did)."""
    from logitlab.backends.memory import InMemoryData
    n = 1_000_003 if d < 10 else 400_000
    rng = np.random.default_rng(d)
    if sparse:
        cols = rng.integers(0, d, (n, 2))
        X = sp.csr_matrix((np.ones(2 * n), cols.ravel(), np.arange(0, 2 * n + 1, 2)),
                          shape=(n, d))
    else:
        X = np.zeros((n, d), dtype)
    data = InMemoryData(X, np.zeros(n, np.int8), np.ones(n), None,
                        logit_family(d, 2, fit_intercept=True))
    assert sum(sl.stop - sl.start for sl in data.blocks) == n
    assert all(design.compiled_path(data._x(i)) for i in range(len(data.blocks)))


@pytest.mark.parametrize("n", [1, 999, 10_000, 123_457])
@pytest.mark.parametrize("multiple", [1, 2, 3])
def test_block_counts_are_a_multiple_of_the_threads(n, multiple):
    """From ``multiple`` full blocks on, their number is a multiple of it, the
    rows are shared out evenly, and no block is smaller than a full one
    without the rounding (so every block still reaches the compiled kernels'
    size)."""
    from logitlab.backends.memory import block_slices
    row_bytes, block_bytes = 400, 1 << 20
    plain = block_slices(n, row_bytes, block_bytes)
    blocks = block_slices(n, row_bytes, block_bytes, multiple=multiple)
    rows = np.concatenate([np.arange(sl.start, sl.stop) for sl in blocks])
    np.testing.assert_array_equal(rows, np.arange(n))
    full = n // (plain[0].stop - plain[0].start)
    if multiple > 1 and full >= multiple:
        assert len(blocks) % multiple == 0
        sizes = [sl.stop - sl.start for sl in blocks]
        assert max(sizes) - min(sizes) <= 1
        assert min(sizes) >= plain[0].stop - plain[0].start
    else:
        assert blocks == plain


def test_multinomial_blocks_of_a_large_design_use_the_compiled_softmax(monkeypatch):
    from logitlab.backends.memory import InMemoryData
    from logitlab.core import fused
    calls = []
    original = fused.softmax_rows
    monkeypatch.setattr(fused, "softmax_rows",
                        lambda *a: calls.append(a[0].shape) or original(*a))
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12_000, 50))
    y = rng.integers(0, 3, len(X))
    family = logit_family(50, 3, fit_intercept=True)
    data = InMemoryData(X, y, np.ones(len(X)), None, family)
    full = [sl for sl in data.blocks if (sl.stop - sl.start) * 50 >= design.COMPILED_MIN_ENTRIES]
    assert len(full) >= 2
    data.stats(np.zeros((51, family.layout.n_cols)))
    assert sorted(calls) == sorted((sl.stop - sl.start, 3) for sl in full)
