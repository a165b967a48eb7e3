"""The HTML report, opened in a real headless Chromium (Debian's package) by Playwright.

Checked in the browser: the page loads without console errors and without
requesting anything (self-contained), every image is present and decodes, the
numbers on the page equal statsmodels' and scikit-learn's (computed here), the
layout does not overflow a laptop screen, the print style hides navigation,
user strings are escaped. Screenshots go to tests/output/ (ignored by git) for
a person to look at.
"""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from sklearn import metrics as skm

import logitlab as ll
from logitlab.report import render_report, write_report
from refcheck import assert_printed, load

OUTPUT = Path(__file__).parent / "output"
BIRTHWT = "low ~ age + lwt + C(race) + smoke"


class Opened:
    """A report opened in a page, with what the browser said while loading it."""

    def __init__(self, browser, path: Path, width=1280, height=800):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.console, self.requests = [], []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.console.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def js(self, code):
        return self.page.evaluate(code)

    def images(self):
        """(complete, naturalWidth, decodes) per <img>; decode() rejects a broken image."""
        return self.js("""async () => Promise.all(Array.from(document.images).map(async img => {
            let ok = true; try { await img.decode(); } catch (e) { ok = false; }
            return [img.complete, img.naturalWidth, ok, img.closest('figure').id]; }))""")

    def values(self, selector):
        """data-key -> data-value (floats) of the elements inside ``selector``."""
        return self.js(f"""() => Object.fromEntries(Array.from(document.querySelectorAll(
            "{selector} [data-key]")).map(e => [e.dataset.key, e.dataset.value]))""")

    def text(self, selector):
        return self.js(f"""() => Object.fromEntries(Array.from(document.querySelectorAll(
            "{selector} [data-key]")).map(e => [e.dataset.key, e.textContent]))""")


@pytest.fixture(scope="module")
def birthwt(tmp_path_factory):
    df = load("birthwt.csv")
    model = ll.fit(BIRTHWT, df)
    OUTPUT.mkdir(exist_ok=True)
    path = write_report(model, df, out=OUTPUT / "report-birthwt.html", example_row=10)
    return df, model, path


def _rows(opened, table_id):
    """Rows of a table as {row header: {data-key: (text, value)}}."""
    return opened.js(f"""() => Object.fromEntries(Array.from(document.querySelectorAll(
        "#{table_id} tbody tr")).map(tr => [tr.querySelector('th[data-term], th').textContent,
        Object.fromEntries(Array.from(tr.querySelectorAll('[data-key]')).map(
            e => [e.dataset.key, [e.textContent, e.dataset.value]]))]))""")


def _shown(text: str) -> float:
    return float(text.replace("\u2009", "").replace("−", "-"))


def _decimals(text: str) -> tuple[str, int]:
    """How a number is written: ("fixed", decimals) or ("scientific", mantissa decimals)."""
    mantissa, _, exponent = text.partition("e")
    return ("scientific" if exponent else "fixed",
            len(mantissa.split(".")[1]) if "." in mantissa else 0)


def _half_unit(text: str) -> float:
    """Half a unit in the last printed place of ``text`` (its rounding error)."""
    kind, decimals = _decimals(text)
    unit = 10.0 ** -decimals
    if kind == "scientific":
        unit *= 10.0 ** int(text.partition("e")[2])
    return unit / 2


def test_report_loads_cleanly_and_every_image_decodes(browser, birthwt):
    _, _, path = birthwt
    opened = Opened(browser, path)
    assert opened.console == []
    # self-contained: the only request is the page itself (images are data: URIs)
    assert [u for u in opened.requests if not u.startswith("data:")] == [path.resolve().as_uri()]
    images = opened.images()
    figures = {fid for *_, fid in images}
    assert figures == {"fig-forest", "fig-roc", "fig-calibration", "fig-probabilities",
                       "fig-convergence", "fig-margins", "fig-explain", "fig-diagnostics"}
    for complete, width, decodes, fid in images:
        assert complete and width > 0 and decodes, fid
    opened.page.screenshot(path=str(OUTPUT / "report-birthwt.png"), full_page=True)
    assert (OUTPUT / "report-birthwt.png").stat().st_size > 50_000
    opened.page.close()


