"""The report's diagnostics section (binary models): residuals, leverage, influence
and goodness of fit.

:func:`diagnostics_plot` draws two panels: the deviance residuals ``r_D`` against
the fitted probability, and the standardized Pearson residuals ``r_P / √(1 − h)``
against the leverage ``h`` with the contours of Cook's distance
``D = r_SP² h / (k (1 − h))`` at 0.5 and 1 (``r_SP = ±√(D k (1 − h) / h)``).
Artists carry ``gid``: ``"residuals"`` (x = fitted p, y = r_D), ``"leverage"`` (x = h,
y = r_SP), ``"cooks:0.5"`` and ``"cooks:1"`` (the contours).

:func:`diagnostics_sections` renders the section (``templates/diagnostics.html``): the figure, the
Hosmer–Lemeshow table (observed and expected counts per group) with its test, the
le Cessie–van Houwelingen test, the grouped Pearson and deviance χ² when the
covariate patterns repeat, and the rows ``influence.measures`` flags (largest
Cook's distance first). Formulas: :mod:`logitlab.results.influence` and
:mod:`logitlab.results.goodness`. Numbers carry ``data-key`` / ``data-value``
attributes (full precision) for checking.
"""

from __future__ import annotations

import warnings

import numpy as np

from .elements import Cell, Table, figure, head, number, text
from .formatting import num, pvalue
from .plots import PALETTE, new_figure
from .templating import render

#: the influential rows listed at most
MAX_ROWS = 12


def diagnostics_plot(model, X=None, y=None, sample_weight=None, offset=None):
    """Residuals vs fitted and leverage vs standardized Pearson residual with Cook's
    contours (module docstring); the training rows by default, else ``X, y``."""
    from ..results.influence import coefficient_names
    table = model.influence(X, y, sample_weight=sample_weight, offset=offset)
    mu = model.predict_proba(X, offset)[:, 1] if X is not None else _training_mu(model)
    return _plot(table, mu, len(coefficient_names(model)))


def _training_mu(model):
    from ..results.influence import binary_residuals, fitted_logits, model_rows
    rows = model_rows(model)
    return binary_residuals(rows.y, rows.s, fitted_logits(model, rows))["mu"]


def _plot(table, mu, k: int):
    fig, axes = new_figure(9.6, 4.2, 1, 2)
    left, right = axes[0, 0], axes[0, 1]
    left.scatter(mu, table["residual"], s=12, color=PALETTE[0], alpha=0.7, gid="residuals")
    left.axhline(0.0, color="#999999", lw=1, ls="--")
    left.set_xlabel("fitted probability")
    left.set_ylabel("deviance residual")
    left.set_title("Residuals vs fitted", fontsize=11)
    h, r = table["hat"].to_numpy(), table["std_pearson"].to_numpy()
    right.scatter(h, r, s=12, color=PALETTE[0], alpha=0.7, gid="leverage")
    top = float(np.nanmax(h)) if h.size else 1.0
    grid = np.linspace(max(1e-4, 0.001 * top), min(0.999, max(1.05 * top, 0.05)), 200)
    lim = max(float(np.nanmax(np.abs(r))) * 1.1 if r.size else 3.0, 1.0)
    # far enough to show where the D = 0.5 contour enters (at most twice the points' range)
    lim = max(lim, min(1.05 * float(np.sqrt(0.5 * k * (1 - grid[-1]) / grid[-1])), 2 * lim))
    for level, style in ((0.5, "--"), (1.0, "-")):
        band = np.sqrt(level * k * (1 - grid) / grid)
        shown = band <= lim * 1.5
        for sign in (1, -1):
            right.plot(grid[shown], sign * band[shown], color=PALETTE[1], lw=1, ls=style,
                       gid=f"cooks:{level:g}", label=f"Cook's D = {level:g}" if sign > 0 else None)
    right.axhline(0.0, color="#999999", lw=1, ls=":")
    right.set_ylim(-lim, lim)
    right.set_xlabel("leverage h")
    right.set_ylabel("standardized Pearson residual")
    right.set_title("Leverage vs residual", fontsize=11)
    right.legend(loc="center right", fontsize=8)
    for ax in (left, right):
        ax.grid(color="#eeeeee")
        ax.set_axisbelow(True)
    return fig


# ------------------------------------------------------------------ HTML
def _cell(value, key: str) -> Cell:
    """A number of the section with its data-key (p-values as p-values)."""
    if isinstance(value, (int, np.integer)):
        return number(num(int(value)), key, value)
    return number(pvalue(value) if key.endswith("p_value") else num(value), key, value)


