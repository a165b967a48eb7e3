"""Figures of a fitted model, one function each; every one returns a matplotlib Figure.

No pyplot anywhere: each figure is a :class:`ReportFigure` (a
``matplotlib.figure.Figure`` with its own Agg canvas), so nothing is added to
pyplot's global list of figures, nothing is shown by surprise and no backend is
switched. In a notebook a returned figure displays itself (``_repr_png_``);
``fig.savefig("roc.png")`` writes it.

=====================  ==============================================================
``forest_plot``        odds ratios ``e^β`` with their intervals, log scale, line at 1
``roc_plot``           ROC curve (binary) or one-vs-rest curves (multiclass), with AUC
``calibration_plot``   reliability diagram with intervals, histogram of predictions
``proba_plot``         distribution of the predicted probabilities, by true class
``convergence_plot``   objective gap and gradient norm per iteration (``history_``)
``path_plot``          regularization path and cross-validated score ± SE
``explain_plot``       one prediction as a waterfall: contributions → logit
``caterpillar_plot``   a mixed model's conditional modes of the random effects ± z SD
=====================  ==============================================================

The plotted data are exposed for checking: artists carry a ``gid`` naming what
they show (``"odds_ratio"``, ``"interval"``, ``"roc:<class>"``, ...).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .formatting import interval_texts

#: colours of the classes / series (colour-blind safe, Okabe & Ito)
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000"]
POSITIVE, NEGATIVE, TOTAL = "#D55E00", "#0072B2", "#444444"


class ReportFigure(Figure):
    """A matplotlib Figure that shows itself in notebooks without pyplot (``_repr_png_``)."""

    def _repr_png_(self):
        return figure_png(self)


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kw):
    """A pyplot-free figure (Agg canvas, constrained layout) and its axes array."""
    fig = ReportFigure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def wrap_label(text, width: int = 28) -> str:
    """A tick label or title longer than ``width`` characters broken into lines
    (long names would otherwise squeeze the axes to nothing); shorter ones as they are."""
    import textwrap
    text = str(text)
    return text if len(text) <= width else textwrap.fill(text, width, break_on_hyphens=False)


def figure_png(fig, dpi: int = 150) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


# ------------------------------------------------------------------ inputs
def _labels(model, y) -> np.ndarray:
    """``y`` as a 1-D array of labels, checked against ``model.classes_``."""
    y = np.asarray(pd.Series(y).to_numpy() if isinstance(y, (pd.Series, pd.Categorical)) else y)
    if y.ndim != 1:
        raise ValueError(f"y must be one label per row (1-D); got shape {y.shape}.")
    unknown = ~np.isin(y, model.classes_)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise ValueError(f"y has labels the model does not know (first {y[row]!r} in row {row}); "
                         f"the model's classes are {list(model.classes_)}.")
    return y


def _weights(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=np.float64).ravel()
    if w.shape != (n,):
        raise ValueError(f"sample_weight has {w.size} entries but the data have {n} rows.")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    return w


def _predictions(model, X, y, sample_weight, offset=None):
    """``(y, P, w)``: labels (n,), predicted probabilities (n, K), weights (n,)."""
    P = np.asarray(model.predict_proba(X, offset=offset), dtype=np.float64)
    y = _labels(model, y)
    if y.size != P.shape[0]:
        raise ValueError(f"y has {y.size} labels but X has {P.shape[0]} rows.")
    return y, P, _weights(sample_weight, y.size)


def _threshold(model) -> float:
    t = getattr(model, "threshold", None)
    return 0.5 if t is None else float(t)


# ------------------------------------------------------------------ forest plot
def forest_plot(model, level: float = 0.95, ci: str | None = None, intercept: bool = False):
    """Odds ratios ``e^β`` with their ``level`` intervals, on a log axis with a line at 1.

    One panel per compared class for multinomial models (relative-risk ratios
    against the reference class). Terms with an infinite estimate (separation)
    or aliased ones are left out and named below the plot; penalized fits have
    no intervals and show the points only. Artists: ``gid="odds_ratio"`` (a
    line of points, x = odds ratio, y = row position) and ``gid="interval"``
    (a LineCollection with one segment ``[(lo, y), (hi, y)]`` per term). ``ci``:
    ``"wald"``, ``"profile"`` or None (the summary's default for the model).
    """
    summary = model.summary(level=level, **({} if ci is None else {"ci": ci}))
    ci = (getattr(summary, "header", None) or {}).get("ci_method") \
        or getattr(summary, "ci_method", None) or "no"       # a mixed model's summary: no header
    table = summary.to_frame()
    if "kind" in table.columns:            # an ordinal model's cut points are no odds ratios
        table = table[table["kind"] != "threshold"]
    if isinstance(table.index, pd.MultiIndex) and model.reference_class_ in \
            set(table.index.get_level_values(0)):
        table = _versus_reference(model)     # symmetric (penalized) fit: no intervals
    if isinstance(table.index, pd.MultiIndex):
        groups = [(f"{cls} vs {model.reference_class_}", table.xs(cls, level=0))
                  for cls in table.index.get_level_values(0).unique()]
    else:
        groups = [(None, table)]
    n_terms = max(len(t) for _, t in groups)
    extra_lines = max(sum(wrap_label(n).count("\n") for n in t.index) for _, t in groups)
    fig, axes = new_figure(7.2 if len(groups) == 1 else 4.2 * min(len(groups), 3),
                           1.3 + 0.34 * n_terms + 0.17 * extra_lines, 1, len(groups),
                           sharey=True)
    left_out = []
    for ax, (title, sub) in zip(axes[0], groups):
        left_out += _forest_panel(ax, sub, intercept, title)
    axes[0, 0].set_ylabel("term")
    pct = f"{100 * level:g}%"
    kind = "relative-risk ratio" if len(groups) > 1 else "odds ratio"
    fig.suptitle(f"{kind.capitalize()}s e^β with {pct} {ci} intervals (log scale)", fontsize=11)
    notes = []
    if left_out:
        notes.append("not shown: " + ", ".join(sorted(set(left_out))))
    if getattr(model, "alpha", 0) > 0 and model.penalty not in (None, "none", "firth"):
        notes.append("no intervals (penalized fit: shrunk estimates)")
    if notes:
        fig.supxlabel("; ".join(notes), fontsize=8, color="#555555")
    return fig


def _versus_reference(model) -> pd.DataFrame:
    """Relative-risk ratios of a symmetric multinomial fit against the reference class."""
    from ..results.explain import feature_names
    names = feature_names(model, model.coef_.shape[1])
    rows = []
    for cls, b, beta in zip(model.other_classes_, model.intercept_vs_reference_,
                            model.coef_vs_reference_):
        rows += [(cls, "(Intercept)", b)] + [(cls, n, v) for n, v in zip(names, beta)]
    index = pd.MultiIndex.from_tuples([r[:2] for r in rows], names=["class", "term"])
    coef = np.array([r[2] for r in rows], dtype=float)
    with np.errstate(over="ignore"):
        return pd.DataFrame({"coef": coef, "odds_ratio": np.exp(coef), "or_ci_low": np.nan,
                             "or_ci_high": np.nan, "aliased": False, "infinite": None},
                            index=index)


def _plain_tick(value, _pos) -> str:
    return f"{value:g}"


def _log_ticks(ax, axis: str = "x"):
    """Log-axis ticks at 1, 2, 5 × 10^k written as plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(_plain_tick))
    target.set_minor_formatter(NullFormatter())


