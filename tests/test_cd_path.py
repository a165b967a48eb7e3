"""Coordinate descent for L1 / elastic net (solvers/cd.py): the inner solver
(coordinate descent + face solves) and the outer loop with a kept Hessian and
warm-start state, judged by the optimality (KKT) conditions computed here with
NumPy from the data, and by independent cold fits."""

import pickle

import numpy as np
import pytest

from logitlab import LogisticRegression
from logitlab.solvers import cd


def lasso_quadratic(k, rank, seed):
    """A convex quadratic model ``g, H`` (H = AᵀA/m, singular when rank < k;
    then g is in the range of H, as a gradient Xᵀr is in the range of XᵀX, so
    that the model is bounded below)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(rank, k)) @ np.diag(rng.uniform(0.2, 2.0, size=k))
    H = A.T @ A / rank
    g = A.T @ rng.normal(size=rank) / rank if rank < k else rng.normal(size=k)
    return H, g


def quadratic_kkt(H, g, w, x, l1, pen):
    """Max violation of the optimality conditions of
    gᵀ(x−w) + ½(x−w)ᵀH(x−w) + l1 Σ_pen |x_j| at x."""
    grad = g + H @ (x - w)
    v = grad.copy()
    nz = pen & (x != 0)
    v[nz] += l1 * np.sign(x[nz])
    z = pen & (x == 0)
    v[z] = np.maximum(np.abs(grad[z]) - l1, 0.0)
    return float(np.max(np.abs(v)))


def model_of(H):
    model = cd.Model.__new__(cd.Model)
    model.coords, model.H, model.size, model.l2, model._factors = (
        np.arange(H.shape[0]), np.ascontiguousarray(H), H.shape[0], 0.0, {})
    model.sweep_budget = 10 ** 6
    return model


@pytest.mark.parametrize("k, rank, l1, seed", [(40, 200, 0.3, 0), (60, 200, 0.05, 1),
                                              (50, 30, 0.02, 2), (80, 400, 0.8, 3)])
def test_inner_problem_is_solved_to_its_optimality_conditions(k, rank, l1, seed):
    """The inner minimizer meets the KKT conditions of the quadratic + L1 model
    (computed here), from a start with both zero and nonzero coordinates; a
    singular H (rank < k) is handled too (given the sweeps coordinate descent
    needs there)."""
    H, g = lasso_quadratic(k, rank, seed)
    rng = np.random.default_rng(seed + 10)
    w = np.where(rng.uniform(size=k) < 0.5, rng.normal(size=k), 0.0)
    pen = np.ones(k, dtype=bool)
    pen[0] = False                                   # an unpenalized coordinate, as an intercept
    x = cd.minimize_model(model_of(H), g, w, l1, pen, tol=1e-13)
    violation = quadratic_kkt(H, g, w, x, l1, pen)
    print(f"k={k} rank={rank} l1={l1}: {np.count_nonzero(x)} nonzero, KKT {violation:.1e}")
    assert violation < 1e-9
    assert 0 < np.count_nonzero(x[pen]) < pen.sum()  # a real sparse solution


def test_face_step_lands_where_the_first_sign_changes():
    """A face step from a point whose face minimizer flips a sign stops at the
    first zero crossing, on the segment, with a lower model value."""
    H = np.array([[2.0, 1.5], [1.5, 2.0]])
    g = np.array([-1.0, 0.8])
    w = np.zeros(2)
    x = np.array([0.4, 0.3])                          # signs (+, +); the face minimizer is not
    pen = np.ones(2, dtype=bool)
    l1 = 0.1
    point, exact = cd.face_step(model_of(H), g, w, x, l1, pen, 1e-12)
    full = np.linalg.solve(H, -g - l1 * np.sign(x))   # the face minimizer, by hand
    assert not exact and full[1] < 0
    t = x[1] / (x[1] - full[1])
    np.testing.assert_allclose(point, [x[0] + t * (full[0] - x[0]), 0.0], rtol=1e-12)

    def q(v):
        return g @ v + 0.5 * v @ H @ v + l1 * np.abs(v).sum()
    assert q(point) < q(x)


def data(n=600, d=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 1:] += 0.5 * X[:, :-1]                       # correlated neighbours
    beta = np.zeros(d)
    beta[rng.choice(d, 10, replace=False)] = rng.normal(size=10)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ beta - 0.3)))).astype(int)
    return X, y


def logistic_kkt(X, y, coef, intercept, l1, l2):
    """Optimality of mean log loss + l1‖β‖₁ + l2/2‖β‖² (the intercept free)."""
    p = 1 / (1 + np.exp(-(X @ coef + intercept)))
    g = X.T @ (p - y) / len(y) + l2 * coef
    v = np.where(coef != 0, g + l1 * np.sign(coef), np.maximum(np.abs(g) - l1, 0.0))
    return max(float(np.max(np.abs(v))), abs(float(np.mean(p - y))))


@pytest.mark.parametrize("penalty, l1_ratio", [("l1", None), ("elasticnet", 0.4)])
def test_warm_path_meets_optimality_and_matches_cold_fits(penalty, l1_ratio):
    """Along a decreasing path fitted with warm_start (each fit reuses the last
    Hessian model, with its L2 part moved to the new alpha), every fit meets the
    KKT conditions to the solver's tolerance, and equals the cold fit."""
    X, y = data()
    ratio = 1.0 if l1_ratio is None else l1_ratio
    top = np.max(np.abs(X.T @ (y.mean() - y))) / len(y) / ratio
    warm = LogisticRegression(penalty=penalty, l1_ratio=l1_ratio, warm_start=True)
    for alpha in np.geomspace(top * 0.9, top * 1e-3, 12):
        warm.set_params(alpha=alpha).fit(X, y)
        cold = LogisticRegression(penalty=penalty, l1_ratio=l1_ratio, alpha=alpha).fit(X, y)
        l1, l2 = alpha * ratio, alpha * (1 - ratio)
        violation = logistic_kkt(X, y, warm.coef_[0], warm.intercept_[0], l1, l2)
        assert warm.converged_ and violation < 1e-9, (alpha, violation)
        np.testing.assert_array_equal(warm.coef_ == 0, cold.coef_ == 0)
        # KKT 1e-10 bounds the coefficients' error by ~1e-10 ‖H⁻¹‖ (the small-alpha
        # end is nearly unpenalized and ill-conditioned)
        np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-6)
        assert warm.objective_ == pytest.approx(cold.objective_, rel=1e-12)
    assert 10 < np.count_nonzero(warm.coef_) < X.shape[1]
    assert isinstance(warm._solver_state, cd.Model)
    clone = pickle.loads(pickle.dumps(warm))          # the solver's state is never pickled
    assert not hasattr(clone, "_solver_state")
    np.testing.assert_array_equal(clone.predict_proba(X), warm.predict_proba(X))


