"""Results of a mixed-effects logistic regression: lme4 ``glmer``'s summary, tables and document.

:class:`MixedResults` wraps a :class:`logitlab.solvers.glmer.GlmmFit` with the
names of its parameters and gives:

* :meth:`~MixedResults.coef_table`: fixed effects β with standard errors (from
  the Hessian of the deviance in (θ, β), glmer's ``vcov(use.hessian = TRUE)``),
  z = β / SE, two-sided normal p-values, Wald (or profile) intervals and odds
  ratios e^β;
* :meth:`~MixedResults.varcorr_table`: per grouping factor and column the
  variance Σ_jj, the standard deviation √Σ_jj and the correlations (lme4's ``VarCorr``);
* :meth:`~MixedResults.ranef_tables`: the conditional modes b̂ of the random
  effects per level, with their conditional standard deviations (lme4's
  ``ranef(condVar = TRUE)``);
* logLik, AIC = −2 logLik + 2 df, BIC = −2 logLik + log(n) df (df = p + n_θ),
  ``deviance`` = −2 logLik as glmer's summary prints it, and
  ``conditional_deviance`` = Σ deviance residuals² at the modes (lme4's ``deviance()``);
* :class:`MixedSummary`: the text laid out as ``summary(glmer(...))`` and the
  JSON document of ``logitlab fit --json`` (:meth:`MixedSummary.to_dict`).
"""

from __future__ import annotations

import json
import math

import numpy as np
from scipy.stats import norm

from ..core.lazy import pandas as pd

__all__ = ["MixedResults", "MixedSummary", "pearson_residuals"]


def _plain(x):
    """A float as JSON allows it (None for NaN and infinities)."""
    x = float(x)
    return x if math.isfinite(x) else None


def pearson_residuals(y, mu, weights) -> np.ndarray:
    """(y − μ) √m / √(μ (1 − μ)) (n,), m the prior weights (trials)."""
    y, mu, m = (np.asarray(a, dtype=np.float64) for a in (y, mu, weights))
    return (y - mu) * np.sqrt(m) / np.sqrt(mu * (1.0 - mu))