def _forest_panel(ax, table: pd.DataFrame, intercept: bool, title) -> list:
    """Draw one class's odds ratios; returns the labels of terms left out."""
    keep, left_out = [], []
    for name, row in table.iterrows():
        if name == "(Intercept)" and not intercept:
            continue
        bad = bool(row.get("aliased")) or isinstance(row.get("infinite"), str) \
            or not np.isfinite(row["odds_ratio"]) or row["odds_ratio"] <= 0
        (left_out if bad else keep).append(name)
    sub = table.loc[keep] if keep else table.iloc[:0]
    if sub.empty:
        ax.text(0.5, 0.5, "no finite odds ratio to show\n(infinite or aliased estimates)",
                ha="center", va="center", transform=ax.transAxes, color="#555555")
        ax.set_xticks([])
        ax.set_yticks([])
        if title:
            ax.set_title(wrap_label(title, 40), fontsize=10)
        return [str(n) for n in left_out]
    y = -np.arange(len(sub), dtype=float)
    ratio = sub["odds_ratio"].to_numpy(dtype=float)
    lo, hi = sub["or_ci_low"].to_numpy(dtype=float), sub["or_ci_high"].to_numpy(dtype=float)
    has_ci = np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
    ax.hlines(y[has_ci], lo[has_ci], hi[has_ci], color=NEGATIVE, lw=2, gid="interval")
    ax.plot(ratio, y, "o", color=TOTAL, ms=6, gid="odds_ratio", zorder=3)
    ax.axvline(1.0, color="#999999", ls="--", lw=1, zorder=0)
    ax.set_xscale("log")
    _log_ticks(ax)
    ax.set_axisbelow(True)
    ax.set_yticks(y, [wrap_label(n) for n in sub.index])
    ax.set_ylim(-len(sub) + 0.4, 0.6)
    ax.grid(axis="x", which="both", color="#eeeeee")
    ax.set_xlabel("e^β")
    if title:
        ax.set_title(wrap_label(title, 40), fontsize=10)
    for yi, r, a, b, ok in zip(y, ratio, lo, hi, has_ci):
        est, low, high = interval_texts(r, a, b, 3)   # as the report's tables write them
        label = f"{est} [{low}, {high}]" if ok else f"{r:.3g}"
        ax.annotate(label, (1.0, yi), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8, color="#333333")
    return [str(n) for n in left_out]


