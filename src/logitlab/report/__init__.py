"""The self-contained HTML report (``html``) and its figures (``plots``,
matplotlib without pyplot). May import every package except cli."""

from .html import render_report, write_report

__all__ = ["render_report", "write_report"]
