"""One self-contained HTML page about a fitted model: data, estimates, pictures, one prediction.

:func:`render_report` returns the page as a string, :func:`write_report`
writes it to a file. The page needs nothing else to be viewed: the figures of
:mod:`logitlab.report.plots` are embedded as base64 PNG images, the style sheet is
inline, there are no scripts, fonts or links to other sites. It reads on a
laptop screen (a centred column at most 60 rem wide, images scaled to the
column) and prints cleanly (``@media print``: no navigation, figures and
tables kept whole on a page, sections start on a new page where they would
otherwise break).

Sections: the data (rows, rows used, outcome balance, missing values per
column), the model (fit statistics and the coefficient table with odds ratios
and intervals, from :meth:`LogisticRegression.summary`), how good the
predictions are (:func:`logitlab.evaluation.metrics.evaluate`), the forest plot, the ROC
curve, the calibration curve with its table, the predicted probabilities per
class, the convergence trace, the regularization path when cross-validation
chose the penalty, and one prediction worked through (contributions → logit →
odds → probability, from :func:`logitlab.results.explain.explain_row`).

Every string that comes from the data or the user (column names, labels, the
formula, the title) is HTML-escaped. Metrics are computed on the rows given
(the fitting data unless other data are passed): in-sample numbers flatter a
model, and the page says so.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from .elements import esc, figure_html, table_html  # noqa: F401 (the page's pieces)


@dataclass
class ReportData:
    """What the report is computed from (after choosing the rows to evaluate).

    frame : the data as given (all rows), for the overview.
    X : what ``model.predict_proba`` takes, rows ``used`` only; y : (n_used,) labels;
    w : (n_used,) weights or None; offset : (n_used,) / (n_used, K) or None;
    used : (n_rows,) bool mask of the complete rows; y_name : outcome column or None.
    """

    model: object
    frame: pd.DataFrame
    X: object
    y: np.ndarray
    w: np.ndarray | None
    offset: np.ndarray | None
    used: np.ndarray
    y_name: str | None
    formula: str | None
    notes: list = field(default_factory=list)
    grouped: bool = False

    def bernoulli(self) -> "ReportData":
        """For grouped binomial rows (``y`` proportions, ``w`` trials): the same data as
        0/1 rows — each group once as its successes (y = 1) and once as its failures
        (y = 0), weighted by their counts — which the metrics, curves and the example
        need (a weighted 0/1 metric equals the grouped one). Others: self."""
        if not self.grouped:
            return self
        import dataclasses
        X = pd.concat([self.X, self.X]) if hasattr(self.X, "iloc") else np.vstack([self.X] * 2)
        n = len(self.y)
        offset = None if self.offset is None else np.concatenate([self.offset] * 2)
        return dataclasses.replace(
            self, X=X, y=np.concatenate([np.ones(n, dtype=int), np.zeros(n, dtype=int)]),
            w=np.concatenate([self.w * self.y, self.w * (1.0 - self.y)]), offset=offset,
            grouped=False)


# ------------------------------------------------------------------ inputs
def _as_frame(data, model) -> pd.DataFrame:
    """A pandas DataFrame of ``data`` (a table, a file path or a 2-D array)."""
    from ..data.io import read_table
    if isinstance(data, np.ndarray) or sp.issparse(data):
        arr = data.toarray() if sp.issparse(data) else np.asarray(data)
        if arr.ndim != 2:
            raise ValueError(f"data must be a table (2-D); got an array of shape {arr.shape}.")
        names = getattr(model, "feature_names_in_", None)
        cols = [str(n) for n in names] if names is not None and len(names) == arr.shape[1] \
            else [f"x{j}" for j in range(arr.shape[1])]
        return pd.DataFrame(arr, columns=cols)
    return read_table(data)


def _column_or_rows(value, df: pd.DataFrame, what: str):
    """``(column name or None, values (n,) or None)`` of a name or per-row values."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if value not in df.columns:
            raise ValueError(f"{what} {value!r} is not a column of the data; its columns are "
                             f"{', '.join(map(repr, map(str, df.columns)))}.")
        return value, df[value].to_numpy()
    values = np.asarray(value)
    if values.shape[0] != len(df):
        raise ValueError(f"{what} has {values.shape[0]} entries but the data have "
                         f"{len(df)} rows.")
    return None, values


