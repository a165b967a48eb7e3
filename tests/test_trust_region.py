"""Trust-region truncated Newton (``solver="trust-ncg"``).

* Steihaug CG on a quadratic against ``numpy.linalg.solve`` and the geometry
  of the trust region (a step on the boundary has M-norm Δ exactly; a
  direction of negative curvature goes to the boundary);
* the solver on nearly separated data, where full Newton steps overshoot:
  the objective never increases, and the optimum equals scikit-learn's.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from logitlab import LogisticRegression
from logitlab.solvers import precondition
from logitlab.solvers.trust_region import steihaug_cg


def _spd(p, seed, cond=1e3):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    return (Q * np.geomspace(1.0, cond, p)) @ Q.T, rng.normal(size=p)


@pytest.mark.parametrize("diag", [False, True])
def test_interior_step_is_the_newton_step(diag):
    H, g = _spd(30, 0)
    M = precondition.Preconditioner("diag", diag=np.diag(H).copy()) if diag \
        else precondition.IDENTITY
    s, r, s_norm, _, boundary = steihaug_cg(lambda v: H @ v, g, np.inf, 1e-12, 200, M)
    np.testing.assert_allclose(s, np.linalg.solve(H, -g), rtol=1e-8)
    np.testing.assert_allclose(r, -g - H @ s, atol=1e-10)
    Mmat = np.diag(np.diag(H)) if diag else np.eye(30)
    assert s_norm == pytest.approx(np.sqrt(s @ Mmat @ s), rel=1e-9)
    assert not boundary


@pytest.mark.parametrize("diag", [False, True])
def test_step_stops_on_the_boundary_in_the_preconditioner_norm(diag):
    H, g = _spd(30, 1)
    Mmat = np.diag(np.diag(H)) if diag else np.eye(30)
    M = precondition.Preconditioner("diag", diag=np.diag(H).copy()) if diag \
        else precondition.IDENTITY
    newton = np.linalg.solve(H, -g)
    delta = 0.3 * np.sqrt(newton @ Mmat @ newton)
    s, r, s_norm, _, boundary = steihaug_cg(lambda v: H @ v, g, delta, 1e-12, 200, M)
    assert boundary
    assert np.sqrt(s @ Mmat @ s) == pytest.approx(delta, rel=1e-10) and s_norm == delta
    assert g @ s + 0.5 * s @ H @ s < 0          # the model decreases
    np.testing.assert_allclose(r, -g - H @ s, atol=1e-10)


def test_negative_curvature_goes_to_the_boundary():
    H = np.diag([1.0, -2.0, 3.0])
    g = np.array([1.0, 1.0, 1.0])
    s, _, _, _, boundary = steihaug_cg(lambda v: H @ v, g, 2.0, 1e-12, 50)
    assert boundary and np.linalg.norm(s) == pytest.approx(2.0, rel=1e-12)
    assert g @ s + 0.5 * s @ H @ s < 0


def test_nearly_separated_data_reach_sklearn_optimum_monotonically():
    rng = np.random.default_rng(5)
    n, d = 3000, 8
    X = rng.normal(size=(n, d))
    beta = rng.normal(0, 4.0, d)              # steep: most rows nearly certain
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta)))).astype(int)
    alpha = 1e-4
    m = LogisticRegression(alpha=alpha, solver="trust-ncg").fit(X, y)
    ref = SkLogisticRegression(C=1.0 / (alpha * n), solver="newton-cholesky", tol=1e-12,
                               max_iter=1000).fit(X, y)
    assert m.converged_
    assert np.all(np.diff(m.history_["objective"]) <= 64 * np.finfo(float).eps)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=1e-6, atol=1e-7)


def test_far_start_rejects_and_shrinks_then_reaches_the_optimum():
    """From coefficients of size ~20 the first Newton step overshoots (ρ < 0):
    it is rejected, Δ shrinks, boundary steps follow, and the run ends at the
    optimum that Newton's method finds from zero, never raising F."""
    from logitlab.backends.memory import InMemoryData
    from logitlab.core.layout import Layout
    from logitlab.solvers.objective import Objective
    from logitlab.solvers import newton, trust_region

    rng = np.random.default_rng(5)
    n, d = 3000, 8
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ rng.normal(0, 1, d))))).astype(float)
    obj = Objective(InMemoryData(X, y, np.ones(n), None, Layout(d, 2, (1,), True)), 1e-3)
    seen = []
    original = trust_region.update_radius

    def spy(delta, step_norm, ratio, *rest):
        seen.append((ratio, rest[-1]))
        return original(delta, step_norm, ratio, *rest)

    trust_region.update_radius = spy
    try:
        far = trust_region.solve(obj, rng.normal(0, 20, d + 1), tol=1e-10)
    finally:
        trust_region.update_radius = original
    ref = newton.solve(obj, np.zeros(d + 1), tol=1e-12)
    assert any(r < trust_region.ETA0 for r, _ in seen)       # a rejected step
    assert any(b for _, b in seen)                            # a step on the boundary
    assert far.converged
    assert np.all(np.diff(far.history["objective"]) <= 64 * np.finfo(float).eps)
    np.testing.assert_allclose(far.coef, ref.coef, rtol=1e-7, atol=1e-9)


def test_no_curvature_at_the_first_step_without_a_region_takes_the_gradient_step():
    H = -np.eye(3)
    g = np.array([1.0, -2.0, 0.5])
    s, r, s_norm, k, boundary = steihaug_cg(lambda v: H @ v, g, np.inf, 1e-8, 10)
    np.testing.assert_allclose(s, -g)                  # p = M⁻¹(-g) with M = I
    np.testing.assert_allclose(r, -g - H @ s)
    assert s_norm == pytest.approx(np.linalg.norm(g)) and k == 1 and not boundary
    assert g @ s + 0.5 * s @ H @ s < 0


@pytest.mark.parametrize("which", ["newton-cg", "trust-ncg"])
def test_inner_solve_stops_once_the_residual_max_norm_meets_atol(which):
    """``atol`` ends CG at the first iterate whose residual (the model's
    gradient after the step) has max-norm ≤ atol, not later; ``rtol`` alone
    (here unreachable) would run on."""
    from logitlab.solvers.newton_cg import conjugate_gradient
    H, g = _spd(40, 3, cond=1e2)
    atol = 1e-4 * np.max(np.abs(g))
    products = []

    def hessp(v):
        products.append(1)
        return H @ v
    if which == "newton-cg":
        s, k = conjugate_gradient(hessp, g, 1e-30, 200, atol=atol)
    else:
        s, _, _, k, _ = steihaug_cg(hessp, g, np.inf, 1e-30, 200, atol=atol)
    assert np.max(np.abs(-g - H @ s)) <= atol * (1 + 1e-9)
    assert k == len(products) < 40
    # one product fewer does not meet atol: rerun with a product budget of k - 1
    if which == "newton-cg":
        short, _ = conjugate_gradient(lambda v: H @ v, g, 1e-30, k - 1, atol=atol)
    else:
        short = steihaug_cg(lambda v: H @ v, g, np.inf, 1e-30, k - 1, atol=atol)[0]
    assert np.max(np.abs(-g - H @ short)) > atol
