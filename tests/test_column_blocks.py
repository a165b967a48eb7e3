"""The column-block preconditioner of truncated Newton (solvers/precondition.py).

Binary models on dense X too wide for a sampled Hessian get block Jacobi over
adjacent columns: the Hessian's diagonal blocks ``Σ h x_J x_Jᵀ``. Checked
against the blocks of the Hessian computed in float64 NumPy (the compiled
kernel and the NumPy path), and by fits whose gradients are recomputed
independently.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import special

from logitlab import LogisticRegression
from logitlab.backends.memory import InMemoryData
from logitlab.core import design
from logitlab.families import logit_family
from logitlab.families.base import Curvature
from logitlab.solvers import precondition
from logitlab.solvers.objective import Objective


def _correlated(n, d, seed, rho=0.6):
    """AR(1) columns: neighbours correlated, as in data made in order."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, d))
    X[:, 0] = rng.standard_normal(n)
    for j in range(1, d):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    beta = rng.normal(0, 2.0 / np.sqrt(d), d)
    y = (rng.random(n) < special.expit(X @ beta - 0.5)).astype(int)
    return X, y


def _reference_blocks(X, h, width, intercept):
    Xa = np.column_stack([X, np.ones(len(X))]) if intercept else X
    H = Xa.T @ (h[:, None] * Xa)
    m = Xa.shape[1]
    return [H[a:min(a + width, m), a:min(a + width, m)] for a in range(0, m, width)]


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("compiled", [True, False])
def test_family_column_blocks_are_the_hessians_blocks(intercept, compiled, monkeypatch):
    X, _ = _correlated(700, 410, 1)
    assert X.size >= design.COMPILED_MIN_ENTRIES
    if not compiled:
        monkeypatch.setattr(design, "COMPILED_MIN_ENTRIES", 1 << 62)
    h = np.random.default_rng(2).uniform(0.0, 0.25, len(X))
    family = logit_family(410, 2, fit_intercept=intercept)
    got = family.chunk_hess_column_blocks(X, Curvature(h=h), 16)
    ref = _reference_blocks(X, h, 16, intercept)
    assert got.shape == (len(ref), 16, 16)
    for block, r in zip(got, ref):
        k = r.shape[0]
        np.testing.assert_allclose(block[:k, :k], r, rtol=0, atol=2e-6 * np.abs(r).max())
        assert not block[k:].any() and not block[:, k:].any()


def test_sparse_x_has_no_column_blocks():
    family = logit_family(5, 2)
    with pytest.raises(NotImplementedError):
        family.chunk_hess_column_blocks(sp.csr_matrix(np.eye(5)), Curvature(h=np.ones(5)), 2)


def _objective(X, y, alpha, fixed=None):
    family = logit_family(X.shape[1], 2)
    data = InMemoryData(X, y.astype(np.int8), np.ones(len(y)), None, family)
    return Objective(data, alpha, 0.0, fixed, fixed_values=np.zeros(family.layout.size))


def test_auto_picks_column_blocks_for_wide_dense_binary_data_only():
    X, y = _correlated(2000, 300, 3)
    assert precondition.choose_kind(_objective(X, y, 1e-3), "auto") == "columns"
    assert precondition.choose_kind(_objective(X[:, :20], y, 1e-3), "auto") == "sample"
    Xs = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    sparse = _objective(Xs, y, 1e-3)
    assert precondition.choose_kind(sparse, "auto") == "diag"
    assert precondition.choose_kind(sparse, "columns") == "diag"


def test_preconditioner_solves_with_the_blocks_of_the_objectives_hessian():
    """``M⁻¹ r`` against block solves with the float64 blocks of the objective's
    Hessian (scaled by 1/Σs, L2 on the slopes), one coordinate held fixed."""
    X, y = _correlated(1500, 100, 4)
    alpha = 2e-3
    fixed = np.zeros(101, dtype=bool)
    fixed[37] = True
    obj = _objective(X, y, alpha, fixed)
    w = np.random.default_rng(5).normal(0, 0.05, obj.size)
    obj.smooth(w, curvature=True)
    M = precondition.build(obj, w, "columns")
    assert M.kind == "blocks"
    full = obj.expand(w)
    p = special.expit(X @ full[:100] + full[100])
    width = precondition.COLUMN_BLOCK
    blocks = _reference_blocks(X, p * (1 - p), width, True)
    r = np.random.default_rng(6).standard_normal(obj.size)
    expected = np.empty(obj.size)
    free = obj.free
    for k, B in enumerate(blocks):
        J = np.arange(k * width, k * width + B.shape[0])
        keep = ~fixed[J]
        B = B[np.ix_(keep, keep)] / len(y) + alpha * np.diag((J[keep] < 100).astype(float))
        pos = np.searchsorted(free, J[keep])
        expected[pos] = np.linalg.solve(B, r[pos])
    np.testing.assert_allclose(M.apply(r), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_fit_with_column_blocks_reaches_the_optimum_in_fewer_passes():
    X, y = _correlated(4000, 400, 7, rho=0.7)
    alpha = 1.0 / len(y)
    fits = {}
    for kind in ("columns", "diag"):
        model = LogisticRegression(penalty="l2", alpha=alpha, solver="newton-cg",
                                   solver_options={"preconditioner": kind}).fit(X, y)
        r = special.expit(X @ model.coef_[0] + model.intercept_[0]) - y
        grad = np.append(X.T @ r / len(y) + alpha * model.coef_[0], r.mean())
        assert np.max(np.abs(grad)) <= 1e-9
        fits[kind] = model
    np.testing.assert_allclose(fits["columns"].coef_, fits["diag"].coef_, rtol=0, atol=1e-8)
    assert fits["columns"].n_passes_ < fits["diag"].n_passes_