def diagnostics_sections(rd, in_sample: bool) -> list:
    """``[("diagnostics", "Diagnostics", html)]`` for a binary model with inference,
    computed on the report's rows (``rd``: :class:`logitlab.report.inputs.ReportData`);
    ``[]`` for multinomial or penalized models."""
    model = rd.model
    if model.classes_.size != 2 or getattr(model.results_, "inference", None) is None:
        return []
    try:
        context = _context(rd, in_sample)
    except ValueError as err:
        context = {"error": str(err)}
    return [("diagnostics", "Diagnostics", render("diagnostics.html", **context))]


def _context(rd, in_sample: bool) -> dict:
    from ..results import goodness
    from ..results.influence import coefficient_names
    model = rd.model
    rows = {"X": rd.X, "y": rd.y, "sample_weight": rd.w, "offset": rd.offset}
    table = model.influence(**rows)
    mu = model.predict_proba(rd.X, rd.offset)[:, 1]
    fig = figure(_plot(table, mu, len(coefficient_names(model))),
                 "residuals against fitted probabilities; leverage against standardized "
                 "Pearson residuals", "Left: deviance residuals. Right: standardized Pearson "
                 "residuals against leverage, with Cook's distance 0.5 (dashed) and 1 (solid).",
                 "fig-diagnostics")
    hl = goodness.hosmer_lemeshow(model, **rows)
    tests, patterns_shown = _tests_rows(model, rows, hl, goodness)
    return {"error": None, "fig": fig, "hosmer_lemeshow": _hl_table(hl, model.classes_),
            "where": ("the rows the model was fitted on" if in_sample else "the rows given, "
                      "with the fit's information (they need not be the fitting rows)"),
            "tests": Table("goodness-of-fit", ["test", "statistic", "df", "p-value"], tests,
                           "Small p-values point at a lack of fit."),
            "patterns_shown": patterns_shown, "influential": _influential_table(rd, table)}


def _hl_table(hl, classes) -> Table:
    keys = ("n", "observed_1", "expected_1", "observed_0", "expected_0")
    rows = [[head(r["group"])] + [_cell(r[k], k) for k in keys] for _, r in hl.table.iterrows()]
    one, zero = str(classes[1]), str(classes[0])
    return Table("hosmer-lemeshow", ["fitted probability", "rows", f"observed {one}",
                                     f"expected {one}", f"observed {zero}", f"expected {zero}"],
                 rows, f"Groups at the deciles of the fitted probability ({hl.details['groups']} "
                 "groups, ResourceSelection's hoslem.test convention)")


def _tests_rows(model, rows, hl, goodness) -> tuple[list, bool]:
    """The goodness-of-fit tests' rows, and whether the covariate-pattern χ² are among
    them (not when the patterns hardly repeat: they then have no χ² reference)."""
    lc = goodness.le_cessie_van_houwelingen(model, **rows)
    tests = [[head("Hosmer–Lemeshow χ²"), _cell(hl.statistic, "hl_statistic"),
              _cell(hl.df, "hl_df"), _cell(hl.p_value, "hl_p_value")],
             [head("le Cessie–van Houwelingen z"), _cell(lc.statistic, "lc_statistic"),
              number("–"), _cell(lc.p_value, "lc_p_value")]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", goodness.SparsePatternsWarning)
        try:
            patterns = goodness.pattern_chisq(model, **rows)
        except ValueError:           # no more patterns than coefficients
            patterns = None
    sparse = any(issubclass(w.category, goodness.SparsePatternsWarning) for w in caught)
    if patterns is None or sparse:
        return tests, False
    for key, label in (("pearson", "Pearson χ² (covariate patterns)"),
                       ("deviance", "deviance χ² (covariate patterns)")):
        t = patterns[key]
        tests.append([head(label), _cell(t.statistic, f"{key}_statistic"),
                      _cell(t.df, f"{key}_df"), _cell(t.p_value, f"{key}_p_value")])
    return tests, True


def _influential_table(rd, table) -> Table | None:
    """The rows influence.measures flags, largest Cook's distance first (None: none)."""
    flagged = np.flatnonzero(table["influential"].to_numpy())
    if flagged.size == 0:
        return None
    order = flagged[np.argsort(-table["cooks_d"].to_numpy()[flagged], kind="stable")]
    data_rows = np.flatnonzero(rd.used)
    flag_cols = [c for c in table.columns if c.startswith("inf_")]
    out = []
    for i in order[:MAX_ROWS]:
        row = int(data_rows[i])
        out.append([head(num(row), row=row)]
                   + [_cell(table[k].iloc[i], k) for k in ("hat", "std_pearson", "cooks_d", "dffit")]
                   + [text(", ".join(c[4:] for c in flag_cols if table[c].iloc[i]))])
    more = f" (the first {MAX_ROWS} of {order.size})" if order.size > MAX_ROWS else ""
    return Table("influential", ["row", "leverage", "std. Pearson residual", "Cook's D", "DFFIT",
                                 "flagged by"], out,
                 "Rows flagged by R's influence.measures rules, largest Cook's distance "
                 f"first{more}; row numbers count the data's rows from 0.")
