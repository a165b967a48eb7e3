"""Derivatives of the penalized objective, checked against independent references.

For binary, multinomial-reference and symmetric-softmax layouts, with and
without intercept, on dense float64, CSR and float32 X, with random sample
weights (some zero) and offsets:

* value            == mean weighted NLL + elastic net, written out here with
                      np.logaddexp / scipy.special.logsumexp;
* gradient         == central finite difference of the value, and the
                      closed form [X, 1]ᵀ s (p - y) / Σs (+ L2) written out here;
* Hessian          == finite difference of the gradient, the closed form
                      [X, 1]ᵀ diag(s (diag p - p pᵀ)) [X, 1] / Σs written out here,
                      and is symmetric;
* hessp(v)         == H @ v;
* row blocks       do not change any of these;
* kkt_violation    is zero exactly at an optimum (hand-built, and glum's
                      independently computed elastic-net solution) and positive
                      away from it;
* n_passes         counts one read of the data per smooth / hessp call.
"""

from __future__ import annotations

import zlib

import glum
import numpy as np
import pytest
import scipy.sparse as sp
from scipy import special

from logitlab.backends import InMemoryData
from logitlab.core.layout import Layout
from logitlab.solvers.objective import Objective

N_ROWS = 700
N_FEATURES = 4

# name -> (n_classes, free_classes)
LAYOUTS = {
    "binary": (2, (1,)),
    "ref3": (3, (1, 2)),          # reference class 0 (R nnet::multinom style)
    "ref4": (4, (0, 1, 2)),       # reference class = last class
    "sym3": (3, (0, 1, 2)),       # symmetric softmax (identifiable via the penalty)
}
PENALTIES = [(0.0, 0.0), (0.05, 0.3)]


# --------------------------------------------------------------------------
# problem construction and independent references
# --------------------------------------------------------------------------

def make_problem(kind, fit_intercept, xkind, seed=0, n=N_ROWS, d=N_FEATURES):
    rng = np.random.default_rng(seed)
    n_classes, free = LAYOUTS[kind]
    layout = Layout(n_features=d, n_classes=n_classes, free_classes=free,
                    fit_intercept=fit_intercept)
    X = rng.normal(size=(n, d))
    if xkind == "csr":
        X[rng.random((n, d)) < 0.6] = 0.0
        X = sp.csr_matrix(X)
    elif xkind == "f32":
        X = X.astype(np.float32)
    s = rng.uniform(0.2, 2.0, size=n)
    s[rng.random(n) < 0.1] = 0.0
    if layout.multinomial:
        y = rng.integers(0, n_classes, size=n)
        offset = rng.normal(scale=0.5, size=(n, n_classes))
    else:
        y = (rng.random(n) < 0.4).astype(np.float64)
        offset = rng.normal(scale=0.5, size=n)
    w = rng.normal(scale=0.4, size=layout.size)
    return layout, X, y, s, offset, w


def dense64(X):
    return X.toarray().astype(np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)


def design(X, layout):
    """[X, 1] (or X) as a dense float64 array."""
    Xd = dense64(X)
    return np.hstack([Xd, np.ones((Xd.shape[0], 1))]) if layout.fit_intercept else Xd


def ref_logits(X, w, layout, offset):
    W = np.asarray(w, dtype=np.float64).reshape(layout.n_rows, layout.n_cols)
    Zf = design(X, layout) @ W
    if not layout.multinomial:
        return Zf[:, 0] + offset
    Z = np.zeros((Zf.shape[0], layout.n_classes))
    Z[:, list(layout.free_classes)] = Zf
    return Z + offset


def penalized_part(w, layout):
    W = np.asarray(w).reshape(layout.n_rows, layout.n_cols)
    return W[:layout.n_features].ravel()


def ref_value(X, y, s, offset, layout, w, alpha, l1_ratio, with_l1=True):
    z = ref_logits(X, w, layout, offset)
    if layout.multinomial:
        nll = special.logsumexp(z, axis=1) - z[np.arange(len(y)), y]
    else:
        nll = np.logaddexp(0.0, z) - y * z
    beta = penalized_part(w, layout)
    pen = alpha * (1 - l1_ratio) / 2 * beta @ beta
    if with_l1:
        pen += alpha * l1_ratio * np.abs(beta).sum()
    return np.sum(s * nll) / np.sum(s) + pen


