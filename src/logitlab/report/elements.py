"""The pieces every report section is laid out from: cells, tables, figures.

They hold text, never markup: the templates (``templates/macros.html``) write
them, and Jinja2 escapes every string on the way. A :class:`Table` has row
headers (:func:`head`: term names, labels) and cells (:func:`number`,
:func:`text`, :func:`interval`); numbers are formatted before they get here
(:mod:`logitlab.report.formatting`), with their full precision in a
``data-value`` attribute and a ``data-key`` naming what they are.
:func:`figure` embeds a matplotlib figure as a PNG data URI.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from .formatting import COEF_DIGITS, attr, interval_texts
from .plots import figure_png

#: row headers longer than this may break anywhere (long term and column names)
LONG_LABEL = 28


@dataclass
class Cell:
    """One table cell. ``kind``: ``"head"`` (a row header), ``"num"`` (a
    right-aligned number), ``"text"``, ``"step"`` (a bold row header of a worked
    example) or ``"interval"`` (``low`` and ``high`` are then Cells of their own).
    ``key``/``value``: the ``data-key``/``data-value`` attributes (None: none);
    ``term``/``row``: ``data-term``/``data-row`` of a row header."""

    text: str = ""
    kind: str = "num"
    key: str | None = None
    value: str | None = None
    term: str | None = None
    row: int | None = None
    low: "Cell | None" = None
    high: "Cell | None" = None
    estimate: str | None = None

    @property
    def long(self) -> bool:
        return len(self.text) > LONG_LABEL


@dataclass
class Table:
    """A table: ``header`` texts, ``rows`` of Cells, an optional caption."""

    id: str
    header: list
    rows: list
    caption: str | None = None

    def numeric(self, column: int) -> bool:
        """Whether ``column`` holds numbers (its header is then right-aligned too)."""
        return bool(self.rows) and column < len(self.rows[0]) and \
            self.rows[0][column].kind in ("num", "interval")


def head(text, *, term=None, row=None, step: bool = False) -> Cell:
    """A row header (``step``: a step of a worked example, set in bold)."""
    return Cell(str(text), "step" if step else "head", term=None if term is None else str(term),
                row=row)


def number(text: str, key: str | None = None, value=None) -> Cell:
    """A formatted number; ``value`` (the unformatted one) goes to ``data-value``
    (a ``data-value`` without ``data-key`` when ``key`` is None)."""
    return Cell(text, "num", key=key, value=None if value is None else attr(value))


def text(value) -> Cell:
    """A cell of plain text (a label, a decision)."""
    return Cell(str(value), "text")


def interval(low, high, prefix: str, estimate: str | None, digits: int = COEF_DIGITS) -> Cell:
    """``[low, high]`` in one cell, written with the decimals its estimate shares
    (the estimate's own cell: :func:`estimate_and_interval`); spans with data-key
    ``{prefix}_low`` / ``{prefix}_high``; ``estimate`` names the estimate's data-key."""
    _, lo, hi = interval_texts(None, low, high, digits)
    return _interval_cell(lo, hi, low, high, prefix, estimate)


def _interval_cell(lo: str, hi: str, low, high, prefix: str, estimate) -> Cell:
    if lo == "–" and hi == "–":
        return Cell("–", "num")
    return Cell("", "interval", low=number(lo, f"{prefix}_low", low),
                high=number(hi, f"{prefix}_high", high), estimate=estimate)


def estimate_and_interval(value, low, high, key: str, prefix: str,
                          digits: int) -> tuple[Cell, Cell]:
    """The cells of an estimate and of its interval, sharing their decimals
    (:func:`logitlab.report.formatting.interval_texts`)."""
    est, lo, hi = interval_texts(value, low, high, digits)
    return number(est, key, value), _interval_cell(lo, hi, low, high, prefix, key)


@dataclass
class Figure:
    """An embedded PNG: ``src`` a data URI, shown at ``width`` × ``height`` CSS px."""

    id: str
    src: str
    alt: str
    caption: str
    width: int
    height: int


def figure(fig, alt: str, caption: str, fig_id: str) -> Figure:
    """A figure as an embedded PNG (base64 data URI, 150 dpi: sharp on high-density
    screens and paper) shown at its size in inches × 96 CSS pixels, or narrower."""
    png = base64.b64encode(figure_png(fig)).decode("ascii")
    width, height = (int(round(v * 96)) for v in fig.get_size_inches())   # CSS px at 1x
    return Figure(fig_id, f"data:image/png;base64,{png}", alt, caption, width, height)


__all__ = ["Cell", "Figure", "Table", "estimate_and_interval", "figure", "head", "interval",
           "number", "text"]
