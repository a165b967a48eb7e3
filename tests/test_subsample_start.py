"""Exact Newton on many rows starts from the optimum of an evenly spread eighth
of them (``logitlab.fitting.substart``): the same estimates and standard
errors as statsmodels' Newton from its own start, in fewer passes over all
rows; a subsample that cannot give a good start (a class absent from it) is
dropped.

References: statsmodels ``Logit`` (fitted in the test) and logitlab's own fit
from the family's start (the subsample start switched off).
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from logitlab import CollinearityWarning, LogisticRegression
from logitlab.backends.memory import InMemoryData
from logitlab.families import logit_family
from logitlab.fitting import substart


def _data(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 1:] += 0.4 * X[:, :1]
    beta = rng.normal(0, 0.6, d)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta - 0.4)))).astype(int)
    return X, y


def _without_subsample(monkeypatch, X, y, **kw):
    with monkeypatch.context() as m:
        m.setattr(substart, "SUBSAMPLE_FRACTION", 10 ** 12)
        return LogisticRegression(**kw).fit(X, y)


@pytest.mark.parametrize("n, d, alpha", [(600_000, 5, 0.0), (900_000, 3, 0.0),
                                         (600_000, 5, 1e-4), (2_000_000, 6, 0.0)])
def test_the_subsample_start_gives_the_full_fit_in_fewer_passes(monkeypatch, n, d, alpha):
    """2,000,000 × 6: n·p² is above Newton's budget, but seven coefficients
    (NEWTON_ANY_ROWS_SIZE) take Newton whatever the rows."""
    X, y = _data(n, d, seed=d)
    fit = LogisticRegression(alpha=alpha).fit(X, y)
    plain = _without_subsample(monkeypatch, X, y, alpha=alpha)
    assert fit.solver_ == "newton" and "subsample_start" in fit.results_.solver.flags
    assert "subsample_start" not in plain.results_.solver.flags
    assert fit.converged_ and fit.n_passes_ < plain.n_passes_
    np.testing.assert_allclose(fit.coef_, plain.coef_, rtol=1e-9, atol=1e-12)
    if alpha == 0.0:
        res = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0)
        frame = fit.summary().to_frame()
        np.testing.assert_allclose(frame["coef"].to_numpy(), res.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(frame["std_err"].to_numpy(), res.bse, rtol=1e-9)


def test_a_subsample_missing_a_class_gives_no_start(monkeypatch):
    """The rare class sits only between the subsample's ranges: the subsample
    has none of it, so the fit starts from the family's point."""
    n, d = 600_000, 5
    X, _ = _data(n, d, seed=11)
    data = InMemoryData(X, np.zeros(n, np.int8), np.ones(n), None, logit_family(d, 2))
    sampled = np.zeros(n, bool)
    for sl in data.sample_slices(n // substart.SUBSAMPLE_FRACTION):
        sampled[sl] = True
    y = np.zeros(n, int)
    outside = np.flatnonzero(~sampled)
    y[outside[:: max(outside.size // 400, 1)][:400]] = 1
    fit = LogisticRegression().fit(X, y)
    plain = _without_subsample(monkeypatch, X, y)
    assert fit.solver_ == "newton" and "subsample_start" not in fit.results_.solver.flags
    np.testing.assert_array_equal(fit.coef_, plain.coef_)
    res = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0)
    np.testing.assert_allclose(fit.summary().to_frame()["std_err"].to_numpy(), res.bse,
                               rtol=1e-8)


def test_a_multinomial_fit_from_the_subsample_is_the_same_fit(monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((750_000, 3))
    y = np.argmax(X @ rng.normal(0, 0.7, (3, 3)) + rng.gumbel(size=(750_000, 3)), axis=1)
    fit = LogisticRegression().fit(X, y)
    plain = _without_subsample(monkeypatch, X, y)
    assert fit.solver_ == "newton" and "subsample_start" in fit.results_.solver.flags
    assert fit.n_passes_ < plain.n_passes_
    np.testing.assert_allclose(fit.coef_, plain.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.results_.bse.to_numpy(), plain.results_.bse.to_numpy(),
                               rtol=1e-9)


def test_small_problems_and_truncated_newton_keep_the_family_start():
    """Fewer than 8 × 32,768 rows, a subsample too small for the compiled
    kernels (here 2 columns), or truncated Newton (n·p² above Newton's
    budget): no subsample."""
    for n, d in [(200_000, 5), (1_000_000, 2), (600_000, 12)]:
        X, y = _data(n, d, seed=n % 7)
        fit = LogisticRegression().fit(X, y)
        assert "subsample_start" not in fit.results_.solver.flags


def test_the_subsample_keeps_aliased_columns_at_zero(monkeypatch):
    """A column that repeats another is aliased (R's rule) and held at 0: the
    subsample's fit holds it too (the same objective over other rows), and the
    refit gives the fit of the other columns."""
    X, y = _data(600_000, 5, seed=9)
    Xa = np.column_stack([X, X[:, 1]])
    with pytest.warns(CollinearityWarning, match="x5 is a linear combination"):
        fit = LogisticRegression().fit(Xa, y)
    reduced = _without_subsample(monkeypatch, X, y)
    assert fit.aliased_ == ["x5"] and "subsample_start" in fit.results_.solver.flags
    assert fit.coef_[0, 5] == 0.0
    np.testing.assert_allclose(fit.coef_[0, :5], reduced.coef_[0], rtol=1e-9, atol=1e-12)
