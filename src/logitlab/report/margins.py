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
``margins-table``, ``fig-margins``, template ``templates/margins.html``) and is
called by :mod:`logitlab.report.html`; it needs nothing from that module (no
import cycle): it lays out the same elements (:mod:`logitlab.report.elements`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .elements import Table, estimate_and_interval, figure, head, number
from .formatting import COEF_DIGITS, fixed, num, pvalue, shared_decimals
from .plots import NEGATIVE, TOTAL, new_figure, wrap_label
from .templating import render


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
    extra_lines = max(sum(wrap_label(_row_label(r)).count("\n") for r in g.itertuples(index=False))
                      for _, g in groups)
    fig, axes = new_figure(7.2 if len(groups) == 1 else 3.4 * min(len(groups), 4),
                           1.3 + 0.34 * n_rows + 0.17 * extra_lines, 1, len(groups), sharey=True)
    for ax, (title, sub) in zip(axes[0], groups):
        y = -np.arange(len(sub), dtype=float)
        est = sub["estimate"].to_numpy(dtype=float)
        lo, hi = sub["ci_low"].to_numpy(dtype=float), sub["ci_high"].to_numpy(dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.hlines(y[ok], lo[ok], hi[ok], color=NEGATIVE, lw=2, gid="interval")
        ax.plot(est, y, "o", color=TOTAL, ms=6, gid="effect", zorder=3)
        ax.axvline(0.0, color="#999999", ls="--", lw=1, zorder=0)
        ax.set_yticks(y, [wrap_label(_row_label(r)) for r in sub.itertuples(index=False)])
        ax.set_ylim(-len(sub) + 0.4, 0.6)
        ax.grid(axis="x", color="#eeeeee")
        ax.set_axisbelow(True)
        ax.set_xlabel("change in probability")
        if title:
            ax.set_title(wrap_label(title, 30), fontsize=10)
    pct = f"{100 * level:g}%"
    fig.suptitle(f"Average marginal effects with {pct} intervals", fontsize=11)
    return fig


def _row_label(row) -> str:
    term, contrast = str(row.term), str(row.contrast)
    return term if contrast in ("dY/dX",) else f"{term}: {contrast}"


def margins_table(effects: pd.DataFrame, level: float) -> Table:
    """The table: the effect and its interval share their decimals
    (:func:`logitlab.report.formatting.interval_texts`); ``data-value`` attributes
    hold full precision."""
    lead = (["class"] if "class" in effects.columns else []) + ["term", "contrast"]
    header = lead + ["effect", "std. error", "z", "p-value", f"{100 * level:g}% interval"]
    rows = []
    for rec in effects.to_dict(orient="records"):
        effect, effect_ci = estimate_and_interval(rec["estimate"], rec["ci_low"], rec["ci_high"],
                                                  "estimate", "ci", COEF_DIGITS)
        d = shared_decimals(rec["estimate"], rec["ci_low"], rec["ci_high"], COEF_DIGITS)
        rows.append([head(rec[c]) for c in lead]
                    + [effect, number(fixed(rec["std_err"], d, COEF_DIGITS), "std_err",
                                      rec["std_err"]),
                       number(num(rec["z"], 3), "z", rec["z"]),
                       number(pvalue(rec["p_value"]), "p_value", rec["p_value"]), effect_ci])
    return Table("margins-table", header, rows)


def margins_section(model, X, level: float = 0.95, sample_weight=None, offset=None):
    """The section (Markup): intro, table and plot of the average marginal effects
    over the rows ``X`` (what ``predict_proba`` takes), or a note saying why
    there are none (e.g. a penalized model has no standard errors)."""
    from ..results.inference import InferenceUnavailable
    try:
        effects = model.margins(X, level=level, weights=sample_weight, offset=offset)
    except (InferenceUnavailable, ValueError, TypeError) as err:
        return render("margins.html", error=str(err))
    try:
        fig, fig_error = figure(margins_plot(effects, level), "dot-and-whisker plot of the "
                                "average marginal effects", "Average marginal effects with "
                                "intervals; the dashed line at 0 is no effect.",
                                "fig-margins"), None
    except ValueError as err:
        fig, fig_error = None, str(err)
    return render("margins.html", error=None, weighted=sample_weight is not None,
                  effects=margins_table(effects, level), fig=fig, fig_error=fig_error)


__all__ = ["margins_plot", "margins_section", "margins_table"]
