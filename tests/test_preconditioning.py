"""Preconditioned truncated Newton: every preconditioner reaches the same
optimum as scikit-learn, and the sampled Hessian estimates the Hessian."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from logitlab import LogisticRegression
from logitlab.backends.memory import InMemoryData
from logitlab.core.layout import Layout
from logitlab.solvers.objective import Objective
from logitlab.solvers import precondition


def _data(n=20000, d=20, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.2, 3.0, d)   # uneven scales
    if sparse:
        X = sp.csr_matrix(X * (rng.random((n, d)) < 0.2))
    beta = rng.normal(0, 0.3, d)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta - 0.5)))).astype(int)
    return X, y


@pytest.mark.parametrize("preconditioner", ["auto", "sample", "diag", "none"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", ["newton-cg", "trust-ncg"])
def test_truncated_newton_preconditioners_reach_sklearn_optimum(preconditioner, sparse, solver):
    X, y = _data(sparse=sparse)
    n = X.shape[0]
    alpha = 1.0 / n
    m = LogisticRegression(alpha=alpha, solver=solver,
                           solver_options={"preconditioner": preconditioner}).fit(X, y)
    ref = SkLogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12,
                               max_iter=1000).fit(X, y)   # C = 1/(alpha n)
    assert m.converged_ and m.grad_norm_ <= 1e-10
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)


def test_sampled_hessian_estimates_the_hessian():
    X, y = _data(n=40000, d=10, seed=3)
    layout = Layout(10, 2, (1,), True)
    data = InMemoryData(X, y.astype(float), np.ones(len(y)), None, layout)
    obj = Objective(data, 0.0)
    w = np.random.default_rng(1).normal(0, 0.2, layout.size)
    _, _, H = obj.smooth(w, hess=True)
    m = precondition.sample_rows(data.n_rows, obj.size)
    assert m < data.n_rows              # a real sample, not all rows
    Hs = obj.sampled_hessian(w, m)
    # relative error of a sample of m rows: about sqrt(size / m)
    err = np.linalg.norm(Hs - H, 2) / np.linalg.norm(H, 2)
    assert err < 3 * np.sqrt(obj.size / m)
    rows = sum(sl.stop - sl.start for sl in data.sample_slices(m))
    assert 0.5 * m <= rows <= 1.5 * m


@pytest.mark.parametrize("n_threads", [1, 2])
def test_sampled_hessian_is_the_hessian_of_the_sampled_rows(n_threads):
    """Float32 syrk accumulators (one per thread, several row ranges each)
    against the float64 Hessian of the same rows computed by numpy."""
    X, y = _data(n=40000, d=10, seed=3)
    rng = np.random.default_rng(4)
    s = rng.uniform(0.5, 2.0, len(y))
    layout = Layout(10, 2, (1,), True)
    data = InMemoryData(X, y.astype(float), s, None, layout, block_bytes=1 << 16,
                        n_threads=n_threads)
    assert data.n_threads == n_threads
    w = rng.normal(0, 0.2, layout.size)
    m = precondition.sample_rows(data.n_rows, layout.size)
    H, weight = data.hessian_sample(layout.matrix(w), m)
    rows = np.concatenate([np.arange(sl.start, sl.stop) for sl in data.sample_slices(m)])
    X1 = np.column_stack([X[rows], np.ones(rows.size)])
    p = 1.0 / (1.0 + np.exp(-(X1 @ w)))
    ref = X1.T @ ((s[rows] * p * (1 - p))[:, None] * X1)
    assert weight == pytest.approx(s[rows].sum(), rel=1e-12)
    np.testing.assert_array_equal(H, H.T)
    np.testing.assert_allclose(H, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("n, size", [(50_000, 501), (100_000, 501), (40_000, 301),
                                     (1_000_000, 51), (20_000, 2_001)])
@pytest.mark.parametrize("stretch", [1, 2])
def test_sample_rows_stay_within_the_stretched_budget(n, size, stretch):
    """10–100 rows per coefficient; the flop budget ``m p ≤ budget n`` unless
    stretched, then at most ``stretch`` budgets and only to reach
    SAMPLE_GOOD_ROWS per coefficient; never fewer rows than the plain budget."""
    budget = precondition.SAMPLE_BUDGET[False]
    plain = precondition.sample_rows(n, size, budget)
    m = precondition.sample_rows(n, size, budget, stretch=stretch)
    assert min(n, 10 * size) <= m <= min(n, 100 * size)
    assert m >= plain
    if m > max(plain, 10 * size):
        assert stretch > 1
        assert m * size <= stretch * budget * n
        assert m <= precondition.SAMPLE_GOOD_ROWS * size


@pytest.mark.parametrize("block_bytes", [1 << 16, 1 << 22])   # NumPy / compiled blocks
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sampled_hessian_reuses_only_the_curvature_of_its_point(block_bytes, n_threads):
    """After a pass at W1, the sampled Hessian at W1 takes the curvature that
    pass kept, and the one at W2 its own: both against the float64 Hessian of
    the sampled rows computed by numpy at that point."""
    X, y = _data(n=40000, d=10, seed=5)
    layout = Layout(10, 2, (1,), True)
    data = InMemoryData(X, y.astype(float), np.ones(len(y)), None, layout,
                        block_bytes=block_bytes, n_threads=n_threads)
    rng = np.random.default_rng(6)
    w1, w2 = rng.normal(0, 0.3, layout.size), rng.normal(0, 0.3, layout.size)
    m = precondition.sample_rows(data.n_rows, layout.size)
    rows = np.concatenate([np.arange(sl.start, sl.stop) for sl in data.sample_slices(m)])
    assert rows.size == np.unique(rows).size and abs(rows.size - m) < 64
    X1 = np.column_stack([X[rows], np.ones(rows.size)])
    data.stats(layout.matrix(w1), grad=True, curvature=True)
    for w in (w1, w2, w1):
        H, weight = data.hessian_sample(layout.matrix(w), m)
        p = 1.0 / (1.0 + np.exp(-(X1 @ w)))
        ref = X1.T @ ((p * (1 - p))[:, None] * X1)
        assert weight == rows.size
        np.testing.assert_allclose(H, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("solver", ["newton-cg", "trust-ncg"])
def test_unknown_preconditioner_is_a_clear_error(solver):
    X, y = _data(n=200, d=3)
    with pytest.raises(ValueError, match="preconditioner must be"):
        LogisticRegression(solver=solver, solver_options={"preconditioner": "ilu"}).fit(X, y)


@pytest.mark.parametrize("m", [1, 63, 64, 65, 130])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_symmetric_from_upper_mirrors_the_upper_triangle(m, dtype, order):
    """The Gram accumulators' upper triangle becomes the full symmetric float64
    matrix (mirrored in blocks of columns; in place for float64); the lower
    triangle given is ignored."""
    from logitlab.core.design import symmetric_from_upper
    rng = np.random.default_rng(m)
    U = np.asarray(rng.normal(size=(m, m)), dtype=dtype, order=order)
    expected = np.triu(U).astype(np.float64) + np.triu(U, 1).T.astype(np.float64)
    G = symmetric_from_upper(U)
    assert G.dtype == np.float64
    np.testing.assert_array_equal(G, expected)
    np.testing.assert_array_equal(G, G.T)
    assert (G is U) == (dtype == np.float64)


def _multiclass(n=6000, d=8, K=12, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 2.0, d)
    B = rng.normal(0, 0.4, (d, K))
    Z = X @ B + rng.normal(0, 0.5, K)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return X, y


def _symmetric_objective(X, y, s, alpha):
    K = int(y.max()) + 1
    layout = Layout(X.shape[1], K, tuple(range(K)), True)
    data = InMemoryData(X, y.astype(float), s, None, layout)
    fixed = np.zeros(layout.size, dtype=bool)
    fixed[-1] = True                    # the symmetric softmax's redundant intercept
    return Objective(data, alpha, fixed=fixed)


def test_class_blocks_are_the_diagonal_blocks_of_the_sampled_rows_hessian():
    """chunk_hess_blocks against Σ s p_c (1 - p_c) x̃ x̃ᵀ computed by numpy over
    the same sampled rows, and the objective's blocks against the same over S."""
    X, y = _multiclass()
    rng = np.random.default_rng(6)
    s = rng.uniform(0.5, 2.0, len(y))
    obj = _symmetric_objective(X, y, s, alpha=1e-3)
    lay = obj.layout
    w = rng.normal(0, 0.3, obj.size)
    W = lay.matrix(obj.expand(w))
    m = precondition.sample_rows(obj.data.n_rows, lay.n_rows)
    B, weight = obj.data.hessian_sample(W, m, blocks=True)
    rows = np.concatenate([np.arange(sl.start, sl.stop) for sl in obj.data.sample_slices(m)])
    X1 = np.column_stack([X[rows], np.ones(rows.size)])
    Z = X1 @ W
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    assert B.shape == (lay.n_cols, lay.n_rows, lay.n_rows)
    assert weight == pytest.approx(s[rows].sum(), rel=1e-12)
    for c in range(lay.n_cols):
        ref = X1.T @ ((s[rows] * P[:, c] * (1 - P[:, c]))[:, None] * X1)
        # summed in float32 (a preconditioner): 2⁻²⁴ per term
        np.testing.assert_allclose(B[c], ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    # the objective's blocks: scaled by the weight, penalized on the slopes, free coordinates
    blocks = obj.sampled_hessian_blocks(w, m)
    last = lay.n_cols - 1                # its intercept is the fixed coordinate
    coords, block = blocks[last]
    assert coords.size == lay.n_rows - 1
    ref = B[last][:-1, :-1] / weight + obj.l2 * np.eye(lay.n_rows - 1)
    np.testing.assert_allclose(block, ref, rtol=1e-12, atol=0)


def test_class_blocks_are_exact_on_the_flat_directions_of_the_softmax():
    """Adding u_j to feature j's coefficient in every class changes no
    probability, so H z = l2 z there: the preconditioner must return
    H⁻¹ r = r / l2 for such r, and keep its output off that subspace otherwise."""
    X, y = _multiclass()
    obj = _symmetric_objective(X, y, np.ones(len(y)), alpha=1e-3)
    lay = obj.layout
    w = np.random.default_rng(7).normal(0, 0.3, obj.size)
    obj.smooth(w, curvature=True)
    M = precondition.build(obj, w, "blocks")
    assert M.kind == "blocks"
    u = np.random.default_rng(8).normal(size=lay.n_features)
    z = np.zeros(lay.size)
    z[:lay.n_features * lay.n_cols] = np.repeat(u, lay.n_cols)
    z = obj.restrict(z)
    np.testing.assert_allclose(obj.hessp(z), obj.l2 * z, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(M.apply(obj.hessp(z)), z, rtol=1e-10, atol=1e-14)
    # a generic r: the preconditioned vector is symmetric positive definite in r
    r1, r2 = np.random.default_rng(9).normal(size=(2, obj.size))
    assert M.apply(r1) @ r2 == pytest.approx(r1 @ M.apply(r2), rel=1e-10)
    assert M.apply(r1) @ r1 > 0


@functools.cache
def _many_classes_reference():
    """30 classes, and scikit-learn's optimum, judged by its gradient."""
    X, y = _multiclass(n=2000, d=20, K=30)
    n = X.shape[0]
    ref = SkLogisticRegression(C=1.0, solver="newton-cg", tol=1e-12, max_iter=1000).fit(X, y)
    Z = X @ ref.coef_.T + ref.intercept_
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    R = (P / P.sum(axis=1, keepdims=True) - np.eye(30)[y]) / n
    assert np.abs((X.T @ R).T + ref.coef_ / n).max() < 1e-11 and np.abs(R.sum(0)).max() < 1e-11
    return X, y, ref


@pytest.mark.parametrize("solver", ["newton-cg", "trust-ncg"])
def test_many_classes_take_the_class_blocks_and_reach_sklearn_optimum(solver):
    X, y, ref = _many_classes_reference()
    n = X.shape[0]
    model = LogisticRegression(alpha=1.0 / n, solver=solver)
    obj = _symmetric_objective(X, y, np.ones(n), alpha=1.0 / n)
    assert precondition.choose_kind(obj, "auto") == "blocks"
    model.fit(X, y)
    assert model.converged_ and model.grad_norm_ <= 1e-10
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-5, atol=1e-6)
