"""The compiled kernels against independent references.

* ``_vmath``'s SIMD ``exp`` and ``log1p`` against NumPy's (libm-accurate)
  ``exp`` / ``log1p``, in units in the last place, over their whole domain;
* the tiled binary kernels (dense float64/float32 and CSR) against the
  textbook formulas written out with NumPy: loss = Σ s (logaddexp(0, z) - y z),
  gradient = [X, 1]ᵀ s (σ(z) - y), curvature = s σ(z) (1 - σ(z)), and
  H·v = [X, 1]ᵀ (h ∘ [X, 1] v) — for row counts that leave partial tiles and
  partial groups of four, with offsets, and with logits out to ±800 (where
  exp underflows).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import special

from logitlab.core import fused as _fused

from logitlab.core import vmath as _vmath
def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.abs(ref))


def test_exp_within_one_ulp_of_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.exponential(4.0, 200_000), -rng.uniform(0, 708, 100_000),
                        [0.0, -0.0, -1e-300, -1e-16, -0.34657359, -0.34657360, -707.99, -708.0]])
    out = np.empty_like(x)
    _vmath.exp_nonpos(x, out, np.empty(x.size, np.int64))
    assert _ulps(out, np.exp(x)).max() <= 1.0


def test_exp_below_the_normal_range_is_zero():
    x = np.array([-708.5, -745.2, -1e4, -np.inf])
    out = np.empty_like(x)
    _vmath.exp_nonpos(x, out, np.empty(x.size, np.int64))
    assert np.all(out == 0.0) and np.all(np.exp(x) < 3e-308)


def test_log1p_within_three_ulps_of_numpy():
    rng = np.random.default_rng(1)
    e = np.concatenate([rng.random(200_000), 10.0 ** -rng.uniform(0, 300, 100_000),
                        [1.0, 1e-300, 5e-324, np.sqrt(2) - 1, np.nextafter(np.sqrt(2) - 1, 1)]])
    out = np.empty_like(e)
    _vmath.log1p_unit(e, out)
    assert _ulps(out, np.log1p(e)).max() <= 3.0
    zero = np.zeros(1)
    _vmath.log1p_unit(np.zeros(1), zero)
    assert zero[0] == 0.0


def _problem(n, d, kind, scale, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if kind == "csr":
        X[rng.random((n, d)) < 0.7] = 0.0
    w = rng.normal(size=d) * scale
    b = 0.3 * scale
    y = (rng.random(n) < 0.5).astype(np.float64)
    s = rng.uniform(0.0, 2.0, n)
    s[::7] = 0.0
    off = rng.normal(size=n)
    Xk = {"dense": X, "f32": X.astype(np.float32), "csr": sp.csr_matrix(X)}[kind]
    X64 = X.astype(np.float32).astype(np.float64) if kind == "f32" else X
    return Xk, X64, y, s, off, w, b


def _reference(X, y, s, off, w, b):
    z = X @ w + b + off
    p = special.expit(z)
    loss = float(np.sum(s * (np.logaddexp(0.0, z) - y * z)))
    r = s * (p - y)
    return loss, np.append(X.T @ r, r.sum()), s * p * special.expit(-z)


@pytest.mark.parametrize("kind", ["dense", "f32", "csr"])
@pytest.mark.parametrize("n", [1, 3, 257, 1031])
@pytest.mark.parametrize("scale", [0.5, 300.0])
def test_binary_chunk_matches_the_formulas(kind, n, scale):
    X, X64, y, s, off, w, b = _problem(n, 6, kind, scale, seed=n)
    loss, g, h = _fused.binary_chunk(X, y, s, off, w, b, grad=True, curvature=True)
    ref_loss, ref_g, ref_h = _reference(X64, y, s, off, w, b)
    assert loss == pytest.approx(ref_loss, rel=1e-13, abs=1e-300)
    np.testing.assert_allclose(g, ref_g, rtol=1e-12, atol=1e-12 * np.abs(ref_g).max())
    np.testing.assert_allclose(h, ref_h, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("kind", ["dense", "f32"])
@pytest.mark.parametrize("d", [700, 3000])
def test_wide_rows_take_shorter_tiles_with_the_same_sums(kind, d):
    """Rows of 700 and 3,000 columns: tiles of fewer than TILE rows (at most
    TILE_BYTES of X), still a multiple of SUB, taken four rows at a time
    (d >= QUAD_MIN_COLS; three tiles and five rows left over); the loss,
    gradient and curvature as the formulas give them."""
    itemsize = 4 if kind == "f32" else 8
    rows = _fused._tile_rows(d, itemsize)
    assert rows < _fused.TILE and rows % _fused.SUB == 0
    assert rows * d * itemsize <= max(_fused.TILE_BYTES, _fused.SUB * d * itemsize)
    X, X64, y, s, off, w, b = _problem(3 * rows + 5, d, kind, 0.05, seed=d)
    loss, g, h = _fused.binary_chunk(X, y, s, off, w, b, grad=True, curvature=True)
    ref_loss, ref_g, ref_h = _reference(X64, y, s, off, w, b)
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    np.testing.assert_allclose(g, ref_g, rtol=1e-12, atol=1e-12 * np.abs(ref_g).max())
    np.testing.assert_allclose(h, ref_h, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("kind", ["dense", "f32", "csr"])
@pytest.mark.parametrize("n", [1, 5, 1031])
@pytest.mark.parametrize("d", [6, _fused.QUAD_MIN_COLS + 3])
def test_binary_hessp_matches_the_formula(kind, n, d):
    """Narrow rows one at a time, wide rows four at a time (with the rows
    left over in each group of SUB)."""
    X, X64, y, s, off, w, b = _problem(n, d, kind, 0.5 if d < 20 else 0.05, seed=100 + n)
    _, _, h = _reference(X64, y, s, off, w, b)
    v = np.random.default_rng(n).normal(size=d)
    got = _fused.binary_hessp(X, h, v, 0.7)
    u = h * (X64 @ v + 0.7)
    np.testing.assert_allclose(got, np.append(X64.T @ u, u.sum()), rtol=1e-12,
                               atol=1e-13 * np.abs(u).sum())


@pytest.mark.parametrize("kind", ["dense", "f32", "csr"])
@pytest.mark.parametrize("n", [1, 2, 1031])
def test_int8_labels_and_one_weight_for_every_row_give_the_same_bits(kind, n):
    """What a fit passes — int8 class codes, and unit (here any constant)
    weights as a stride-0 view, which the kernels read as one number — gives
    exactly the float64 labels' and full weight vector's results, and both
    match the formulas."""
    X, X64, y, _, off, w, b = _problem(n, 6, kind, 0.5, seed=7 + n)
    full = np.full(n, 2.5)
    ref = _fused.binary_chunk(X, y, full, off, w, b, grad=True, curvature=True)
    got = _fused.binary_chunk(X, (y == 1).view(np.int8), np.broadcast_to(2.5, (n,)), off, w, b,
                              grad=True, curvature=True)
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[2], ref[2])
    ref_loss, ref_g, ref_h = _reference(X64, y, full, off, w, b)
    assert got[0] == pytest.approx(ref_loss, rel=1e-13)
    np.testing.assert_allclose(got[1], ref_g, rtol=1e-12, atol=1e-12 * np.abs(ref_g).max())
    np.testing.assert_allclose(got[2], ref_h, rtol=1e-12)


def test_loss_only_pass_equals_the_full_pass():
    X, X64, y, s, off, w, b = _problem(1031, 6, "dense", 0.5, seed=3)
    full = _fused.binary_chunk(X, y, s, off, w, b, grad=True, curvature=True)[0]
    only = _fused.binary_chunk(X, y, s, off, w, b, grad=False, curvature=False)
    assert only[0] == full and only[1] is None and only[2] is None


@pytest.mark.parametrize("kind", ["dense", "f32"])
@pytest.mark.parametrize("n", [1, 63, 1031])
@pytest.mark.parametrize("d, intercept", [(1, True), (6, True), (6, False), (9, True),
                                          (_fused.FUSED_HESS_MAX_COLS - 1, True),
                                          (_fused.FUSED_HESS_MAX_COLS, False)])
def test_hessian_summed_in_the_loss_pass_matches_the_formula(kind, n, d, intercept):
    """The loss pass's own Hessian ``[X, 1]ᵀ diag(s p (1 - p)) [X, 1]`` (upper
    triangle, float64 whatever X's dtype), for an odd and even number of
    columns, with and without the intercept's, row counts that leave partial
    blocks of GRAM_ROWS and partial tiles, offsets and zero weights; the loss
    and gradient of the same pass unchanged."""
    X, X64, y, s, off, w, b = _problem(n, d, kind, 0.5, seed=200 + n + d)
    c = d + int(intercept)
    upper = np.zeros((c, c))
    loss, g, h = _fused.binary_chunk(X, y, s, off, w, b, grad=True, curvature=True,
                                     hess_out=upper)
    ref_loss, ref_g, ref_h = _reference(X64, y, s, off, w, b)
    A = np.column_stack([X64, np.ones(n)])[:, :c]
    H = A.T @ (A * ref_h[:, None])
    iu = np.triu_indices(c)
    np.testing.assert_allclose(upper[iu], H[iu], rtol=1e-12, atol=1e-13 * np.abs(H).max())
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    np.testing.assert_allclose(g, ref_g, rtol=1e-12, atol=1e-12 * np.abs(ref_g).max())
    np.testing.assert_allclose(h, ref_h, rtol=1e-12, atol=1e-300)
    # the weights-only kernel (R's start weights, the information) gives the same sums
    alone = np.zeros((c, c))
    _fused.dense_gram(X, ref_h, alone)
    np.testing.assert_allclose(alone[iu], H[iu], rtol=1e-12, atol=1e-13 * np.abs(H).max())


def test_only_narrow_dense_rows_sum_their_hessian_in_the_pass():
    X = np.zeros((10, _fused.FUSED_HESS_MAX_COLS))
    assert _fused.fused_hessian(X[:, :-1], True) and _fused.fused_hessian(X, False)
    assert not _fused.fused_hessian(X, True)
    assert not _fused.fused_hessian(sp.csr_matrix(X[:, :3]), True)
