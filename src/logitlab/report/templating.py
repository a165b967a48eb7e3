"""The report's templates (``templates/`` in this package) and their Jinja2 environment.

Jinja2 is imported on the first :func:`render`, so ``import logitlab`` and
``import logitlab.report`` do not load it. Every ``.html`` template is
autoescaped: a string from the data (a column name, a class label, the title)
is written as text, never as markup; only the already-rendered sections
(:class:`markupsafe.Markup`, from :func:`render`) are placed as they are. The
style sheet ``report.css`` is included verbatim (it is not HTML).
"""

from __future__ import annotations

import functools

#: the package holding ``templates/``
PACKAGE = "logitlab.report"


def _autoescape(name: str | None) -> bool:
    """Escape everything but the style sheet (a template of another kind is
    escaped too, to be safe)."""
    return not (name or "").endswith(".css")


@functools.lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment over the package's templates (built once)."""
    try:
        import jinja2
    except ImportError as err:
        raise ImportError("the HTML report needs Jinja2: pip install 'logitlab[report]' "
                          "(or pip install jinja2).") from err
    return jinja2.Environment(loader=jinja2.PackageLoader(PACKAGE, "templates"),
                              autoescape=_autoescape, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(name: str, **context):
    """Template ``name`` rendered with ``context``, as Markup (safe to place in
    another template: it is escaped already)."""
    from markupsafe import Markup
    return Markup(environment().get_template(name).render(**context))


__all__ = ["environment", "render"]
