"""Float32 arithmetic ("single" mode) for dense float32 X, against float64 references.

* the kernels in single mode against the textbook formulas evaluated in float64
  on the same float32 numbers: within float32 rounding, and the mean gradient's
  error within the bound the backend reports (``InMemoryData.grad_noise``),
  for data of unit scale and of scale 1e3, with large and small coefficients;
  the mean loss's error at the optimum within ``loss_noise``;
* the float32 syrk of the preconditioner against the float64 Gram matrix;
* a fit in single mode against scikit-learn's float64 fit of the same numbers:
  the objective within 1e-10 (relative), ``tol_`` raised to the rounding bound,
  convergence for every smooth solver (none chases rounding noise); with
  ``polish=True`` the float64 optimum to 1e-7;
* the validation's threaded finiteness check on arrays large enough to be split.
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.linear_model as sk
from scipy import special

from logitlab import LogisticRegression

from logitlab.core import fused as _fused
from logitlab.backends.memory import SINGLE_MIN_SIZE, InMemoryData
from logitlab.core.layout import Layout
from logitlab.core.design import weighted_gram
from logitlab.data.validation import check_finite_matrix


def _data(n, d, scale, seed):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, d)) * scale).astype(np.float32)
    beta = rng.normal(size=d) / (scale * np.sqrt(d))
    y = (rng.random(n) < special.expit(X.astype(np.float64) @ beta - 0.4)).astype(np.float64)
    return X, y


def _reference(X64, y, s, w, b):
    z = X64 @ w + b
    r = s * (special.expit(z) - y)
    return float(np.sum(s * (np.logaddexp(0.0, z) - y * z))), np.append(X64.T @ r, r.sum())


@pytest.mark.parametrize("scale", [1.0, 1e3])
@pytest.mark.parametrize("w_scale", [0.05, 3.0])
def test_single_kernels_within_float32_rounding_and_the_bound(scale, w_scale):
    n, d = 40_000, 30                                 # 1.2e6 entries: single mode
    X, y = _data(n, d, scale, seed=int(scale) + int(10 * w_scale))
    X64 = X.astype(np.float64)
    rng = np.random.default_rng(7)
    s = rng.uniform(0.0, 2.0, n)
    w, b = rng.normal(size=d) * w_scale / scale, 0.2
    layout = Layout(n_features=d, n_classes=2, free_classes=(1,), fit_intercept=True)
    data = InMemoryData(X, y, s, None, layout, single=True)
    assert data.single
    W = np.append(w, b)[:, None]
    st = data.stats(W, curvature=True)
    ref_loss, ref_g = _reference(X64, y, s, w, b)
    S = s.sum()
    assert st.loss == pytest.approx(ref_loss, rel=1e-6)
    err = np.max(np.abs(st.grad.ravel() - ref_g)) / S
    assert 0 < err <= data.grad_noise                  # float32 arithmetic, bounded
    # H·v in float32: within float32 rounding of the float64 product
    h = s * special.expit(X64 @ w + b) * special.expit(-(X64 @ w + b))
    v = rng.normal(size=d + 1)
    u = h * (X64 @ v[:d] + v[d])
    ref_hv = np.append(X64.T @ u, u.sum())
    got = data.hessp(v[:, None]).ravel()
    np.testing.assert_allclose(got, ref_hv, rtol=0, atol=1e-5 * np.abs(ref_hv).max())


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_single_loss_rounding_within_the_bound_at_the_optimum(scale):
    """At an optimum the w-rounding part of the loss error cancels (Σ r x = 0) and
    what is left stays within ``loss_noise``, the line searches' tie threshold."""
    n, d = 40_000, 30
    X, y = _data(n, d, scale, seed=21)
    X64 = X.astype(np.float64)
    ref = sk.LogisticRegression(C=1e6, tol=1e-12, max_iter=10_000).fit(X64, y)
    w, b = ref.coef_.ravel(), ref.intercept_[0]
    s = np.ones(n)
    layout = Layout(n_features=d, n_classes=2, free_classes=(1,), fit_intercept=True)
    data = InMemoryData(X, y, s, None, layout, single=True)
    st = data.stats(np.append(w, b)[:, None])
    ref_loss, _ = _reference(X64, y, s, w, b)
    assert 0 < abs(st.loss - ref_loss) / n <= data.loss_noise


