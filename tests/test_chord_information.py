"""Solvers for inference fits (``information=True``): truncated Newton's
chord steps from the Hessians it forms, and for it and exact Newton the
information at the optimum taken from the last pass.

References: statsmodels ``Logit`` (coefficients and standard errors, fitted in
the test) and the Hessian recomputed at the returned coefficients.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from logitlab import LogisticRegression
from logitlab.backends.memory import InMemoryData
from logitlab.core.layout import Layout
from logitlab.solvers import newton_cg
from logitlab.solvers.objective import Objective


def _data(n=30000, d=12, seed=0):
    """Correlated columns of uneven scales and a moderately strong signal."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, d))
    X = (Z + 0.5 * Z[:, :1]) * np.linspace(0.3, 2.0, d)
    beta = rng.normal(0, 0.4, d) / np.linspace(0.3, 2.0, d)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta + 0.3)))).astype(int)
    return X, y


def _statsmodels(X, y):
    res = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    return np.asarray(res.params), np.asarray(res.bse)


def _solve(X, y, **options):
    layout = Layout(X.shape[1], 2, (1,), True)
    data = InMemoryData(X, y.astype(np.int8), np.ones(len(y)), None, layout)
    objective = Objective(data)
    w0 = np.zeros(layout.size)
    return objective, newton_cg.solve(objective, w0, tol=1e-10, **options)


def test_solver_returns_the_hessian_at_its_coefficients():
    X, y = _data()
    objective, result = _solve(X, y, information=True)
    assert result.converged and "chord_steps" in result.flags
    assert result.hessian is not None
    _, g, H = objective.smooth(result.coef, hess=True)
    np.testing.assert_array_equal(result.hessian, H)        # the same pass, the same point
    assert np.max(np.abs(g)) <= 1e-10
    # without the option: no Hessian, the same optimum
    _, plain = _solve(X, y)
    assert plain.hessian is None and "chord_steps" not in plain.flags
    np.testing.assert_allclose(result.coef, plain.coef, rtol=1e-8, atol=1e-9)


def test_chord_steps_pay_for_themselves_in_passes():
    """Chord steps replace the CG products of the last iterations (one pass each)."""
    X, y = _data(seed=1)
    _, chord = _solve(X, y, information=True)
    _, plain = _solve(X, y)
    assert chord.n_passes < plain.n_passes


@pytest.mark.parametrize("start", [None, 1e3])
def test_inference_fit_matches_statsmodels(start, monkeypatch):
    """Default chord start, and a Hessian formed at the first step (far from the
    optimum: chord steps stall and CG resumes, preconditioned by it)."""
    if start is not None:
        monkeypatch.setattr(newton_cg, "CHORD_START", start)
    X, y = _data(seed=2)
    m = LogisticRegression(solver="newton-cg").fit(X, y)
    assert m.converged_ and "chord_steps" in m.results_.solver.flags
    params, bse = _statsmodels(X, y)
    frame = m.summary().to_frame()
    np.testing.assert_allclose(frame["coef"].to_numpy(), params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(frame["std_err"].to_numpy(), bse, rtol=1e-8)
    # the same table as the exact Newton solver's (which forms its own information)
    ref = LogisticRegression(solver="newton").fit(X, y).summary().to_frame()
    np.testing.assert_allclose(frame["std_err"].to_numpy(), ref["std_err"].to_numpy(),
                               rtol=1e-8)


def test_penalized_fit_forms_no_hessian():
    X, y = _data(seed=3)
    m = LogisticRegression(solver="newton-cg", alpha=1e-3).fit(X, y)
    assert "chord_steps" not in m.results_.solver.flags


@pytest.mark.parametrize("weights", ["unit", "varied"])
def test_weight_ratio_bits_from_the_kept_curvature(weights):
    """The aliasing certificate's spread of ``log₂(v / ĥ)`` read from the
    curvature kept by the last pass equals the exact range over the rows
    (computed here from the fitted probabilities), and lies within the
    histogram pass's bound (its bits plus the binary slack of 2)."""
    from scipy.special import expit

    from logitlab.fitting import fitstats
    X, y = _data(seed=4)
    n = len(y)
    rng = np.random.default_rng(0)
    s = np.broadcast_to(1.0, n) if weights == "unit" else rng.integers(0, 4, n).astype(float)
    layout = Layout(X.shape[1], 2, (1,), True)
    data = InMemoryData(X, y.astype(np.int8), s, None, layout)
    w = rng.normal(0, 0.3, layout.size)
    Objective(data).smooth(w, curvature=True)
    W = layout.matrix(w)
    bits, n_obs = fitstats._ratio_bits_from_curvature(data, W)
    z = X @ w[:-1] + w[-1]
    pos = s > 0
    v = fitstats.glm_start_weights(s[pos])
    exact = np.log2(v / (s[pos] * expit(z[pos]) * expit(-z[pos])))
    assert n_obs == int(pos.sum())
    assert bits == int(np.floor(exact.max())) + 1 - int(np.floor(exact.min()))
    counts = data.reduce_chunks(fitstats._weight_ratio_histogram, W, data.family)
    used = np.flatnonzero(counts)
    assert bits <= used[-1] + 1 - used[0] + fitstats._BINARY_SLACK
    # at another point nothing is kept: the histogram pass decides
    assert fitstats._ratio_bits_from_curvature(data, layout.matrix(w + 1e-3)) is None


def test_newton_returns_the_information_and_curvature_at_its_coefficients():
    """Exact Newton with ``information=True``: its polishing pass forms the
    Hessian at the point it returns (the same bits as a pass there) and keeps
    the rows' curvature there (what the aliasing and saturation checks read)."""
    from logitlab.solvers import newton
    X, y = _data(n=5000, d=6, seed=5)
    layout = Layout(X.shape[1], 2, (1,), True)
    data = InMemoryData(X, y.astype(np.int8), np.ones(len(y)), None, layout)
    objective = Objective(data)
    result = newton.solve(objective, np.zeros(layout.size), tol=1e-10, information=True)
    assert result.converged and "polished" in result.flags
    assert data.kept_curvature(layout.matrix(result.coef)) is not None
    _, _, H = objective.smooth(result.coef, hess=True)
    np.testing.assert_array_equal(result.hessian, H)
    plain = newton.solve(objective, np.zeros(layout.size), tol=1e-10)
    assert plain.hessian is None
    np.testing.assert_array_equal(plain.coef, result.coef)


def test_binary_inference_fit_reads_the_data_only_in_its_newton_steps():
    """The default fit with standard errors of a narrow binary design: aliasing,
    saturation and the information come from the solver's last pass, so the
    data are read only by the solver's passes (and the class totals of the null
    deviance); the table is statsmodels'."""
    X, y = _data(n=20000, d=5, seed=6)
    m = LogisticRegression().fit(X, y)
    frame = m.summary().to_frame()
    data = m.results_.objective.data
    assert m.solver_ == "newton"
    assert data.n_passes <= m.n_passes_ + 1
    params, bse = _statsmodels(X, y)
    np.testing.assert_allclose(frame["coef"].to_numpy(), params, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(frame["std_err"].to_numpy(), bse, rtol=1e-9)
