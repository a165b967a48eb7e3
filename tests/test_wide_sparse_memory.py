"""Very wide data: passes add blocks into a few accumulators, fits stay small.

References: the binary model's gradient, Hessian-vector product and Hessian
diagonal written out with scipy.sparse products in the test (closed forms),
the gradient of the penalized objective at the fitted coefficients (zero at
the optimum), and the bytes of the coefficient-sized vectors a fit needs.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit

import logitlab
from logitlab.backends import memory
from logitlab.backends.memory import InMemoryData
from logitlab.core import design
from logitlab.core.layout import Layout


def _wide(n, d, per_row, seed):
    rng = np.random.default_rng(seed)
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int32)
    X = sp.csr_matrix((rng.random(n * per_row), rng.integers(0, d, n * per_row)
                       .astype(np.int32), indptr), shape=(n, d))
    X.sum_duplicates()
    beta = np.zeros(d)
    hot = rng.integers(0, d, 200)
    beta[hot] = rng.normal(size=200) * 3
    y = (X @ beta + rng.logistic(size=n) > 0).astype(np.int8)
    return X, y


@pytest.fixture
def compiled_small_blocks(monkeypatch):
    """Small data through the compiled kernels, in many blocks."""
    monkeypatch.setattr(design, "COMPILED_MIN_ENTRIES", 256)
    monkeypatch.setattr(memory, "_FUSED_BLOCK_BYTES", 20_000)


def _closed_forms(X, y, s, w, v):
    """Gradient, H·v and diag(H) of Σ s·nll for the binary logit (intercept last)."""
    d = X.shape[1]
    p = expit(X @ w[:d] + w[d])
    r, h = s * (p - y), s * p * (1 - p)
    u = h * (X @ v[:d] + v[d])
    return (np.r_[X.T @ r, r.sum()], np.r_[X.T @ u, u.sum()],
            np.r_[X.multiply(X).T @ h, h.sum()])


@pytest.mark.parametrize("compiled", [True, False])
def test_accumulated_passes_are_the_closed_forms_with_the_same_bits_on_any_threads(
        monkeypatch, compiled_small_blocks, compiled):
    if not compiled:
        monkeypatch.setattr(design, "COMPILED_MIN_ENTRIES", 1 << 40)
    monkeypatch.setattr(memory, "ACCUMULATE_MIN_BYTES", 0)
    X, y = _wide(3000, 5000, 6, seed=1)
    s = np.random.default_rng(2).uniform(0.5, 2, X.shape[0])
    layout = Layout(X.shape[1], 2, (1,), True)
    rng = np.random.default_rng(3)
    w, v = rng.normal(size=layout.size) * 0.3, rng.normal(size=layout.size)
    results = []
    for threads in (1, 3):
        data = InMemoryData(X, y, s, None, layout, block_bytes=20_000, n_threads=threads)
        assert len(data.blocks) >= 6 and data._accumulates()
        st = data.stats(layout.matrix(w), curvature=True)
        results.append((st.loss, st.grad.ravel(), data.hessp(layout.matrix(v)).ravel(),
                        data.hess_diag().ravel()))
    g, Hv, D = _closed_forms(X, y.astype(float), s, w, v)
    for got, ref in zip(results[0][1:], (g, Hv, D)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    for a, b in zip(results[0], results[1]):
        np.testing.assert_array_equal(a, b)


def _penalized_gradient(X, y, coef, intercept, alpha):
    """∇ of mean log-loss + alpha/2 ‖β‖² (scipy.sparse products)."""
    r = (expit(X @ coef + intercept) - y) / X.shape[0]
    return np.r_[X.T @ r + alpha * coef, r.sum()]


def test_a_wide_sparse_fit_needs_a_few_coefficient_vectors(compiled_small_blocks):
    """d = 400,000 in ~12 blocks: the fit's peak of traced allocations stays
    below 12 vectors of d float64 (one per block and a list of d names alone
    would be more), and it reaches the optimum."""
    n, d = 24_000, 400_000
    X, y = _wide(n, d, 8, seed=4)
    alpha = 1.0 / n
    logitlab.LogisticRegression(penalty="l2", alpha=alpha).fit(X[:3000], y[:3000])  # warm
    tracemalloc.start()
    try:
        m = logitlab.LogisticRegression(penalty="l2", alpha=alpha).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert m.solver_ == "trust-ncg" and m.converged_
    assert peak <= 12 * 8 * d, peak / (8 * d)
    g = _penalized_gradient(X, y, m.coef_.ravel(), m.intercept_[0], alpha)
    assert np.max(np.abs(g)) <= m.tol_