def test_wide_binary_data_gets_the_column_block_preconditioner():
    """A sampled Hessian needs 10 rows per coefficient; when those cost more than
    the budget (10 p² > SAMPLE_BUDGET · n) the column blocks are used instead."""
    from logitlab.solvers.objective import Objective
    from logitlab.solvers import precondition
    rng = np.random.default_rng(0)
    budget = precondition.SAMPLE_BUDGET[False]
    for n, d, kind in [(2000, 300, "columns"), (20_000, 50, "sample")]:
        X = rng.normal(size=(n, d))
        layout = Layout(n_features=d, n_classes=2, free_classes=(1,), fit_intercept=True)
        data = InMemoryData(X, (rng.random(n) < 0.5).astype(float), np.ones(n), None, layout)
        assert (10 * (d + 1) ** 2 > budget * n) == (kind == "columns")
        assert precondition.choose_kind(Objective(data), "auto") == kind


def test_float64_mode_on_the_same_data_is_exact():
    X, y = _data(40_000, 30, 1.0, seed=3)
    s = np.ones(X.shape[0])
    w = np.random.default_rng(1).normal(size=30) * 0.1
    loss, g, _ = _fused.binary_chunk(X, y, s, None, w, 0.1, grad=True, curvature=False)
    ref_loss, ref_g = _reference(X.astype(np.float64), y, s, w, 0.1)
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    np.testing.assert_allclose(g, ref_g, rtol=1e-11, atol=1e-11 * np.abs(ref_g).max())


def test_small_float32_data_stays_in_float64_arithmetic():
    X, y = _data(1000, 10, 1.0, seed=4)
    assert X.size < SINGLE_MIN_SIZE
    layout = Layout(n_features=10, n_classes=2, free_classes=(1,), fit_intercept=True)
    assert not InMemoryData(X, y, np.ones(1000), None, layout, single=True).single


def test_float32_preconditioner_gram_matches_float64():
    X, _ = _data(5000, 40, 1.0, seed=5)
    c = np.random.default_rng(2).uniform(0.0, 0.25, 5000)
    G64 = weighted_gram(X, c, True, nonneg=True)
    G32 = weighted_gram(X, c, True, nonneg=True, single=True)
    X1 = np.column_stack([X.astype(np.float64), np.ones(5000)])
    np.testing.assert_allclose(G64, X1.T @ (c[:, None] * X1), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(G32, G64, rtol=0, atol=1e-5 * np.abs(G64).max())


def _objective(X64, y, coef, intercept, lam):
    z = X64 @ coef + intercept
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * coef @ coef)


@pytest.fixture(scope="module")
def problem():
    X, y = _data(60_000, 25, 1.0, seed=11)
    X64 = X.astype(np.float64)
    lam = 1.0 / X.shape[0]
    ref = sk.LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X64, y)
    best = _objective(X64, y, ref.coef_.ravel(), ref.intercept_[0], lam)
    return X, X64, y, lam, ref, best


@pytest.mark.parametrize("solver", ["auto", "newton-cg", "trust-ncg", "lbfgs", "newton"])
def test_single_fit_reaches_the_float64_optimum(problem, solver):
    X, X64, y, lam, ref, best = problem
    m = LogisticRegression(alpha=lam, solver=solver, tol=1e-12).fit(X, y)
    assert m.converged_
    assert m.tol_ > 1e-12                               # raised to the rounding bound
    f = _objective(X64, y, m.coef_.ravel(), m.intercept_[0], lam)
    assert (f - best) / best <= 1e-10
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=0, atol=1e-4 * np.abs(ref.coef_).max())


