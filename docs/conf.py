"""Sphinx configuration of the logitlab documentation.

Why this generator: Sphinx with the PyData theme, numpydoc and MyST is what the
scientific Python libraries logitlab sits beside (NumPy, SciPy, pandas,
scikit-learn, statsmodels) use, so its pages look and read like theirs; numpydoc
renders the docstrings logitlab already writes in the NumPy style; and myst-nb
executes the tutorial (a MyST Markdown notebook) at every build, so each number
on it is what the code computes today.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Math is converted to MathML at build time (``_ext/mathml.py``): the pages load
nothing from the network.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE / "_ext"))
if (SRC / "logitlab").is_dir():
    # document (and execute the tutorial with) this checkout's logitlab, not an
    # installed copy; the notebook kernel is a subprocess, so it needs PYTHONPATH
    sys.path.insert(0, str(SRC))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])

from logitlab.core.version import __version__  # noqa: E402

project = "logitlab"
author = "the logitlab developers"
copyright = "the logitlab developers"
version = release = __version__

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "mathml",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# ----------------------------------------------------------------- MyST / myst-nb
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "force"            # every build runs the tutorial afresh
nb_execution_raise_on_error = True     # a failing cell fails the build
nb_execution_timeout = 120
nb_execution_show_tb = True
nb_merge_streams = True

# ------------------------------------------------------------ API reference
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"             # numpydoc's Parameters section says the types
numpydoc_show_class_members = False    # autoclass :members: documents them
numpydoc_class_members_toctree = False
numpydoc_show_inherited_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set = set()

# --------------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"logitlab {release}"
html_static_path = ["_static"]
html_css_files = ["logitlab.css"]
html_math_renderer = "mathml"
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "tutorial": [], "performance": [], "changelog": [], "api/cli": []}
# the theme's colour mode when the reader has chosen none (unset, the theme's script
# logs "invalid theme mode" to the console on a first visit)
html_context = {"default_mode": "auto"}


# ------------------------------------------------- what the module pages leave out
def _defined_in(obj) -> str:
    """The module that defines ``obj`` (a property's getter, a method's function)."""
    target = getattr(obj, "fget", None) or getattr(obj, "__func__", None) or obj
    return getattr(target, "__module__", None) or ""


def _own_pages() -> set:
    """ids of the objects with a page of their own (the names of ``logitlab.__all__``
    and the classes listed in api/index.md), left out of their modules' pages so that
    each object is described once."""
    import logitlab
    from logitlab.results.explain import Explanation
    from logitlab.results.results import LogitResults
    from logitlab.results.summary import Summary
    own = [getattr(logitlab, name) for name in logitlab.__all__ if name != "__version__"]
    return {id(obj) for obj in [*own, Explanation, LogitResults, Summary]}


def _skip_member(app, what, name, obj, skip, options):
    if what == "module" and id(obj) in _OWN_PAGES:
        return True
    if what == "class" and not _defined_in(obj).startswith("logitlab"):
        return True      # members inherited from matplotlib, builtins' exceptions, ...
    return None


def setup(app):
    global _OWN_PAGES
    _OWN_PAGES = _own_pages()
    app.connect("autodoc-skip-member", _skip_member)
