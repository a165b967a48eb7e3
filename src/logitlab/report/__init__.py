"""The self-contained HTML report (``html``: the page; ``sections``, ``diagnostics``,
``margins``: its sections; ``templates/``: the Jinja2 templates they are rendered
from) and its figures (``plots``, matplotlib without pyplot). May import every
package except cli."""

from .html import render_report, write_report

__all__ = ["render_report", "write_report"]