def test_numbers_on_the_page_equal_statsmodels_and_sklearn(browser, birthwt):
    df, model, path = birthwt
    ref = smf.logit(BIRTHWT, df).fit(disp=0)
    names = {"Intercept": "(Intercept)"}
    opened = Opened(browser, path)
    rows = _rows(opened, "coefficients")
    assert len(rows) == len(ref.params)
    ci = ref.conf_int()
    for term, coef in ref.params.items():
        row = rows[names.get(term, term)]
        for key, expected in [("coef", coef), ("std_err", ref.bse[term]),
                              ("ci_low", ci.loc[term, 0]), ("ci_high", ci.loc[term, 1]),
                              ("odds_ratio", np.exp(coef))]:
            text, value = row[key]
            # the full-precision attribute and the printed digits both agree (to the
            # last printed decimal: an estimate and its bounds share their decimals)
            assert float(value) == pytest.approx(expected, rel=1e-6, abs=1e-9), (term, key)
            assert _shown(text) == pytest.approx(expected, abs=_half_unit(text)
                                                 + 1e-6 * abs(expected)), (term, key, text)
        assert _shown(row["coef"][0]) == pytest.approx(coef, rel=5e-6)   # 6 digits printed
    p = ref.predict(df)
    y = df["low"].to_numpy()
    metrics = _rows(opened, "metrics")
    flat = {k: v for r in metrics.values() for k, v in r.items()}
    expected = {"roc_auc": skm.roc_auc_score(y, p), "log_loss": skm.log_loss(y, p),
                "brier": skm.brier_score_loss(y, p),
                "accuracy": skm.accuracy_score(y, p > 0.5)}
    for key, value in expected.items():
        assert float(flat[key][1]) == pytest.approx(value, rel=1e-7), key
        assert _shown(flat[key][0]) == pytest.approx(value, rel=5e-6), key
    assert flat["n"][0] == str(len(df))
    facts = opened.values("#data-facts")
    assert int(float(facts["n_rows"])) == len(df) == 189
    opened.page.close()


def test_explained_row_matches_statsmodels_prediction(browser, birthwt):
    df, _, path = birthwt
    ref = smf.logit(BIRTHWT, df).fit(disp=0)
    row = 10
    z = float(ref.predict(df.iloc[[row]], which="linear").iloc[0])
    opened = Opened(browser, path)
    steps = opened.values("#explanation")
    assert float(steps["logit"]) == pytest.approx(z, rel=1e-7)
    assert float(steps["odds"]) == pytest.approx(np.exp(z), rel=1e-7)
    assert float(steps["probability"]) == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-7)
    text = opened.js("() => document.querySelector('#example').innerText")
    assert f"Row {row} of the data" in text
    opened.page.close()


def test_readable_on_a_laptop_and_prints_without_navigation(browser, birthwt):
    _, _, path = birthwt
    for width in (1366, 800):
        opened = Opened(browser, path, width=width, height=768)
        overflow = opened.js("""() => [document.documentElement.scrollWidth, window.innerWidth,
            Math.max(...Array.from(document.images).map(i => i.getBoundingClientRect().right))]""")
        assert overflow[0] <= overflow[1], f"horizontal scrolling at {width}px"
        assert overflow[2] <= overflow[1]
        main_width = opened.js("() => document.querySelector('main').getBoundingClientRect().width")
        assert main_width <= 60 * 16 + 1          # the 60rem column
        opened.page.close()
    opened = Opened(browser, path)
    opened.page.emulate_media(media="print")
    assert opened.js("() => getComputedStyle(document.querySelector('nav')).display") == "none"
    assert opened.js("() => getComputedStyle(document.querySelector('figure')).breakInside") \
        == "avoid"
    pdf = opened.page.pdf(format="A4")
    assert pdf[:5] == b"%PDF-" and len(pdf) > 50_000
    (OUTPUT / "report-birthwt.pdf").write_bytes(pdf)
    opened.page.close()


