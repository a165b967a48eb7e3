"""Warnings point at the user's call, not at a line inside logitlab.

Reference: the warning record's ``filename`` must be this test file (the line
that called logitlab), as Python attributes a warning given the right
``stacklevel``; before, every warning named ``estimator.py`` or ``diagnostics.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import logitlab
from logitlab import CollinearityWarning, ConvergenceWarning, LogisticRegression, SeparationWarning
from logitlab.data.io import MissingValuesWarning

DATA = Path(__file__).parent / "data"


def _record(call, category):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    hits = [w for w in caught if issubclass(w.category, category)]
    assert hits, f"no {category.__name__} was issued"
    return hits


def test_collinearity_warning_names_the_callers_line():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    X = np.column_stack([x, 2 * x])
    y = (x + rng.normal(size=50) > 0).astype(int)
    for w in _record(lambda: LogisticRegression().fit(X, y), CollinearityWarning):
        assert w.filename == __file__, w.filename


def test_separation_and_convergence_warnings_name_the_callers_line():
    x = np.r_[np.linspace(-2, -0.1, 10), np.linspace(0.1, 2, 10)]
    y = (x > 0).astype(int)
    for w in _record(lambda: LogisticRegression().fit(x[:, None], y), SeparationWarning):
        assert w.filename == __file__, w.filename
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 3))
    yy = (X[:, 0] + rng.normal(size=100) > 0).astype(int)
    for w in _record(lambda: LogisticRegression(solver="gd", max_iter=2).fit(X, yy),
                     ConvergenceWarning):
        assert w.filename == __file__, w.filename


def test_formula_missing_values_warning_names_the_callers_line():
    df = pd.read_csv(DATA / "birthwt.csv")
    df.loc[[3, 7], "age"] = np.nan
    for w in _record(lambda: logitlab.fit("low ~ age + lwt", df, missing="drop"),
                     MissingValuesWarning):
        assert w.filename == __file__, w.filename


def test_user_stacklevel_outside_the_package_is_the_direct_caller():
    from logitlab.core.userwarn import user_stacklevel
    assert user_stacklevel() == 1
    with pytest.warns(UserWarning) as rec:
        from logitlab.core.userwarn import warn
        warn("here", UserWarning)
    assert rec[0].filename == __file__ and rec[0].lineno > 0
