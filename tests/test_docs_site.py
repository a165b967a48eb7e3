"""The documentation site: built with Sphinx (warnings are errors) and opened in headless
Chromium (Debian's package) by Playwright.

Checked: the build passes ``-W`` (the tutorial's cells are executed by the build, so
every cell runs); the executed tutorial shows the numbers the code computes, against
closed forms computed here independently (the softmax of the worked example, the
cross-entropy in bits, the Newton iteration count of the fit); in the browser, the
home page, the tutorial and an API page load without console errors or failed
requests, every image decodes, every relative link points to a file of the build
(and to an element with the link's #anchor) — on every page of the build, read
from its HTML; every name of ``logitlab.__all__`` has its API page. Screenshots go to tests/output/docs/
(ignored by git) for a person to look at.
"""

import math
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

from refcheck import assert_printed

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
OUTPUT = Path(__file__).parent / "output" / "docs"
PAGES = ["index.html", "tutorial.html", "api/generated/logitlab.LogisticRegression.html"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The HTML build of docs/ into a temporary folder (the documented build command)."""
    out = tmp_path_factory.mktemp("docs") / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
         "-d", str(out.parent / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (f"the docs build failed (warnings are errors):\n"
                                  f"{proc.stderr[-6000:]}\n{proc.stdout[-2000:]}")
    return out


def open_page(browser, path: Path):
    """The page at ``path`` and what the browser reported while loading it."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda m: m.type in ("error", "warning")
            and problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, problems


def page_text(site, name):
    """The visible text of a built page, whitespace collapsed (without a browser)."""
    html = (site / name).read_text(encoding="utf-8")
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", text.replace("&quot;", '"').replace("&#39;", "'"))


@pytest.mark.parametrize("name", PAGES)
def test_page_opens_clean(site, browser, name):
    page, problems = open_page(browser, site / name)
    try:
        images = page.evaluate("""async () => Promise.all(Array.from(document.images).map(
            async img => { let ok = true; try { await img.decode(); } catch (e) { ok = false; }
                           return [img.getAttribute('src'), img.naturalWidth, ok]; }))""")
        links = page.evaluate("""() => Array.from(document.querySelectorAll('a[href]'))
            .map(a => a.getAttribute('href'))""")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / (name.replace("/", "_") + ".png")), full_page=True)
    finally:
        page.close()
    assert problems == [], problems
    assert all(width > 0 and ok for _, width, ok in images), images
    if name == "tutorial.html":
        assert len(images) >= 3, images       # sigmoid, convergence, accuracy vs log loss
    broken = broken_links(site, site / name, links)
    assert broken == [], broken


def broken_links(site, page_path: Path, hrefs):
    """The relative hrefs of a page whose file or #anchor does not exist in the build."""
    broken = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith("mailto:"):
            continue                                   # external: not part of the build
        target = (page_path.parent / unquote(parts.path)).resolve() if parts.path else page_path
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or site.resolve() not in target.parents:
            broken.append(f"{href}: no file {target}")
            continue
        if parts.fragment and target.suffix == ".html":
            html = target.read_text(encoding="utf-8")
            if not re.search(rf'\bid="{re.escape(unquote(parts.fragment))}"', html):
                broken.append(f"{href}: no element with id {parts.fragment!r} in {target.name}")
    return broken


def test_every_relative_link_of_the_site_resolves(site):
    """All built pages, not only the three opened in the browser (read from the HTML)."""
    broken = {}
    for path in sorted(site.rglob("*.html")):
        hrefs = re.findall(r'<a\b[^>]*\shref="([^"]*)"', path.read_text(encoding="utf-8"))
        bad = broken_links(site, path, [h.replace("&amp;", "&") for h in hrefs])
        if bad:
            broken[str(path.relative_to(site))] = bad
    assert broken == {}


def test_tutorial_shows_the_computed_numbers(site):
    text = page_text(site, "tutorial.html")
    # the 3-class softmax worked by hand: the closed form, computed here
    f = np.array([0.5, 0.8, 1.2])
    W = np.array([[1.0, -0.5, 0.5], [0.3, 0.2, -0.4], [0.5, 1.0, 1.0]])
    b = np.array([-0.2, 0.51, 0.16])
    z = W @ f + b
    np.testing.assert_allclose(z, [0.5, 0.34, 2.41], rtol=0, atol=1e-15)
    p = np.exp(z) / np.exp(z).sum()
    assert "rounded = [0.116 0.099 0.785]" in text
    assert [f"{v:.3f}" for v in p] == ["0.116", "0.099", "0.785"]
    # cross-entropy of y = [1, 0, 0, 1], p = [0.8, 0.3, 0.4, 0.7]: nats and bits by math.log
    nats = -(math.log(0.8) + math.log(0.7) + math.log(0.6) + math.log(0.7)) / 4
    bits = nats / math.log(2)
    assert abs(bits - 0.5220100086782713) < 1e-15
    assert "ll.log_loss, bits: 0.5220100086782713" in text
    shown_nats = float(re.search(r"ll\.log_loss, nats: ([0-9.]+)", text).group(1))
    assert abs(shown_nats - nats) < 1e-15
    # the gradient check and the fits, as printed by the executed cells
    largest = float(re.search(r"largest difference: ([0-9.e+-]+)", text).group(1))
    assert largest < 1e-8
    assert re.search(r"converged: True after \d+ iterations", text)
    assert re.search(r"Newton: [4-8] iterations; gradient descent: \d{3,}", text), text[-3000:]
    # the log-likelihood of the Titanic fit as the page prints it, against R's printed
    # logLik (the published value of tests/test_reference_fits.py)
    loglik = float(re.search(r"log-likelihood = -m \* H : (-[0-9.]+)", text).group(1))
    assert_printed(loglik, "-1105.030553", "tutorial's Titanic log-likelihood vs R")


#: the public modules whose every ``__all__`` name the API reference describes
PUBLIC_MODULES = ["metrics", "calibration", "threshold", "cv", "io", "formula", "datasets",
                  "persist", "report", "plots", "links", "losses"]


def test_api_reference_covers_the_public_names(site):
    import importlib

    import logitlab
    generated = site / "api" / "generated"
    missing = [name for name in logitlab.__all__ if name != "__version__"
               and not (generated / f"logitlab.{name}.html").is_file()]
    assert missing == []
    # each name of a public module is described on some API page (its module's, or
    # its own when it is also a top-level name)
    ids = set()
    for page in generated.glob("*.html"):
        ids.update(re.findall(r'<dt class="sig[^"]*" id="([^"]+)"', page.read_text("utf-8")))
    undescribed = [f"logitlab.{alias}.{name}" for alias in PUBLIC_MODULES
                   for name in importlib.import_module(f"logitlab.{alias}").__all__
                   if not any(i == name or i.endswith("." + name) for i in ids)]
    assert undescribed == []
    text = page_text(site, "api/generated/logitlab.LogisticRegression.html")
    for phrase in ("predict_proba", "history_", "alpha = 1 / (C * S)"):
        assert phrase in text, phrase
