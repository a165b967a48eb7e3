"""Math rendered to MathML when the docs build (``html_math_renderer = "mathml"``).

The LaTeX of ``$...$``, ``$$...$$`` and ``:math:`` is converted by latex2mathml
into MathML, which browsers display natively: the pages load no script and no
font from a CDN, so they work offline (and in the headless-browser test). A
command the converter does not know would be shown as raw ``\\name``; it is a
build warning instead, so ``sphinx -W`` refuses it.
"""

from __future__ import annotations

import re

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: a LaTeX command left unconverted in the MathML (``<mi>\arg</mi>``)
_LEFTOVER = re.compile(r">\s*(\\[A-Za-z]+)")


def _mathml(translator, node, latex: str, display: str) -> str:
    try:
        out = convert(latex, display=display)
    except Exception as exc:  # the converter's own errors: one warning with the source
        logger.warning("math %r cannot be converted to MathML: %s", latex, exc, location=node)
        return translator.encode(latex)
    leftover = _LEFTOVER.search(out)
    if leftover:
        logger.warning("math %r: %s is not supported by the MathML converter",
                       latex, leftover.group(1), location=node)
    return out


def visit_math(translator, node):
    translator.body.append(
        f'<span class="math">{_mathml(translator, node, node.astext(), "inline")}</span>')
    raise nodes.SkipNode


def visit_displaymath(translator, node):
    parts = [part for part in node.astext().split("\n\n") if part.strip()]
    translator.body.append(translator.starttag(node, "div", CLASS="math"))
    for part in parts:
        translator.body.append(_mathml(translator, node, part, "block"))
    translator.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", inline_renderers=(visit_math, None),
                               block_renderers=(visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
