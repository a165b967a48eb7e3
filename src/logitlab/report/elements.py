"""The pieces every report section is built of: escaped text, tables, figures.

:func:`table_html` writes a table whose first ``numeric_from`` columns are row
headers and the others right-aligned numbers; :func:`figure_html` embeds a
matplotlib figure as a PNG data URI. The page (:mod:`logitlab.report.html`) and
the sections in their own modules (diagnostics, marginal effects) all use them.
"""

from __future__ import annotations

import base64
import html

from .plots import figure_png

esc = html.escape


def table_html(header: list, rows: list, *, table_id: str | None = None,
               numeric_from: int = 1, caption: str | None = None) -> str:
    """A table; ``rows`` are lists of already-escaped cells (str) or (text, attrs) pairs."""
    head = "".join(f"<th scope='col'>{h}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for j, cell in enumerate(row):
            text, attrs = cell if isinstance(cell, tuple) else (cell, "")
            tag = "th scope='row'" if j < numeric_from else "td"
            cls = " class='num'" if j >= numeric_from else (
                " class='long'" if len(html.unescape(text)) > 28 else "")
            cells.append(f"<{tag}{cls}{attrs}>{text}</{tag.split()[0]}>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    tid = f" id='{table_id}'" if table_id else ""
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (f"<div class='table-wrap'><table{tid}>{cap}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def figure_html(fig, alt: str, caption: str, fig_id: str) -> str:
    """A figure as an embedded PNG (base64 data URI, 150 dpi: sharp on high-density
    screens and paper) shown at its size in inches × 96 CSS pixels, or narrower."""
    png = base64.b64encode(figure_png(fig)).decode("ascii")
    width, height = (int(round(v * 96)) for v in fig.get_size_inches())   # CSS px at 1x
    return (f"<figure id='{fig_id}'><img src='data:image/png;base64,{png}' alt='{esc(alt)}' "
            f"width='{width}' height='{height}'><figcaption>{caption}</figcaption></figure>")
