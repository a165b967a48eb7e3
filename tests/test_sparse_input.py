"""Sparse input is checked by logitlab itself (no scikit-learn, no densifying).

References: the fit on the dense copy of the same matrix (the dense code path,
independent of the CSR kernels), the matrix's own stored values (where the bad
entries are), and the arrays of the input (no copy when none is needed).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from logitlab import LogisticRegression
from logitlab.data.validation import canonical_csr


def _data(seed=3, n=300, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[np.abs(X) < 0.6] = 0.0
    y = (X @ rng.normal(size=d) + rng.logistic(size=n) > 0).astype(int)
    return X, y


def test_a_sparse_fit_and_prediction_do_not_load_sklearn():
    code = (
        "import sys, numpy as np, scipy.sparse as sp, logitlab\n"
        "rng = np.random.default_rng(0)\n"
        "X = sp.random(2000, 50, density=0.1, format='csc', random_state=1)\n"
        "y = (X @ rng.normal(size=50) + rng.logistic(size=2000) > 0).astype(int)\n"
        "m = logitlab.LogisticRegression(penalty='l2', alpha=1e-3).fit(X, y)\n"
        "p = m.predict_proba(X.tocoo())\n"
        "print('sklearn' in sys.modules, m.converged_)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False True"


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "bsr", "csr_array"])
def test_every_sparse_format_fits_as_its_dense_copy(fmt):
    X, y = _data()
    dense = LogisticRegression().fit(X, y)
    S = sp.csr_array(X) if fmt == "csr_array" else sp.csr_matrix(X).asformat(fmt)
    m = LogisticRegression().fit(S, y)
    np.testing.assert_allclose(m.coef_, dense.coef_, rtol=1e-10)
    np.testing.assert_allclose(m.intercept_, dense.intercept_, rtol=1e-10)


def _shuffled_within_rows(S, seed=0):
    """The same matrix with each row's entries stored in a random order."""
    rng = np.random.default_rng(seed)
    data, indices = S.data.copy(), S.indices.copy()
    for i in range(S.shape[0]):
        a, b = S.indptr[i], S.indptr[i + 1]
        order = rng.permutation(b - a)
        data[a:b], indices[a:b] = data[a:b][order], indices[a:b][order]
    out = sp.csr_matrix((data, indices, S.indptr.copy()), shape=S.shape)
    out.has_sorted_indices = False
    return out


def test_unsorted_and_duplicate_entries_fit_as_the_matrix_they_stand_for():
    X, y = _data(seed=5)
    dense = LogisticRegression(alpha=0.01).fit(X, y)
    S = sp.csr_matrix(X)
    unsorted = _shuffled_within_rows(S)
    assert not np.array_equal(unsorted.indices, S.indices)
    np.testing.assert_allclose(LogisticRegression(alpha=0.01).fit(unsorted, y).coef_,
                               dense.coef_, rtol=1e-10)
    # every stored value split into two entries of the same (row, column)
    rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
    twice = sp.csr_matrix((np.r_[0.25 * S.data, 0.75 * S.data],
                           (np.r_[rows, rows], np.r_[S.indices, S.indices])), shape=S.shape)
    # scipy's COO -> CSR sums duplicates; build the duplicated CSR arrays directly
    order = np.argsort(np.r_[rows, rows], kind="stable")
    dup = sp.csr_matrix((np.r_[0.25 * S.data, 0.75 * S.data][order],
                         np.r_[S.indices, S.indices][order],
                         np.r_[0, np.cumsum(2 * np.diff(S.indptr))]), shape=S.shape)
    assert dup.nnz == 2 * S.nnz and twice.nnz == S.nnz
    fit = LogisticRegression(alpha=0.01).fit(dup, y)
    np.testing.assert_allclose(fit.coef_, dense.coef_, rtol=1e-10)
    # the input keeps its entries (summed in a copy) and stands for the same matrix
    assert dup.nnz == 2 * S.nnz
    np.testing.assert_allclose(dup.toarray(), X, rtol=1e-15, atol=0)


def test_canonical_csr_keeps_arrays_and_float_types():
    X, _ = _data()
    for dtype in (np.float32, np.float64):
        S = sp.csr_matrix(X.astype(dtype))
        out = canonical_csr(S, [np.float64, np.float32])
        assert out.dtype == dtype and out.format == "csr"
        assert out.data is S.data and out.indices is S.indices and out.indptr is S.indptr
    # 64-bit indices stay 64-bit (no copy of them either)
    S = sp.csr_matrix(X)
    S.indices, S.indptr = S.indices.astype(np.int64), S.indptr.astype(np.int64)
    out = canonical_csr(S, [np.float64, np.float32])
    assert out.indices is S.indices and out.indices.dtype == np.int64
    # integer values become float64, sharing the indices
    counts = sp.csr_matrix((np.abs(X) > 1).astype(np.int32))
    out = canonical_csr(counts, [np.float64, np.float32])
    assert out.dtype == np.float64 and out.indices is counts.indices
    np.testing.assert_array_equal(out.toarray(), (np.abs(X) > 1).astype(float))
    # a dtype asked for is applied
    assert canonical_csr(sp.csr_matrix(X), [np.float32]).dtype == np.float32


def test_int64_indices_fit_as_int32():
    X, y = _data(seed=8)
    S = sp.csr_matrix(X)
    wide = S.copy()
    wide.indices, wide.indptr = wide.indices.astype(np.int64), wide.indptr.astype(np.int64)
    np.testing.assert_allclose(LogisticRegression().fit(wide, y).coef_,
                               LogisticRegression().fit(S, y).coef_, rtol=1e-12)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_bad_value_is_named_by_row_and_column(fmt, bad):
    X, y = _data(seed=4)
    X[17, 3], X[40, 1], X[41, 3] = bad, bad, bad
    S = sp.csr_matrix(X).asformat(fmt)
    with pytest.raises(ValueError) as info:
        LogisticRegression().fit(S, y)
    msg = str(info.value)
    # the first in row-major order, from the input itself
    r, c = np.argwhere(~np.isfinite(X))[0]
    assert f"the first at row {r}, column {c}" in msg
    assert "column 3: 2 rows (first row 17)" in msg and "column 1: 1 rows (first row 40)" in msg
    assert ("NaN" if np.isnan(bad) else "inf") in msg


def test_a_bad_value_at_prediction_is_named_by_row_and_column():
    X, y = _data(seed=4)
    m = LogisticRegression().fit(sp.csr_matrix(X), y)
    Xp = X.copy()
    Xp[123, 5] = np.nan
    with pytest.raises(ValueError, match="the first at row 123, column 5"):
        m.predict(sp.csr_matrix(Xp))


def test_a_column_index_out_of_range_is_an_error_naming_the_row():
    X, y = _data(seed=2)
    S = sp.csr_matrix(X)
    k = S.indptr[7] + 1
    S.indices[k] = X.shape[1] + 4
    with pytest.raises(ValueError, match=f"column index {X.shape[1] + 4} in row 7"):
        LogisticRegression().fit(S, y)


def test_complex_and_empty_sparse_input_are_clear_errors():
    X, y = _data()
    with pytest.raises(TypeError, match="real numbers"):
        LogisticRegression().fit(sp.csr_matrix(X.astype(complex)), y)
    with pytest.raises(ValueError, match="0 sample"):
        LogisticRegression().fit(sp.csr_matrix((0, 6)), y[:0])
    m = LogisticRegression().fit(sp.csr_matrix(X), y)
    with pytest.raises(ValueError, match="X has 5 features, but LogisticRegression is "
                                         "expecting 6 features"):
        m.predict(sp.csr_matrix(X[:, :5]))
