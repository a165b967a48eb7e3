"""How the report writes numbers: every number on the page is formatted here.

:func:`num` writes a single number with ``digits`` significant digits;
:func:`pvalue` a p-value (4 significant digits, scientific below 10⁻⁴);
:func:`attr` the full-precision ``repr`` for a ``data-value`` attribute.

:func:`interval_texts` writes an estimate and its interval ``(e, lo, hi)`` the
same way: with the same number of decimals ``d``, chosen so that the estimate
shows ``digits`` significant digits,

    d = digits − 1 − ⌊log₁₀ |e|⌋,

but at most ``digits − ⌊log₁₀ s⌋`` with ``s = max(|e|, |lo|, |hi|)`` (the largest
of the three then shows at most ``digits + 1`` significant digits: an estimate
near 0 does not stretch its interval to many decimals), and at least 0. When
``s ≥ 10⁶`` or ``s < 10⁻⁴`` all three are written in scientific notation with
``digits`` significant digits each. Every interval column of the report (the
coefficients, the odds ratios, the marginal effects, the calibration bins)
uses it, so an estimate and its bounds always read alike.
"""

from __future__ import annotations

import math

import numpy as np

#: significant digits of the estimate on the coefficient (log-odds) scale
COEF_DIGITS = 6
#: significant digits of an odds ratio (e^coef), a z statistic, a probability's bin
RATIO_DIGITS = 4


def _finite(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def num(value, digits: int = 6) -> str:
    """A number as text: ``digits`` significant digits, '–' when it does not exist;
    integers in full with thin-space thousands separators."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}".replace(",", "\u2009")
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "+∞" if value > 0 else "−∞"
    return f"{value:.{digits}g}"


def pvalue(p) -> str:
    """A p-value: 4 significant digits, scientific (3 digits) below 10⁻⁴."""
    p = _finite(p)
    if p is None:
        return "–"
    return f"{p:.4g}" if p >= 1e-4 else f"{p:.2e}"


def attr(value) -> str:
    """Full-precision value for a ``data-value`` attribute ('' when not finite)."""
    value = _finite(value)
    return "" if value is None else repr(value)


def _magnitude(value: float) -> int:
    return math.floor(math.log10(abs(value)))


def shared_decimals(estimate, low, high, digits: int) -> int | None:
    """The decimals ``d`` an estimate and its bounds share (module docstring);
    None: scientific notation. ``estimate`` may be None (a range without one)."""
    values = [v for v in map(_finite, (estimate, low, high)) if v is not None and v != 0]
    if not values:
        return 0
    scale = _magnitude(max(abs(v) for v in values))
    if scale >= 6 or scale < -4:
        return None
    e = _finite(estimate)
    d = digits - 1 - (_magnitude(e) if e else scale)
    return max(0, min(d, digits - scale))


def fixed(value, decimals: int | None, digits: int) -> str:
    """``value`` with ``decimals`` decimals (None: scientific, ``digits``
    significant digits); '–' when missing, ±∞ when infinite."""
    if value is None or math.isnan(float(value)):
        return "–"
    value = float(value)
    if math.isinf(value):
        return "+∞" if value > 0 else "−∞"
    if decimals is None:
        return f"{value:.{digits - 1}e}"
    return f"{value + 0.0:.{decimals}f}"


def interval_texts(estimate, low, high, digits: int = RATIO_DIGITS) -> tuple[str, str, str]:
    """``(estimate, low, high)`` as texts with shared decimals (module docstring);
    the estimate's text is '' when ``estimate`` is None."""
    d = shared_decimals(estimate, low, high, digits)
    est = "" if estimate is None else fixed(estimate, d, digits)
    return est, fixed(low, d, digits), fixed(high, d, digits)


__all__ = ["COEF_DIGITS", "RATIO_DIGITS", "attr", "fixed", "interval_texts", "num", "pvalue",
           "shared_decimals"]