def pen_mask(layout):
    M = np.zeros((layout.n_rows, layout.n_cols))
    M[:layout.n_features] = 1.0
    return M.ravel()


def ref_grad(X, y, s, offset, layout, w, alpha, l1_ratio):
    Xa = design(X, layout)
    z = ref_logits(X, w, layout, offset)
    if layout.multinomial:
        P = special.softmax(z, axis=1)[:, list(layout.free_classes)]
        Y = (y[:, None] == np.array(layout.free_classes)[None, :]).astype(float)
        R = P - Y
    else:
        R = (special.expit(z) - y)[:, None]
    g = (Xa.T @ (s[:, None] * R)).ravel() / np.sum(s)
    return g + alpha * (1 - l1_ratio) * pen_mask(layout) * np.asarray(w)


def ref_hess(X, y, s, offset, layout, w, alpha, l1_ratio):
    Xa = design(X, layout)
    z = ref_logits(X, w, layout, offset)
    if layout.multinomial:
        P = special.softmax(z, axis=1)[:, list(layout.free_classes)]
    else:
        p = special.expit(z)
        P = p[:, None]
    C = P.shape[1]
    # per-row class-by-class weight s (diag p - p pᵀ); binary: s p (1 - p)
    Wt = s[:, None, None] * (np.einsum("na,ab->nab", P, np.eye(C))
                             - P[:, :, None] * P[:, None, :])
    H4 = np.einsum("nab,nj,ni->jaib", Wt, Xa, Xa)
    m = Xa.shape[1]
    H = H4.reshape(m * C, m * C) / np.sum(s)
    return H + alpha * (1 - l1_ratio) * np.diag(pen_mask(layout))


def fd_grad(f, w, h):
    g = np.empty_like(w)
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = h
        g[j] = (f(w + e) - f(w - e)) / (2 * h)
    return g


def fd_jac(gfun, w, h):
    cols = []
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = h
        cols.append((gfun(w + e) - gfun(w - e)) / (2 * h))
    return np.column_stack(cols)