class MixedResults:
    """A fitted mixed-effects logit with its names (see the module docstring).

    fit : the :class:`~logitlab.solvers.glmer.GlmmFit`
    fixed_names : the p fixed-effect names (``"(Intercept)"`` first when present)
    terms : per random-effects term ``(group, columns, levels)``
    theta_names : θ's names as lme4's
    formula, response : as fitted; n_agq : 1 (Laplace) or the quadrature nodes
    y, weights : the fitted proportions and prior weights (for residuals)
    """

    def __init__(self, fit, fixed_names, terms, theta_names, formula, response, y, weights,
                 dropped=(), n_dropped: int = 0):
        self.fit = fit
        self.fixed_names = list(fixed_names)
        self.terms = [(g, list(c), list(lv)) for g, c, lv in terms]
        self.theta_names = list(theta_names)
        self.formula, self.response = formula, response
        self.n_agq = fit.n_agq
        self.y, self.weights = np.asarray(y), np.asarray(weights)
        self.dropped, self.n_dropped = list(dropped), n_dropped

    # ------------------------------------------------------------ statistics
    @property
    def params(self) -> np.ndarray:
        return self.fit.beta

    @property
    def bse(self) -> np.ndarray:
        return self.fit.se

    @property
    def groups(self) -> dict:
        """Number of levels per grouping factor (lme4's ``ngrps``), first term first."""
        return {g: len(lv) for g, _, lv in self.terms}

    @property
    def df_resid(self) -> int:
        return int(self.fit.nobs - self.fit.df)

    def pearson_residuals(self) -> np.ndarray:
        return pearson_residuals(self.y, self.fit.mu, self.weights)

    def residual_quantiles(self) -> np.ndarray:
        """Min, 1Q, median, 3Q, max of the Pearson residuals (the summary's
        "Scaled residuals" line; R's type-7 quantiles)."""
        return np.quantile(self.pearson_residuals(), [0, 0.25, 0.5, 0.75, 1.0])

    def wald_intervals(self, level: float = 0.95) -> np.ndarray:
        """(p, 2) β ± z_{(1+level)/2} SE."""
        z = norm.ppf(0.5 + level / 2)
        return np.column_stack([self.params - z * self.bse, self.params + z * self.bse])

    def coef_table(self, level: float = 0.95, intervals=None):
        """The fixed effects: ``coef``, ``std_err``, ``z``, ``p_value``,
        ``ci_low``, ``ci_high`` (Wald unless ``intervals`` (p, 2) are given),
        ``odds_ratio``, ``or_ci_low``, ``or_ci_high`` (a DataFrame indexed by term)."""
        ci = self.wald_intervals(level) if intervals is None else np.asarray(intervals)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.params / self.bse
        return pd.DataFrame({
            "coef": self.params, "std_err": self.bse, "z": z, "p_value": 2 * norm.sf(np.abs(z)),
            "ci_low": ci[:, 0], "ci_high": ci[:, 1], "odds_ratio": np.exp(self.params),
            "or_ci_low": np.exp(ci[:, 0]), "or_ci_high": np.exp(ci[:, 1])},
            index=pd.Index(self.fixed_names, name="term"))

    def varcorr_rows(self) -> list:
        """One dict per (group, column): ``group``, ``name``, ``variance``, ``sd``
        and ``corr`` (the correlations with the term's earlier columns, by name)."""
        rows = []
        for (group, columns, _), vc in zip(self.terms, self.fit.varcorr):
            for j, name in enumerate(columns):
                rows.append({"group": group, "name": name, "variance": float(vc.sd[j] ** 2),
                             "sd": float(vc.sd[j]),
                             "corr": {columns[i]: float(vc.corr[j, i]) for i in range(j)}})
        return rows

    def varcorr_table(self):
        """The variance components as a DataFrame (``group``, ``name``,
        ``variance``, ``sd``, and one ``corr`` column per earlier column of a term)."""
        rows = []
        for r in self.varcorr_rows():
            rows.append({"group": r["group"], "name": r["name"], "variance": r["variance"],
                         "sd": r["sd"], **{f"corr_{k}": v for k, v in r["corr"].items()}})
        return pd.DataFrame(rows)

    def ranef_tables(self, cond_var: bool = True) -> dict:
        """Per grouping factor, a DataFrame indexed by level with the conditional
        modes of each column and (``cond_var``) their conditional SDs
        (columns ``"<name>_condsd"``)."""
        out = {}
        for (group, columns, levels), b, V in zip(self.terms, self.fit.ranef, self.fit.condvar):
            frame = pd.DataFrame(np.asarray(b), index=pd.Index(levels, name=group),
                                 columns=columns)
            if cond_var:
                sd = np.sqrt(np.einsum("ijj->ij", np.asarray(V)))
                for j, c in enumerate(columns):
                    frame[f"{c}_condsd"] = sd[:, j]
            out[group] = frame
        return out

    def summary(self, level: float = 0.95, intervals=None, ci_method: str = "wald",
                variance_intervals=None):
        return MixedSummary(self, level=level, intervals=intervals, ci_method=ci_method,
                            variance_intervals=variance_intervals)


def _format_number(x, digits: int = 4) -> str:
    if not math.isfinite(x):
        return "NA" if math.isnan(x) else ("Inf" if x > 0 else "-Inf")
    return f"{x:.{digits}g}" if abs(x) >= 1e5 or (x != 0 and abs(x) < 1e-4) else f"{x:.4f}"


def _p_text(p) -> str:
    if not math.isfinite(p):
        return "NA"
    return "<2e-16" if p < 2e-16 else f"{p:.3g}"


def _stars(p) -> str:
    if not math.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else \
        "." if p < 0.1 else ""


