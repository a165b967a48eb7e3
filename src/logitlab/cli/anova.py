"""The ``logitlab anova`` command: tests per formula term (R's ``car::Anova``).

``logitlab anova DATA (--formula F | --target y) [fit options] [--type 2|3] [--test LR|Wald]
[--json]`` fits exactly as ``logitlab fit`` does (the command takes ``fit``'s own options,
so every fit option works here) and prints one row per term
(:func:`logitlab.results.anova.anova`). ``--model MODEL`` tests a saved model instead:
Wald tests use its stored covariance; LR tests refit its formula with its stored
options on DATA (give ``--weights`` / ``--offset`` again if the fit used them), and
the refit must reproduce the saved coefficients (DATA are the training rows).

``--json`` prints one document::

    {"formula": str, "type": 2 | 3, "test": "LR" | "Wald",
     "statistic": "LR Chisq" | "Chisq",
     "terms": [{"term": str, "statistic": float | null, "df": int, "p_value": float | null}],
     "n_obs": float, "log_likelihood": float, "deviance": float, "aic": float,
     "model_file": str | null}

Type III Wald tables start with an ``(Intercept)`` row (as car); numbers that do not
exist (a term whose columns are all aliased) are null.
:func:`register_anova` is called by :mod:`logitlab.cli.main` with its app and its
``fit`` command.
"""

from __future__ import annotations

import inspect
import math
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import typer

#: fit options the anova command does not take
_NOT_FOR_ANOVA = ("out",)
#: a refit on DATA reproduces a saved model's coefficients to this (relative, max-norm)
REFIT_RTOL = 1e-6


def _anova_options():
    P = inspect.Parameter
    opt = typer.Option
    return [
        P("type_", P.POSITIONAL_OR_KEYWORD, annotation=str,
          default=opt("2", "--type", help="2 (II: each term after the others, respecting "
                      "marginality) or 3 (III: each term dropped from the full model).")),
        P("test", P.POSITIONAL_OR_KEYWORD, annotation=str,
          default=opt("LR", "--test", help="LR (likelihood ratio; refits) or Wald.")),
        P("model_path", P.POSITIONAL_OR_KEYWORD, annotation=Optional[Path],
          default=opt(None, "--model", "-m", help="Test this saved model (from 'fit --out') "
                      "instead of fitting; LR refits it on DATA, its training rows.")),
    ]


def register_anova(app, fit_command, fit_model, command_class=None) -> None:
    """Add the ``anova`` command to ``app``, taking every option of ``fit_command``
    (but ``--out``); ``fit_model(**fit_options)`` returns ``(model, summary, warnings)``."""
    fit_sig = inspect.signature(fit_command, eval_str=True)
    shared = [p for p in fit_sig.parameters.values() if p.name not in _NOT_FOR_ANOVA]

    def anova(**options) -> None:
        """Fit (as 'fit' does) and test each formula term, as R's car::Anova.

        One row per term (a factor with all its dummies, an interaction): the
        statistic, its degrees of freedom and p-value. --json prints
        {"formula", "type", "test", "statistic", "terms": [{"term", "statistic",
        "df", "p_value"}], "n_obs", "log_likelihood", "deviance", "aic", "model_file"}."""
        run_anova(fit_model, **options)

    anova.__signature__ = fit_sig.replace(parameters=shared + _anova_options())
    anova.__annotations__ = {}
    app.command("anova", cls=command_class)(anova)


def _refit_saved(model, fit_options):
    """The saved model's formula refitted with its stored options on DATA."""
    from ..estimators.formula_fit import fit as fit_formula
    design = getattr(model, "design_", None)
    if design is None:
        raise ValueError("the saved model has no formula; LR tests per term need one (fit "
                         "with --formula), or use --test Wald.")
    params = {k: v for k, v in model.get_params().items() if k not in ("callback",)}
    refit = fit_formula(design.formula, fit_options["data"], missing=fit_options["missing"].value,
                        sample_weight=fit_options.get("weights"),
                        offset=fit_options.get("offset"), groups=fit_options.get("groups"),
                        **params)
    saved, got = np.asarray(model.results_.coef), np.asarray(refit.results_.coef)
    scale = max(1.0, float(np.max(np.abs(saved), initial=0.0)))
    if saved.shape != got.shape or float(np.max(np.abs(saved - got))) > REFIT_RTOL * scale:
        raise ValueError("refitting the saved model on DATA does not reproduce its "
                         "coefficients: DATA are not the rows it was fitted to (or --weights / "
                         "--offset differ). LR tests need the training rows; use --test Wald "
                         "to test the saved model as it is.")
    return refit


def run_anova(fit_model, *, type_, test, model_path, **fit_options) -> None:
    """Fit (or load, and for LR refit) the model, print its per-term table."""
    from ..data.io import read_table
    from ..results.anova import anova as anova_table
    from .output import console, emit_warnings
    type_ = {"2": 2, "3": 3, "II": 2, "III": 3}.get(str(type_).upper(), type_)
    if type_ not in (2, 3):
        raise ValueError(f"--type must be 2 or 3; got {type_!r}.")
    as_json = fit_options.get("as_json", False)
    caught = []
    if model_path is not None:
        from ..persist.model_file import load
        if fit_options.get("formula") or fit_options.get("target"):
            raise ValueError("give either --model (a saved model) or --formula/--target "
                             "(fit a new one), not both.")
        model = load(model_path)
        from .mixed import refuse_mixed
        refuse_mixed(model, "anova")
        if str(test).lower() != "wald":
            fit_options["data"] = read_table(fit_options["data"],
                                             na_values=fit_options.get("na_values") or None,
                                             sep=fit_options.get("sep"))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = _refit_saved(model, fit_options)
    else:
        model, _, caught = fit_model(**fit_options, out=None)
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        table = anova_table(model, type=type_, test=test)
    emit_warnings(list(caught) + list(later))
    stats = model.results_.statistics()
    if as_json:
        _print_doc({
            "formula": model.design_.formula, "type": table.attrs["type"],
            "test": table.attrs["test"], "statistic": table.columns[0],
            "terms": [{"term": str(t), "statistic": _finite(r.iloc[0]), "df": int(r["df"]),
                       "p_value": _finite(r["p_value"])} for t, r in table.iterrows()],
            "n_obs": float(stats["n_obs"]), "log_likelihood": float(stats["log_likelihood"]),
            "deviance": float(stats["deviance"]), "aic": float(stats["aic"]),
            "model_file": None if model_path is None else str(model_path)})
        return
    console.print(_rich_table(table, model.design_.formula))


def _print_doc(doc) -> None:
    import json
    import sys
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")


def _finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _rich_table(table, formula):
    from rich.table import Table
    kind = "II" if table.attrs["type"] == 2 else "III"
    out = Table(title=f"Type {kind} tests per term ({table.attrs['test']}): {formula}",
                show_edge=False, header_style="bold", title_justify="left")
    for title in ("term", table.columns[0], "df", "P>χ²"):
        out.add_column(title, justify="left" if title == "term" else "right")
    for t, r in table.iterrows():
        p = float(r["p_value"])
        out.add_row(str(t), f"{float(r.iloc[0]):.6g}", str(int(r["df"])),
                    "" if not math.isfinite(p) else (f"{p:.4g}" if p >= 1e-4 else f"{p:.2e}"))
    return out


__all__ = ["register_anova", "run_anova"]