def _fit_if_needed(model, df, y, formula, sample_weight, offset, missing):
    """The fitted model: ``model`` itself, or fitted here by formula or on (X, y)."""
    from ..estimators.logistic import LogisticRegression
    from ..estimators.formula_fit import fit as fit_formula
    model = LogisticRegression() if model is None else model
    if formula is not None:
        params = {k: v for k, v in model.get_params().items() if k != "fit_intercept"}
        return fit_formula(formula, df, missing=missing, sample_weight=sample_weight,
                           offset=offset, **params)
    try:
        check_is_fitted(model)
        return model
    except Exception:     # sklearn's NotFittedError
        pass
    if y is None:
        raise ValueError("the model is not fitted: pass formula='y ~ x1 + x2' (fit by "
                         "formula) or y= (the outcome) so that the report can fit it.")
    y_col, y_values = _column_or_rows(y, df, "y")
    _, w = _column_or_rows(sample_weight, df, "sample_weight")
    _, off = _column_or_rows(offset, df, "offset")
    X = df.drop(columns=[c for c in (y_col, *_names(sample_weight, offset)) if c is not None])
    return model.fit(X, y_values, sample_weight=w, offset=off)


def _names(*values):
    return [v for v in values if isinstance(v, str)]


def _design_columns(model, df: pd.DataFrame, y_col, extra) -> tuple[list, object]:
    """``(columns the predictions need, how to select X)`` for formula or plain models."""
    design = getattr(model, "design_", None)
    if design is not None:
        return [c for c in df.columns if c in set(design.variables)], None
    names = getattr(model, "feature_names_in_", None)
    if names is not None and set(map(str, names)) <= set(map(str, df.columns)):
        return [c for c in df.columns if str(c) in set(map(str, names))], list(names)
    cols = [c for c in df.columns if c != y_col and c not in extra]
    return cols, cols