def _columns_text(header, rows, align_left=(0,)) -> list:
    """Rows of cells as aligned text lines (left-aligned columns ``align_left``)."""
    widths = [max(len(str(r[j])) for r in [header, *rows]) for j in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [str(c).ljust(w) if j in align_left else str(c).rjust(w)
                 for j, (c, w) in enumerate(zip(r, widths))]
        lines.append(" " + " ".join(cells).rstrip())
    return lines


class MixedSummary:
    """``summary()`` of a mixed-effects logit: text as glmer's, and a JSON document."""

    def __init__(self, results: MixedResults, level: float = 0.95, intervals=None,
                 ci_method: str = "wald", variance_intervals=None):
        self.results, self.level, self.ci_method = results, level, ci_method
        self.table = results.coef_table(level, intervals)
        #: profile intervals of the variance components (a DataFrame ``low``,
        #: ``high`` by lme4's names ``sd_…|g``, ``cor_…|g``), or None
        self.variance_intervals = variance_intervals

    def notes(self) -> list:
        r, fit = self.results, self.results.fit
        notes = list(fit.messages)
        if fit.singular:
            notes.append("boundary (singular) fit: a variance component is at (or near) 0; "
                         "the random-effects structure may be simpler than the one fitted.")
        if r.dropped:
            notes.append(f"fixed-effect model matrix is rank deficient so dropping "
                         f"{len(r.dropped)} column{'s' if len(r.dropped) > 1 else ''}: "
                         f"{', '.join(r.dropped)}.")
        return notes

    def method_line(self) -> str:
        n = self.results.n_agq
        how = "Laplace Approximation" if n == 1 else f"Adaptive Gauss-Hermite Quadrature, nAGQ = {n}"
        return f"Generalized linear mixed model fit by maximum likelihood ({how})"

    def header_lines(self) -> list:
        r, fit = self.results, self.results.fit
        stats = [("AIC", fit.aic), ("BIC", fit.bic), ("logLik", fit.loglik),
                 ("deviance", -2 * fit.loglik), ("df.resid", r.df_resid)]
        cells = [f"{v:.1f}" if k != "df.resid" else str(v) for k, v in stats]
        widths = [max(len(k), len(c)) for (k, _), c in zip(stats, cells)]
        q = r.residual_quantiles()
        qs = [f"{v:.4f}" for v in q]
        qw = [max(len(n), len(c)) for n, c in zip(["Min", "1Q", "Median", "3Q", "Max"], qs)]
        return [self.method_line(), " Family: binomial  ( logit )", f"Formula: {r.formula}", "",
                " " + " ".join(k.rjust(w) for (k, _), w in zip(stats, widths)),
                " " + " ".join(c.rjust(w) for c, w in zip(cells, widths)), "",
                "Scaled residuals: ",
                " " + " ".join(n.rjust(w) for n, w in zip(["Min", "1Q", "Median", "3Q", "Max"],
                                                          qw)),
                " " + " ".join(c.rjust(w) for c, w in zip(qs, qw))]

    def random_lines(self) -> list:
        r = self.results
        rows, last = [], None
        for row in r.varcorr_rows():
            corr = " ".join(f"{v:5.2f}" for v in row["corr"].values())
            rows.append([row["group"] if row["group"] != last else "", row["name"],
                         f"{row['variance']:.4g}", f"{row['sd']:.4g}", corr])
            last = row["group"]
        has_corr = any(row[4] for row in rows)
        header = ["Groups", "Name", "Variance", "Std.Dev."] + (["Corr"] if has_corr else [])
        rows = [row if has_corr else row[:4] for row in rows]
        lines = ["Random effects:", *_columns_text(header, rows, align_left=(0, 1, 4))]
        groups = "; ".join(f"{g}, {n}" for g, n in r.groups.items())
        lines.append(f"Number of obs: {r.fit.nobs}, groups:  {groups}")
        return lines + self.variance_interval_lines()

    def variance_interval_lines(self) -> list:
        """The profile intervals of the variance components, as lme4's
        ``confint(fit, method = "profile")`` prints their rows."""
        vi = self.variance_intervals
        if vi is None or not len(vi):
            return []
        low, high = f"{50 * (1 - self.level):.3g} %", f"{100 - 50 * (1 - self.level):.3g} %"
        rows = [[name, f"{row.low:#.4g}", f"{row.high:#.4g}"] for name, row in vi.iterrows()]
        return ["", f"Profile intervals of the variance components ({100 * self.level:.3g}%):",
                *_columns_text(["", low, high], rows, align_left=(0,))]

    def fixed_lines(self) -> list:
        t = self.table
        rows = [[name, _format_number(row.coef), _format_number(row.std_err),
                 f"{row.z:.3f}" if math.isfinite(row.z) else "NA", _p_text(row.p_value),
                 _stars(row.p_value)] for name, row in t.iterrows()]
        lines = ["Fixed effects:", *_columns_text(["", "Estimate", "Std. Error", "z value",
                                                   "Pr(>|z|)", ""], rows, align_left=(0, 5))]
        lines.append("---")
        lines.append("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
        return lines

    def __str__(self) -> str:
        parts = [*self.header_lines(), "", *self.random_lines(), "", *self.fixed_lines()]
        notes = self.notes()
        if notes:
            parts += [""] + [f"Note: {n}" for n in notes]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(str(self))}</pre>"

    def to_frame(self):
        """The fixed-effects table (a DataFrame)."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """The summary as plain JSON values (see ``docs/contracts/json.md``, model ``"mixed"``)."""
        r, fit = self.results, self.results.fit
        terms = [{"name": name, "kind": "coef",
                  **{c: _plain(row[c]) for c in ("coef", "std_err", "z", "p_value", "ci_low",
                                                 "ci_high", "odds_ratio", "or_ci_low",
                                                 "or_ci_high")}}
                 for name, row in self.table.iterrows()]
        modes = {}
        for group, frame in r.ranef_tables().items():
            cols = [c for c in frame.columns if not c.endswith("_condsd")]
            modes[group] = [{"level": str(level),
                             "values": {c: _plain(frame.at[level, c]) for c in cols},
                             "condsd": {c: _plain(frame.at[level, f"{c}_condsd"]) for c in cols}}
                            for level in frame.index]
        return {
            "model": "mixed", "family": "binomial", "link": "logit",
            "method": "laplace" if r.n_agq == 1 else "agq", "n_agq": int(r.n_agq),
            "converged": bool(fit.converged), "singular": bool(fit.singular),
            "level": float(self.level), "ci_method": self.ci_method,
            "n_obs": int(fit.nobs), "n_params": int(fit.df), "df_resid": int(r.df_resid),
            "groups": {g: int(n) for g, n in r.groups.items()},
            "log_likelihood": _plain(fit.loglik), "deviance": _plain(-2 * fit.loglik),
            "conditional_deviance": _plain(fit.conditional_deviance),
            "aic": _plain(fit.aic), "bic": _plain(fit.bic),
            "max_scaled_gradient": _plain(np.max(np.abs(fit.scaled_gradient)))
            if len(fit.scaled_gradient) else 0.0,
            "terms": terms,
            "random_effects": [{**row, "variance": _plain(row["variance"]), "sd": _plain(row["sd"]),
                                "corr": {k: _plain(v) for k, v in row["corr"].items()}}
                               for row in r.varcorr_rows()],
            "variance_intervals": [] if self.variance_intervals is None else [
                {"name": str(name), "ci_low": _plain(row.low), "ci_high": _plain(row.high)}
                for name, row in self.variance_intervals.iterrows()],
            "theta": {name: _plain(v) for name, v in zip(r.theta_names, fit.theta)},
            "conditional_modes": modes,
            "notes": self.notes(),
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)