# ------------------------------------------------------------------ ROC
def roc_plot(model, X, y, sample_weight=None, offset=None):
    """ROC curve of P(``classes_[1]``) (binary), or one-vs-rest curves of P(k) per class.

    Curves from :func:`logitlab.evaluation.metrics.roc_curve` (all thresholds, weighted),
    AUC from :func:`logitlab.evaluation.metrics.roc_auc` in the legend; the diagonal is a
    model without skill. Artists: one line per curve, ``gid="roc:<class>"``,
    x = false-positive rate, y = true-positive rate.
    """
    from ..evaluation.metrics import roc_auc, roc_curve
    y, P, w = _predictions(model, X, y, sample_weight, offset)
    classes = model.classes_
    fig, axes = new_figure(5.6, 5.0)
    ax = axes[0, 0]
    shown = [1] if classes.size == 2 else list(range(classes.size))
    aucs = []
    for i, k in enumerate(shown):
        event = y == classes[k]
        fpr, tpr, _ = roc_curve(event, P[:, k], sample_weight=w, pos_label=True)
        auc = roc_auc(event, P[:, k], sample_weight=w, labels=[False, True])
        aucs.append(auc)
        name = f"P({classes[k]})" if classes.size == 2 else f"{classes[k]} vs rest"
        ax.plot(fpr, tpr, color=PALETTE[i % len(PALETTE)], lw=2, drawstyle="default",
                label=f"{name}: AUC = {auc:.4f}", gid=f"roc:{classes[k]}")
    ax.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1, label="no skill (AUC = 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false-positive rate (1 − specificity)")
    ax.set_ylabel("true-positive rate (sensitivity)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(color="#eeeeee")
    ax.set_axisbelow(True)
    title = "ROC curve" if classes.size == 2 else \
        f"One-vs-rest ROC curves (macro AUC = {float(np.mean(aucs)):.4f})"
    ax.set_title(title, fontsize=11)
    return fig


# ------------------------------------------------------------------ calibration
def calibration_plot(model, X, y, sample_weight=None, n_bins: int = 10,
                     strategy: str = "quantile", level: float = 0.95, ci: str = "wilson",
                     offset=None):
    """Reliability diagram: observed event fraction against mean predicted probability per bin.

    Binary: P(``classes_[1]``); K classes: top-label (the largest probability
    against "its class is the true one"). Bins and intervals (Wilson or exact,
    with the Kish effective size under weights) from
    :func:`logitlab.evaluation.metrics.calibration_table`; a perfectly calibrated model
    lies on the diagonal. Below: a histogram of the predictions (weighted).
    Artists: ``gid="calibration"`` (x = mean_predicted, y = observed of the
    non-empty bins), ``gid="calibration_ci"`` (one segment per bin).
    """
    from ..evaluation.metrics import calibration_table
    y, P, w = _predictions(model, X, y, sample_weight, offset)
    classes = model.classes_
    binary = classes.size == 2
    proba = P[:, 1] if binary else P
    table = calibration_table(y, proba, n_bins=n_bins, strategy=strategy, sample_weight=w,
                              labels=classes, level=level, ci=ci)
    table = table[table["weight"] > 0]
    fig, axes = new_figure(5.6, 6.2, 2, 1, sharex=True, height_ratios=[3, 1])
    ax, hist_ax = axes[0, 0], axes[1, 0]
    x, obs = table["mean_predicted"].to_numpy(), table["observed"].to_numpy()
    ax.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1, label="perfect calibration")
    ax.vlines(x, table["ci_low"], table["ci_high"], color=NEGATIVE, lw=1.5, alpha=0.7,
              label=f"{100 * level:g}% interval ({ci})", gid="calibration_ci")
    ax.plot(x, obs, "o-", color=NEGATIVE, ms=5, lw=1.5, label="bins", gid="calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("observed fraction" + ("" if binary else " correct"))
    what = f"P({classes[1]})" if binary else "top-label confidence"
    ax.set_title(f"Calibration of {what}: {n_bins} {strategy} bins", fontsize=11)
    ax.legend(loc="upper left", fontsize=8)
    pred = proba if binary else P.max(axis=1)
    hist_ax.hist(pred, bins=np.linspace(0, 1, 41), weights=w, color="#888888", gid="histogram")
    hist_ax.set_xlabel(f"predicted {what}" + (" (mean per bin above)" if binary else ""))
    hist_ax.set_ylabel("rows" if sample_weight is None else "weight")
    for a in (ax, hist_ax):
        a.grid(color="#eeeeee")
        a.set_axisbelow(True)
    return fig


# ------------------------------------------------------------------ convergence
def convergence_plot(model):
    """The solver's trace from ``model.history_``: objective gap and ``max |gradient|``.

    Left: ``F_t − min_t F_t`` per iteration t (log scale; the iterations at the
    minimum itself, a gap of exactly 0, cannot be drawn on a log axis and are
    left out). Right: the max-norm of the (sub)gradient per iteration with the
    tolerance ``tol_`` as a dashed line. Artists ``gid="objective_gap"`` and
    ``gid="grad_norm"`` hold (iteration, value).
    """
    hist = model.history_
    f = np.asarray(hist["objective"], dtype=float)
    g = np.asarray(hist["grad_norm"], dtype=float)
    it = np.arange(f.size)
    fig, axes = new_figure(8.0, 3.2, 1, 2)
    ax_f, ax_g = axes[0]
    gap = f - np.min(f)
    shown = gap > 0
    style = dict(marker="o" if f.size <= 60 else None, ms=4, lw=1.5)
    ax_f.plot(it[shown], gap[shown], color=NEGATIVE, gid="objective_gap", **style)
    ax_f.set_yscale("log")
    ax_f.set_xlabel("iteration")
    ax_f.set_ylabel("F − min F")
    ax_f.set_title(f"Objective gap (min F = {np.min(f):.10g})", fontsize=10)
    positive = g > 0
    ax_g.plot(it[positive], g[positive], color=POSITIVE, gid="grad_norm", **style)
    tol = getattr(model, "tol_", None)
    if tol:
        ax_g.axhline(tol, color="#999999", ls="--", lw=1, label=f"tol = {tol:g}", gid="tol")
        ax_g.legend(loc="upper right", fontsize=8)
    ax_g.set_yscale("log")
    ax_g.set_xlabel("iteration")
    ax_g.set_ylabel("max |gradient|")
    ax_g.set_title("Gradient norm", fontsize=10)
    for ax in (ax_f, ax_g):
        ax.grid(which="major", color="#eeeeee")
        ax.xaxis.get_major_locator().set_params(integer=True)
    state = "converged" if model.converged_ else "NOT converged"
    fig.suptitle(f"Solver '{model.solver_}': {state} in {model.n_iter_} iterations",
                 fontsize=11)
    return fig


# ------------------------------------------------------------------ regularization path
def path_plot(cv_model, max_labels: int = 12):
    """Regularization path and cross-validation curve of a ``LogisticRegressionCV``.

    ``cv_model`` is a fitted :class:`logitlab.estimators.cv.LogisticRegressionCV` or a
    model from ``logitlab.fit(..., cv=k)`` (its ``cv_``). Left: every
    coefficient of the refit on all rows (``coefs_path_``) against alpha (log
    scale; multinomial: one colour per class). Right: the mean held-out score
    per alpha (``mean_scores_``) with ± one standard error (``se_scores_``);
    dotted lines at ``alpha_min_`` and ``alpha_1se_``, a solid line at the
    chosen ``alpha_``. Artists: ``gid="path:<class>:<feature>"``,
    ``gid="cv_mean"`` (x = ``alphas_``, y = mean), ``gid="cv_se"`` (one segment
    [(a, mean − se), (a, mean + se)] per alpha), ``gid="alpha_chosen"``.
    """
    cv = getattr(cv_model, "cv_", cv_model)
    if not hasattr(cv, "alphas_") or not hasattr(cv, "scores_"):
        raise ValueError("path_plot needs a fitted LogisticRegressionCV (or a model from "
                         "logitlab.fit(..., cv=k)); this model did not choose its penalty by "
                         "cross-validation.")
    alphas = np.asarray(cv.alphas_, dtype=float)
    fig, axes = new_figure(9.6, 3.9, 1, 2)
    ax_c, ax_s = axes[0]
    _coefficient_paths(ax_c, cv, alphas, max_labels)
    mean, se = np.asarray(cv.mean_scores_, dtype=float), np.asarray(cv.se_scores_, dtype=float)
    ax_s.vlines(alphas, mean - se, mean + se, color="#999999", lw=1, gid="cv_se")
    ax_s.plot(alphas, mean, "o-", color=NEGATIVE, ms=3, lw=1.5, gid="cv_mean",
              label="mean over folds ± SE")
    scoring = cv.scoring if isinstance(cv.scoring, str) else "score"
    better = "higher" if getattr(cv, "greater_is_better_", False) else "lower"
    ax_s.set_ylabel(f"held-out {scoring.replace('_', ' ')} ({better} is better)")
    ax_s.set_title(f"{cv.scores_.shape[0]}-fold cross-validation", fontsize=10)
    for ax in (ax_c, ax_s):
        _mark_alphas(ax, cv, labels=ax is ax_s)
        ax.set_xscale("log")
        ax.set_xlabel("alpha (penalty strength)")
        ax.grid(color="#eeeeee")
        ax.set_axisbelow(True)
    ax_s.legend(fontsize=8, loc="best")
    fig.suptitle(f"Regularization path ({getattr(cv, 'penalty', '')}); chosen alpha = "
                 f"{cv.alpha_:.4g} (rule '{getattr(cv, 'rule', 'min')}')", fontsize=11)
    return fig


def _coefficient_paths(ax, cv, alphas, max_labels: int):
    """One line per coefficient along the path (labels for the largest ones)."""
    path = np.asarray(cv.coefs_path_, dtype=float)          # (A, C, d)
    from ..results.explain import feature_names
    names = feature_names(cv, path.shape[2])
    classes = list(cv.classes_[1:]) if path.shape[1] == 1 else list(cv.classes_)
    size = np.abs(path[-1]).ravel()
    labelled = set(np.argsort(-size, kind="stable")[:max_labels])
    for c, cls in enumerate(classes):
        for j, name in enumerate(names):
            colour = PALETTE[(j if len(classes) == 1 else c) % len(PALETTE)]
            flat = c * len(names) + j
            if len(classes) == 1:
                label = name if flat in labelled else None
            else:
                label = f"class {cls}" if j == 0 else None
            ax.plot(alphas, path[:, c, j], color=colour, lw=1.2, label=label,
                    gid=f"path:{cls}:{name}")
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_ylabel("coefficient" + (f" (log-odds of {classes[0]})" if len(classes) == 1 else ""))
    ax.set_title("Coefficients on all rows", fontsize=10)
    ax.legend(fontsize=7, loc="best", ncol=1 + (len(labelled) > 6))


def _mark_alphas(ax, cv, labels: bool):
    ax.axvline(cv.alpha_min_, color="#555555", ls=":", lw=1,
               label="best mean (min) and one-SE alphas" if labels else None)
    ax.axvline(cv.alpha_1se_, color="#555555", ls=":", lw=1)
    ax.axvline(cv.alpha_, color=TOTAL, lw=1.5, gid="alpha_chosen",
               label=f"chosen alpha = {cv.alpha_:.3g}" if labels else None)


# ------------------------------------------------------------------ probabilities
def proba_plot(model, X, y, sample_weight=None, bins: int = 20, offset=None):
    """Distribution of the predicted probabilities, one histogram per true class.

    Binary: P(``classes_[1]``) for the rows of each true class, with the
    decision threshold. K classes: one panel per class k showing P(k) by true
    class. Each histogram is the class's share of (weighted) rows per bin, so
    rare classes stay visible. Artists: a StepPatch per true class,
    ``gid="hist:<true>"`` (``get_data()``: shares and bin edges).
    """
    y, P, w = _predictions(model, X, y, sample_weight, offset)
    classes = model.classes_
    shown = [1] if classes.size == 2 else list(range(classes.size))
    ncols = min(len(shown), 3)
    nrows = math.ceil(len(shown) / ncols)
    fig, axes = new_figure(7.2 if ncols == 1 else 3.6 * ncols, 3.4 * nrows, nrows, ncols)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for i, ax in enumerate(axes.ravel()):
        if i >= len(shown):
            ax.set_visible(False)
            continue
        k = shown[i]
        for j, c in enumerate(classes):
            rows = y == c
            total = w[rows].sum()
            if total <= 0:
                continue
            share, _ = np.histogram(P[rows, k], bins=edges, weights=w[rows] / total)
            colour = PALETTE[j % len(PALETTE)]
            ax.stairs(share, edges, fill=True, alpha=0.35, color=colour, gid=f"hist:{c}",
                      label=f"true {c} (n={_count(total)})")
            ax.stairs(share, edges, color=colour, lw=1.2)
        if classes.size == 2:
            ax.axvline(_threshold(model), color="#555555", ls="--", lw=1,
                       label=f"threshold {_threshold(model):g}")
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"predicted P({classes[k]})")
        ax.set_ylabel("share of the class's rows")
        ax.legend(fontsize=8, loc="best")
        ax.grid(color="#eeeeee")
        ax.set_axisbelow(True)
    fig.suptitle("Predicted probabilities by true class", fontsize=11)
    return fig


