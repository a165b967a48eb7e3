"""The report's number formatting, templates and packaging (no browser needed).

The formatting rule (:mod:`logitlab.report.formatting`): an estimate and its
interval share their decimals ``d = digits − 1 − ⌊log₁₀|e|⌋``, at most
``digits − ⌊log₁₀ max(|e|, |lo|, |hi|)⌋``; scientific notation when the largest
is ≥ 10⁶ or < 10⁻⁴. The expected texts below are worked out by hand from it.
"""

import fnmatch
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from logitlab.report import templating
from logitlab.report.formatting import interval_texts

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args, expected", [
    # infert's odds ratio (e^1.98588): 4 digits for 7.285 → 3 decimals for all three
    ((7.285423103487913, 3.651356973535945, 14.536346399852471, 4), ("7.285", "3.651", "14.536")),
    # birthwt's lwt: 6 digits for −0.0125257 → 7 decimals; the bound near 0 keeps them
    ((-0.0125257, -0.0250417, -9.659e-06, 6), ("-0.0125257", "-0.0250417", "-0.0000097")),
    # an estimate near 0 does not stretch its interval: at most 6 + 1 digits for 0.5
    ((1e-9, -0.5, 0.5, 6), ("0.0000000", "-0.5000000", "0.5000000")),
    # large and tiny numbers: scientific, 4 significant digits each
    ((1.5e8, 5e7, 2.25e8, 4), ("1.500e+08", "5.000e+07", "2.250e+08")),
    ((2e-5, 1e-5, 3.5e-5, 4), ("2.000e-05", "1.000e-05", "3.500e-05")),
    # a one-sided (infinite) bound and a missing one
    ((25.0, 3.0, float("inf"), 4), ("25.00", "3.00", "+∞")),
    ((0.5, float("nan"), float("nan"), 4), ("0.5000", "–", "–")),
    # a range without an estimate: 3 digits for its largest end
    ((None, 0.118, 0.1586, 3), ("", "0.118", "0.159")),
])
def test_interval_texts_follow_the_rule(args, expected):
    assert interval_texts(*args) == expected


def _pyproject() -> dict:
    """pyproject.toml (tomllib from Python 3.11; setuptools' reader on 3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:
        from setuptools.config.pyprojecttoml import read_configuration
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # "[tool.setuptools] is still beta"
            return read_configuration(ROOT / "pyproject.toml")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_templates_are_package_data():
    """Every template file matches a package-data pattern of pyproject.toml (so a
    wheel, not only an editable install, has them)."""
    config = _pyproject()
    patterns = config["tool"]["setuptools"]["package-data"]["logitlab"]
    base = ROOT / "src" / "logitlab"
    files = [p.relative_to(base).as_posix()
             for p in (base / "report" / "templates").iterdir() if p.is_file()]
    assert {"report/templates/page.html", "report/templates/report.css"} <= set(files)
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
    deps = config["project"]
    for group in (deps["dependencies"], deps["optional-dependencies"]["report"],
                  deps["optional-dependencies"]["test"]):
        assert any(d.lower().startswith("jinja2") for d in group)


@pytest.mark.slow
def test_importing_logitlab_does_not_load_jinja2():
    code = ("import sys, logitlab, logitlab.report, logitlab.cli.main\n"
            "print('jinja2' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_without_jinja2_the_error_says_what_to_install(monkeypatch):
    templating.environment.cache_clear()
    monkeypatch.setitem(sys.modules, "jinja2", None)        # import jinja2 fails
    try:
        with pytest.raises(ImportError, match=r"needs Jinja2: pip install 'logitlab\[report\]'"):
            templating.render("page.html")
    finally:
        templating.environment.cache_clear()


def test_templates_escape_every_string():
    """A string in the context is written as text; the style sheet verbatim."""
    from logitlab.report.elements import Table, head, number
    hostile = "<script>alert(1)</script>"
    table = Table("t", [hostile], [[head(hostile, term=hostile), number("1", hostile, 1.0)]],
                  caption=hostile)
    html = str(templating.render("model.html", formula=hostile, facts=[hostile],
                                 coefficients=table, notes=[hostile]))
    assert "<script" not in html
    # formula, fact, header, row header and its data-term, data-key, caption, note
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 8
    css = templating.environment().get_template("report.css").render()
    assert "section > h2" in css and "&gt;" not in css and "&#" not in css