def test_multinomial_weighted_report_with_hostile_names_and_missing_values(browser, tmp_path):
    """Column names and labels with <, &, quotes are shown as text, never as markup."""
    rng = np.random.default_rng(7)
    n = 150
    X = rng.normal(size=(n, 2))
    logits = np.c_[np.zeros(n), X @ [[1.0, -0.6], [0.4, 1.2]] + [0.3, -0.2]]
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(["<b>setosa</b>", "vers & color", "virginica"])
    nasty = "<img src=x onerror=alert(1)> & \"q\""
    df = pd.DataFrame({"sepal": X[:, 0], nasty: X[:, 1],
                       "kind": labels[[rng.choice(3, p=p) for p in P]],
                       "w": rng.integers(1, 4, n).astype(float)})
    df.loc[[3, 40], "sepal"] = np.nan
    formula = f"kind ~ sepal + `{nasty}`"
    with pytest.warns(UserWarning):
        model = ll.fit(formula, df, sample_weight="w", missing="drop")
    path = write_report(model, df, sample_weight="w", out=tmp_path / "iris.html",
                        title="iris <script>alert(2)</script>")
    opened = Opened(browser, path)
    assert opened.console == []
    images = opened.images()
    assert len(images) == 7 and all(c and w > 0 and ok for c, w, ok, _ in images)
    assert opened.js("() => document.querySelectorAll('script, b').length") == 0
    body = opened.js("() => document.body.innerText")
    assert nasty in body and "<b>setosa</b>" in body and "<script>alert(2)</script>" in body
    # missing values: per column, and the metrics use the complete rows only
    missing = {k: v for k, v in _missing(opened).items() if v}
    assert missing == {"sepal": 2}
    used = df.dropna()
    P = model.predict_proba(used)
    flat = {k: v for r in _rows(opened, "metrics").values() for k, v in r.items()}
    y = used["kind"].to_numpy()
    assert float(flat["log_loss"][1]) == pytest.approx(
        skm.log_loss(y, P, sample_weight=used["w"], labels=model.classes_), rel=1e-9)
    assert float(flat["roc_auc"][1]) == pytest.approx(
        skm.roc_auc_score(y, P, sample_weight=used["w"], multi_class="ovr",
                          labels=model.classes_), rel=1e-9)
    assert float(opened.values("#data-facts")["n_used"]) == len(used) == 148
    opened.page.screenshot(path=str(OUTPUT / "report-iris-multinomial.png"), full_page=True)
    opened.page.close()


def _missing(opened):
    return opened.js("""() => Object.fromEntries(Array.from(document.querySelectorAll(
        '#missing tbody tr')).map(tr => [tr.querySelector('th').textContent,
        Number(tr.querySelector('td').dataset.value)]))""")


