"""The report's sections of a mixed-effects logit (:class:`logitlab.MixedLogisticRegression`).

:func:`mixed_model_section` is the model section as glmer's summary reads:
the fit (Laplace approximation or adaptive Gauss–Hermite quadrature with nAGQ
nodes; logLik, AIC = −2 logLik + 2 df, BIC = −2 logLik + log(n) df, deviance
= −2 logLik, the residual df n − df, the observations, the levels of each
grouping factor, convergence and a singular (boundary) fit), the fixed effects β
(estimate, SE, z = β / SE, two-sided p, Wald or profile interval, odds ratio
e^β with its interval: the other families' table, odds ratios *conditional* on
the random effects), and the variance components (lme4's ``VarCorr``: per
grouping factor and column the variance Σ_jj, the SD √Σ_jj and the
correlations Σ_jk / √(Σ_jj Σ_kk) with the term's earlier columns).

:func:`random_effects_section` draws the conditional modes b̂ of each grouping
factor's random effects with b̂ ± z·(conditional SD)
(:func:`logitlab.report.plots.caterpillar_plot`). The page around them is
:func:`logitlab.report.html.render_report`'s.
"""

from __future__ import annotations

import re

from .elements import Table, head, number, text
from .formatting import COEF_DIGITS, RATIO_DIGITS, num
from .inputs import ReportData
from .sections import coefficient_header, coefficient_row, figure_section
from .templating import render


def mixed_model_section(rd: ReportData, level: float, ci: str | None):
    """The fit statistics, the fixed effects and the variance components (the
    model's summary; ``ci``: "wald" (None) or "profile" intervals)."""
    model = rd.model
    summary = model.summary(level=level, ci=ci or "wald")
    pct = f"{100 * level:g}%"
    rows = [coefficient_row(term, r, False) for term, r in summary.to_frame().iterrows()]
    coefficients = Table("coefficients", coefficient_header(level), rows,
                         f"Fixed effects with {pct} {summary.ci_method} intervals; odds ratio = "
                         "e^coef, conditional on the random effects (the factor for rows of "
                         "the same groups)")
    return render("model.html", formula=rd.formula,
                  facts=[summary.method_line(), "Family: binomial · link: logit"],
                  before=[("Fit", fit_table(model))], coefficients_heading="Fixed effects",
                  coefficients=coefficients,
                  after=[("Random effects", variance_table(model.results_))],
                  notes=mixed_notes(model, summary))


def mixed_notes(model, summary) -> list:
    """The summary's notes (optimizer messages, a singular fit, dropped columns) and,
    when the convergence check failed, a note that says so."""
    notes = list(summary.notes())
    if not model.converged_:
        notes.insert(0, "the fit did not pass glmer's convergence check (see the maximum "
                        "|scaled gradient| above): the estimates may not be at the optimum; "
                        "refit with a larger max_iter, rescale the covariates or simplify "
                        "the random effects.")
    return notes


def fit_table(model) -> Table:
    """How the model was fitted and its likelihood statistics (keys as the summary's
    JSON document: ``log_likelihood``, ``aic``, ``bic``, ``deviance``, ``df_resid``,
    ``n_obs``, ``n_levels``, ``max_scaled_gradient``)."""
    doc = model.summary().to_dict()
    method = ("Laplace approximation" if doc["n_agq"] == 1 else
              f"adaptive Gauss–Hermite quadrature, nAGQ = {doc['n_agq']}")
    rows = [[head("method"), text(method)],
            [head("observations"), _int(doc["n_obs"], "n_obs")]]
    rows += [[head(f"levels of {group}"), _int(n, "n_levels")] for group, n in doc["groups"].items()]
    rows += [[head("log-likelihood"), _num(doc["log_likelihood"], "log_likelihood")],
             [head("AIC"), _num(doc["aic"], "aic")], [head("BIC"), _num(doc["bic"], "bic")],
             [head("deviance (−2 log-likelihood)"), _num(doc["deviance"], "deviance")],
             [head("parameters (fixed + covariance)"), _int(doc["n_params"], "n_params")],
             [head("residual df"), _int(doc["df_resid"], "df_resid")],
             [head("converged"), text("yes" if doc["converged"] else "no: see the note below")],
             [head("max |scaled gradient|"),
              _num(doc["max_scaled_gradient"], "max_scaled_gradient", RATIO_DIGITS)],
             [head("singular (boundary) fit"),
              text("yes: a variance component is at (or near) 0" if doc["singular"] else "no")]]
    return Table("fit-statistics", ["", "value"], rows,
                 "AIC = −2 logLik + 2 df, BIC = −2 logLik + log(n) df, df the parameters")


def _num(value, key: str, digits: int = COEF_DIGITS):
    return number(num(value, digits), key, value)


def _int(value, key: str):
    return number(num(int(value)), key, int(value))


def variance_table(results) -> Table:
    """The variance components: group, column, variance, SD and the correlations
    with the term's earlier columns (one column each, blank where none)."""
    rows_in = results.varcorr_rows()
    others = list(dict.fromkeys(k for r in rows_in for k in r["corr"]))
    rows = []
    for r in rows_in:
        rows.append([head(r["group"], term=f"{r['name']} | {r['group']}"), text(r["name"]),
                     _num(r["variance"], "variance"), _num(r["sd"], "sd")]
                    + [_num(r["corr"][k], "corr", RATIO_DIGITS) if k in r["corr"] else number("")
                       for k in others])
    levels = ", ".join(f"{g}: {n}" for g, n in results.groups.items())
    return Table("variance-components", ["group", "name", "variance", "std. dev."]
                 + [f"corr. with {k}" for k in others], rows,
                 f"Variances and standard deviations of the random effects (lme4's VarCorr), "
                 f"correlations within a term; levels per grouping factor: {levels}")


def random_effects_section(model, level: float):
    """The caterpillar plot of the conditional modes (ids ``ranef``, ``fig-ranef``)."""
    from .plots import caterpillar_plot
    pct = f"{100 * level:g}%"
    groups = ", ".join(model.random_effects_)
    return figure_section(
        "ranef", "Random effects", f"The conditional modes b̂ of the random effects of every "
        f"level of each grouping factor ({groups}): how far a group's logit (its intercept, "
        f"its slopes) lies from the population's, with {pct} intervals of ± z conditional "
        "standard deviations. Levels are sorted by their first column's mode; the dashed line "
        "at 0 is the population (the fixed effects alone).",
        lambda: caterpillar_plot(model, level=level),
        "caterpillar plot of the conditional modes of the random effects",
        f"Conditional modes with {pct} intervals (lme4's ranef(fit, condVar = TRUE)).")


def mixed_title(rd: ReportData) -> str:
    return ("Mixed-effects logistic regression: " + re.sub(r"\s+", " ", rd.formula)
            if rd.formula else "Mixed-effects logistic regression report")


__all__ = ["fit_table", "mixed_model_section", "mixed_notes", "mixed_title",
           "random_effects_section", "variance_table"]