def test_state_from_other_data_changes_speed_not_the_optimum():
    """A kept Hessian from other rows (a warm start on new data) still leads to
    the optimum of the new data: any positive semi-definite model does."""
    X, y = data(seed=1)
    X2, y2 = data(seed=2)
    m = LogisticRegression(penalty="l1", alpha=0.01, warm_start=True).fit(X, y)
    m.fit(X2, y2)
    cold = LogisticRegression(penalty="l1", alpha=0.01).fit(X2, y2)
    assert logistic_kkt(X2, y2, m.coef_[0], m.intercept_[0], 0.01, 0.0) < 1e-9
    np.testing.assert_allclose(m.coef_, cold.coef_, atol=1e-8)


def test_multinomial_l1_meets_optimality():
    """The multinomial working set (coordinates across classes) through the
    same outer loop: KKT of the symmetric softmax's mean log loss + L1."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 30))
    B = np.zeros((30, 3))
    B[:4] = rng.normal(size=(4, 3))
    y = np.argmax(X @ B + rng.gumbel(size=(500, 3)), axis=1)
    m = LogisticRegression(penalty="l1", alpha=0.02, solver="cd").fit(X, y)
    Z = X @ m.coef_.T + m.intercept_
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    G = X.T @ (P - np.eye(3)[y]) / len(y)                      # (d, K)
    C = m.coef_.T
    V = np.where(C != 0, G + 0.02 * np.sign(C), np.maximum(np.abs(G) - 0.02, 0.0))
    assert m.converged_ and np.max(np.abs(V)) < 1e-9
    assert 0 < np.count_nonzero(C) < C.size


def test_nearly_collinear_columns_reach_the_optimum():
    """Five columns copied with noise of sd 1e-3 (correlation 1 − 5e-7 with
    their originals: the Gram matrix is nearly singular, the more so in the
    float32 the model Hessian is summed in): every fit of a warm path still
    meets the KKT conditions."""
    X, y = data(seed=5)
    rng = np.random.default_rng(6)
    X = np.column_stack([X, X[:, :5] + 1e-3 * rng.normal(size=(len(X), 5))])
    m = LogisticRegression(penalty="l1", warm_start=True)
    for alpha in np.geomspace(0.05, 2e-4, 8):
        m.set_params(alpha=alpha).fit(X, y)
        assert m.converged_, alpha
        assert logistic_kkt(X, y, m.coef_[0], m.intercept_[0], alpha, 0.0) < 1e-9
