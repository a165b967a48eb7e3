"""BLAS is held to one thread while a fit runs (from its input checks on,
the solver included) and given back afterwards; the context is re-entrant.

The reference is threadpoolctl's own report of the BLAS libraries' thread
counts, read inside the solver's callback.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from logitlab import LogisticRegression
from logitlab.families import BinaryLogit
from logitlab.core.threads import blas_one_thread


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """BLAS set to two threads (what a 2-core machine gives); yields the
    counts threadpoolctl then reports, to compare with after the fit."""
    if not _blas_threads():
        pytest.fail("no BLAS library visible to threadpoolctl")
    with threadpool_limits(2, user_api="blas"):
        yield _blas_threads()


def test_solver_runs_with_one_blas_thread_and_restores_them(two_blas_threads):
    seen = []
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    LogisticRegression(solver="newton-cg", callback=lambda *a: seen.append(_blas_threads())).fit(X, y)
    assert seen and all(set(t) == {1} for t in seen)
    assert _blas_threads() == two_blas_threads


def test_whole_fit_runs_with_one_blas_thread(two_blas_threads, monkeypatch):
    """Also before the solver: the start point's length-n dot product was a
    multithreaded BLAS call whose threads then spun through the first passes."""
    seen = []
    start = BinaryLogit.start

    def spy(self, *args):
        seen.append(_blas_threads())
        return start(self, *args)

    monkeypatch.setattr(BinaryLogit, "start", spy)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = (X[:, 1] + rng.normal(size=300) > 0).astype(int)
    LogisticRegression().fit(X, y)
    assert seen and all(set(t) == {1} for t in seen)
    assert _blas_threads() == two_blas_threads


def test_cross_validation_scores_with_one_blas_thread(two_blas_threads, monkeypatch):
    """The held-out scoring between the path's fits runs under the limit too."""
    from logitlab import LogisticRegressionCV
    seen = []
    proba = LogisticRegression.predict_proba

    def spy(self, X):
        seen.append(_blas_threads())
        return proba(self, X)

    monkeypatch.setattr(LogisticRegression, "predict_proba", spy)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    LogisticRegressionCV(alphas=[0.1, 0.01], cv=3).fit(X, y)
    assert len(seen) == 6 and all(set(t) == {1} for t in seen)
    assert _blas_threads() == two_blas_threads


def test_blas_context_is_reentrant(two_blas_threads):
    with blas_one_thread():
        with blas_one_thread():
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}          # the inner exit keeps the limit
    assert _blas_threads() == two_blas_threads