def test_single_lbfgs_is_not_slowed_by_rounding_noise(problem):
    """The float32 objective carries rounding noise (``loss_noise``) that a
    line search must not chase: the float32 lbfgs fit takes no more passes
    than the float64 fit of the same numbers, and reaches its optimum."""
    X, X64, y, lam, ref, best = problem
    m32 = LogisticRegression(alpha=lam, solver="lbfgs").fit(X, y)
    m64 = LogisticRegression(alpha=lam, solver="lbfgs", dtype="float64").fit(X, y)
    assert m32.converged_ and m64.converged_
    assert m32.n_passes_ <= m64.n_passes_
    assert (_objective(X64, y, m32.coef_.ravel(), m32.intercept_[0], lam) - best) / best <= 1e-10


def test_polish_gives_the_float64_fit_of_the_same_numbers(problem):
    X, X64, y, lam, ref, best = problem
    polished = LogisticRegression(alpha=lam, polish=True, tol=1e-10).fit(X, y)
    exact = LogisticRegression(alpha=lam, dtype="float64", tol=1e-10).fit(X, y)
    assert polished.converged_ and polished.tol_ == 1e-10
    np.testing.assert_allclose(polished.coef_, exact.coef_, rtol=1e-7)
    np.testing.assert_allclose(polished.coef_, ref.coef_, rtol=1e-6)


def test_polish_must_be_a_bool():
    with pytest.raises(ValueError, match="polish must be True or False"):
        LogisticRegression(polish="yes").fit(np.eye(4), [0, 1, 0, 1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("where", [(0, 0), (-1, -1), (123_456, 3)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_threaded_finiteness_check_finds_every_bad_entry(dtype, where, bad):
    X = np.ones((300_000, 8), dtype)                    # 2.4e6 entries: split over threads
    X[where] = bad
    row = where[0] % X.shape[0]
    with pytest.raises(ValueError, match=rf"column {where[1] % 8}: 1 rows \(first row {row}\)"):
        check_finite_matrix(X)
    X[where] = 1
    check_finite_matrix(X)


def test_unpenalized_fit_on_float32_stays_exact():
    """Fits with inference keep float64 arithmetic: the MLE and its standard errors
    of the float32 numbers, as statsmodels computes them on the float64 copy."""
    import statsmodels.api as sm
    X, y = _data(40_000, 30, 1.0, seed=31)
    m = LogisticRegression(penalty=None).fit(X, y)
    ref = sm.Logit(y, sm.add_constant(X.astype(np.float64))).fit(method="newton", tol=1e-12,
                                                                 disp=0)
    assert m.tol_ == 1e-10
    np.testing.assert_allclose(m.coef_.ravel(), ref.params[1:], rtol=1e-8)
    frame = m.summary().to_frame()
    np.testing.assert_allclose(frame["std_err"].to_numpy(dtype=float)[1:], ref.bse[1:],
                               rtol=1e-8)


def test_hessp_uses_the_last_curvature_point_in_its_reused_buffer():
    """The curvature buffer is overwritten by each curvature pass (float32 in
    single mode): H·v then equals the closed form at the last point only."""
    X, y = _data(40_000, 30, 1.0, seed=8)
    n = X.shape[0]
    assert X.size >= SINGLE_MIN_SIZE
    layout = Layout(n_features=30, n_classes=2, free_classes=(1,), fit_intercept=True)
    rng = np.random.default_rng(3)
    s = rng.uniform(0.5, 2.0, n)
    X64 = np.column_stack([X.astype(np.float64), np.ones(n)])
    v = rng.normal(size=31)
    for single in (True, False):
        data = InMemoryData(X, y, s, None, layout, block_bytes=1 << 18, single=single)
        assert data.single == single and len(data.blocks) > 1
        for w in (rng.normal(size=31) * 0.1, rng.normal(size=31) * 0.2):
            data.stats(w.reshape(-1, 1), grad=False, curvature=True)
            p = special.expit(X64 @ w)
            ref = X64.T @ (s * p * (1 - p) * (X64 @ v))
            got = data.hessp(v.reshape(-1, 1)).ravel()
            tol = 1e-5 if single else 1e-12
            np.testing.assert_allclose(got, ref, rtol=0, atol=tol * np.abs(ref).max())