def test_multinomial_coefficients_equal_statsmodels_mnlogit(browser, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    logits = np.c_[np.zeros(300), X @ [[0.8, -0.5], [0.3, 1.1]] + [0.2, -0.4]]
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    kind = np.array([rng.choice(3, p=p) for p in P])
    df = pd.DataFrame({"sl": X[:, 0], "sw": X[:, 1], "kind": kind})
    model = ll.fit("kind ~ sl + sw", df)
    ref = sm.MNLogit(df["kind"], sm.add_constant(df[["sl", "sw"]])).fit(disp=0, method="newton")
    path = write_report(model, df, out=tmp_path / "mn.html")
    opened = Opened(browser, path)
    cells = opened.js("""() => Array.from(document.querySelectorAll('#coefficients tbody tr'))
        .map(tr => [tr.cells[0].textContent, tr.cells[1].textContent,
                    Number(tr.querySelector('[data-key=coef]').dataset.value),
                    Number(tr.querySelector('[data-key=std_err]').dataset.value)])""")
    for cls, term, coef, se in cells:
        col = int(cls) - 1
        name = "const" if term == "(Intercept)" else term
        assert coef == pytest.approx(ref.params.loc[name, col], rel=1e-6)
        assert se == pytest.approx(ref.bse.loc[name, col], rel=1e-5)
    assert len(cells) == ref.params.size
    opened.page.close()


def test_report_cli_writes_a_page_and_errors_are_one_line(tmp_path, browser):
    out = tmp_path / "cli.html"
    data = Path(__file__).parent / "data" / "birthwt.csv"
    run = subprocess.run([sys.executable, "-m", "logitlab.cli", "report", str(data),
                          "--formula", BIRTHWT, "--cov-type", "HC1", "--out", str(out),
                          "--title", "birthwt & <co>"],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    assert f"report written to {out}" in run.stdout.replace("\n", "")
    # the fit options reach the model: HC1 standard errors, as statsmodels' with n/(n-k)
    df = load("birthwt.csv")
    ref = smf.logit(BIRTHWT, df).fit(disp=0, cov_type="HC0")
    n, k = len(df), len(ref.params)
    opened = Opened(browser, out)
    assert opened.console == []
    se = {t: float(r["std_err"][1]) for t, r in _rows(opened, "coefficients").items()}
    assert se["age"] == pytest.approx(ref.bse["age"] * np.sqrt(n / (n - k)), rel=1e-6)
    assert opened.js("() => document.querySelector('h1').textContent") == "birthwt & <co>"
    opened.page.close()
    bad = subprocess.run([sys.executable, "-m", "logitlab.cli", "report", str(data),
                          "--formula", "low ~ nosuch", "--out", str(tmp_path / "x.html")],
                         capture_output=True, text=True, timeout=180)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    assert "nosuch" in bad.stderr and not (tmp_path / "x.html").exists()


def test_demo_writes_a_report_with_the_published_titanic_fit(tmp_path, browser):
    src = str(Path(ll.__file__).resolve().parents[1])      # this logitlab, from any cwd
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run([sys.executable, "-m", "logitlab.cli", "demo", "--report", "t.html"],
                         capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert "report written to t.html" in run.stdout
    opened = Opened(browser, tmp_path / "t.html")
    assert opened.console == []
    assert all(c and w > 0 and ok for c, w, ok, _ in opened.images())
    rows = _rows(opened, "coefficients")
    # R: glm(Survived ~ Class + Sex + Age, binomial, weights = Freq) (tests/data/README.md)
    assert_printed(float(rows["Sex[T.Male]"]["coef"][1]), "-2.420060", "SexMale")
    assert_printed(float(rows["Age[T.Adult]"]["coef"][1]), "-1.061542", "AgeAdult")
    facts = opened.js("() => document.querySelector('#model ul.facts').innerText")
    assert "log-likelihood = -1105.030553" in facts
    assert float(opened.values("#data-facts")["weight_sum"]) == 2201
    opened.page.close()


def test_cross_validated_model_report_shows_the_path(browser, tmp_path):
    from logitlab import LogisticRegressionCV
    df = load("birthwt.csv")
    model = ll.fit(BIRTHWT, df, cv=3, penalty="l1", cv_options={"alphas": 6})
    path = write_report(model, df, out=tmp_path / "cv.html")
    X = model.design_.transform(df)
    searcher = LogisticRegressionCV(cv=3, penalty="l1", alphas=6).fit(X, df["low"])
    path2 = write_report(searcher, X.assign(low=df["low"]), y="low", out=tmp_path / "cv2.html")
    for p in (path, path2):
        opened = Opened(browser, p)
        assert opened.console == []
        images = opened.images()
        assert "fig-path" in {fid for *_, fid in images}
        assert all(c and w > 0 and ok for c, w, ok, _ in images)
        coefs = {t: float(r["coef"][1]) for t, r in _rows(opened, "coefficients").items()}
        # the page shows the refit at the chosen alpha (the L1 fit itself: tests/test_cv.py)
        assert coefs == {"(Intercept)": model.intercept_[0],
                         **dict(zip(X.columns, model.coef_[0]))}
        opened.page.close()
    assert searcher.alpha_ == pytest.approx(model.alpha)


@pytest.mark.slow
def test_python_api_fits_by_formula_and_explains_errors(tmp_path):
    df = load("birthwt.csv")
    page = render_report(None, df, formula=BIRTHWT)
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page and "<script" not in page
    with pytest.raises(ValueError, match="pass formula="):
        render_report(ll.LogisticRegression(), df)
    with pytest.raises(ValueError, match="out of range"):
        render_report(None, df, formula=BIRTHWT, example_row=189)
    with pytest.raises(ValueError, match="not a column"):
        render_report(None, df, formula=BIRTHWT, sample_weight="nope")


# ------------------------------------------------------------------ layout, formats, escaping
HOSTILE = "<script>alert(1)</script>"
LONG_AGE = "age_of_the_mother_in_completed_years_at_the_delivery"
LONG_LWT = "weight of the mother in pounds at the last menstrual period"


@pytest.fixture(scope="module")
def long_name_reports(tmp_path_factory):
    """Binary, multinomial and ordinal reports whose terms (and classes) have long
    names, one column named like a script: ``{kind: (path, model)}``."""
    out = tmp_path_factory.mktemp("long")
    bw = load("birthwt.csv").rename(columns={"age": LONG_AGE, "lwt": LONG_LWT})
    bw[HOSTILE] = bw["ftv"]
    labels = {1: "white (the reference group of the study)", 2: "black",
              3: "other <b>or</b> not recorded by the hospital"}
    bw["race_group"] = bw["race"].map(labels)
    wine = load("wine.csv").rename(columns={"temp": "temperature_of_the_must_when_pressed",
                                            "contact": "skin contact during the fermentation"})
    fits = {
        "binary": (f"low ~ `{LONG_AGE}` + `{LONG_LWT}` + C(race) + smoke + `{HOSTILE}`", bw, {}),
        "multinomial": (f"race_group ~ `{LONG_AGE}` + `{LONG_LWT}` + smoke", bw, {}),
        "ordinal": ("rating ~ temperature_of_the_must_when_pressed + "
                    "`skin contact during the fermentation`", wine, {"family": "ordinal"}),
    }
    reports = {}
    for kind, (formula, df, kw) in fits.items():
        model = ll.fit(formula, df, **kw)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reports[kind] = write_report(model, df, out=out / f"{kind}.html"), model
        # the figures' layout holds too: long tick labels wrap instead of squeezing the axes
        assert not [w for w in caught if "constrained_layout" in str(w.message)], kind
    return reports


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_tables_fit_a_1280px_screen_with_long_names(browser, long_name_reports, kind):
    """At 1280×800 no table scrolls sideways: every table is no wider than its
    container and its last column (the odds ratios' interval) is inside it."""
    path, _ = long_name_reports[kind]
    opened = Opened(browser, path, width=1280, height=800)
    assert opened.console == []
    tables = opened.js("""() => Array.from(document.querySelectorAll('table')).map(t => {
        const wrap = t.closest('.table-wrap');
        const cells = Array.from(t.querySelectorAll('th, td, td span'));
        return {id: t.id, table: t.scrollWidth, scroll: wrap.scrollWidth,
                client: wrap.clientWidth, wrapRight: wrap.getBoundingClientRect().right,
                right: Math.max(...cells.map(c => c.getBoundingClientRect().right))}; })""")
    assert {"coefficients", "metrics", "margins-table"} <= {t["id"] for t in tables}
    for t in tables:
        assert t["scroll"] <= t["client"] and t["table"] <= t["client"], t
        assert t["right"] <= t["wrapRight"] + 0.5, t
    page = opened.js("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert page[0] <= page[1]
    # the long names are there in full (wrapped, not cut), and the last column is the
    # odds ratios' interval
    terms = opened.js("""() => Array.from(document.querySelectorAll(
        '#coefficients th[data-term]')).map(th => th.textContent)""")
    names = ([LONG_AGE, LONG_LWT] if kind != "ordinal" else
             ["temperature_of_the_must_when_pressed", "skin contact during the fermentation"])
    for name in names:
        assert any(name in t for t in terms), (name, terms)
    last = opened.js("""() => Array.from(document.querySelectorAll('#coefficients tbody tr'))
        .map(tr => tr.lastElementChild.querySelector('[data-key=or_ci_high]') !== null)""")
    assert all(last)
    opened.page.screenshot(path=str(OUTPUT / f"report-long-names-{kind}.png"), full_page=True)
    opened.page.close()


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_an_estimate_and_its_interval_share_their_decimals(browser, long_name_reports, kind):
    """Every interval column on the page: the estimate, the lower and the upper
    bound are written alike (the same decimals, or all scientific with the same
    digits), each rounded correctly from its full-precision data-value."""
    path, _ = long_name_reports[kind]
    opened = Opened(browser, path)
    cells = opened.js("""() => Array.from(document.querySelectorAll('td.interval')).map(td => {
        const tr = td.closest('tr'), key = td.dataset.estimate;
        const est = key ? tr.querySelector(`[data-key="${key}"]`) : null;
        const [lo, hi] = td.querySelectorAll('span');
        const se = key === 'coef' ? tr.querySelector('[data-key=std_err]') : null;
        return {table: td.closest('table').id, parts: [est, lo, hi, se].filter(e => e).map(
            e => [e.textContent, e.dataset.value])}; })""")
    opened.page.close()
    assert {"coefficients", "margins-table", "calibration-table"} <= {c["table"] for c in cells}
    checked = 0
    for cell in cells:
        shown = [(text, float(value)) for text, value in cell["parts"]
                 if text not in ("–", "+∞", "−∞")]
        assert len({_decimals(text) for text, _ in shown}) == 1, cell
        for text, value in shown:
            assert abs(_shown(text) - value) <= _half_unit(text) * (1 + 1e-9), (cell, text)
        checked += len(shown) >= 3
    assert checked >= 10


def test_hostile_names_are_escaped(browser, long_name_reports):
    """A column named <script>alert(1)</script> and a class label with <b> are text:
    escaped in the HTML, shown as typed, never run."""
    path, _ = long_name_reports["binary"]
    page = path.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    opened = Opened(browser, path)
    assert opened.console == []          # no dialog, no error
    assert opened.js("() => document.querySelectorAll('script').length") == 0
    terms = opened.js("""() => Array.from(document.querySelectorAll(
        '#coefficients th[data-term]')).map(th => [th.textContent, th.dataset.term])""")
    assert [HOSTILE, HOSTILE] in terms
    assert HOSTILE in opened.js("() => document.body.innerText")
    opened.page.close()
    path, _ = long_name_reports["multinomial"]
    opened = Opened(browser, path)
    assert opened.js("() => document.querySelectorAll('b, script').length") == 0
    classes = opened.js("""() => Array.from(document.querySelectorAll('#balance tbody th'))
        .map(th => th.textContent)""")
    assert "other <b>or</b> not recorded by the hospital" in classes
    opened.page.close()
