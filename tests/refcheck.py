"""Shared helpers for comparing with references: datasets, relative and printed-digit checks."""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"


def load(name):
    """A reference dataset from tests/data (see its README for provenance)."""
    return pd.read_csv(DATA / name)


def assert_rel(actual, expected, what, rtol=1e-6):
    """Relative agreement with a reference, printing the worst difference."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    diff = float(np.max(np.abs(actual - expected) / np.abs(expected)))
    print(f"{what}: max relative difference {diff:.3g}")
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0, err_msg=what)


def assert_printed(actual, printed, what, units=1):
    """Within ``units`` units in the last printed digit of each printed number
    (given as strings, so that the printed precision is known)."""
    actual = np.atleast_1d(np.asarray(actual, dtype=float))
    printed = list(np.atleast_1d(printed))
    assert actual.shape == (len(printed),), what
    worst = 0.0
    for a, p in zip(actual, printed):
        unit = float(Decimal(1).scaleb(Decimal(p).as_tuple().exponent))
        err = abs(a - float(p))
        worst = max(worst, err / unit)
        assert err <= units * unit, f"{what}: {a!r} vs printed {p} (unit {unit:g})"
    print(f"{what}: worst difference {worst:.3g} units of the last printed digit")


def assert_stationary(gradient, what, atol=1e-8):
    """A reference solution is judged by its residual, not by the solver's exit
    flag: the largest gradient (score) entry at the solution is at most ``atol``."""
    worst = float(np.max(np.abs(np.asarray(gradient, dtype=float)))) if np.size(gradient) else 0.0
    print(f"{what}: max |gradient| at the reference solution {worst:.3g}")
    assert worst <= atol, f"{what}: the reference is not a stationary point (max |gradient| {worst:.3g})"


def assert_sm_stationary(res, what, atol=1e-8):
    """A statsmodels ML fit is a reference only where its score vanishes."""
    assert_stationary(res.model.score(np.asarray(res.params)), what, atol)
