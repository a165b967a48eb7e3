"""Tail probabilities and quantiles of the normal and chi-squared laws, from
``scipy.special`` (the functions ``scipy.stats`` evaluates, without importing
``scipy.stats``, which costs ~0.3–1 s at start-up).

* ``norm_sf(x) = 1 − Φ(x) = Φ(−x)`` (``ndtr``), ``norm_ppf(q) = Φ⁻¹(q)`` (``ndtri``);
* ``chi2_sf(x, k) = Q(k/2, x/2)`` (``chdtrc``; 1 for ``x <= 0``),
  ``chi2_ppf(q, k) = 2 P⁻¹(k/2, q)`` (``gammaincinv``).

Arrays broadcast as in NumPy; NaN gives NaN.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def norm_sf(x):
    """``P(Z > x)`` for a standard normal ``Z``."""
    return special.ndtr(np.negative(x))


def norm_ppf(q):
    """The ``q``-quantile of the standard normal law."""
    return special.ndtri(q)


def chi2_sf(x, df):
    """``P(X > x)`` for ``X ~ χ²(df)`` (1 for ``x <= 0``, as scipy.stats)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, special.chdtrc(df, np.maximum(x, 0.0)), np.where(np.isnan(x), np.nan, 1.0))


def chi2_ppf(q, df):
    """The ``q``-quantile of ``χ²(df)``."""
    return 2.0 * special.gammaincinv(np.asarray(df, dtype=np.float64) / 2.0, q)
