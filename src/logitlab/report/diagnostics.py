"""The report's diagnostics section (binary models): residuals, leverage, influence
and goodness of fit.

:func:`diagnostics_plot` draws two panels: the deviance residuals ``r_D`` against
the fitted probability, and the standardized Pearson residuals ``r_P / √(1 − h)``
against the leverage ``h`` with the contours of Cook's distance
``D = r_SP² h / (k (1 − h))`` at 0.5 and 1 (``r_SP = ±√(D k (1 − h) / h)``).
Artists carry ``gid``: ``"residuals"`` (x = fitted p, y = r_D), ``"leverage"`` (x = h,
y = r_SP), ``"cooks:0.5"`` and ``"cooks:1"`` (the contours).

:func:`diagnostics_sections` builds the HTML section: the figure, the
Hosmer–Lemeshow table (observed and expected counts per group) with its test, the
le Cessie–van Houwelingen test, the grouped Pearson and deviance χ² when the
covariate patterns repeat, and the rows ``influence.measures`` flags (largest
Cook's distance first). Formulas: :mod:`logitlab.results.influence` and
:mod:`logitlab.results.goodness`. Numbers carry ``data-key`` / ``data-value``
attributes (full precision) for checking.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .elements import esc, figure_html, table_html
from .plots import PALETTE, new_figure

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
def _num(value, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}".replace(",", "\u2009")
    return f"{float(value):.{digits}g}"


def _cell(value, key: str, digits: int = 6) -> tuple:
    v = float(value)
    attr = "" if not math.isfinite(v) else esc(repr(v), quote=True)
    text = (f"{v:.4g}" if v >= 1e-4 else f"{v:.2e}") if key.endswith("p_value") else \
        _num(v, digits)
    return text, f" data-key='{key}' data-value='{attr}'"


def diagnostics_sections(rd, in_sample: bool) -> list:
    """``[("diagnostics", "Diagnostics", html)]`` for a binary model with inference,
    computed on the report's rows (``rd``: :class:`logitlab.report.html.ReportData`);
    ``[]`` for multinomial or penalized models."""
    model = rd.model
    if model.classes_.size != 2 or getattr(model.results_, "inference", None) is None:
        return []
    try:
        body = _body(rd, in_sample)
    except ValueError as err:
        body = (f"<p class='unavailable'>Diagnostics are not available: "
                f"{esc(str(err))}</p>")
    return [("diagnostics", "Diagnostics",
             f"<section id='diagnostics'><h2>Diagnostics</h2>{body}</section>")]


def _body(rd, in_sample: bool) -> str:
    from ..results import goodness
    from ..results.influence import coefficient_names
    model = rd.model
    rows = {"X": rd.X, "y": rd.y, "sample_weight": rd.w, "offset": rd.offset}
    table = model.influence(**rows)
    mu = model.predict_proba(rd.X, rd.offset)[:, 1]
    k = len(coefficient_names(model))
    where = ("the rows the model was fitted on" if in_sample else
             "the rows given, with the fit's information (they need not be the fitting rows)")
    parts = [f"<p>Residuals, leverage and influence as R's <code>residuals.glm</code>, "
             f"<code>hatvalues</code>, <code>cooks.distance</code> and "
             f"<code>influence.measures</code>, on {where}.</p>",
             figure_html(_plot(table, mu, k), "residuals against fitted probabilities; "
                         "leverage against standardized Pearson residuals", "Left: deviance "
                         "residuals. Right: standardized Pearson residuals against leverage, "
                         "with Cook's distance 0.5 (dashed) and 1 (solid).", "fig-diagnostics")]
    hl = goodness.hosmer_lemeshow(model, **rows)
    lc = goodness.le_cessie_van_houwelingen(model, **rows)
    hl_rows = [[esc(str(r["group"])), _cell(r["n"], "n"), _cell(r["observed_1"], "observed_1"),
                _cell(r["expected_1"], "expected_1"), _cell(r["observed_0"], "observed_0"),
                _cell(r["expected_0"], "expected_0")] for _, r in hl.table.iterrows()]
    classes = model.classes_
    parts.append("<h3>Hosmer–Lemeshow table</h3>" + table_html(
        ["fitted probability", "rows", f"observed {esc(str(classes[1]))}",
         f"expected {esc(str(classes[1]))}", f"observed {esc(str(classes[0]))}",
         f"expected {esc(str(classes[0]))}"], hl_rows, table_id="hosmer-lemeshow",
        caption=f"Groups at the deciles of the fitted probability ({hl.details['groups']} groups, "
        "ResourceSelection's hoslem.test convention)"))
    tests = [[esc("Hosmer–Lemeshow χ²"), _cell(hl.statistic, "hl_statistic"),
              _cell(hl.df, "hl_df"), _cell(hl.p_value, "hl_p_value")],
             [esc("le Cessie–van Houwelingen z"), _cell(lc.statistic, "lc_statistic"), "–",
              _cell(lc.p_value, "lc_p_value")]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", goodness.SparsePatternsWarning)
        try:
            patterns = goodness.pattern_chisq(model, **rows)
        except ValueError:           # no more patterns than coefficients
            patterns = None
    sparse = any(issubclass(w.category, goodness.SparsePatternsWarning) for w in caught)
    if patterns is not None and not sparse:
        for key, label in (("pearson", "Pearson χ² (covariate patterns)"),
                           ("deviance", "deviance χ² (covariate patterns)")):
            t = patterns[key]
            tests.append([esc(label), _cell(t.statistic, f"{key}_statistic"),
                          _cell(t.df, f"{key}_df"), _cell(t.p_value, f"{key}_p_value")])
    note = ("" if patterns is not None and not sparse else
            "<p class='note'>The covariate patterns hardly repeat (or are no more than the "
            "coefficients): the grouped Pearson and deviance χ² have no χ² reference and are "
            "not shown.</p>")
    parts.append("<h3>Goodness of fit</h3>" + table_html(
        ["test", "statistic", "df", "p-value"], tests, table_id="goodness-of-fit",
        caption="Small p-values point at a lack of fit.") + note)
    parts.append(_influential_table(rd, table))
    return "".join(parts)


def _influential_table(rd, table) -> str:
    flagged = np.flatnonzero(table["influential"].to_numpy())
    if flagged.size == 0:
        return ("<h3>Influential rows</h3><p id='influential-none'>No row is flagged by "
                "influence.measures' rules.</p>")
    order = flagged[np.argsort(-table["cooks_d"].to_numpy()[flagged], kind="stable")]
    data_rows = np.flatnonzero(rd.used)
    flag_cols = [c for c in table.columns if c.startswith("inf_")]
    out = []
    for i in order[:MAX_ROWS]:
        why = ", ".join(c[4:] for c in flag_cols if table[c].iloc[i])
        out.append([(_num(int(data_rows[i])), f" data-row='{int(data_rows[i])}'"),
                    _cell(table["hat"].iloc[i], "hat"),
                    _cell(table["std_pearson"].iloc[i], "std_pearson"),
                    _cell(table["cooks_d"].iloc[i], "cooks_d"),
                    _cell(table["dffit"].iloc[i], "dffit"), esc(why)])
    more = f" (the first {MAX_ROWS} of {order.size})" if order.size > MAX_ROWS else ""
    return "<h3>Influential rows</h3>" + table_html(
        ["row", "leverage", "std. Pearson residual", "Cook's D", "DFFIT", "flagged by"], out,
        table_id="influential", caption=f"Rows flagged by R's influence.measures rules, largest Cook's "
        f"distance first{more}; row numbers count the data's rows from 0.")
