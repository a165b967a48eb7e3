"""One self-contained HTML page about a fitted model: data, estimates, pictures, one prediction.

:func:`render_report` returns the page as a string, :func:`write_report`
writes it to a file. The page is rendered from the Jinja2 templates in
``templates/`` (autoescaped: every string from the data or the user — column
names, labels, the formula, the title — is written as text, never as markup),
one template per section and ``page.html`` around them, with the style sheet
``report.css`` inline. The page needs nothing else to be viewed: the figures
of :mod:`logitlab.report.plots` are embedded as base64 PNG images, there are
no scripts, fonts or links to other sites. It reads on a laptop screen (a
centred column at most 60 rem wide, images scaled to the column, tables that
fit it: long names wrap, each interval is one ``[low, high]`` column) and
prints cleanly (``@media print``: no navigation, figures and tables kept whole
on a page). Its look follows the documentation site's (the PyData Sphinx
theme's colours and type).

Sections: the data (rows, rows used, outcome balance, missing values per
column), the model (fit statistics and the coefficient table with odds ratios
and intervals, from :meth:`LogisticRegression.summary`), how good the
predictions are (:func:`logitlab.evaluation.metrics.evaluate`), the forest plot, the ROC
curve, the calibration curve with its table, the predicted probabilities per
class, the convergence trace, the diagnostics (binary models), the marginal
effects, the regularization path when cross-validation chose the penalty, and
one prediction worked through (contributions → logit → odds → probability,
from :func:`logitlab.results.explain.explain_row`). A conditional logit's page
has the data, the model, the odds ratios and the convergence. A mixed-effects
logit's page (:mod:`logitlab.report.mixed`) has the data, the model (the fit,
the fixed effects, the variance components), the metrics and curves of its
conditional probabilities, the odds ratios, a caterpillar plot of the random
effects and one prediction (fixed part + random part → logit → odds →
probability); the glm's diagnostics, marginal effects and convergence trace do
not apply to it and are left out.

The numbers are formatted in Python (:mod:`logitlab.report.formatting`: an
estimate and its interval always share their decimals); the templates only lay
out. Metrics are computed on the rows given (the fitting data unless other
data are passed): in-sample numbers flatter a model, and the page says so.
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from pathlib import Path

from .inputs import ReportData, is_fitted, is_mixed, prepare
from .sections import (calibration_table, check_example_row, data_section, explain_section,
                       figure_section, metrics_section, model_section)
from .templating import render

_FOREST_INTRO = ("Each point is e^coef, the factor by which the odds of {what} change per unit "
                 "of the term{where}; the bars are the confidence intervals. The dashed line at "
                 "1 is no effect.")


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
    if hasattr(model, "alphas_") and hasattr(model, "best_estimator_"):   # LogisticRegressionCV
        cv_model, model = (cv_model if cv_model is not None else model), model.best_estimator_
    fitted_here = formula is not None or not is_fitted(model)
    grouped_rd = prepare(model, data, y=y, formula=formula, sample_weight=sample_weight,
                         offset=offset, missing=missing)
    rd = grouped_rd.bernoulli()       # 0/1 rows (the same object unless the response is cbind)
    in_sample = fitted_here if in_sample is None else bool(in_sample)
    if is_mixed(rd.model):
        return _mixed_page(grouped_rd, rd, title, level, ci, in_sample, example_row)
    if rd.model.results_.layout.conditional:
        return _conditional_page(rd, title, level, ci)
    if cv_model is None:
        cv_model = getattr(rd.model, "cv_", None)        # logitlab.fit(..., cv=k)
    example_row = check_example_row(rd, example_row)
    sections = (_estimates_sections(rd, level, ci, in_sample)
                + _prediction_figures(rd) + _model_checks(grouped_rd, rd, level, in_sample))
    if cv_model is not None:
        sections.append(("path", "Regularization path", _path_section(cv_model)))
    sections.append(("example", "One prediction", explain_section(rd, example_row, grouped_rd)))
    title = title or ("Logistic regression: " + rd.formula if rd.formula
                      else "Logistic regression report")
    return _page(title, sections, rd)


def _estimates_sections(rd: ReportData, level: float, ci, in_sample: bool) -> list:
    """Data, model, metrics and the forest plot: ``[(id, name, html)]``."""
    threshold = getattr(rd.model, "threshold", None)
    threshold = 0.5 if threshold is None else float(threshold)
    return [("data", "Data", data_section(rd)),
            ("model", "Model", model_section(rd, level, ci)),
            ("metrics", "Metrics", metrics_section(rd, threshold, in_sample)),
            ("forest", "Odds ratios", _forest_section(rd.model, level, ci, "the outcome", ""))]


def _forest_section(model, level: float, ci, what: str, where: str):
    from .plots import forest_plot
    return figure_section("forest", "Odds ratios", _FOREST_INTRO.format(what=what, where=where),
                          lambda: forest_plot(model, level=level, ci=ci),
                          "forest plot of the odds ratios", "Odds ratios with intervals (log scale).")


def _prediction_figures(rd: ReportData, convergence: bool = True) -> list:
    """ROC, calibration (with its table), predicted probabilities, convergence (unless
    ``convergence`` is False)."""
    from .plots import calibration_plot, proba_plot, roc_plot
    model = rd.model
    args, kw = (model, rd.X, rd.y), {"sample_weight": rd.w, "offset": rd.offset}
    figures = [
        ("roc", "ROC curve", figure_section(
            "roc", "ROC curve", "How well the predicted probability ranks the rows: the share "
            "of events found (true-positive rate) against the share of non-events flagged "
            "(false-positive rate), over all thresholds.", lambda: roc_plot(*args, **kw),
            "ROC curve", "ROC curve; the area under it (AUC) is in the legend.")),
        ("calibration", "Calibration", figure_section(
            "calibration", "Calibration", "Do the probabilities mean what they say? Rows are "
            "grouped by predicted probability; in each group the observed event fraction should "
            "match the mean prediction (the diagonal).",
            lambda: calibration_plot(*args, **kw), "reliability diagram",
            "Observed fraction against mean predicted probability, with 95% intervals; below, "
            "how the predictions are spread.", tables=lambda: calibration_table(rd))),
        ("probabilities", "Predicted probabilities", figure_section(
            "probabilities", "Predicted probabilities", "The predicted probabilities of the "
            "rows of each true class: the less the histograms overlap, the better the model "
            "separates the classes.", lambda: proba_plot(*args, **kw),
            "histograms of predicted probabilities by true class",
            "Share of each true class's rows per probability bin.")),
    ]
    if convergence:
        figures.append(("convergence", "Convergence", _convergence_section(
            model, " Converged means max |gradient| ≤ tol.")))
    return figures


def _convergence_section(model, more: str = ""):
    from .plots import convergence_plot
    return figure_section(
        "convergence", "Convergence", f"The solver '{model.solver_}': the objective's distance "
        f"to its minimum and the gradient's max-norm at every iteration.{more}",
        lambda: convergence_plot(model), "convergence trace",
        "Objective gap and gradient norm per iteration (log scale).")


def _model_checks(grouped_rd: ReportData, rd: ReportData, level: float, in_sample: bool) -> list:
    """Diagnostics (binary models with inference) and the marginal effects."""
    from .diagnostics import diagnostics_sections
    from .margins import margins_section
    return diagnostics_sections(grouped_rd, in_sample) + [
        ("margins", "Marginal effects", margins_section(rd.model, rd.X, level, rd.w, rd.offset))]


def _conditional_page(rd: ReportData, title, level: float, ci) -> str:
    """The report of a conditional logit: the data, the model (with clogit's three
    tests), the odds ratios and the convergence. Its predictions are probabilities
    within strata, which the metrics, curves and the example of the other families
    do not take: the page says so."""
    model = rd.model
    rd.notes.append("Conditional logit: predictions are probabilities within a stratum "
                    "(model.predict_proba(X, strata)), so the page shows no metrics, ROC, "
                    "calibration or example row.")
    sections = [
        ("data", "Data", data_section(rd)),
        ("model", "Model", model_section(rd, level, ci)),
        ("forest", "Odds ratios", _forest_section(model, level, ci, "being a case",
                                                  " within a stratum")),
        ("convergence", "Convergence", _convergence_section(model)),
    ]
    title = title or ("Conditional logistic regression: " + rd.formula if rd.formula
                      else "Conditional logistic regression report")
    return _page(title, sections, rd)


def _mixed_page(grouped_rd: ReportData, rd: ReportData, title, level: float, ci,
                in_sample: bool, example_row) -> str:
    """The report of a mixed-effects logit: the data, the model (fit, fixed effects,
    variance components), the metrics and curves of the conditional probabilities
    P(y = 1 | b̂), the odds ratios, the random effects' caterpillar plot and one
    prediction (fixed part + random part). The glm's diagnostics (leverage,
    influence), marginal effects and convergence trace do not apply and are left out."""
    from .mixed import mixed_model_section, mixed_title, random_effects_section
    model = rd.model
    example_row = check_example_row(rd, example_row)
    if model.singular_:
        rd.notes.append("Singular (boundary) fit: a variance component is at (or near) 0; "
                        "the random-effects structure may be simpler than the one fitted.")
    if not model.converged_:
        rd.notes.append("The fit did not pass the convergence check: see the model's notes.")
    fitted_offset = getattr(getattr(model, "problem_", None), "offset", None)
    if rd.offset is None and fitted_offset is not None and bool((fitted_offset != 0).any()):
        rd.notes.append("The model was fitted with an offset but none was given to the report "
                        "(offset=): its probabilities here leave the offset out.")
    source = ("the conditional probabilities P(y = 1 | b̂), given the estimated random effects "
              "of each row's groups" + (" (estimated from these rows too)" if in_sample else ""))
    sections = [("data", "Data", data_section(rd)),
                ("model", "Model", mixed_model_section(rd, level, ci)),
                ("metrics", "Metrics", metrics_section(rd, 0.5, in_sample, source)),
                ("forest", "Odds ratios", _forest_section(model, level, ci or "wald",
                                                          "the outcome", " within a group")),
                ("ranef", "Random effects", random_effects_section(model, level))]
    sections += _prediction_figures(rd, convergence=False)
    sections.append(("example", "One prediction", explain_section(
        rd, example_row, grouped_rd, "The fixed part (coef × x, the intercept included), then "
        "the random part of the row's groups (z × b̂: the row's value of each random-effect "
        "column times its group's conditional mode) and the offset add up to the logit.")))
    return _page(title or mixed_title(rd), sections, rd)


def _path_section(cv_model):
    from .plots import path_plot
    return figure_section(
        "path", "Regularization path", "Coefficients as the penalty alpha grows (left) and "
        "the cross-validated score with ± one standard error across folds (right); the "
        "solid line marks the chosen alpha, the dotted ones the alpha with the best mean "
        "score and the largest alpha within one standard error of it.", lambda: path_plot(cv_model),
        "regularization path", "Regularization path and cross-validation curve.")


def _page(title: str, sections: list, rd: ReportData) -> str:
    """The whole page (``page.html``) around the rendered sections."""
    from ..core.version import __version__
    return str(render("page.html", title=title, version=__version__, notes=rd.notes,
                      stamp=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
                      sections=[{"id": sid, "name": name, "html": html_}
                                for sid, name, html_ in sections]))


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


__all__ = ["render_report", "write_report", "prepare", "ReportData"]
