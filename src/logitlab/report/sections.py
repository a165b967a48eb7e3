"""The report's sections about the data, the model, the metrics and one prediction.

Each ``*_section`` function computes what its section shows, formats the
numbers (:mod:`logitlab.report.formatting`) and renders the section's template
(``templates/<name>.html``) with that context: the templates only lay out.
The functions return the rendered section (Markup); :mod:`logitlab.report.html`
puts them on the page.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .elements import Table, estimate_and_interval, figure, head, interval, number, text
from .formatting import COEF_DIGITS, RATIO_DIGITS, fixed, num, pvalue, shared_decimals
from .inputs import ReportData
from .templating import render


# ------------------------------------------------------------------ data
def data_section(rd: ReportData):
    """Rows, rows used, outcome balance and missing values per column."""
    df, n_used = rd.frame, int(rd.used.sum())
    facts = [("rows in the data", len(df), "n_rows"), ("rows used (complete)", n_used, "n_used"),
             ("columns", df.shape[1], "n_columns")]
    if rd.w is not None:
        facts.append(("sum of the sample weights (used rows)", float(rd.w.sum()), "weight_sum"))
    rows = [[head(label), number(num(v), key, v)] for label, v, key in facts]
    return render("data.html", facts=Table("data-facts", ["", "value"], rows),
                  balance=_balance_table(rd), missing=_missing_table(df))


def _balance_table(rd: ReportData) -> Table:
    w = np.ones(rd.y.size) if rd.w is None else rd.w
    rows = []
    for c in rd.model.classes_:
        hit = rd.y == c
        share = float(w[hit].sum() / w.sum())
        row = [head(c), number(num(int(hit.sum())))]
        if rd.w is not None:
            row.append(number(num(float(w[hit].sum()))))
        rows.append(row + [number(f"{100 * share:.1f}%", value=share)])
    header = ["class", "rows"] + (["weight"] if rd.w is not None else []) + ["share"]
    name = f"outcome {rd.y_name}" if rd.y_name is not None else "outcome"
    caption = f"{name}, used rows" + (" (share by weight)" if rd.w is not None else "")
    return Table("balance", header, rows, caption)


def _missing_table(df: pd.DataFrame, max_rows: int = 40) -> Table | None:
    """Missing values per column (None: there are none); at most ``max_rows``
    columns, the ones with missing values when there are more."""
    missing = pd.isna(df).sum(axis=0)
    if int(missing.sum()) == 0:
        return None
    shown = missing if len(missing) <= max_rows else missing[missing > 0]
    rows = [[head(col), number(num(int(k)), value=int(k)), number(f"{100 * k / len(df):.1f}%")]
            for col, k in shown.items()]
    note = "" if len(shown) == len(missing) else \
        f" ({len(missing) - len(shown)} columns without missing values not listed)"
    return Table("missing", ["column", "missing", "share"], rows, "per column, all rows" + note)


# ------------------------------------------------------------------ model
def model_section(rd: ReportData, level: float, ci: str | None):
    """Fit statistics and the coefficient table (from the model's summary; ``ci``
    None: the model's default interval method)."""
    summary = rd.model.summary(level=level, ci=ci)
    ci = summary.header.get("ci_method") or "no"
    statistic = "lr_chi2" if summary.header.get("p_method") == "lr" else "z"
    table = summary.to_frame()
    multinomial = isinstance(table.index, pd.MultiIndex)
    pct = f"{100 * level:g}%"
    rows = [coefficient_row(label, r, multinomial, statistic) for label, r in table.iterrows()]
    caption = (f"Estimates with {pct} {ci} intervals; odds ratio = e^coef"
               + (f" (relative-risk ratio against class {rd.model.reference_class_})"
                  if multinomial else ""))
    return render("model.html", formula=rd.formula,
                  facts=[re.sub(r"  +", " · ", line) for line in summary.header_lines()],
                  coefficients=Table("coefficients", coefficient_header(level, multinomial,
                                                                        statistic), rows, caption),
                  notes=list(summary.notes))


def coefficient_header(level: float, multinomial: bool = False, statistic: str = "z") -> list:
    """The coefficient table's column headers (:func:`coefficient_row`'s cells)."""
    pct = f"{100 * level:g}%"
    return (["class"] if multinomial else []) + [
        "term", "coef", "std err", *(["χ² (LR)", "P>χ²"] if statistic == "lr_chi2" else
                                     ["z", "P>|z|"]),
        f"{pct} interval", "odds ratio", f"{pct} interval"]


def coefficient_row(label, r, multinomial: bool, statistic: str = "z") -> list:
    """One row of the coefficient table: the term, its estimate, standard error,
    test and interval (log-odds, sharing decimals), the odds ratio and its interval
    (sharing theirs); a coefficient that does not exist (aliased) or is infinite
    (separation) gets its symbol and dashes."""
    term = label[1] if multinomial else label
    cells = ([head(label[0])] if multinomial else []) + [head(term, term=term)]
    special = ("(aliased)" if r.get("aliased") else
               {"+inf": "+∞", "-inf": "−∞", "either sign": "±∞"}.get(r.get("infinite"))
               if isinstance(r.get("infinite"), str) else None)
    if special:
        return cells + [number(special, "coef")] + [number("–")] * 6
    coef, coef_ci = estimate_and_interval(r["coef"], r["ci_low"], r["ci_high"], "coef", "ci",
                                          COEF_DIGITS)
    d = shared_decimals(r["coef"], r["ci_low"], r["ci_high"], COEF_DIGITS)
    odds, odds_ci = estimate_and_interval(r["odds_ratio"], r["or_ci_low"], r["or_ci_high"],
                                          "odds_ratio", "or_ci", RATIO_DIGITS)
    return cells + [coef, number(fixed(r["std_err"], d, COEF_DIGITS), "std_err", r["std_err"]),
                    number(num(r[statistic], RATIO_DIGITS), statistic, r[statistic]),
                    number(pvalue(r["p_value"]), "p_value", r["p_value"]), coef_ci, odds, odds_ci]


# ------------------------------------------------------------------ metrics
_METRIC_LABELS = [
    ("n", "rows"), ("weight_sum", "sum of weights"), ("prevalence", "event rate (weighted)"),
    ("log_loss", "log loss (nats)"), ("log_loss_bits", "log loss (bits)"),
    ("brier", "Brier score"), ("roc_auc", "ROC AUC"), ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced accuracy"), ("precision", "precision"),
    ("recall", "recall"), ("f1", "F1"), ("precision_macro", "precision (macro)"),
    ("recall_macro", "recall (macro)"), ("f1_macro", "F1 (macro)"),
    ("calibration_intercept", "calibration intercept (0 = calibrated in the large)"),
    ("calibration_slope", "calibration slope (1 = ideal)"),
    ("ece", "expected calibration error (10 bins)"), ("threshold", "decision threshold"),
]


def metrics_section(rd: ReportData, threshold: float, in_sample: bool,
                    source: str = "the predicted probabilities"):
    """The scalar metrics of :func:`logitlab.evaluation.metrics.evaluate` on the used rows
    (``source``: what the probabilities are, said on the page)."""
    from ..evaluation.metrics import evaluate
    model = rd.model
    proba = model.predict_proba(rd.X, offset=rd.offset)
    binary = model.classes_.size == 2
    values = evaluate(rd.y, proba[:, 1] if binary else proba, threshold=threshold,
                      sample_weight=rd.w, labels=model.classes_)
    rows = [[head(label), number(num(values[key]), key, values[key])]
            for key, label in _METRIC_LABELS if key in values]
    return render(
        "metrics.html", metrics=Table("metrics", ["metric", "value"], rows), source=source,
        where=("on the data the model was fitted on (in-sample: expect worse on new data)"
               if in_sample else "on the data given"),
        decide=(f"decisions at P > {num(threshold)}" if binary
                else "decisions by the largest probability"),
        calibrated_by_construction=(in_sample and binary and getattr(model, "alpha", None) == 0
                                    and model.penalty != "firth" and model.fit_intercept))


# ------------------------------------------------------------------ figures
def figure_section(sid: str, title: str, intro: str, make, alt: str, caption: str,
                   tables=None):
    """A section of one figure (``make()`` draws it) with an intro and, below,
    ``tables()`` (a list of Tables; a ValueError says why they are missing).
    When the figure cannot be drawn (a ValueError) the section says why."""
    try:
        fig = figure(make(), alt, caption, f"fig-{sid}")
    except ValueError as err:
        return render("figure_section.html", id=sid, title=title, error=str(err))
    more, more_error = [], None
    if tables is not None:
        try:
            more = tables()
        except ValueError as err:
            more_error = str(err)
    return render("figure_section.html", id=sid, title=title, error=None, intro=intro, fig=fig,
                  tables=more, tables_error=more_error)


def calibration_table(rd: ReportData, n_bins: int = 10) -> list:
    """The calibration bins (quantiles of the predictions): range, rows, mean
    prediction, observed fraction and its Wilson interval, as ``[Table]``."""
    from ..evaluation.metrics import calibration_table as bins
    proba = rd.model.predict_proba(rd.X, offset=rd.offset)
    binary = rd.model.classes_.size == 2
    table = bins(rd.y, proba[:, 1] if binary else proba, n_bins=n_bins, strategy="quantile",
                 sample_weight=rd.w, labels=rd.model.classes_)
    rows = []
    for _, r in table.iterrows():
        observed, observed_ci = estimate_and_interval(r["observed"], r["ci_low"], r["ci_high"],
                                                      "observed", "ci", RATIO_DIGITS)
        d = shared_decimals(r["observed"], r["ci_low"], r["ci_high"], RATIO_DIGITS)
        rows.append([head(num(int(r["bin"]) + 1)),
                     interval(r["lower"], r["upper"], "range", None, RATIO_DIGITS),
                     number(num(int(r["count"]))),
                     number(fixed(r["mean_predicted"], d, RATIO_DIGITS), "mean_predicted",
                            r["mean_predicted"]), observed, observed_ci])
    return [Table("calibration-table", ["bin", "range", "rows", "mean predicted", "observed",
                                        "95% interval"], rows,
                  "Calibration by bins (quantiles of the predictions; Wilson intervals)")]


# ------------------------------------------------------------------ one prediction
def check_example_row(rd: ReportData, example_row) -> int:
    """The row to explain: ``example_row`` checked, or the first complete row."""
    if example_row is None:
        return int(np.flatnonzero(rd.used)[0])
    n_rows = len(rd.frame)
    if not isinstance(example_row, (int, np.integer)) or not 0 <= example_row < n_rows:
        raise ValueError(f"example_row {example_row!r} is out of range: the data have {n_rows} "
                         f"rows (0 to {n_rows - 1}).")
    if not rd.used[example_row]:
        raise ValueError(f"example_row {example_row} has missing values in the columns the "
                         "model uses; pick a complete row.")
    return int(example_row)


def explain_section(rd: ReportData, example_row: int, grouped: ReportData | None = None,
                    intro: str = ""):
    """One row worked through: contributions → logit → odds → probability (an
    ordinal model: contributions → η → cumulative logits → level probabilities; a
    mixed-effects model: its fixed and random parts, ``model.explain``). ``grouped``:
    the grouped binomial rows (the true outcome is then the row's proportion)."""
    from ..results.explain import explain_row
    from .plots import explain_plot
    pos = int(np.cumsum(rd.used)[example_row] - 1)       # position among the used rows
    X = rd.X.iloc[[pos]] if hasattr(rd.X, "iloc") else rd.X[[pos]]
    off = None if rd.offset is None else rd.offset[[pos]]
    truth = str(rd.y[pos])
    if grouped is not None and grouped.grouped:
        truth = f"proportion {num(grouped.y[pos], 4)} (weight {num(grouped.w[pos])})"
    context = {"row": example_row, "truth": truth, "intro": intro}
    if hasattr(rd.model, "thresholds_"):
        tables = _ordinal_explain_tables(rd.model.explain(X, 0, offset=off))
        return render("explain.html", tables=tables, fig=None, **context)
    fig = figure(explain_plot(rd.model, X, 0, off),
                 f"waterfall of the contributions for row {example_row}",
                 "Each bar starts where the previous one ended; the dark bar is their sum, "
                 "the logit.", "fig-explain")
    expl = rd.model.explain(X, 0, offset=off) if hasattr(rd.model, "random_design_") \
        else explain_row(rd.model, X, 0, off)
    return render("explain.html", tables=[_explain_table(expl)], fig=fig, **context)


def _signed(value) -> str:
    return f"{float(value) + 0.0:+.6f}"


def _ordinal_explain_tables(expl) -> list:
    """An ordinal explanation's three steps as tables: contributions and η, the
    cuts (ζ_k, ζ_k − η, P(y ≤ k)), the level probabilities and the decision."""
    rows = [[head(n), number(num(r["value"])), number(_signed(r["contribution"]))]
            for n, r in expl.terms.iterrows()]
    rows.append([head("η (sum)", step=True), number(""), number(_signed(expl.eta), "eta",
                                                                  expl.eta)])
    cuts = [[head(c), number(_signed(r["threshold"])), number(_signed(r["cum_logit"])),
             number(f"{r['cum_prob']:.6f}", value=r["cum_prob"])] for c, r in expl.cuts.iterrows()]
    levels = [[head(k), number(f"{p:.6f}", "probability", p),
               text("most probable" if k == expl.decision else "")]
              for k, p in expl.probabilities.items()]
    return [Table("explanation", ["term", "x", "coef × x"], rows),
            Table("explanation-cuts", ["cut", "ζ_k", "ζ_k − η (− x·γ_k)", "P(y ≤ k)"], cuts),
            Table("explanation-levels", ["level", "P(y = k)", ""], levels)]


def _explain_table(expl) -> Table:
    cols = list(expl.terms.columns[1:])
    binary = len(cols) == 1
    header = ["term", "x"] + (["coef × x"] if binary else [f"{c}: coef × x" for c in cols])
    rows = [[head(name), number(num(r["value"]))]
            + [number(_signed(r[c]), value=r[c]) for c in cols] for name, r in expl.terms.iterrows()]
    rows.append([head("logit z (sum)", step=True), number("")]
                + [number(_signed(z), "logit", z) for z in expl.logits])
    if binary:
        p = float(expl.probabilities[1])
        rows += [[head("odds = e^z", step=True), number(""),
                  number(num(expl.odds[0]), "odds", expl.odds[0])],
                 [head(f"P({expl.logit_classes[0]}) = odds / (1 + odds)", step=True), number(""),
                  number(f"{p:.6f}", "probability", p)],
                 [head(f"decision (P > {num(expl.threshold)})", step=True), number(""),
                  text(expl.decision)]]
    else:
        rows += [[head("softmax: P(class)", step=True), number("")]
                 + [number(f"{p:.6f}", "probability", p) for p in expl.probabilities],
                 [head("decision (largest P)", step=True), number(""), text(expl.decision)]
                 + [number("")] * (len(cols) - 1)]
    return Table("explanation", header, rows)


__all__ = ["calibration_table", "check_example_row", "coefficient_header", "coefficient_row",
           "data_section",
           "explain_section", "figure_section", "metrics_section", "model_section"]