def _count(total: float) -> str:
    return f"{total:.0f}" if float(total).is_integer() else f"{total:.4g}"


# ------------------------------------------------------------------ explanation
def explain_plot(model, X, row: int = 0, offset=None, max_terms: int = 12, target=None):
    """One prediction as a waterfall: intercept and contributions ``β_j x_j`` add up to the logit.

    ``X`` is the data (or a single row) and ``row`` the row to explain, as in
    :func:`logitlab.results.explain.explain_row`. Bars start where the previous one
    ended; terms are sorted by ``|contribution|`` and the smallest ones beyond
    ``max_terms`` are pooled into one bar (a mixed-effects model's random parts
    ``z b̂`` of the row's levels are terms too: ``model.explain``). The last bar is the logit
    ``z = Σ``; the caption gives odds ``e^z`` and the probability
    (``sigmoid(z)``, or the softmax over all classes). Multinomial models get
    one panel per estimated logit (up to 3; the reference class of an
    unpenalized fit has logit 0), or only ``target``'s. Artists per panel:
    patches ``gid="contribution"`` (x = start, width = contribution) in
    order, and one ``gid="logit"`` patch of width z.
    """
    import textwrap
    from ..results.explain import explain_row
    expl = model.explain(X, row, offset=offset) if hasattr(model, "random_design_") \
        else explain_row(model, X, row, offset)
    cols = [str(c) for c in expl.logit_classes]
    shown = _explained_logits(model, expl, cols, target)
    names, _ = _waterfall_terms(expl.terms[cols[shown[0]]], max_terms)
    width = 7.6 if len(shown) == 1 else 5.0 * len(shown)
    extra_lines = sum(wrap_label(_with_value(n, expl.terms["value"])).count("\n") for n in names)
    fig, axes = new_figure(width, 1.9 + 0.36 * (len(names) + 1) + 0.16 * extra_lines, 1,
                           len(shown))
    for ax, k in zip(axes[0], shown):
        label = (f"contribution to the log-odds of {cols[0]}" if len(cols) == 1
                 else f"contribution to the logit of {cols[k]}")
        _waterfall(ax, expl.terms[cols[k]], expl.terms["value"], float(expl.logits[k]),
                   max_terms, label)
    caption = _explain_caption(expl, shown, len(cols) == 1)
    fig.suptitle("\n".join(textwrap.fill(line, int(width * 13)) for line in caption),
                 fontsize=10, x=0.02, ha="left")
    return fig


