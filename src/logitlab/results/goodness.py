"""Goodness of fit of a binary model: Hosmer–Lemeshow, le Cessie–van
Houwelingen–Copas–Hosmer, and the grouped Pearson and deviance χ².

Rows ``i`` have a response ``y_i ∈ [0, 1]`` (0/1, or a grouped row's proportion of
successes), a prior weight ``s_i`` (frequency weight or trials) and a fitted
``p_i`` (see :mod:`logitlab.results.influence` for where the rows come from).

**Hosmer–Lemeshow** (``ResourceSelection::hoslem.test``): the rows are cut into
groups at the distinct sample quantiles (R's type 7, numpy's "linear") of the
fitted ``p`` at ``0, 1/g, ..., 1``, intervals closed on the right with the lowest
value included (R's ``cut(..., include.lowest = TRUE)``); per group ``o₁ = Σ s y``,
``e₁ = Σ s p``, ``o₀ = Σ s (1 − y)``, ``e₀ = Σ s (1 − p)``, and
``C = Σ_groups [(o₁ − e₁)²/e₁ + (o₀ − e₀)²/e₀]`` on ``g − 2`` degrees of freedom
(``g − 2`` even when tied quantiles leave fewer groups, as hoslem.test). With unit
weights this is hoslem.test exactly; with weights the groups are the same (cut
at the rows' quantiles) and the sums are weighted.

**le Cessie–van Houwelingen–Copas–Hosmer unweighted sum of squares** (Hosmer et
al. 1997, as ``rms::residuals.lrm(type = "gof")``): ``S = Σ s [(y − p)² + y(1 − y)]``
(``Σ (y − p)²`` over the Bernoulli trials the rows stand for), under H₀ mean
``E = Σ s p (1 − p)`` and variance ``σ² = Σ v_i r_i²``, the residual sum of squares
of the weighted least-squares regression of ``d = 1 − 2p`` on the design
``x̃`` with weights ``v = s p (1 − p)``; ``z = (S − E)/σ``, two-sided normal p-value
(NaN when σ = 0: ``d`` in the span of the design, e.g. one parameter per covariate
pattern).

**Grouped Pearson and deviance χ²** over covariate patterns: rows with identical
design rows and offsets are pooled (``m_j = Σ s``, ``o_j = Σ s y``, one fitted
``p_j``); ``X² = Σ_j (o_j − m_j p_j)² / (m_j p_j (1 − p_j))`` and
``D = 2 Σ_j [o_j log(o_j/(m_j p_j)) + (m_j − o_j) log((m_j − o_j)/(m_j (1 − p_j)))]``,
each χ² on ``J − k`` degrees of freedom (J patterns, k estimated coefficients).
These have a χ² reference only when the patterns hold several trials each:
:class:`SparsePatternsWarning` is issued when there are fewer than 2 trials per
pattern on average (``J ≈ n`` for 0/1 rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from ..core.userwarn import warn
from .inference import as_results, require_inference
from .influence import design_columns, fitted_logits, model_rows

#: fewer trials per covariate pattern than this (on average): no χ² reference
MIN_TRIALS_PER_PATTERN = 2.0


class SparsePatternsWarning(UserWarning):
    """The covariate patterns hardly repeat: the grouped χ² has no χ² reference."""


@dataclass
class GofTest:
    """A goodness-of-fit test: ``name``, ``statistic``, ``df`` (None for a normal
    test), ``p_value``, ``details`` (the test's parts) and, for Hosmer–Lemeshow,
    the ``table`` of observed and expected counts per group."""

    name: str
    statistic: float
    df: float | None
    p_value: float
    details: dict = field(default_factory=dict)
    table: pd.DataFrame | None = None

    def to_dict(self) -> dict:
        """JSON-safe: name, statistic, df, p_value, details, table (list of row dicts)."""
        out = {"name": self.name, "statistic": float(self.statistic),
               "df": None if self.df is None else float(self.df),
               "p_value": float(self.p_value),
               "details": {k: float(v) for k, v in self.details.items()}}
        if self.table is not None:
            out["table"] = self.table.to_dict(orient="records")
        return out

    def __repr__(self) -> str:
        df = "" if self.df is None else f", df={self.df:g}"
        return f"<{self.name}: statistic={self.statistic:.6g}{df}, p_value={self.p_value:.4g}>"


def _binary_rows(model, X, y, sample_weight, offset):
    results = as_results(model)
    if results.layout.multinomial:
        raise ValueError("these goodness-of-fit tests are for binary models; this model has "
                         f"{results.classes.size} classes.")
    rows = model_rows(model, X, y, sample_weight, offset)
    p = special.expit(fitted_logits(model, rows))
    return rows, p


def hl_groups(p: np.ndarray, g: int) -> tuple:
    """Group index (n,) of each fitted ``p`` and the breaks: R's
    ``cut(p, unique(quantile(p, seq(0, 1, 1/g))), include.lowest = TRUE)``."""
    breaks = np.unique(np.quantile(p, np.linspace(0.0, 1.0, g + 1)))
    if breaks.size < 2:
        raise ValueError("every row has the same fitted probability: the Hosmer–Lemeshow "
                         "groups are undefined (the model predicts a constant).")
    idx = np.searchsorted(breaks, p, side="left") - 1
    return np.clip(idx, 0, breaks.size - 2), breaks


def check_g(g) -> None:
    """``g`` (the number of Hosmer–Lemeshow groups) is an integer >= 3."""
    if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or g < 3:
        raise ValueError(f"g must be an integer >= 3 (the test has g - 2 degrees of freedom); "
                         f"got {g!r}.")


def hosmer_lemeshow(model, X=None, y=None, sample_weight=None, offset=None, g: int = 10
                    ) -> GofTest:
    """Hosmer–Lemeshow test with ``g`` groups (module docstring); its ``table``
    has per group: ``group`` (the interval), ``n`` (Σ s), ``observed_1``,
    ``expected_1``, ``observed_0``, ``expected_0``."""
    check_g(g)
    rows, p = _binary_rows(model, X, y, sample_weight, offset)
    _, breaks = hl_groups(p, int(g))
    return hl_from_sums(hl_sums(rows.y, rows.s, p, breaks), breaks, int(g))


def hl_sums(y, s, p, breaks) -> np.ndarray:
    """Per group (3, G): ``Σ s``, ``Σ s y``, ``Σ s p`` of rows cut at ``breaks``
    (added up over chunks for Dask rows)."""
    G = breaks.size - 1
    idx = np.clip(np.searchsorted(breaks, p, side="left") - 1, 0, G - 1)
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), p.shape)
    return np.vstack([np.bincount(idx, weights=v, minlength=G) for v in (s, s * y, s * p)])


def hl_from_sums(sums, breaks, g: int) -> GofTest:
    """The Hosmer–Lemeshow test from :func:`hl_sums` (3, G)."""
    n, o1, e1 = sums
    G = breaks.size - 1
    o0, e0 = n - o1, n - e1
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.sum((o1 - e1) ** 2 / e1 + (o0 - e0) ** 2 / e0))
    labels = [("[" if j == 0 else "(") + f"{breaks[j]:.4g}, {breaks[j + 1]:.4g}]"
              for j in range(G)]
    table = pd.DataFrame({"group": labels, "n": n, "observed_1": o1, "expected_1": e1,
                          "observed_0": o0, "expected_0": e0})
    df = int(g) - 2
    return GofTest("Hosmer-Lemeshow", stat, df, float(stats.chi2.sf(stat, df)),
                   {"groups": G}, table)


def le_cessie_van_houwelingen(model, X=None, y=None, sample_weight=None, offset=None
                              ) -> GofTest:
    """The unweighted sum-of-squares test (module docstring): ``statistic`` is z;
    ``details``: sse, expected, sd."""
    rows, p = _binary_rows(model, X, y, sample_weight, offset)
    s = np.asarray(rows.s, dtype=np.float64)
    y = rows.y
    sse = float(np.sum(s * ((y - p) ** 2 + y * (1 - y))))
    v = s * p * (1 - p)
    Xe = design_columns(model, rows.X)
    d = 1.0 - 2.0 * p
    sw = np.sqrt(v)
    coef, *_ = np.linalg.lstsq(Xe * sw[:, None], d * sw, rcond=None)
    return le_cessie_result(sse, float(np.sum(v)), float(np.sum(v * (d - Xe @ coef) ** 2)),
                            float(np.sum(v * d * d)))


def le_cessie_sums(model, rows) -> tuple:
    """``(sse, E, A, b, c)`` of a chunk of rows: ``A = X̃ᵀ diag(v) X̃`` (k, k),
    ``b = X̃ᵀ v d`` (k,), ``c = Σ v d²``; then ``σ² = c − bᵀ A⁻¹ b`` (the weighted
    residual sum of squares by the normal equations: for Dask rows)."""
    p = special.expit(fitted_logits(model, rows))
    s = np.broadcast_to(np.asarray(rows.s, dtype=np.float64), p.shape)
    y = rows.y
    v = s * p * (1 - p)
    d = 1.0 - 2.0 * p
    Xe = design_columns(model, rows.X)
    return (float(np.sum(s * ((y - p) ** 2 + y * (1 - y)))), float(np.sum(v)),
            Xe.T @ (Xe * v[:, None]), Xe.T @ (v * d), float(np.sum(v * d * d)))


def le_cessie_from_sums(sums) -> GofTest:
    """The test from :func:`le_cessie_sums` added up over all rows."""
    sse, ev, A, b, c = sums
    coef = np.linalg.lstsq(A, b, rcond=None)[0]
    return le_cessie_result(float(sse), float(ev), max(float(c - b @ coef), 0.0), float(c))


#: the le Cessie–van Houwelingen variance is 0 (rounding) below this share of Σ v d²
LE_CESSIE_NO_VARIANCE = 1e-10


def le_cessie_result(sse: float, ev: float, variance: float, total: float) -> GofTest:
    """z and its p-value from the sum of squares, its mean and variance under H₀.
    When ``d = 1 − 2p`` lies in the span of the design (``variance`` below
    ``LE_CESSIE_NO_VARIANCE · Σ v d²``: e.g. a model with one parameter per
    covariate pattern) the statistic has no variance: z and p are NaN."""
    sd = float(np.sqrt(variance))
    if variance <= LE_CESSIE_NO_VARIANCE * total:
        return GofTest("le Cessie-van Houwelingen", float("nan"), None, float("nan"),
                       {"sse": sse, "expected": ev, "sd": 0.0})
    z = (sse - ev) / sd
    return GofTest("le Cessie-van Houwelingen", z, None, float(2 * stats.norm.sf(abs(z))),
                   {"sse": sse, "expected": ev, "sd": sd})


def pattern_chisq(model, X=None, y=None, sample_weight=None, offset=None) -> dict:
    """Grouped Pearson and deviance χ² over covariate patterns (module docstring):
    ``{"pearson": GofTest, "deviance": GofTest, "n_patterns": J}``."""
    rows, p = _binary_rows(model, X, y, sample_weight, offset)
    k = len(require_inference(model).estimated)
    Xe = design_columns(model, rows.X)
    key = Xe if rows.offset is None else np.column_stack([Xe, rows.offset])
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    J = first.size
    s = np.asarray(rows.s, dtype=np.float64)
    m = np.bincount(inv, weights=s, minlength=J)
    o = np.bincount(inv, weights=s * rows.y, minlength=J)
    keep = m > 0
    m, o, pj = m[keep], o[keep], p[first][keep]
    J = int(keep.sum())
    if J <= k:
        raise ValueError(f"{J} covariate patterns for {k} coefficients: the grouped χ² has "
                         "no degrees of freedom left.")
    trials = float(m.sum())
    if trials / J < MIN_TRIALS_PER_PATTERN:
        warn(f"{J} covariate patterns among {trials:g} trials: the patterns hardly repeat, so "
             "the grouped Pearson and deviance statistics have no χ² reference (use the "
             "Hosmer-Lemeshow or le Cessie-van Houwelingen test).", SparsePatternsWarning)
    e = m * pj
    X2 = float(np.sum((o - e) ** 2 / (e * (1 - pj))))
    D = float(2 * np.sum(special.xlogy(o, o / e) + special.xlogy(m - o, (m - o) / (m - e))))
    df = J - k
    return {"pearson": GofTest("Pearson chi-square (covariate patterns)", X2, df,
                               float(stats.chi2.sf(X2, df)), {"patterns": J}),
            "deviance": GofTest("deviance chi-square (covariate patterns)", D, df,
                                float(stats.chi2.sf(D, df)), {"patterns": J}),
            "n_patterns": J}


def goodness_of_fit(model, X=None, y=None, sample_weight=None, offset=None, g: int = 10
                    ) -> dict:
    """Every test: ``{"hosmer_lemeshow", "le_cessie_van_houwelingen", "pearson",
    "deviance"}`` (:class:`GofTest` each; the last two over covariate patterns, None
    when there are no more patterns than coefficients)."""
    check_g(g)
    try:
        patterns = pattern_chisq(model, X, y, sample_weight, offset)
    except ValueError as err:
        if "covariate patterns for" not in str(err):
            raise
        patterns = {"pearson": None, "deviance": None}
    return {"hosmer_lemeshow": hosmer_lemeshow(model, X, y, sample_weight, offset, g=g),
            "le_cessie_van_houwelingen": le_cessie_van_houwelingen(model, X, y, sample_weight,
                                                                   offset),
            "pearson": patterns["pearson"], "deviance": patterns["deviance"]}