def prepare(model, data, *, y=None, formula=None, sample_weight=None, offset=None,
            missing: str = "raise") -> ReportData:
    """Fit if needed and pick the rows to evaluate (those complete in every used column)."""
    caught_notes = []
    df = _as_frame(data, model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _fit_if_needed(model, df, y, formula, sample_weight, offset, missing)
    caught_notes += [f"{w.category.__name__}: {w.message}" for w in caught]
    design = getattr(model, "design_", None)
    if y is None and design is not None:
        y = design.response
    from ..data.binomial import cbind_response
    counts = cbind_response(y, df) if isinstance(y, str) and design is not None else None
    if counts is not None:                 # cbind(s, f): proportions, the trials as weights
        trials = counts.successes + counts.failures
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(trials > 0, counts.successes / np.where(trials > 0, trials, 1.0), np.nan)
        base = None if sample_weight is None else _column_or_rows(sample_weight, df,
                                                                   "sample_weight")[1]
        sample_weight = trials * (1.0 if base is None else np.asarray(base, dtype=float))
    if y is None:
        raise ValueError("pass y= (the outcome column or values): the model has no formula "
                         "that names its response.")
    y_col, y_values = _column_or_rows(y, df, "y")
    _, w = _column_or_rows(sample_weight, df, "sample_weight")
    _, off = _column_or_rows(offset, df, "offset")
    extra = _names(sample_weight, offset)
    cols, select = _design_columns(model, df, y_col, extra)
    check = df[cols].copy()
    check["__y__"] = pd.isna(pd.Series(y_values, index=df.index))
    used = ~(pd.isna(df[cols]).any(axis=1).to_numpy() | check["__y__"].to_numpy())
    for values in (w, off):
        if values is not None:
            used &= ~pd.isna(pd.DataFrame(np.asarray(values).reshape(len(df), -1))).any(axis=1).to_numpy()
    if not used.any():
        raise ValueError("no row of the data is complete in the columns the model uses; "
                         "fill in or drop the missing values first.")
    rows = df.loc[used]
    X = rows if select is None else rows[select]
    data_obj = ReportData(model=model, frame=df, X=X, y=np.asarray(y_values)[used],
                          w=None if w is None else np.asarray(w, dtype=float)[used],
                          offset=None if off is None else np.asarray(off, dtype=float)[used],
                          used=used, y_name=y_col,
                          formula=None if design is None else design.formula, notes=caught_notes,
                          grouped=counts is not None)
    if counts is not None:
        data_obj.y_name = counts.name
        data_obj.notes.append(f"Grouped binomial response {counts.name}: the diagnostics use the "
                              "groups (proportions with their trials as weights); the metrics "
                              "and curves count each group's successes and failures as 0/1 "
                              "rows weighted by their counts.")
    if (~used).any():
        data_obj.notes.append(f"{int((~used).sum())} of {len(df)} rows have missing values in "
                              "the columns the model uses; the metrics and figures use the "
                              f"other {int(used.sum())} rows.")
    return data_obj


# ------------------------------------------------------------------ formatting
def num(value, digits: int = 6) -> str:
    """A number as text: ``digits`` significant digits, '–' when it does not exist."""
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


def _pvalue(p) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return f"{p:.4g}" if p >= 1e-4 else f"{p:.2e}"


def _attr(value) -> str:
    """Full-precision value for a ``data-value`` attribute (machine-readable)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return esc(repr(float(value)), quote=True)


def _unavailable(what: str, err: Exception) -> str:
    return f"<p class='unavailable'>{esc(what)} is not available: {esc(str(err))}</p>"


def _section(sid: str, title: str, body: str) -> str:
    return f"<section id='{sid}'><h2>{esc(title)}</h2>{body}</section>"


# ------------------------------------------------------------------ sections
def data_section(rd: ReportData) -> str:
    """Rows, rows used, outcome balance and missing values per column."""
    df, n_used = rd.frame, int(rd.used.sum())
    facts = [("rows in the data", len(df), "n_rows"), ("rows used (complete)", n_used, "n_used"),
             ("columns", df.shape[1], "n_columns")]
    if rd.w is not None:
        facts.append(("sum of the sample weights (used rows)", float(rd.w.sum()), "weight_sum"))
    rows = [[esc(label), (num(v), f" data-key='{key}' data-value='{_attr(v)}'")]
            for label, v, key in facts]
    parts = [f"<div><h3>Rows</h3>{table_html(['', 'value'], rows, table_id='data-facts')}</div>",
             f"<div>{_balance_table(rd)}</div>", f"<div>{_missing_table(df)}</div>"]
    return _section("data", "Data", f"<div class='row'>{''.join(parts)}</div>")


def _balance_table(rd: ReportData) -> str:
    classes = rd.model.classes_
    w = np.ones(rd.y.size) if rd.w is None else rd.w
    rows = []
    for c in classes:
        hit = rd.y == c
        share = float(w[hit].sum() / w.sum())
        row = [esc(str(c)), num(int(hit.sum()))]
        if rd.w is not None:
            row.append(num(float(w[hit].sum())))
        row.append((f"{100 * share:.1f}%", f" data-value='{_attr(share)}'"))
        rows.append(row)
    header = ["class", "rows"] + (["weight"] if rd.w is not None else []) + ["share"]
    name = f"outcome {esc(str(rd.y_name))}" if rd.y_name is not None else "outcome"
    return ("<h3>Outcome balance</h3>"
            + table_html(header, rows, table_id="balance",
                         caption=f"{name}, used rows" + (" (share by weight)" if rd.w is not None
                                                         else "")))


def _missing_table(df: pd.DataFrame, max_rows: int = 40) -> str:
    missing = pd.isna(df).sum(axis=0)
    shown = missing if len(missing) <= max_rows else missing[missing > 0]
    if int(missing.sum()) == 0:
        return "<h3>Missing values</h3><p id='missing-none'>No missing values in any column.</p>"
    rows = [[esc(str(col)), (num(int(k)), f" data-value='{int(k)}'"),
             f"{100 * k / len(df):.1f}%"] for col, k in shown.items()]
    note = "" if len(shown) == len(missing) else \
        f" ({len(missing) - len(shown)} columns without missing values not listed)"
    return ("<h3>Missing values</h3>"
            + table_html(["column", "missing", "share"], rows, table_id="missing",
                         caption="per column, all rows" + note))


def model_section(rd: ReportData, level: float, ci: str | None) -> str:
    """Fit statistics and the coefficient table (from the model's summary; ``ci``
    None: the model's default interval method)."""
    summary = rd.model.summary(level=level, ci=ci)
    ci = summary.header.get("ci_method") or "no"
    lr = summary.header.get("p_method") == "lr"
    lines = "".join(f"<li>{esc(re.sub(r'  +', ' · ', line))}</li>"
                    for line in summary.header_lines())
    formula = f"<p class='formula'><code>{esc(rd.formula)}</code></p>" if rd.formula else ""
    table = summary.to_frame()
    pct = f"{100 * level:g}%"
    test = ["χ² (LR)", "P&gt;χ²"] if lr else ["z", "P&gt;|z|"]
    header = ["term", "coef", "std err", *test, f"{pct} interval", "odds ratio",
              f"{pct} interval"]
    multinomial = isinstance(table.index, pd.MultiIndex)
    if multinomial:
        header.insert(0, "class")
    rows = []
    for label, r in table.iterrows():
        rows.append(_coef_row(label, r, multinomial, "lr_chi2" if lr else "z"))
    notes = "".join(f"<p class='note'>Note: {esc(n)}</p>" for n in summary.notes)
    caption = (f"Estimates with {pct} {esc(ci)} intervals; odds ratio = e^coef"
               + (f" (relative-risk ratio against class {esc(str(rd.model.reference_class_))})"
                  if multinomial else ""))
    body = (f"{formula}<ul class='facts'>{lines}</ul>"
            + table_html(header, rows, table_id="coefficients", numeric_from=2 if multinomial
                         else 1, caption=caption) + notes)
    return _section("model", "Model", body)


def _coef_row(label, r, multinomial: bool, statistic: str = "z") -> list:
    term = label[1] if multinomial else label
    special = ("(aliased)" if r.get("aliased") else
               {"+inf": "+∞", "-inf": "−∞", "either sign": "±∞"}.get(r.get("infinite"))
               if isinstance(r.get("infinite"), str) else None)
    attrs = f" data-term='{esc(str(term), quote=True)}'"
    cells = [(esc(str(label[0])), "")] if multinomial else []
    cells.append((esc(str(term)), attrs))
    if special:
        return cells + [(esc(special), " data-key='coef'")] + ["–"] * 6
    for key in ["coef", "std_err", statistic, "p_value", "ci", "odds_ratio", "or_ci"]:
        if key in ("ci", "or_ci"):
            lo, hi = float(r[f"{key}_low"]), float(r[f"{key}_high"])
            text = "–" if math.isnan(lo) and math.isnan(hi) else (
                f"<span data-key='{key}_low' data-value='{_attr(lo)}'>{num(lo, 4)}</span> to "
                f"<span data-key='{key}_high' data-value='{_attr(hi)}'>{num(hi, 4)}</span>")
            cells.append((text, ""))
            continue
        v = float(r[key])
        text = _pvalue(v) if key == "p_value" else num(v, 4 if key in ("z", "lr_chi2",
                                                                   "odds_ratio") else 6)
        cells.append((text, f" data-key='{key}' data-value='{_attr(v)}'"))
    return cells


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


def metrics_section(rd: ReportData, threshold: float, in_sample: bool) -> str:
    """The scalar metrics of :func:`logitlab.evaluation.metrics.evaluate` on the used rows."""
    from ..evaluation.metrics import evaluate
    proba = rd.model.predict_proba(rd.X, offset=rd.offset)
    binary = rd.model.classes_.size == 2
    values = evaluate(rd.y, proba[:, 1] if binary else proba, threshold=threshold,
                      sample_weight=rd.w, labels=rd.model.classes_)
    rows = [[esc(label), (num(values[key]), f" data-key='{key}' data-value='{_attr(values[key])}'")]
            for key, label in _METRIC_LABELS if key in values]
    where = ("on the data the model was fitted on (in-sample: expect worse on new data)"
             if in_sample else "on the data given")
    decide = (f"decisions at P &gt; {num(threshold)}" if binary
              else "decisions by the largest probability")
    text = f"<p>Computed {where}, from the predicted probabilities; {decide}.</p>"
    model = rd.model
    if in_sample and binary and model.alpha == 0 and model.penalty != "firth" \
            and model.fit_intercept:
        text += ("<p class='note'>In-sample, a maximum-likelihood fit with an intercept has "
                 "calibration intercept 0 and slope 1 by construction (its score equations): "
                 "judge calibration on new data.</p>")
    return _section("metrics", "How good are the predictions?",
                    text + table_html(["metric", "value"], rows, table_id="metrics"))


def _figure_section(sid: str, title: str, intro: str, make, alt: str, caption: str) -> str:
    try:
        fig = make()
    except ValueError as err:
        return _section(sid, title, _unavailable(title, err))
    return _section(sid, title, f"<p>{intro}</p>" + figure_html(fig, alt, caption, f"fig-{sid}"))


def calibration_table_html(rd: ReportData, n_bins: int = 10) -> str:
    from ..evaluation.metrics import calibration_table
    proba = rd.model.predict_proba(rd.X, offset=rd.offset)
    binary = rd.model.classes_.size == 2
    table = calibration_table(rd.y, proba[:, 1] if binary else proba, n_bins=n_bins,
                              strategy="quantile", sample_weight=rd.w,
                              labels=rd.model.classes_)
    rows = [[num(int(r["bin"]) + 1), f"{num(r['lower'], 3)} – {num(r['upper'], 3)}",
             num(int(r["count"])), num(r["mean_predicted"], 4), num(r["observed"], 4),
             f"{num(r['ci_low'], 3)} – {num(r['ci_high'], 3)}"] for _, r in table.iterrows()]
    return table_html(["bin", "range", "rows", "mean predicted", "observed", "95% interval"],
                      rows, table_id="calibration-table", caption="Calibration by bins "
                      "(quantiles of the predictions; Wilson intervals)")


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


def explain_section(rd: ReportData, example_row: int) -> str:
    """One row worked through: contributions → logit → odds → probability."""
    from ..results.explain import explain_row
    from .plots import explain_plot
    pos = int(np.cumsum(rd.used)[example_row] - 1)       # position among the used rows
    X = rd.X.iloc[[pos]] if hasattr(rd.X, "iloc") else rd.X[[pos]]
    off = None if rd.offset is None else rd.offset[[pos]]
    if hasattr(rd.model, "thresholds_"):          # ordinal: η → cumulative logits → levels
        return _section("example", "One prediction explained",
                        f"<p>Row {example_row} of the data (counting from 0), true outcome "
                        f"<strong>{esc(str(rd.y[pos]))}</strong>.</p>"
                        + _ordinal_explain_tables(rd.model.explain(X, 0, offset=off)))
    expl = explain_row(rd.model, X, 0, off)
    fig = explain_plot(rd.model, X, 0, off)
    body = (f"<p>Row {example_row} of the data (counting from 0), true outcome "
            f"<strong>{esc(str(rd.y[pos]))}</strong>.</p>" + _explain_table(expl)
            + figure_html(fig, f"waterfall of the contributions for row {example_row}",
                          "Each bar starts where the previous one ended; the dark bar is their "
                          "sum, the logit.", "fig-explain"))
    return _section("example", "One prediction explained", body)


def _ordinal_explain_tables(expl) -> str:
    """An ordinal explanation's three steps as tables: contributions and η, the
    cuts (ζ_k, ζ_k − η, P(y ≤ k)), the level probabilities and the decision."""
    rows = [[esc(str(n)), num(r["value"]), f"{r['contribution'] + 0.0:+.6f}"]
            for n, r in expl.terms.iterrows()]
    rows.append([("η (sum)", " class='step'"), "",
                 (f"{expl.eta:+.6f}", f" data-key='eta' data-value='{_attr(expl.eta)}'")])
    cut_rows = [[esc(str(c)), f"{r['threshold']:+.6f}", f"{r['cum_logit']:+.6f}",
                 (f"{r['cum_prob']:.6f}", f" data-value='{_attr(r['cum_prob'])}'")]
                for c, r in expl.cuts.iterrows()]
    level_rows = [[esc(str(k)), (f"{p:.6f}", f" data-key='probability' data-value='{_attr(p)}'"),
                   "most probable" if k == expl.decision else ""]
                  for k, p in expl.probabilities.items()]
    return (table_html(["term", "x", "coef × x"], rows, table_id="explanation")
            + table_html(["cut", "ζ_k", "ζ_k − η (− x·γ_k)", "P(y ≤ k)"], cut_rows,
                         table_id="explanation-cuts")
            + table_html(["level", "P(y = k)", ""], level_rows, table_id="explanation-levels"))


def _explain_table(expl) -> str:
    cols = list(expl.terms.columns[1:])
    binary = len(cols) == 1
    header = ["term", "x"] + (["coef × x"] if binary else [f"{esc(c)}: coef × x" for c in cols])
    rows = []
    for name, r in expl.terms.iterrows():
        rows.append([esc(str(name)), num(r["value"])] +
                    [(f"{r[c] + 0.0:+.6f}", f" data-value='{_attr(r[c])}'") for c in cols])
    rows.append([("logit z (sum)", " class='step'"), ""] +
                [(f"{z:+.6f}", f" data-key='logit' data-value='{_attr(z)}'") for z in expl.logits])
    if binary:
        p = float(expl.probabilities[1])
        rows.append([("odds = e^z", " class='step'"), "",
                     (num(expl.odds[0]), f" data-key='odds' data-value='{_attr(expl.odds[0])}'")])
        rows.append([(f"P({esc(str(expl.logit_classes[0]))}) = odds / (1 + odds)",
                      " class='step'"), "", (f"{p:.6f}", f" data-key='probability' "
                                                f"data-value='{_attr(p)}'")])
        rows.append([(f"decision (P &gt; {num(expl.threshold)})", " class='step'"), "",
                     esc(str(expl.decision))])
    else:
        rows.append([("softmax: P(class)", " class='step'"), ""] +
                    [(f"{p:.6f}", f" data-key='probability' data-value='{_attr(p)}'")
                     for p in expl.probabilities])
        rows.append([("decision (largest P)", " class='step'"), "", esc(str(expl.decision))]
                    + [""] * (len(cols) - 1))
    return table_html(header, rows, table_id="explanation")


# ------------------------------------------------------------------ the page
def render_report(model=None, data=None, *, y=None, formula=None, title=None,
                  sample_weight=None, offset=None, example_row: int | None = None, cv_model=None,
                  missing: str = "raise", level: float = 0.95, ci: str | None = None,
                  in_sample: bool | None = None) -> str:
    """The report as one HTML string (see the module docstring).

    Parameters
    ----------
    model : LogisticRegression or None
        A fitted :class:`logitlab.LogisticRegression`; or an unfitted one
        (or None) with ``formula=`` (fitted by :func:`logitlab.fit` with the
        model's parameters) or ``y=`` (fitted on ``data`` minus the outcome).
    data : DataFrame, path or array
        The rows to describe and evaluate: a DataFrame (pandas, polars,
        pyarrow, dict of columns), a file path, or a 2-D array.
    y : str or array-like, optional
        Outcome column name or values (default: the formula's response).
    sample_weight, offset : str or array-like, optional
        Column names or per-row values.
    example_row : int, optional
        The row (0-based, of ``data``) explained step by step (default: the
        first complete row).
    cv_model : LogisticRegressionCV, optional
        A fitted ``LogisticRegressionCV`` whose regularization path to show
        (default: ``model.cv_`` of a ``logitlab.fit(..., cv=k)`` model; a
        ``LogisticRegressionCV`` passed as ``model`` reports its ``best_estimator_``
        and shows its path).
    level, ci : float, str or None
        The intervals' level and method (``"wald"``, ``"profile"``; None: the
        model's default, profile for Firth fits, Wald otherwise).
    in_sample : bool, optional
        Whether ``data`` are the fitting data: True says so next to the
        metrics (in-sample numbers flatter a model). Default: True when the report
        fitted the model itself, otherwise False ("on the data given").
    """
    if data is None:
        raise ValueError("pass the data to report on (a table, a file path or an array).")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1; got {level}.")
    from .plots import calibration_plot, convergence_plot, forest_plot, proba_plot, roc_plot
    if hasattr(model, "alphas_") and hasattr(model, "best_estimator_"):   # LogisticRegressionCV
        cv_model, model = (cv_model if cv_model is not None else model), model.best_estimator_
    fitted_here = formula is not None or not _is_fitted(model)
    grouped_rd = prepare(model, data, y=y, formula=formula, sample_weight=sample_weight,
                         offset=offset, missing=missing)
    rd = grouped_rd.bernoulli()       # 0/1 rows (the same object unless the response is cbind)
    model = rd.model
    if model.results_.layout.conditional:
        return _conditional_page(rd, title, level, ci)
    if cv_model is None:
        cv_model = getattr(model, "cv_", None)        # logitlab.fit(..., cv=k)
    in_sample = fitted_here if in_sample is None else bool(in_sample)
    example_row = check_example_row(rd, example_row)
    threshold = getattr(model, "threshold", None)
    threshold = 0.5 if threshold is None else float(threshold)
    args = (model, rd.X, rd.y)
    kw = {"sample_weight": rd.w, "offset": rd.offset}
    sections = [
        ("data", "Data", data_section(rd)),
        ("model", "Model", model_section(rd, level, ci)),
        ("metrics", "Metrics", metrics_section(rd, threshold, in_sample)),
        ("forest", "Odds ratios", _figure_section(
            "forest", "Odds ratios", "Each point is e^coef, the factor by which the odds of the "
            "outcome change per unit of the term; the bars are the confidence intervals. The "
            "dashed line at 1 is no effect.", lambda: forest_plot(model, level=level, ci=ci),
            "forest plot of the odds ratios", "Odds ratios with intervals (log scale).")),
        ("roc", "ROC curve", _figure_section(
            "roc", "ROC curve", "How well the predicted probability ranks the rows: the share "
            "of events found (true-positive rate) against the share of non-events flagged "
            "(false-positive rate), over all thresholds.", lambda: roc_plot(*args, **kw),
            "ROC curve", "ROC curve; the area under it (AUC) is in the legend.")),
        ("calibration", "Calibration", _figure_section(
            "calibration", "Calibration", "Do the probabilities mean what they say? Rows are "
            "grouped by predicted probability; in each group the observed event fraction should "
            "match the mean prediction (the diagonal).",
            lambda: calibration_plot(*args, **kw), "reliability diagram",
            "Observed fraction against mean predicted probability, with 95% intervals; below, "
            "how the predictions are spread.") + _safe(lambda: calibration_table_html(rd))),
        ("probabilities", "Predicted probabilities", _figure_section(
            "probabilities", "Predicted probabilities", "The predicted probabilities of the "
            "rows of each true class: the less the histograms overlap, the better the model "
            "separates the classes.", lambda: proba_plot(*args, **kw),
            "histograms of predicted probabilities by true class",
            "Share of each true class's rows per probability bin.")),
        ("convergence", "Convergence", _figure_section(
            "convergence", "Convergence", f"The solver '{esc(str(model.solver_))}': the "
            "objective's distance to its minimum and the gradient's max-norm at every "
            "iteration. Converged means max |gradient| ≤ tol.",
            lambda: convergence_plot(model), "convergence trace",
            "Objective gap and gradient norm per iteration (log scale).")),
    ]
    from .diagnostics import diagnostics_sections
    sections += diagnostics_sections(grouped_rd, in_sample)   # binary models with inference
    from .margins import margins_section
    sections.append(("margins", "Marginal effects", margins_section(model, rd.X, level, rd.w,
                                                                    rd.offset)))
    if cv_model is not None:
        sections.append(("path", "Regularization path", _path_section(cv_model)))
    sections.append(("example", "One prediction", explain_section(rd, example_row)))
    title = title or ("Logistic regression: " + rd.formula if rd.formula
                      else "Logistic regression report")
    return _page(title, sections, rd)


def _conditional_page(rd: ReportData, title, level: float, ci) -> str:
    """The report of a conditional logit: the data, the model (with clogit's three
    tests), the odds ratios and the convergence. Its predictions are probabilities
    within strata, which the metrics, curves and the example of the other families
    do not take: the page says so."""
    from .plots import convergence_plot, forest_plot
    model = rd.model
    rd.notes.append("Conditional logit: predictions are probabilities within a stratum "
                    "(model.predict_proba(X, strata)), so the page shows no metrics, ROC, "
                    "calibration or example row.")
    sections = [
        ("data", "Data", data_section(rd)),
        ("model", "Model", model_section(rd, level, ci)),
        ("forest", "Odds ratios", _figure_section(
            "forest", "Odds ratios", "Each point is e^coef, the factor by which the odds of being "
            "a case change per unit of the term within a stratum; the bars are the confidence "
            "intervals. The dashed line at 1 is no effect.",
            lambda: forest_plot(model, level=level, ci=ci), "forest plot of the odds ratios",
            "Odds ratios with intervals (log scale).")),
        ("convergence", "Convergence", _figure_section(
            "convergence", "Convergence", f"The solver '{esc(str(model.solver_))}': the "
            "objective's distance to its minimum and the gradient's max-norm at every "
            "iteration.", lambda: convergence_plot(model), "convergence trace",
            "Objective gap and gradient norm per iteration (log scale).")),
    ]
    title = title or ("Conditional logistic regression: " + rd.formula if rd.formula
                      else "Conditional logistic regression report")
    return _page(title, sections, rd)


def _path_section(cv_model) -> str:
    from .plots import path_plot
    return _figure_section(
        "path", "Regularization path", "Coefficients as the penalty alpha grows (left) and "
        "the cross-validated score with ± one standard error across folds (right); the "
        "solid line marks the chosen alpha, the dotted ones the alpha with the best mean "
        "score and the largest alpha within one standard error of it.", lambda: path_plot(cv_model),
        "regularization path", "Regularization path and cross-validation curve.")


def _safe(make, what: str = "This part") -> str:
    try:
        return make()
    except ValueError as err:
        return _unavailable(what, err)


def _is_fitted(model) -> bool:
    if model is None:
        return False
    try:
        check_is_fitted(model)
        return True
    except Exception:
        return False


def _page(title: str, sections: list, rd: ReportData) -> str:
    from ..core.version import __version__
    nav = "".join(f"<li><a href='#{sid}'>{esc(name)}</a></li>" for sid, name, _ in sections)
    notes = "".join(f"<li>{esc(n)}</li>" for n in rd.notes)
    notes = f"<aside class='warnings'><h2>Warnings</h2><ul>{notes}</ul></aside>" if notes else ""
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = "".join(html_ for _, _, html_ in sections)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
            f"<header><h1>{esc(title)}</h1><p class='meta'>logitlab {esc(__version__)} · "
            f"{esc(stamp)}</p></header><nav aria-label='contents'><ol>{nav}</ol></nav>"
            f"{notes}{body}<footer><p>Made by logitlab. Self-contained: images are embedded, "
            f"nothing is loaded from elsewhere.</p></footer></main></body></html>\n")


def write_report(model=None, data=None, *, out="report.html", **kwargs) -> Path:
    """Write :func:`render_report`'s page to ``out`` (atomically) and return its path."""
    page = render_report(model, data, **kwargs)
    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(f"cannot write the report to {str(out)!r}: it is a directory.")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:     # the usual permissions (umask)
            fh.write(page)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d8dce3; --band: #f4f6f9; --accent: #0072B2; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; line-height: 1.25; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
.meta, footer, figcaption, caption, .note { color: var(--muted); font-size: .9rem; }
nav ol { display: flex; flex-wrap: wrap; gap: .25rem 1.1rem; padding: .6rem 1rem;
  margin: 1rem 0; background: var(--band); border-radius: 6px; list-style-position: inside; }
nav a { color: var(--accent); text-decoration: none; }
code { font: .95rem ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
.formula code { background: var(--band); padding: .15rem .4rem; border-radius: 4px; }
ul.facts { padding-left: 1.1rem; margin: .4rem 0 .8rem; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; }
table { border-collapse: collapse; font-size: .875rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; caption-side: bottom; padding-top: .3rem; }
th, td { padding: .3rem .55rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); white-space: nowrap; }
tbody th { font-weight: normal; white-space: nowrap; }
tbody th.long { white-space: normal; overflow-wrap: anywhere; min-width: 12rem; }
td.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: var(--band); }
th.step { font-weight: 600; }
.row { display: flex; flex-wrap: wrap; gap: 0 2.5rem; align-items: flex-start; }
figure { margin: 1rem 0 1.5rem; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { margin-top: .4rem; text-align: center; }
.unavailable { padding: .6rem .9rem; background: #fff4e5; border-left: 4px solid #E69F00; }
aside.warnings { padding: .3rem 1rem; background: #fff4e5; border-left: 4px solid #E69F00;
  margin: 1rem 0; }
aside.warnings h2 { font-size: 1.05rem; border: 0; margin: .5rem 0 .2rem; }
footer { margin-top: 3rem; border-top: 1px solid var(--line); padding-top: .6rem; }
@media (max-width: 40rem) { html { font-size: 15px; } main { padding: 1rem .75rem; } }
@media print {
  @page { margin: 15mm 12mm; }
  html { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav, footer { display: none; }
  a { color: inherit; text-decoration: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, table, tr, .unavailable { break-inside: avoid; page-break-inside: avoid; }
  figure img { max-height: 22cm; width: auto; }
  .table-wrap { overflow: visible; }
  tbody tr:nth-child(even) { background: none; }
}
"""

__all__ = ["render_report", "write_report", "prepare", "ReportData"]
