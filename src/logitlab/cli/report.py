"""The ``logitlab report`` command and the demo's report.

``logitlab report DATA (--formula F | --target y) [fit options] [--out report.html]``
fits exactly as ``logitlab fit`` does — the command is built from ``fit``'s own
options (its signature), so every fit option works here and stays in step —
and writes the self-contained HTML page of :mod:`logitlab.report.html`.
``--model MODEL`` reports on a saved model instead of fitting one.

Nothing here imports matplotlib until a report is written, so the other
commands start fast. :func:`register_report` is called by :mod:`logitlab.cli.main`
with its app and its ``fit`` command (and not by importing ``logitlab.cli.main``
here, so that ``python -m logitlab.cli.main`` registers on the app that runs).
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Optional

import typer

#: fit options the report does not take (``--out`` is the report's path here)
_NOT_FOR_REPORT = ("out", "as_json")


def _report_options():
    """The report's own options (appended to fit's)."""
    P = inspect.Parameter
    opt = typer.Option
    return [
        P("out", P.POSITIONAL_OR_KEYWORD, annotation=Path,
          default=opt(Path("report.html"), "--out", "-o", help="Where to write the HTML report.")),
        P("model_path", P.POSITIONAL_OR_KEYWORD, annotation=Optional[Path],
          default=opt(None, "--model", "-m", help="Report on this saved model (from 'fit "
                      "--out') instead of fitting; DATA are then the rows to evaluate.")),
        P("title", P.POSITIONAL_OR_KEYWORD, annotation=Optional[str],
          default=opt(None, help="Title of the page (default: the formula).")),
        P("row", P.POSITIONAL_OR_KEYWORD, annotation=Optional[int],
          default=opt(None, "--row", "-r", help="Row explained step by step (0-based; "
                      "default: the first complete row).")),
    ]


def register_report(app, fit_command, fit_model, command_class=None) -> None:
    """Add the ``report`` command to ``app``, taking every option of ``fit_command``.

    ``fit_model(**fit_options)`` must return ``(model, summary, caught_warnings)``
    as the fit command computes them; ``command_class`` is the click command
    class (the CLI's, which refuses repeated options).
    """
    fit_sig = inspect.signature(fit_command, eval_str=True)
    shared = [p for p in fit_sig.parameters.values() if p.name not in _NOT_FOR_REPORT]

    def report(**options) -> None:
        """Fit (as 'fit' does) and write a self-contained HTML report.

        The page shows the data, the estimates, an odds-ratio forest plot, ROC and
        calibration curves, the predicted probabilities, the convergence and one
        prediction explained step by step."""
        run_report(fit_model, **options)

    report.__signature__ = fit_sig.replace(parameters=shared + _report_options())
    report.__annotations__ = {}
    app.command("report", cls=command_class)(report)


def run_report(fit_model, *, out: Path, model_path, title, row, **fit_options) -> None:
    """Fit (or load) the model, write the report, say where it is."""
    from ..data.io import read_table
    from ..report.html import write_report
    from .output import check_out_file, console, emit_warnings as _emit_warnings
    check_out_file(out, "report.html")
    weights, offset = fit_options.get("weights"), fit_options.get("offset")
    na_values, sep = fit_options.pop("na_values", None), fit_options.pop("sep", None)
    if fit_options.get("dask") is None:   # read once, as the fit and the page both use it
        fit_options["data"] = read_table(fit_options["data"], na_values=na_values or None,
                                         sep=sep)
    else:
        fit_options.update(na_values=na_values, sep=sep)
    data = fit_options["data"]
    if model_path is not None:
        from ..persist.model_file import load
        if fit_options.get("formula") or fit_options.get("target"):
            raise ValueError("give either --model (a saved model) or --formula/--target "
                             "(fit a new one), not both.")
        model, caught = load(model_path), []
    else:
        model, _, caught = fit_model(**fit_options, as_json=True, out=None, mixed_ok=True)
    _emit_warnings(caught)
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        path = write_report(model, data, out=out, title=title, sample_weight=weights,
                            offset=offset, example_row=row,
                            level=fit_options.get("level", 0.95),
                            ci=getattr(fit_options.get("ci"), "value", None),
                            in_sample=model_path is None)
    _emit_warnings(later)
    console.print(f"report written to {path}")


def demo_report(path: Path) -> Path:
    """The demo's report: the Titanic fit by formula (the same model as the demo's table)."""
    from ..datasets import load_titanic
    from ..report.html import write_report
    df = load_titanic()
    row = int(((df["Class"] == "3rd") & (df["Sex"] == "Female") & (df["Age"] == "Adult"))
              .to_numpy().nonzero()[0][0])
    return write_report(None, df, formula="Survived ~ Class + Sex + Age", sample_weight="Freq",
                        example_row=row, out=path,
                        title="Titanic survival: Survived ~ Class + Sex + Age (Freq weights)")


__all__ = ["register_report", "run_report", "demo_report"]
