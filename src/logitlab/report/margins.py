"""The report's marginal-effects section: a table and a dot-and-whisker plot.

The effects are the average marginal effects of
:func:`logitlab.results.margins.marginal_effects` over the report's rows
(weighted by the sample weights, if any): for a numeric variable the mean
derivative of the probability, ``mean_i ∂P_i / ∂x_i``, for a categorical one
the mean change ``P(level) − P(reference)``, with delta-method intervals at the
report's level. Binary models show ``P(classes_[1])``; multinomial models one
panel (and table rows) per class. Models without inference (penalized) get a
note instead.

:func:`margins_section` returns the section's HTML (ids ``margins``,
``margins-table``, ``fig-margins``) and is called by :mod:`logitlab.report.html`;
it needs nothing from that module (no import cycle): it writes the same markup
(``table-wrap``, ``num`` cells, ``figure``) with its own small helpers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .elements import esc, figure_html
from .plots import NEGATIVE, TOTAL, new_figure



def margins_plot(effects: pd.DataFrame, level: float = 0.95):
    """Dot-and-whisker plot of a margins table (:func:`marginal_effects`' columns).

    One row per term and contrast, the estimate as a dot (``gid="effect"``,
    x = estimate, y = row position) and its interval as a segment
    (``gid="interval"``, a LineCollection ``[(ci_low, y), (ci_high, y)]``),
    a dashed line at 0 (no effect). Multinomial tables (a ``class`` column)
    get one panel per class, sharing the rows.
    """
    groups = ([(f"P({c})", effects[effects["class"] == c]) for c in pd.unique(effects["class"])]
              if "class" in effects.columns else [(None, effects)])
    n_rows = max(len(g) for _, g in groups)
    fig, axes = new_figure(7.2 if len(groups) == 1 else 3.4 * min(len(groups), 4),
                           1.3 + 0.34 * n_rows, 1, len(groups), sharey=True)
    for ax, (title, sub) in zip(axes[0], groups):
        y = -np.arange(len(sub), dtype=float)
        est = sub["estimate"].to_numpy(dtype=float)
        lo, hi = sub["ci_low"].to_numpy(dtype=float), sub["ci_high"].to_numpy(dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.hlines(y[ok], lo[ok], hi[ok], color=NEGATIVE, lw=2, gid="interval")
        ax.plot(est, y, "o", color=TOTAL, ms=6, gid="effect", zorder=3)
        ax.axvline(0.0, color="#999999", ls="--", lw=1, zorder=0)
        ax.set_yticks(y, [_row_label(r) for r in sub.itertuples(index=False)])
        ax.set_ylim(-len(sub) + 0.4, 0.6)
        ax.grid(axis="x", color="#eeeeee")
        ax.set_axisbelow(True)
        ax.set_xlabel("change in probability")
        if title:
            ax.set_title(title, fontsize=10)
    pct = f"{100 * level:g}%"
    fig.suptitle(f"Average marginal effects with {pct} intervals", fontsize=11)
    return fig


def _row_label(row) -> str:
    term, contrast = str(row.term), str(row.contrast)
    return term if contrast in ("dY/dX",) else f"{term}: {contrast}"


def _num(value, digits: int = 4) -> str:
    value = float(value)
    return "–" if not math.isfinite(value) else f"{value:.{digits}g}"


def _pvalue(p) -> str:
    p = float(p)
    if not math.isfinite(p):
        return "–"
    return f"{p:.4g}" if p >= 1e-4 else f"{p:.2e}"


def _long(value) -> str:
    """The report's class for long labels (they wrap instead of widening the table)."""
    return " class='long'" if len(str(value)) > 28 else ""


def margins_table_html(effects: pd.DataFrame, level: float) -> str:
    """The table (escaped cells; ``data-value`` attributes hold full precision)."""
    pct = f"{100 * level:g}%"
    lead = (["class"] if "class" in effects.columns else []) + ["term", "contrast"]
    header = lead + ["effect", "std. error", "z", "p-value", f"{pct} low", f"{pct} high"]
    rows = []
    for rec in effects.to_dict(orient="records"):
        cells = [f"<th scope='row'{_long(rec[c])}>{esc(str(rec[c]))}</th>" for c in lead]
        for key, text in (("estimate", _num(rec["estimate"], 6)),
                          ("std_err", _num(rec["std_err"])), ("z", _num(rec["z"], 3)),
                          ("p_value", _pvalue(rec["p_value"])), ("ci_low", _num(rec["ci_low"])),
                          ("ci_high", _num(rec["ci_high"]))):
            value = float(rec[key])
            attr = f" data-value='{esc(repr(value))}'" if math.isfinite(value) else ""
            cells.append(f"<td class='num' data-key='{key}'{attr}>{text}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(f"<th scope='col'>{esc(h)}</th>" for h in header)
    return (f"<div class='table-wrap'><table id='margins-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def margins_section(model, X, level: float = 0.95, sample_weight=None, offset=None) -> str:
    """The section's HTML: intro, table and plot of the average marginal effects
    over the rows ``X`` (what ``predict_proba`` takes), or a note saying why
    there are none (e.g. a penalized model has no standard errors)."""
    from ..results.inference import InferenceUnavailable
    title = "<h2>Marginal effects</h2>"
    try:
        effects = model.margins(X, level=level, weights=sample_weight, offset=offset)
    except (InferenceUnavailable, ValueError, TypeError) as err:
        return (f"<section id='margins'>{title}<p class='unavailable'>Marginal effects are "
                f"not available: {esc(str(err))}</p></section>")
    intro = ("<p>How much the predicted probability changes, averaged over the rows"
             f"{' (weighted)' if sample_weight is not None else ''}: for a numeric "
             "variable, per unit of it (the derivative, through every term it enters); for a "
             "categorical one, when every row is moved from the reference level to the level "
             "shown. Intervals by the delta method.</p>")
    try:
        figure = figure_html(margins_plot(effects, level), "dot-and-whisker plot of the average "
                             "marginal effects", esc("Average marginal effects with intervals; "
                                                     "the dashed line at 0 is no effect."),
                             "fig-margins")
    except ValueError as err:
        figure = f"<p class='unavailable'>The plot is not available: {esc(str(err))}</p>"
    return (f"<section id='margins'>{title}{intro}{margins_table_html(effects, level)}"
            f"{figure}</section>")


__all__ = ["margins_plot", "margins_section", "margins_table_html"]