def assert_close_rel(a, b, rel, what):
    """max |a - b| <= rel * max(|b|_max, 1e-3): errors relative to the scale."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(np.max(np.abs(b)), 1e-3)
    err = np.max(np.abs(a - b))
    assert err <= rel * scale, f"{what}: max abs error {err:.3e} > {rel:.1e} * {scale:.3e}"


# float32 X: the library computes X @ W in float32 (documented), so agreement
# with float64 references is at float32 precision; finite differences of the
# float32 value use a larger step to stay above its rounding noise.
TOL = {"dense": 1e-6, "csr": 1e-6, "f32": 2e-4}
STEP = {"dense": 1e-5, "csr": 1e-5, "f32": 1e-2}
EXACT = {"dense": 1e-12, "csr": 1e-12, "f32": 2e-6}


CASES = [(kind, fi, xkind, pen)
         for kind in LAYOUTS for fi in (True, False)
         for xkind in ("dense", "csr", "f32") for pen in PENALTIES]


def _case_id(c):
    kind, fi, xkind, (a, r) = c
    return f"{kind}-{'icpt' if fi else 'noicpt'}-{xkind}-a{a}-l1r{r}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_value_gradient_hessian_hessp(case):
    kind, fi, xkind, (alpha, l1_ratio) = case
    layout, X, y, s, offset, w = make_problem(kind, fi, xkind,
                                                   seed=zlib.crc32(_case_id(case).encode()))
    data = InMemoryData(X, y, s, offset, layout)
    obj = Objective(data, alpha, l1_ratio)
    args = (X, y, s, offset, layout)
    tol, h, exact = TOL[xkind], STEP[xkind], EXACT[xkind]

    # value: smooth part (no L1) and full objective, vs the written-out formula
    f, g, H = obj.smooth(w, hess=True)
    assert f == pytest.approx(ref_value(*args, w, alpha, l1_ratio, with_l1=False), rel=exact, abs=0)
    assert obj.value(w) == pytest.approx(ref_value(*args, w, alpha, l1_ratio), rel=exact, abs=0)
    assert g.shape == (layout.size,) and H.shape == (layout.size, layout.size)

    # gradient: finite difference of the library's own value, and closed form
    g_fd = fd_grad(lambda v: obj.smooth(v, grad=False)[0], w, h)
    assert_close_rel(g, g_fd, tol, "gradient vs finite difference")
    assert_close_rel(g, ref_grad(*args, w, alpha, l1_ratio), exact * 10, "gradient vs closed form")

    # Hessian: symmetric, finite difference of the gradient, and closed form
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-13 * np.max(np.abs(H)))
    H_fd = fd_jac(lambda v: obj.smooth(v)[1], w, h)
    assert_close_rel(H, H_fd, tol, "Hessian vs finite difference")
    assert_close_rel(H, ref_hess(*args, w, alpha, l1_ratio), exact * 10, "Hessian vs closed form")

    # Hessian-vector products at the last curvature point
    obj.smooth(w, curvature=True)
    rng = np.random.default_rng(1)
    for _ in range(3):
        v = rng.normal(size=layout.size)
        assert_close_rel(obj.hessp(v), H @ v, exact * 10, "hessp vs H @ v")

    # working-set Hessians (coordinate descent): sub-blocks of the closed form,
    # also with a coordinate held fixed (indices then count the free ones)
    H_ref = ref_hess(*args, w, alpha, l1_ratio)
    for coords in (np.arange(layout.size), np.array([layout.size - 1]),
                   np.sort(rng.choice(layout.size, 3, replace=False))):
        assert_close_rel(obj.hess_block(coords), H_ref[np.ix_(coords, coords)], exact * 10,
                         f"hess_block{coords.tolist()} vs closed form")
    fixed = np.zeros(layout.size, dtype=bool)
    fixed[0] = True
    held = Objective(data, alpha, l1_ratio, fixed, fixed_values=w)
    held.smooth(held.restrict(w), curvature=True)
    coords = np.arange(0, held.size, 2)
    full = held.free[coords]
    assert_close_rel(held.hess_block(coords), H_ref[np.ix_(full, full)], exact * 10,
                     "hess_block with a fixed coordinate")


@pytest.mark.parametrize("kind", ["binary", "ref3"])
def test_binary_gradient_is_xt_p_minus_y_over_m(kind):
    """Binary: ∇ = [X, 1]ᵀ s (σ(z) − y) / Σs, with every quantity spelled out."""
    rng = np.random.default_rng(42)
    n, d = 300, 3
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    layout = Layout(d, 2, (1,), True)
    w = np.array([0.3, -0.7, 1.1, 0.2])  # β then intercept
    if kind == "binary":
        # unit weights, no offset: the textbook Xᵀ(p − y)/m
        s = np.ones(n)
        off = np.zeros(n)
    else:
        s = rng.uniform(0.0, 2.0, n)
        off = rng.normal(size=n)
    obj = Objective(InMemoryData(X, y, s, off, layout), 0.0, 0.0)
    _, g, _ = obj.smooth(w)
    z = X @ w[:d] + w[d] + off
    p = 1.0 / (1.0 + np.exp(-z))
    r = s * (p - y)
    expected = np.append(X.T @ r, r.sum()) / s.sum()
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", list(LAYOUTS))
@pytest.mark.parametrize("xkind", ["dense", "csr", "f32"])
def test_row_block_invariance(kind, xkind, monkeypatch):
    layout, X, y, s, offset, w = make_problem(kind, True, xkind, seed=7, n=1000)
    one = InMemoryData(X, y, s, offset, layout, block_bytes=1 << 40)
    # one thread: the blocks are not evened out for the threads, so the last is partial
    monkeypatch.setenv("LOGITLAB_NUM_THREADS", "1")
    many = InMemoryData(X, y, s, offset, layout, block_bytes=1)
    assert len(one.blocks) == 1
    assert len(many.blocks) >= 3
    sizes = [b.stop - b.start for b in many.blocks]
    assert sizes[-1] < sizes[0], "the last block should be a partial one"
    assert sum(sizes) == 1000 and many.blocks[0].start == 0
    assert all(a.stop == b.start for a, b in zip(many.blocks, many.blocks[1:]))

    o1, o2 = Objective(one, 0.05, 0.3), Objective(many, 0.05, 0.3)
    f1, g1, H1 = o1.smooth(w, hess=True, curvature=True)
    f2, g2, H2 = o2.smooth(w, hess=True, curvature=True)
    rel = 1e-12   # float32 X: float64 arithmetic, so blocks agree as for float64
    assert f2 == pytest.approx(f1, rel=rel, abs=0)
    assert_close_rel(g2, g1, rel, "block gradient")
    assert_close_rel(H2, H1, rel, "block Hessian")
    v = np.random.default_rng(3).normal(size=layout.size)
    assert_close_rel(o2.hessp(v), o1.hessp(v), rel, "block hessp")
    # and the blocked result is still the written-out reference
    args = (X, y, s, offset, layout, w, 0.05, 0.3)
    assert f2 == pytest.approx(ref_value(*args, with_l1=False), rel=EXACT[xkind], abs=0)
    assert_close_rel(H2, ref_hess(*args), EXACT[xkind] * 10, "block Hessian vs closed form")


# --------------------------------------------------------------------------
# KKT conditions
# --------------------------------------------------------------------------

def _binary_objective(alpha, l1_ratio, d=3, fit_intercept=True):
    rng = np.random.default_rng(9)
    n = 50
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    layout = Layout(d, 2, (1,), fit_intercept)
    return Objective(InMemoryData(X, y, np.ones(n), None, layout), alpha, l1_ratio)


def test_kkt_violation_hand_built_l1():
    # alpha = 0.5, l1_ratio = 0.4 -> l1 = 0.2. Layout: 4 features + intercept.
    obj = _binary_objective(0.5, 0.4, d=4)
    l1 = 0.2
    assert obj.l1 == pytest.approx(l1, rel=1e-12, abs=0)
    # Optimality (subgradient) conditions, coordinate by coordinate:
    #  β_j = 0:  |g_j| <= l1      β_j != 0: g_j = -l1 sign(β_j)      intercept: g = 0
    w = np.array([0.0, 0.0, 0.7, -1.3, 0.4])
    g = np.array([0.15, -0.2, -l1, l1, 0.0])
    assert obj.kkt_violation(w, g) == 0.0

    # each condition broken in turn, violation computed by hand
    cases = [
        (0, 0.25, 0.05),        # zero coordinate, |g| exceeds l1 by 0.05
        (1, -0.5, 0.3),
        (2, 0.1, 0.3),          # β > 0 needs g = -0.2: off by |0.1 + 0.2|
        (3, 0.0, 0.2),          # β < 0 needs g = +0.2
        (4, -0.07, 0.07),       # unpenalized intercept needs g = 0
    ]
    for j, gj, expected in cases:
        gb = g.copy()
        gb[j] = gj
        got = obj.kkt_violation(w, gb)
        assert got > 0
        assert got == pytest.approx(expected, rel=1e-12, abs=0), (j, gj)

    # the intercept is never shrunk: at w = 0 a small intercept gradient counts fully
    w0 = np.zeros(5)
    g0 = np.array([0.1, -0.1, 0.2, -0.2, 0.01])
    assert obj.kkt_violation(w0, g0) == pytest.approx(0.01, rel=1e-12, abs=0)


def test_kkt_violation_without_l1_is_max_abs_gradient():
    obj = _binary_objective(0.3, 0.0)
    w = np.array([0.0, 1.0, -2.0, 0.5])
    assert obj.kkt_violation(w, np.zeros(4)) == 0.0
    g = np.array([0.01, -0.3, 0.2, 0.0])
    assert obj.kkt_violation(w, g) == pytest.approx(0.3, rel=1e-12, abs=0)
    # even at β_j = 0 a pure L2 penalty gives no slack
    assert obj.kkt_violation(np.zeros(4), np.array([1e-3, 0, 0, 0])) == pytest.approx(1e-3, rel=1e-12, abs=0)


def test_kkt_violation_zero_at_independent_elastic_net_optimum():
    """glum solves the same elastic-net problem (mean weighted NLL + alpha
    (l1_ratio |β|₁ + (1 - l1_ratio)/2 |β|²), intercept unpenalized, with
    offset): our KKT violation at its solution is ~0, and clearly positive
    when that solution is moved."""
    rng = np.random.default_rng(5)
    n, d = 400, 6
    X = rng.normal(size=(n, d))
    beta = np.array([1.5, -1.0, 0.0, 0.0, 0.05, 0.0])
    off = rng.normal(scale=0.3, size=n)
    y = (rng.random(n) < special.expit(X @ beta + 0.3 + off)).astype(np.float64)
    s = rng.uniform(0.2, 2.0, n)
    s[::9] = 0.0
    alpha, l1_ratio = 0.03, 0.6
    model = glum.GeneralizedLinearRegressor(family="binomial", alpha=alpha, l1_ratio=l1_ratio,
                                            gradient_tol=1e-12, max_iter=1000)
    model.fit(X, y, sample_weight=s, offset=off)
    w = np.append(model.coef_, model.intercept_)
    assert np.sum(w[:d] == 0.0) >= 2, "the L1 penalty should zero some coefficients"

    layout = Layout(d, 2, (1,), True)
    obj = Objective(InMemoryData(X, y, s, off, layout), alpha, l1_ratio)
    _, g, _ = obj.smooth(w)
    assert obj.kkt_violation(w, g) < 1e-8
    # the optimum of the full objective: no small move lowers the value
    f0 = obj.value(w)
    for j in range(w.size):
        for step in (1e-4, -1e-4):
            e = np.zeros_like(w)
            e[j] = step
            assert obj.value(w + e) >= f0 - 1e-14
    # away from it the violation is positive
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = 0.2
        _, g2, _ = obj.smooth(w + e)
        assert obj.kkt_violation(w + e, g2) > 1e-4


# --------------------------------------------------------------------------
# pass counting
# --------------------------------------------------------------------------

@pytest.mark.parametrize("block_bytes", [1 << 40, 1])
def test_n_passes_counts_one_per_smooth_call(block_bytes):
    layout, X, y, s, offset, w = make_problem("ref3", True, "dense", seed=2, n=800)
    data = InMemoryData(X, y, s, offset, layout, block_bytes=block_bytes)
    obj = Objective(data, 0.1, 0.5)
    assert data.n_passes == 0
    obj.smooth(w)
    assert data.n_passes == 1
    obj.smooth(w, grad=False)
    assert data.n_passes == 2
    obj.smooth(w, hess=True)
    assert data.n_passes == 3
    obj.smooth(w, curvature=True)
    assert data.n_passes == 4
    obj.value(w)
    assert data.n_passes == 5
    obj.hessp(np.ones(layout.size))  # one more read of the rows
    assert data.n_passes == 6
    obj.l1_term(w)  # needs no data
    obj.kkt_violation(w, np.zeros(layout.size))
    assert data.n_passes == 6


def test_hessp_before_curvature_raises():
    layout, X, y, s, offset, w = make_problem("binary", True, "dense", seed=3, n=300)
    obj = Objective(InMemoryData(X, y, s, offset, layout), 0.0, 0.0)
    obj.smooth(w)  # no curvature kept
    with pytest.raises(RuntimeError):
        obj.hessp(np.ones(layout.size))


@pytest.mark.parametrize("kind", list(LAYOUTS))
@pytest.mark.parametrize("xkind", ["dense", "csr", "f32"])
def test_threads_give_the_same_bits(kind, xkind):
    """Blocks run on threads are added in block order: 1 or 3 threads, same bits."""
    layout, X, y, s, offset, w = make_problem(kind, True, xkind, seed=11, n=3000)
    one = Objective(InMemoryData(X, y, s, offset, layout, block_bytes=1, n_threads=1), 0.05)
    three = Objective(InMemoryData(X, y, s, offset, layout, block_bytes=1, n_threads=3), 0.05)
    assert three.data.n_threads == 3 and len(three.data.blocks) >= 3
    f1, g1, H1 = one.smooth(w, hess=True, curvature=True)
    f3, g3, H3 = three.smooth(w, hess=True, curvature=True)
    assert f1 == f3
    np.testing.assert_array_equal(g1, g3)
    np.testing.assert_array_equal(H1, H3)
    v = np.random.default_rng(5).normal(size=layout.size)
    np.testing.assert_array_equal(one.hessp(v), three.hessp(v))
    np.testing.assert_array_equal(one.hess_diag(), three.hess_diag())
    # the diagonal is the Hessian's
    np.testing.assert_allclose(three.hess_diag(), np.diag(H3), rtol=1e-12, atol=1e-15)


def test_csr_blocks_are_views_of_x():
    """No copy of X: every CSR block shares X's data and indices arrays."""
    layout, X, y, s, offset, w = make_problem("binary", True, "csr", seed=2, n=3000)
    data = InMemoryData(X, y, s, offset, layout, block_bytes=1)
    assert len(data.blocks) >= 3
    for i, sl in enumerate(data.blocks):
        view = data._x(i)
        assert np.shares_memory(view.data, X.data) and np.shares_memory(view.indices, X.indices)
        assert abs(view - X[sl]).max() == 0