def _explained_logits(model, expl, cols, target) -> list:
    """Indices of the logits to draw (see :func:`explain_plot`)."""
    if len(cols) == 1:
        return [0]
    if target is not None:
        if str(target) not in cols:
            raise ValueError(f"target {target!r} is not a class of the model; its classes "
                             f"are {cols}.")
        return [cols.index(str(target))]
    free = [k for k in range(len(cols))
            if np.any(model.coef_[k] != 0) or model.intercept_[k] != 0]
    if len(free) <= 3:
        return free
    best = max(free, key=lambda k: expl.probabilities[k])
    return [best]


def _waterfall(ax, contrib: pd.Series, values_x: pd.Series, z: float, max_terms: int,
               xlabel: str):
    """Draw one waterfall of ``contrib`` (terms → logit ``z``) on ``ax``."""
    names, values = _waterfall_terms(contrib, max_terms)
    start = 0.0
    ypos = -np.arange(len(values) + 1, dtype=float)
    for yi, v in zip(ypos, values):
        v += 0.0                                   # no "-0" labels
        ax.barh(yi, v, left=start, height=0.6, color=POSITIVE if v >= 0 else NEGATIVE,
                gid="contribution")
        ax.annotate(f"{v:+.4g}", (start + v, yi), xytext=(4 if v >= 0 else -4, 0),
                    textcoords="offset points", va="center", ha="left" if v >= 0 else "right",
                    fontsize=8)
        start += v
    ax.barh(ypos[-1], z, height=0.6, color=TOTAL, gid="logit")
    ax.annotate(f"{z + 0.0:+.4g}", (z, ypos[-1]), xytext=(4 if z >= 0 else -4, 0),
                textcoords="offset points", va="center", ha="left" if z >= 0 else "right",
                fontsize=8, fontweight="bold")
    ax.axvline(0, color="#999999", lw=1)
    labels = [wrap_label(_with_value(n, values_x)) for n in names] + ["logit z = sum"]
    ax.set_yticks(ypos, labels)
    ends = np.concatenate([[0.0, z], np.cumsum(values)])
    lo, hi = float(ends.min()), float(ends.max())
    pad = 0.25 * (hi - lo if hi > lo else 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_axisbelow(True)
    ax.grid(axis="x", color="#eeeeee")
    ax.set_xlabel(wrap_label(xlabel, 45))


def _with_value(name: str, values: pd.Series) -> str:
    """A term's label with its value x_j (the intercept has none); a mixed model's
    random part ``"x | g = a"`` with its ``z`` (none for a random intercept, z = 1)."""
    if name in values.index and np.isfinite(values[name]):
        if " | " in name:
            return name if name.startswith("(Intercept) | ") else f"{name} (z = {values[name]:.4g})"
        return f"{name} = {values[name]:.4g}"
    return name


def _waterfall_terms(contrib: pd.Series, max_terms: int):
    """Intercept (and offset) first, then terms by ``|contribution|``; extras pooled."""
    fixed = [n for n in contrib.index if n in ("(Intercept)", "(offset)")]
    rest = contrib.drop(fixed)
    rest = rest.iloc[np.argsort(-np.abs(rest.to_numpy()), kind="stable")]
    names = fixed + [str(n) for n in rest.index[:max_terms]]
    values = [float(contrib[n]) for n in fixed] + list(rest.iloc[:max_terms].astype(float))
    if len(rest) > max_terms:
        names.append(f"{len(rest) - max_terms} other terms")
        values.append(math.fsum(rest.iloc[max_terms:].astype(float)))
    return names, values


def _explain_caption(expl, shown: list, binary: bool) -> list:
    """The worked steps after the sum, as lines of text."""
    if binary:
        z, odds, p = float(expl.logits[0]), float(expl.odds[0]), float(expl.probabilities[1])
        return [f"logit z = {z:+.4f}  →  odds e^z = {odds:.4g}  →  "
                f"P({expl.logit_classes[0]}) = e^z / (1 + e^z) = {p:.4f}",
                f"decision: {expl.decision} (it is {expl.logit_classes[0]} when "
                f"P > {expl.threshold:g})"]
    logits = ", ".join(f"z({expl.logit_classes[k]}) = {float(expl.logits[k]):+.4f}"
                       for k in range(len(expl.logits)))
    probs = ", ".join(f"{c}: {p:.3f}" for c, p in zip(expl.classes, expl.probabilities))
    return [f"logits: {logits}", f"softmax: P = ({probs})  →  decision: {expl.decision}"]


# ------------------------------------------------------------------ random effects
def caterpillar_plot(model, level: float = 0.95, max_labels: int = 40):
    """A mixed-effects model's random effects: conditional modes b̂ with ± z·SD, per grouping factor.

    One row of panels per grouping factor, one panel per random-effect column
    (the intercept, then the slopes), as lme4's ``dotplot(ranef(fit, condVar =
    TRUE))``: the levels sorted by the mode of the factor's first column (the
    other panels share that order), each drawn as its mode b̂ and the segment
    b̂ ± z·sd with z = Φ⁻¹((1 + level) / 2) (1.96 at 95%) and sd the conditional
    standard deviation (the square root of the diagonal of the conditional
    covariance, lme4's ``condVar``); the dashed line at 0 is the population.
    A factor with more than ``max_labels`` levels is drawn without level names
    (points only, still sorted) so it stays readable. Artists:
    ``gid="ranef:<group>:<column>"`` (points, x = b̂, y = 0, 1, … in sorted order,
    the smallest at the bottom) and ``gid="ranef_ci:<group>:<column>"`` (a
    LineCollection with one segment ``[(low, y), (high, y)]`` per level).
    """
    from scipy.stats import norm
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1; got {level!r}.")
    z = float(norm.ppf(0.5 + level / 2))
    tables = list(model.ranef(cond_var=True).items())
    n_panels = max(len(_mode_columns(t)) for _, t in tables)
    heights = [1.1 + (0.2 * len(t) if len(t) <= max_labels else min(0.05 * len(t), 5.0))
               for _, t in tables]
    fig = ReportFigure(figsize=(min(9.6, 6.0 + 2.8 * (n_panels - 1)), sum(heights) + 0.6),
                       layout="constrained")
    FigureCanvasAgg(fig)
    subfigs = fig.subfigures(len(tables), 1, height_ratios=heights, squeeze=False)[:, 0]
    for sub, (group, table) in zip(subfigs, tables):
        _caterpillar_row(sub, str(group), table, z, max_labels)
    fig.suptitle(f"Random effects: conditional modes ± {z:.2f} conditional SD "
                 f"({100 * level:g}%)", fontsize=11)
    return fig


def _mode_columns(table: pd.DataFrame) -> list:
    return [c for c in table.columns if not str(c).endswith("_condsd")]


def _plain_text(text) -> str:
    """A label drawn as typed (a ``$`` would start matplotlib's mathtext)."""
    return str(text).replace("$", r"\$")


def _caterpillar_row(sub, group: str, table: pd.DataFrame, z: float, max_labels: int):
    """One grouping factor's panels on subfigure ``sub`` (see :func:`caterpillar_plot`)."""
    columns = _mode_columns(table)
    axes = sub.subplots(1, len(columns), sharey=True, squeeze=False)[0]
    order = np.argsort(table[columns[0]].to_numpy(dtype=float), kind="stable")
    y = np.arange(len(order), dtype=float)
    many = len(order) > max_labels
    lw = max(0.3, min(1.0, 150 / len(order))) if many else 1.6     # thinner as levels crowd
    for ax, column in zip(axes, columns):
        mode = table[column].to_numpy(dtype=float)[order]
        sd = table[f"{column}_condsd"].to_numpy(dtype=float)[order]
        ax.hlines(y, mode - z * sd, mode + z * sd, color=NEGATIVE, lw=lw,
                  alpha=0.8, gid=f"ranef_ci:{group}:{column}")
        ax.plot(mode, y, "o", color=TOTAL, ms=2.5 if many else 4.5, zorder=3,
                gid=f"ranef:{group}:{column}")
        ax.axvline(0.0, color="#999999", ls="--", lw=1, zorder=0)
        ax.set_ylim(-0.7, len(order) - 0.3)
        ax.grid(axis="x", color="#eeeeee")
        ax.set_axisbelow(True)
        ax.set_title(wrap_label(_plain_text(f"{column} | {group}"), 40), fontsize=10)
        ax.set_xlabel("conditional mode b̂")
    if many:
        axes[0].set_yticks([])
        axes[0].set_ylabel(wrap_label(_plain_text(f"{len(order)} levels of {group}, sorted"), 40))
    else:
        labels = [_plain_text(str(v)[:30]) for v in table.index[order]]
        axes[0].set_yticks(y, labels, fontsize=8 if len(order) > 20 else 9)
        axes[0].set_ylabel(wrap_label(_plain_text(group), 40))


__all__ = ["ReportFigure", "forest_plot", "roc_plot", "calibration_plot", "convergence_plot", "path_plot",
           "proba_plot", "explain_plot", "caterpillar_plot", "new_figure", "figure_png", "PALETTE"]
