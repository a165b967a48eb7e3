"""The ``logitlab margins`` command: marginal effects of a saved model.

``logitlab margins MODEL DATA [--variables a,b] [--at overall|mean] [--kind dydx]
[--dummy] [--count] [--level 0.95] [--no-se] [--json]``

MODEL is a model file from ``logitlab fit --out`` (or :func:`logitlab.save`);
DATA the rows (raw columns of a formula fit, the feature columns otherwise),
over which ``--at overall`` averages. The table is
:func:`logitlab.results.margins.marginal_effects` (``model.margins``).

``--json`` prints one document (a public contract)::

    {
      "formula": "low ~ age + C(race)" | null,    # null for a plain-matrix fit
      "at": "overall" | "mean",
      "kind": "dydx" | "eyex" | "dyex" | "eydx",
      "dummy": bool, "count": bool,
      "level": 0.95,
      "n_rows": 189,                              # rows of DATA
      "classes": [0, 1],                          # the model's classes
      "effects": [                                # one per (class,) variable, contrast
        {"class": 1,                              # multinomial models only
         "term": "age", "contrast": "dY/dX",      # or "2 - 1", "1 - 0", "+1", "eY/eX", ...
         "estimate": -0.0069, "std_err": 0.0064, "z": -1.08, "p_value": 0.28,
         "ci_low": -0.019, "ci_high": 0.0056}     # statistics null with --no-se
      ]
    }

Binary models give the effects on ``P(classes[1])``; multinomial models one
entry per class and variable.
"""

from __future__ import annotations

import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer


class At(str, Enum):
    overall = "overall"
    mean = "mean"


class Kind(str, Enum):
    dydx = "dydx"
    eyex = "eyex"
    dyex = "dyex"
    eydx = "eydx"


def margins_document(model, df, effects, *, at, kind, dummy, count, level) -> dict:
    """The ``--json`` document (schema in the module docstring)."""
    design = getattr(model, "design_", None)
    records = [{k: _plain(v) for k, v in rec.items()}
               for rec in effects.to_dict(orient="records")]
    return {"formula": None if design is None else design.formula, "at": at, "kind": kind,
            "dummy": bool(dummy), "count": bool(count), "level": float(level),
            "n_rows": int(len(df)),
            "classes": [_plain(c) for c in model.classes_],
            "effects": records}


def _plain(value):
    """A JSON value: numpy scalars as Python ones, NaN / inf as null."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def register_margins(app, command_class=None) -> None:
    """Add the ``margins`` command to ``app`` (``command_class``: the CLI's click
    command class, which refuses repeated options)."""

    @app.command("margins", cls=command_class)
    def margins(
        model_path: Path = typer.Argument(..., metavar="MODEL",
                                          help="Model file from 'fit --out'."),
        data: Path = typer.Argument(..., help="CSV, TSV or Parquet file with the rows "
                                    "(averaged over with --at overall)."),
        variables: Optional[str] = typer.Option(
            None, "--variables", help="Comma-separated variables (default: all)."),
        at: At = typer.Option(At.overall, "--at", help="overall: average over the rows; "
                              "mean: at the means (modes for categorical variables)."),
        kind: Kind = typer.Option(Kind.dydx, "--kind", help="dydx derivative, eyex "
                                  "elasticity, dyex, eydx (numeric variables)."),
        dummy: bool = typer.Option(False, "--dummy", help="0/1 numeric variables as "
                                   "discrete changes P(1) - P(0)."),
        count: bool = typer.Option(False, "--count", help="Count variables as centred unit "
                                   "changes (P(x+1) - P(x-1)) / 2."),
        level: float = typer.Option(0.95, "--level", help="Confidence level of the intervals."),
        se: bool = typer.Option(True, "--se/--no-se", help="Standard errors (--no-se: the "
                                "estimates only, e.g. for a penalized model)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document (schema "
                                     "in 'logitlab margins --help' / the module docs)."),
        na_values: Optional[List[str]] = typer.Option(
            None, "--na-values", help="A text that means missing in a CSV/TSV file; repeat "
            "for several."),
        sep: Optional[str] = typer.Option(None, "--sep", help="Delimiter of a CSV/TSV file."),
    ) -> None:
        """Marginal effects with delta-method standard errors: average effects over
        DATA's rows (--at overall) or at the means (--at mean); derivatives of the
        probabilities for numeric variables (through the formula), discrete changes
        against the reference level for categorical ones; per class for multinomial
        models.

        --json prints {"formula", "at", "kind", "dummy", "count", "level", "n_rows",
        "classes", "effects": [{"class" (multinomial only), "term", "contrast",
        "estimate", "std_err", "z", "p_value", "ci_low", "ci_high"}]} (null
        statistics with --no-se)."""
        run_margins(model_path, data, variables, at.value, kind.value, dummy, count, level,
                    se, as_json, na_values, sep)


def run_margins(model_path, data, variables, at, kind, dummy, count, level, se, as_json,
                na_values=None, sep=None) -> None:
    """Load, compute, print (a table, or the JSON document)."""
    from ..data.io import read_table
    from ..persist.model_file import load
    from ..results.inference import InferenceUnavailable
    from .output import console
    model = load(model_path)
    from .mixed import refuse_mixed
    refuse_mixed(model, "margins")
    df = read_table(data, na_values=na_values or None, sep=sep)
    names = None if variables is None else [v.strip() for v in variables.split(",") if v.strip()]
    try:
        effects = model.margins(df, variables=names, at=at, kind=kind, dummy=dummy,
                                count=count, level=level, se=se)
    except InferenceUnavailable as err:
        raise ValueError(str(err).replace("pass se=False", "pass --no-se")) from None
    if as_json:
        doc = margins_document(model, df, effects, at=at, kind=kind, dummy=dummy, count=count,
                               level=level)
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return
    from rich.table import Table
    where = "average over the rows" if at == "overall" else "at the means"
    table = Table(title=f"Marginal effects ({where}, {kind})")
    for col in effects.columns:
        table.add_column(str(col), justify="right" if effects[col].dtype.kind == "f" else "left")
    for row in effects.itertuples(index=False):
        table.add_row(*[f"{v:.6g}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


__all__ = ["register_margins", "run_margins", "margins_document"]
